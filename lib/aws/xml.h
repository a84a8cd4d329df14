// File: aws/xml.h
//
// Just enough XML for the answers AWS sends (S3, STS): the text of an
// element found by its tag, the name of the root element, and entity
// (un)escaping. Not a parser: a tag is matched literally ("<Key>" ...
// "</Key>", so "<KeyMarker>" is not a "<Key>" and an element with
// attributes is not found by its tag), elements must not nest inside
// themselves, and CDATA is not understood. AWS answers are flat enough for
// this; callers name the tags they expect and treat a missing one as a
// malformed answer.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardhose::aws {

// The raw (still escaped) text between the first "<tag>" in `xml` and the
// "</tag>" after it; nullopt if either is missing ("<tag/>" included).
std::optional<std::string_view> XmlElement(std::string_view xml, std::string_view tag);

// The raw text of every "<tag>...</tag>" in `xml`, in order.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);

// The name of the root element ("Error" for "<?xml ...?>\n<Error>..."),
// skipping the XML declaration, comments, a DOCTYPE and whitespace; "" if
// there is none.
std::string_view XmlRootName(std::string_view xml);

// Replaces *out with `in` decoded: the five predefined entities and
// numeric references (&#38; &#x26;, any Unicode scalar value, written as
// UTF-8). False on anything else (an unknown entity, a bare '&').
bool XmlUnescape(std::string_view in, std::string* out);

// `text` with & < > escaped, fit for element text (quotes are kept: S3
// expects <ETag>"..."</ETag> as its SDKs send it).
std::string XmlEscape(std::string_view text);

}  // namespace shardhose::aws

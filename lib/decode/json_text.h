// File: decode/json_text.h
//
// Small, allocation-free text helpers for the decoder's JSON output and
// validation. Internal to decode/ (exposed in a header for unit tests).
//
//   AppendJsonString      - '"' + escaped s + '"', to a string or to the
//                           decoder's OutBuffer. REQUIRES: s is valid UTF-8
//                           (the decoder only passes strings rapidjson has
//                           validated). '"' and '\\' are escaped, control
//                           characters become \b \f \n \r \t or \u00XX; all
//                           other bytes are copied, so the output is valid
//                           JSON that parses back to exactly s.
//   AppendJsonStringLossy - the same for untrusted text (Kinesis metadata, an
//                           undecodable Data field): every byte sequence that
//                           is not valid UTF-8 becomes \ufffd, so the output
//                           is always valid JSON.
//   IsJsonNumber          - RFC 8259 number grammar, whole string:
//                           -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
//   IsBase64              - RFC 4648 standard alphabet with '=' padding,
//                           length a multiple of 4 (empty is valid).
//   AppendCompactJson     - copies JSON text without the whitespace outside
//                           strings; strings and numbers are copied byte for
//                           byte. REQUIRES: `in` is valid JSON.
//   FindInvalidUtf8       - offset of the first byte that does not start a
//                           valid UTF-8 sequence (overlongs, surrogates and
//                           code points above U+10FFFF are invalid), or npos.
//   FindControlByte       - offset of the first byte below 0x20 other than
//                           \t \n \r (NUL included), or npos. JSON allows
//                           no other such byte anywhere: outside strings it
//                           is a syntax error, inside one it must be escaped.
//                           (rapidjson 1.1's SSE2 string scanner lets
//                           0x1a..0x1f through, so the decoder checks first.)
//   AppendIsoMillis       - "YYYY-MM-DDTHH:MM:SS.mmmZ" (proleptic Gregorian,
//                           UTC, floor to the millisecond).
//   AppendMembersByName   - a JSON object from its members ("name":value
//                           text, as the decoder writes them), in order of
//                           their names as written (bytewise; equal names
//                           keep their order). The decoder writes `keys`
//                           this way, so one item's keys are the same text
//                           whichever order a change record or an export
//                           gave its key attributes in (the <table>_latest
//                           view groups by that text).
//   SplitMembers          - the members of a compact JSON object's text (as
//                           the decoder writes it), appended to *members.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardhose::decode {

class OutBuffer;  // decode/out_buffer.h

void AppendJsonString(std::string_view s, std::string* out);
void AppendJsonString(std::string_view s, OutBuffer* out);
void AppendJsonStringLossy(std::string_view s, std::string* out);
bool IsJsonNumber(std::string_view s);
bool IsBase64(std::string_view s);
void AppendCompactJson(std::string_view in, std::string* out);
size_t FindInvalidUtf8(std::string_view s);
size_t FindControlByte(std::string_view s);
void AppendIsoMillis(int64_t epoch_us, std::string* out);
void AppendMembersByName(std::vector<std::string_view>* members, std::string* out);
void SplitMembers(std::string_view object, std::vector<std::string_view>* members);

}  // namespace shardhose::decode

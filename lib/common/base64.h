// File: common/base64.h
//
// Standard base64 (RFC 4648, '+' '/', '=' padding), as used by Kinesis for
// record Data and by DynamoDB for B/BS values.
#pragma once

#include <string>
#include <string_view>

namespace shardhose {

// Appends the encoding of `in` to *out.
void Base64Encode(std::string_view in, std::string* out);
std::string Base64Encode(std::string_view in);

// Replaces *out with the decoding of `in`. Returns false (and leaves *out
// unspecified) if `in` is not valid padded base64. Whitespace is not allowed.
bool Base64Decode(std::string_view in, std::string* out);

}  // namespace shardhose

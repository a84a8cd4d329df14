// File: decode/fast_base64.h
//
// DecodeBase64: the same contract as common/base64.h's Base64Decode (RFC 4648
// standard alphabet, '=' padding required, no whitespace; returns false on
// invalid input, *out then unspecified) but fast: 32 characters per step
// with AVX2 when the CPU has it (checked once at startup), otherwise
// table-driven, 4 characters -> 3 bytes per step with a single validity
// test. Kinesis record Data goes through it on the decoder's hot path.
// Reuses *out's capacity (and may grow it 8 bytes beyond the result).
//
// Internal to decode/. Thread-safe (pure function).
#pragma once

#include <string>
#include <string_view>

namespace shardhose::decode {

bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace shardhose::decode

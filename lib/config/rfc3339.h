// File: config/rfc3339.h
//
// RFC 3339 timestamps, as written in config files:
//   YYYY-MM-DD('T'|'t'|' ')hh:mm:ss[.fraction]('Z'|'z'|('+'|'-')hh:mm)
// The offset is required. A fraction of any length is accepted and truncated
// to milliseconds. A leap second (ss = 60) is read as 59.999.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace shardhose::config {

// Milliseconds since the Unix epoch, or InvalidArgument naming what is wrong
// (without a key name; the caller prefixes it).
Result<int64_t> ParseRfc3339Millis(std::string_view text);

}  // namespace shardhose::config

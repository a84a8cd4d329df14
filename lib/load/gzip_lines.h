// File: load/gzip_lines.h
//
// The lines of a gzip file (one or more members, RFC 1952), decompressed a
// chunk at a time: memory stays at the chunk plus the longest line,
// whatever the file's size. Lines are handed out without their '\n'; a
// last line without one is handed out too; an empty file has no lines.
//
// Errors: kCorruption naming what is wrong (not gzip, truncated) once the
// bytes run out or zlib refuses them; lines handed out before that stay
// handed out (the caller decides what a half-read file means).
//
// Thread-safety: none; one reader per file.
#pragma once

#include <zlib.h>

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shardhose::load {

// Calls `line(text)` for each line of the gzip'd `file`, in order, stopping
// at the first non-OK status `line` returns (and returning it).
Status ForEachGzipLine(std::string_view file, const std::function<Status(std::string_view)>& line);

}  // namespace shardhose::load

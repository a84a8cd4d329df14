// File: compress/compress.h
//
// Compression of a finished batch body into the bytes of one object.
//
//   kGzip - one standard gzip member (RFC 1952), readable by gzip -d, zlib,
//           Java's GZIPInputStream (Athena/Hive/Trino) and DuckDB. Produced
//           with libdeflate, which is about twice as fast as zlib at the
//           same level and ratio (see bench/).
//   kNone - the body as is.
//
// Thread-safety: Compress() is thread-safe; each thread keeps its own
// compressor state per level.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace shardhose::compress {

enum class Codec { kGzip, kNone };

Result<Codec> ParseCodec(std::string_view name);  // "gzip" | "none"

// Object-name suffix for NDJSON bodies: ".json.gz" / ".json".
std::string_view ObjectSuffix(Codec codec);
// Value for Content-Encoding: "gzip" / "".
std::string_view ContentEncoding(Codec codec);

// Replaces *out with the compressed form of `in`. `level` is 1..12 for
// gzip (libdeflate levels; 1..9 mean what they mean for zlib).
Status Compress(Codec codec, int level, std::string_view in, std::string* out);

// Inverse of Compress for kGzip (used by tests and tools). Accepts
// concatenated gzip members.
Status Gunzip(std::string_view in, std::string* out);

}  // namespace shardhose::compress

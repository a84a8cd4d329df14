// File: compress/compress.h
//
// Compression of a finished batch body into the bytes of one object.
//
//   kGzip - one standard gzip member (RFC 1952: a 10-byte header, one raw
//           deflate stream ending in a final block, CRC-32 and size),
//           readable by gzip -d, zlib, Java's GZIPInputStream
//           (Athena/Hive/Trino) and DuckDB (tests/e2e/test_gzip_readers.py).
//   kNone - the body as is.
//
// Levels. `compression_level` is one scale, 1..9, ordered by ratio; each
// level is served by the faster of the two compressors we link, chosen on
// measurements (bench/README.md, "Compression"):
//
//   level   engine       native level
//   1       ISA-L igzip  1     the default; ~10x zlib-6's speed, objects ~20%
//                              larger than zlib-6's
//   2       ISA-L igzip  2     about level 1's speed, a hair smaller
//   3..9    libdeflate   3..9  zlib's levels' meaning and ratio (or better),
//                              1.2-3x zlib's speed
//
// Not used: igzip 0 (only ~15% faster than igzip 1, objects ~30% larger),
// igzip 3 (a third of igzip 2's speed and no smaller on NDJSON: libdeflate
// does better there), zlib (slower than libdeflate at every level).
//
// Determinism: the output is a pure function of (codec, level, input) for a
// given build on a given CPU type: the same batch re-formed after a crash
// compresses to the same bytes (the exactly-once protocol relies on it, see
// checkpoint/journal.h; tested in tests/unit/compress). Neither library
// promises identical bytes across versions, and ISA-L picks SSE/AVX2/AVX-512
// code at run time (identical output across those is not verified here), so
// an upgrade, or a move to another CPU type, between a crash and its recovery
// may re-upload a batch under its (unchanged) key with different bytes of the
// same content.
//
// Thread-safety: every function is thread-safe; each thread keeps its own
// compressor state per engine and level, allocated on first use.
#pragma once

#include <cstdint>
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

// The `compression_level` scale.
inline constexpr int kMinLevel = 1;
inline constexpr int kMaxLevel = 9;
inline constexpr int kDefaultLevel = 1;

// OK if `level` is valid for `codec`: 1..9 for kGzip; anything for kNone
// (the level is ignored).
Status CheckLevel(Codec codec, int level);

enum class Engine { kIgzip, kLibdeflate };
std::string_view EngineName(Engine e);  // "igzip" | "libdeflate"

struct Backend {
  Engine engine;
  int native_level;  // igzip 0..3, libdeflate 1..12
};
// The engine and native level serving a `compression_level` (table above).
// REQUIRES: kMinLevel <= level <= kMaxLevel.
Backend BackendFor(int level);

// For logs: "gzip level 1 (igzip 1)", "gzip level 6 (libdeflate 6)", "none".
std::string Describe(Codec codec, int level);

// Replaces *out with the compressed form of `in`. InvalidArgument if
// CheckLevel fails; Internal if a compressor cannot be allocated.
Status Compress(Codec codec, int level, std::string_view in, std::string* out);

// Replaces *out with one gzip member of `in` made by a given engine at its
// native level (igzip 0..3, libdeflate 1..12): Compress() without the
// level mapping, for benchmarks and tests.
Status GzipWith(Backend backend, std::string_view in, std::string* out);

// Building blocks of a gzip member, for streaming compression of a batch in
// independent pieces (header, then chunks, then trailer; the chunks'
// CRC-32s joined with crc32_combine):
//
// Appends the 10-byte gzip header shardhose writes (no name, mtime 0,
// OS unknown), so that members are byte-identical across runs.
void AppendGzipHeader(std::string* out);
// Appends the 8-byte trailer: CRC-32 of the uncompressed data and its size
// modulo 2^32, little-endian.
void AppendGzipTrailer(uint32_t crc, uint64_t size, std::string* out);
// CRC-32 (gzip's) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32(uint32_t crc, std::string_view data);
// Appends `in` as raw deflate at igzip native level 0..3, with no history
// from any earlier chunk. If `final`, the last block has BFINAL set;
// otherwise the chunk ends with a full flush (byte-aligned, non-final), so
// chunks can be concatenated and ended by a final one.
Status IgzipDeflateChunk(int native_level, std::string_view in, bool final, std::string* out);

// Inverse of Compress for kGzip (used by tests and tools). Accepts
// concatenated gzip members.
Status Gunzip(std::string_view in, std::string* out);

}  // namespace shardhose::compress

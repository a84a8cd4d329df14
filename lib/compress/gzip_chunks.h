// File: compress/gzip_chunks.h
//
// One gzip member built from separately compressed chunks, so a batch can
// be held compressed while it grows (batch/batch_buffer.h) and its shards'
// runs of lines can be put together in any order at the end.
//
//   member  = header chunk* final trailer
//   header  = 1f 8b 08 00 00000000 00 ff   (no name, mtime 0, OS unknown)
//   chunk   = raw deflate blocks, none final, ending byte-aligned with an
//             empty stored block, so chunks concatenate into one stream
//   final   = 03 00                        (an empty final fixed block)
//   trailer = CRC-32 of all input, input size mod 2^32 (little-endian)
//
// A chunk compressed alone makes no back-reference before its start, so it
// can go anywhere in the stream. A chunk compressed with history (the bytes
// that will precede it, as a preset dictionary) may refer back up to 32 KiB
// into them, so it must follow exactly those bytes: a run of chunks, each
// given the end of the one before, stays together and in order (that is how
// batch/shard_run.h uses it), while runs still go in any order.
//
// The result is ONE standard gzip member (RFC 1951/1952), readable by
// gzip -d, zlib, Java's GZIPInputStream and DuckDB alike.
//
// Levels: 1..2 use ISA-L's igzip at its levels 1..2 (1 is the default: about
// 500 MB/s per core on NDJSON, ratio ~20% below zlib 6; see bench/README.md,
// "Compression"), 3..9 use zlib's deflate at that level (igzip 3 is slower
// than zlib's fast levels at no better ratio; libdeflate cannot end a chunk
// without ending the stream). igzip takes history only through its
// stateful API, which costs a chunk a few % more CPU than its stateless one
// (~6 % with 8 KiB of history: the history is hashed, and the input copied
// into igzip's window).
//
// A chunk's bytes depend only on its input, history and level, on one build
// and CPU (ISA-L picks its code path by CPU features at run time; a
// re-formed batch on another CPU may differ in bytes, never in content).
//
// Thread-safety: the functions are thread-safe; each thread keeps its own
// compressor state per level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shardhose::compress {

constexpr int kMinChunkLevel = 1;
constexpr int kMaxChunkLevel = 9;

// "igzip 1", "zlib 6": the engine behind a level, for logs.
std::string ChunkEngine(int level);

// Appends the compressed form of `in` to *out as one chunk (nothing for
// an empty `in`).
Status CompressChunk(int level, std::string_view in, std::string* out);

// The most bytes one chunk of `n` input bytes compresses to.
size_t ChunkBound(size_t n);
// As CompressChunk, into out[0, capacity) (REQUIRES capacity >=
// ChunkBound(in.size()); kInvalidArgument otherwise): how many bytes it
// wrote. For callers that keep one scratch buffer and so never zero-fill
// or regrow an output string per chunk.
Result<size_t> CompressChunkInto(int level, std::string_view in, char* out, size_t capacity);
// As CompressChunkInto, for a chunk that follows `history` in the stream:
// the chunk may refer back into history's last 32 KiB (deflate's window), so
// it compresses as if the stream had not been cut there. Its bytes depend on
// (history, in, level); it decodes only after those bytes of history.
Result<size_t> CompressChunkInto(int level, std::string_view history, std::string_view in, char* out, size_t capacity);

// CRC-32 (gzip's) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32(uint32_t crc, std::string_view data);
// The CRC-32 of A followed by B, from crc(A), crc(B) and B's length.
uint32_t Crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

void AppendGzipHeader(std::string* out);
// The final empty block and the trailer for input of `size` bytes with CRC `crc`.
void AppendGzipTrailer(uint32_t crc, uint64_t size, std::string* out);

}  // namespace shardhose::compress

// File: load/object_builder.h
//
// One object of `shardhose load`, built from whole lines and held the way
// it will be uploaded. With gzip, lines gather in a chunk, and each chunk
// that reaches kChunkBytes is compressed onto the body at once, one gzip
// member of independently compressed chunks (compress/gzip_chunks.h): so
// an open object costs its compressed bytes plus one chunk, not its
// uncompressed size, and the chunk's lines are compressed while they are
// still in cache. Without compression the body is the lines.
//
// Bytes are a function of the lines, their order and the level: a chunk
// ends at the first line end at or past kChunkBytes, so the same lines give
// the same object (on one build and CPU; gzip_chunks.h). At 1 MiB a chunk
// boundary costs ~0.1 % of ratio against one-shot compression.
//
// Thread-safety: none; one builder per open object. Compressing uses one
// scratch buffer per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shardhose::load {

class ObjectBuilder {
 public:
  static constexpr size_t kChunkBytes = 1 << 20;

  // `level`: 1..9 (compress/gzip_chunks.h); unused without gzip.
  ObjectBuilder(bool gzip, int level);

  // Appends one line (with its '\n'). Errors only from the compressor.
  Status Append(std::string_view line);

  int64_t records() const { return records_; }
  uint64_t uncompressed_bytes() const { return size_; }

  // The finished object. The view is valid until the next Append() or
  // Reset(); Finish() is called once per object.
  Result<std::string_view> Finish();

  // Empty again, for the next object (buffers kept).
  void Reset();

 private:
  Status FlushChunk();

  const bool gzip_;
  const int level_;
  std::string body_;   // gzip: header + compressed chunks; else the lines
  std::string chunk_;  // gzip: lines not yet compressed
  uint32_t crc_ = 0;
  uint64_t size_ = 0;
  int64_t records_ = 0;
};

}  // namespace shardhose::load

#include "load/object_builder.h"

#include <memory>

#include "compress/gzip_chunks.h"

namespace shardhose::load {
namespace {

// Where a chunk is compressed before its bytes are appended to a body:
// allocated once per thread (not zero-filled), grown for a longer chunk.
char* Scratch(size_t need) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local size_t size = 0;
  if (size < need) {
    buf.reset(new char[need]);
    size = need;
  }
  return buf.get();
}

}  // namespace

ObjectBuilder::ObjectBuilder(bool gzip, int level) : gzip_(gzip), level_(level) {
  if (gzip_) chunk_.reserve(kChunkBytes + 64 * 1024);
  Reset();
}

void ObjectBuilder::Reset() {
  body_.clear();
  chunk_.clear();
  crc_ = 0;
  size_ = 0;
  records_ = 0;
  if (gzip_) compress::AppendGzipHeader(&body_);
}

Status ObjectBuilder::FlushChunk() {
  if (chunk_.empty()) return Status::OK();
  crc_ = compress::Crc32(crc_, chunk_);
  const size_t bound = compress::ChunkBound(chunk_.size());
  char* out = Scratch(bound);
  Result<size_t> n = compress::CompressChunkInto(level_, chunk_, out, bound);
  if (!n.ok()) return n.status();
  body_.append(out, *n);
  chunk_.clear();
  return Status::OK();
}

Status ObjectBuilder::Append(std::string_view line) {
  size_ += line.size();
  ++records_;
  if (!gzip_) {
    body_.append(line);
    return Status::OK();
  }
  chunk_.append(line);
  return chunk_.size() >= kChunkBytes ? FlushChunk() : Status::OK();
}

Result<std::string_view> ObjectBuilder::Finish() {
  if (gzip_) {
    SHARDHOSE_RETURN_IF_ERROR(FlushChunk());
    compress::AppendGzipTrailer(crc_, size_, &body_);
  }
  return std::string_view(body_);
}

}  // namespace shardhose::load

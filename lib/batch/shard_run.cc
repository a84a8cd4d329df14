#include "batch/shard_run.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "compress/gzip_chunks.h"

namespace shardhose::batch {

void ShardRun::Append(std::string_view line, std::string_view pos) {
  if (!encoding_.gzip) {
    body_.Append(line);
    held_ += line.size();
    body_last_pos_.assign(pos);
    ++body_records_;
    body_bytes_ += line.size();
    MaybeCutPart();
    return;
  }
  // One allocation for the chunk being filled (a string growing by
  // doubling would keep up to twice the chunk per run). Its pages are
  // touched only as lines arrive; growing it by doubling instead measured
  // 5 % more peak RSS at 1,000 shards (bench/README.md, "Chunk size").
  if (tail_.capacity() < encoding_.chunk_bytes) tail_.reserve(encoding_.chunk_bytes + 4096);
  tail_.append(line);
  if (tail_.size() > tail_written_) {  // the tail's buffer, as far as it was ever written
    held_ += tail_.size() - tail_written_;
    tail_written_ = tail_.size();
  }
  tail_last_pos_.assign(pos);
  ++tail_records_;
  tail_bytes_ += line.size();
  if (tail_.size() >= encoding_.chunk_bytes) {
    FinishChunk();
    MaybeCutPart();  // a part ends where a chunk just ended
  }
}

void ShardRun::MaybeCutPart() {
  if (encoding_.part_bytes == 0 || body_.size() < encoding_.part_bytes) return;
  ReadyPart part;
  const uint64_t finished = body_.size();
  if (encoding_.gzip && parts_cut_ == 0) {
    part.body.reserve(body_.size() + 10);
    compress::AppendGzipHeader(&part.body);
    body_.CopyTo(&part.body);
    body_ = ByteChain();
  } else {
    part.body = body_.Take();
  }
  held_ += part.body.size() - finished;  // the header, if any
  part.last_pos = body_last_pos_;
  part.records = body_records_;
  part.bytes = body_bytes_;
  body_records_ = body_bytes_ = 0;
  ++parts_cut_;
  ready_.push_back(std::move(part));
}

std::vector<ReadyPart> ShardRun::TakeParts() {
  std::vector<ReadyPart> out;
  out.swap(ready_);
  for (const ReadyPart& p : out) held_ -= p.body.size();
  return out;
}

void ShardRun::Finish() {
  if (!encoding_.gzip) return;
  FinishChunk();
  held_ -= tail_written_;
  tail_written_ = 0;
  tail_ = std::string();
  history_ = 0;
}

void ShardRun::FinishChunk() {
  if (tail_.size() == history_) return;
  const std::string_view history(tail_.data(), history_);
  const std::string_view lines = std::string_view(tail_).substr(history_);
  // Compressed into a scratch buffer (one per thread, allocated once, never
  // zero-filled), then appended to the run's chain of blocks: nothing the
  // run holds is copied again, and the slack is about a quarter of it
  // (byte_chain.h), not the compressor's worst-case bound: the runs are
  // what open batches hold, and with many partitions the slack adds up.
  thread_local std::unique_ptr<char[]> scratch;
  thread_local size_t scratch_size = 0;
  const size_t bound = compress::ChunkBound(lines.size());
  if (scratch_size < bound) {
    scratch.reset(new char[bound]);
    scratch_size = bound;
  }
  const Result<size_t> n = compress::CompressChunkInto(encoding_.level, history, lines, scratch.get(), bound);
  const size_t before = body_.size();
  if (n.ok()) {
    body_.Append(std::string_view(scratch.get(), *n));
  } else {
    // Cannot happen with a valid level short of running out of memory; keep
    // the output correct anyway: stored (uncompressed) deflate blocks.
    std::string_view rest = lines;
    while (!rest.empty()) {
      const size_t n = std::min<size_t>(rest.size(), 65535);
      const char header[5] = {0, static_cast<char>(n & 0xff), static_cast<char>(n >> 8), static_cast<char>(~n & 0xff),
                              static_cast<char>((~n >> 8) & 0xff)};
      body_.Append(std::string_view(header, sizeof(header)));
      body_.Append(rest.substr(0, n));
      rest.remove_prefix(n);
    }
  }
  crc_ = compress::Crc32(crc_, lines);
  raw_ += lines.size();
  // The next chunk's history: the run's last bytes so far.
  const size_t keep = std::min(encoding_.history(), tail_.size());
  held_ += body_.size() - before;  // the tail's buffer stays, written as far as it was
  tail_.erase(0, tail_.size() - keep);
  history_ = keep;
  body_last_pos_ = tail_last_pos_;
  body_records_ += tail_records_;
  body_bytes_ += tail_bytes_;
  tail_records_ = tail_bytes_ = 0;
}

}  // namespace shardhose::batch

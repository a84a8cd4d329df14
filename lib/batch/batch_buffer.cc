#include "batch/batch_buffer.h"

#include <algorithm>
#include <cstdlib>

#include "compress/gzip_chunks.h"

namespace shardhose::batch {

std::string_view FlushCauseName(FlushCause cause) {
  switch (cause) {
    case FlushCause::kNone: return "none";
    case FlushCause::kSize: return "size";
    case FlushCause::kRecords: return "records";
    case FlushCause::kAge: return "age";
    case FlushCause::kPressure: return "pressure";
    case FlushCause::kShutdown: return "shutdown";
    case FlushCause::kDrain: return "drain";
    case FlushCause::kReplay: return "replay";
  }
  return "unknown";
}

uint64_t BatchBuffer::Append(std::string_view partition, std::string_view line,
                             std::string_view shard, std::string_view seq, MonoTime now,
                             std::vector<SealedBatch>* sealed, std::string_view tag) {
  std::string open_key = OpenKey(partition, shard);
  auto it = open_.find(open_key);
  if (it != open_.end() && MustCutBefore(it->second.stats, line.size(), limits_)) {
    sealed->push_back(Seal(it, FlushCause::kSize));
    it = open_.end();
  }
  if (it == open_.end()) {
    Open fresh{next_id_++, BatchStats{}, {}, std::string(tag), std::string(partition)};
    it = open_.emplace(std::move(open_key), std::move(fresh)).first;
    it->second.stats.oldest = now;
  }
  Open& b = it->second;
  if (b.tag != tag && b.tag != "(mixed)") b.tag = "(mixed)";
  b.stats.bytes += line.size();
  b.stats.records += 1;
  b.held += line.size();
  open_bytes_ += line.size();
  auto part_it = b.parts.find(shard);
  if (part_it == b.parts.end()) {
    part_it = b.parts.emplace(std::string(shard), Part{}).first;
    part_it->second.span.first_seq.assign(seq);
  }
  Part& part = part_it->second;
  if (encoding_.gzip) {
    // One allocation for the chunk being filled (a string growing by
    // doubling would keep up to twice the chunk per shard run).
    if (part.tail.capacity() < encoding_.chunk_bytes) part.tail.reserve(encoding_.chunk_bytes + 4096);
    part.tail.append(line);
    if (part.tail.size() >= encoding_.chunk_bytes) {
      const uint64_t before = part.body.size() + part.tail.size();
      FinishChunk(part);
      const uint64_t after = part.body.size();
      b.held = b.held - before + after;
      open_bytes_ = open_bytes_ - before + after;
    }
  } else {
    part.body.append(line);
  }
  ShardSpan& span = part.span;
  span.last_seq.assign(seq);
  span.records += 1;
  // A part ends where a chunk just ended (the tail is empty only then).
  if (encoding_.part_bytes > 0 && b.parts.size() == 1 && part.tail.empty() &&
      part.body.size() >= encoding_.part_bytes) {
    sealed->push_back(TakePart(b));
  }

  const uint64_t id = b.id;
  FlushCause cause = DueCause(b.stats, limits_, now);
  if (cause == FlushCause::kSize || cause == FlushCause::kRecords) {
    sealed->push_back(Seal(it, cause));
  }
  return id;
}

void BatchBuffer::SealDue(MonoTime now, std::vector<SealedBatch>* sealed) {
  for (auto it = open_.begin(); it != open_.end();) {
    auto next = std::next(it);
    FlushCause cause = DueCause(it->second.stats, limits_, now);
    if (cause != FlushCause::kNone) sealed->push_back(Seal(it, cause));
    it = next;
  }
}

std::string BatchBuffer::OpenKey(std::string_view partition, std::string_view shard) const {
  std::string key(partition);
  if (encoding_.per_shard) {
    key.push_back('\0');
    key.append(shard);
  }
  return key;
}

std::optional<SealedBatch> BatchBuffer::SealPartition(std::string_view partition, FlushCause cause) {
  auto it = open_.find(std::string(partition));
  if (it == open_.end()) return std::nullopt;
  return Seal(it, cause);
}

void BatchBuffer::SealAll(FlushCause cause, std::vector<SealedBatch>* sealed) {
  while (!open_.empty()) sealed->push_back(Seal(open_.begin(), cause));
}

void BatchBuffer::SealLargest(uint64_t target_bytes, std::vector<SealedBatch>* sealed) {
  while (open_bytes_ > target_bytes && !open_.empty()) {
    auto largest = std::max_element(open_.begin(), open_.end(), [](const auto& a, const auto& b) {
      return a.second.held < b.second.held;
    });
    sealed->push_back(Seal(largest, FlushCause::kPressure));
  }
}

std::optional<MonoTime> BatchBuffer::OldestLine() const {
  std::optional<MonoTime> oldest;
  for (const auto& [_, b] : open_) {
    if (!oldest || b.stats.oldest < *oldest) oldest = b.stats.oldest;
  }
  return oldest;
}

void BatchBuffer::FinishChunk(Part& part) {
  if (part.tail.empty()) return;
  // Compressed into a scratch buffer, then appended with the run growing
  // by a quarter at a time, not by doubling (nor by the compressor's
  // worst-case bound): the runs are what open batches hold, and with many
  // partitions the slack adds up.
  scratch_.clear();
  const bool ok = compress::CompressChunk(encoding_.level, part.tail, &scratch_).ok();
  const size_t before = part.body.size();
  if (ok) {
    const size_t need = before + scratch_.size();
    if (part.body.capacity() < need) part.body.reserve(std::max(need, before + before / 4));
    part.body.append(scratch_);
  } else {
    // Cannot happen with a valid level short of running out of memory; keep
    // the output correct anyway: stored (uncompressed) deflate blocks.
    std::string_view rest = part.tail;
    while (!rest.empty()) {
      const size_t n = std::min<size_t>(rest.size(), 65535);
      const char header[5] = {0, static_cast<char>(n & 0xff), static_cast<char>(n >> 8),
                              static_cast<char>(~n & 0xff), static_cast<char>((~n >> 8) & 0xff)};
      part.body.append(header, sizeof(header));
      part.body.append(rest.substr(0, n));
      rest.remove_prefix(n);
    }
  }
  part.crc = compress::Crc32(part.crc, part.tail);
  part.raw += part.tail.size();
  part.tail.clear();
}

SealedBatch BatchBuffer::Piece(const Open& b) const {
  SealedBatch out;
  out.id = b.id;
  out.partition = b.partition;
  out.tag = b.tag;
  for (const auto& [shard, part] : b.parts) out.shards.emplace(shard, part.span);
  out.records = b.stats.records - b.records_out;
  out.bytes = b.stats.bytes - b.bytes_out;
  out.oldest = b.stats.oldest;
  return out;
}

SealedBatch BatchBuffer::TakePart(Open& b) {
  SealedBatch out = Piece(b);
  Part& part = b.parts.begin()->second;
  out.part = ++b.parts_out;
  out.last_part = false;
  b.records_out = b.stats.records;
  b.bytes_out = b.stats.bytes;
  b.held -= part.body.size();
  open_bytes_ -= part.body.size();
  if (encoding_.gzip && out.part == 1) {
    out.body.reserve(part.body.size() + 10);
    compress::AppendGzipHeader(&out.body);
    out.body.append(part.body);
    std::string().swap(part.body);
  } else {
    out.body.swap(part.body);
  }
  return out;
}

SealedBatch BatchBuffer::Seal(OpenMap::iterator it, FlushCause cause) {
  Open& b = it->second;
  SealedBatch out = Piece(b);
  out.tag = std::move(b.tag);
  out.part = b.parts_out > 0 ? b.parts_out + 1 : 0;
  if (encoding_.gzip) {
    uint64_t compressed = 0;
    for (auto& [_, part] : b.parts) {
      FinishChunk(part);
      compressed += part.body.size();
    }
    out.body.reserve(compressed + 20);
    if (b.parts_out == 0) compress::AppendGzipHeader(&out.body);
    uint32_t crc = 0;
    for (auto& [_, part] : b.parts) {
      out.body.append(part.body);
      crc = compress::Crc32Combine(crc, part.crc, part.raw);
      std::string().swap(part.body);
    }
    compress::AppendGzipTrailer(crc, b.stats.bytes, &out.body);
  } else if (b.parts.size() == 1) {
    out.body = std::move(b.parts.begin()->second.body);
  } else {
    out.body.reserve(out.bytes);
    for (auto& [_, part] : b.parts) out.body.append(part.body);
  }
  out.cause = cause;
  open_bytes_ -= b.held;
  open_.erase(it);
  return out;
}

}  // namespace shardhose::batch

#include "batch/batch_buffer.h"

#include <algorithm>

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
  auto it = open_.find(std::string(partition));
  if (it != open_.end() && MustCutBefore(it->second.stats, line.size(), limits_)) {
    sealed->push_back(Seal(it, FlushCause::kSize));
    it = open_.end();
  }
  if (it == open_.end()) {
    it = open_.emplace(std::string(partition), Open{next_id_++, BatchStats{}, {}, std::string(tag)}).first;
    it->second.stats.oldest = now;
  }
  Open& b = it->second;
  if (b.tag != tag && b.tag != "(mixed)") b.tag = "(mixed)";
  b.stats.bytes += line.size();
  b.stats.records += 1;
  open_bytes_ += line.size();
  auto part_it = b.parts.find(shard);
  if (part_it == b.parts.end()) {
    part_it = b.parts.emplace(std::string(shard), Part{}).first;
    part_it->second.span.first_seq.assign(seq);
  }
  part_it->second.body.append(line);
  ShardSpan& span = part_it->second.span;
  span.last_seq.assign(seq);
  span.records += 1;

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
      return a.second.stats.bytes < b.second.stats.bytes;
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

SealedBatch BatchBuffer::Seal(std::unordered_map<std::string, Open>::iterator it, FlushCause cause) {
  SealedBatch out;
  out.id = it->second.id;
  out.partition = it->first;
  out.bytes = it->second.stats.bytes;
  out.tag = std::move(it->second.tag);
  if (it->second.parts.size() == 1) {
    out.body = std::move(it->second.parts.begin()->second.body);
  } else {
    out.body.reserve(out.bytes);
    for (auto& [_, part] : it->second.parts) out.body.append(part.body);
  }
  for (auto& [shard, part] : it->second.parts) out.shards.emplace(shard, std::move(part.span));
  out.records = it->second.stats.records;
  out.oldest = it->second.stats.oldest;
  out.cause = cause;
  open_bytes_ -= it->second.stats.bytes;
  open_.erase(it);
  return out;
}

}  // namespace shardhose::batch

#include "batch/batch_buffer.h"

#include <algorithm>

namespace shardhose::batch {

std::string_view FlushCauseName(FlushCause cause) {
  switch (cause) {
    case FlushCause::kNone:
      return "none";
    case FlushCause::kSize:
      return "size";
    case FlushCause::kRecords:
      return "records";
    case FlushCause::kAge:
      return "age";
    case FlushCause::kPressure:
      return "pressure";
    case FlushCause::kShutdown:
      return "shutdown";
    case FlushCause::kDrain:
      return "drain";
    case FlushCause::kReplay:
      return "replay";
  }
  return "unknown";
}

// One shard's run in a batch, and what the batch knows of it.
struct BatchBuffer::Slot {
  std::unique_ptr<ShardRun> run;
  ShardSpan span;
  uint64_t counted = 0;  // run->held() as last added to the batch's `held`
};

struct BatchBuffer::Open {
  uint64_t id = 0;
  BatchStats stats;
  std::map<std::string, Slot, std::less<>> slots;  // by shard id
  std::string tag;
  std::string partition;
  uint64_t held = 0;                        // bytes held by the runs, as last counted
  int parts_out = 0;                        // parts handed back so far
  uint64_t records_out = 0, bytes_out = 0;  // lines in those parts
  uint64_t pending = 0;                     // lines placed, not written yet
  FlushCause closing = FlushCause::kNone;   // sealed, waiting for `pending`
};

BatchBuffer::BatchBuffer(FlushLimits limits, uint64_t first_id, BodyEncoding encoding)
    : limits_(limits), encoding_(encoding), next_id_(first_id) {}
BatchBuffer::~BatchBuffer() = default;
BatchBuffer::BatchBuffer(BatchBuffer&&) noexcept = default;
BatchBuffer& BatchBuffer::operator=(BatchBuffer&&) noexcept = default;

BatchBuffer::Placement BatchBuffer::Place(std::string_view partition, std::string_view shard, std::string_view pos,
                                          uint64_t line_bytes, MonoTime now, std::vector<SealedBatch>* sealed,
                                          std::string_view tag) {
  const std::string_view open_key = OpenKey(partition, shard);
  Open* b = nullptr;
  Slot* slot = nullptr;
  bool opened = false;
  if (last_open_ != nullptr && open_key == last_key_ && shard == last_shard_ &&
      !MustCutBefore(last_open_->stats, line_bytes, limits_)) {
    b = last_open_;
    slot = last_slot_;
  } else {
    auto it = open_.find(open_key);
    if (it != open_.end() && MustCutBefore(it->second->stats, line_bytes, limits_)) {
      Seal(it, FlushCause::kSize, sealed);
      it = open_.end();
    }
    opened = it == open_.end();
    if (opened) {
      auto fresh = std::make_unique<Open>();
      fresh->id = next_id_++;
      fresh->tag.assign(tag);
      fresh->partition.assign(partition);
      fresh->stats.oldest = now;
      it = open_.emplace(std::string(open_key), std::move(fresh)).first;
    }
    b = it->second.get();
    auto slot_it = b->slots.find(shard);
    if (slot_it == b->slots.end()) {
      slot_it = b->slots.emplace(std::string(shard), Slot{}).first;
      slot_it->second.run = std::make_unique<ShardRun>(encoding_);
      slot_it->second.span.first_seq.assign(pos);
    }
    slot = &slot_it->second;
    last_open_ = b;
    last_slot_ = slot;
    last_key_.assign(open_key);
    last_shard_.assign(shard);
  }
  if (b->tag != tag && b->tag != "(mixed)") b->tag = "(mixed)";
  b->stats.bytes += line_bytes;
  b->stats.records += 1;
  ++b->pending;
  slot->span.last_seq.assign(pos);
  slot->span.records += 1;

  Placement p;
  p.batch_id = b->id;
  p.run = slot->run.get();
  p.opened = opened;
  p.batch_ = b;
  p.slot_ = slot;
  const FlushCause cause = DueCause(b->stats, limits_, now);
  if (cause == FlushCause::kSize || cause == FlushCause::kRecords) Seal(open_.find(open_key), cause, sealed);
  return p;
}

void BatchBuffer::Written(const Placement& p, std::vector<SealedBatch>* sealed) {
  Open& b = *p.batch_;
  Slot& slot = *p.slot_;
  // Parts the run cut: handed back in order, the batch going on.
  if (slot.run->has_parts()) {
    for (ReadyPart& part : slot.run->TakeParts()) {
      SealedBatch out = Piece(b);  // one shard: the batch's first line to the part's last
      ShardSpan& span = out.shards.begin()->second;
      span.last_seq = part.last_pos;
      span.records = b.records_out + part.records;
      out.part = ++b.parts_out;
      out.last_part = false;
      out.records = part.records;
      out.bytes = part.bytes;
      b.records_out += part.records;
      b.bytes_out += part.bytes;
      out.body = std::move(part.body);
      out.held = out.body.size();
      sealed->push_back(std::move(out));
    }
  }
  const uint64_t held = slot.run->held();
  b.held = b.held - slot.counted + held;
  uint64_t& total = b.closing == FlushCause::kNone ? open_bytes_ : closing_bytes_;
  total = total - slot.counted + held;
  slot.counted = held;
  if (--b.pending == 0 && b.closing != FlushCause::kNone) {
    auto node = closing_.extract(b.id);
    closing_bytes_ -= b.held;
    sealed->push_back(HandBack(b));
  }
}

uint64_t BatchBuffer::Append(std::string_view partition, std::string_view line, std::string_view shard,
                             std::string_view pos, MonoTime now, std::vector<SealedBatch>* sealed,
                             std::string_view tag) {
  Placement p = Place(partition, shard, pos, line.size(), now, sealed, tag);
  p.run->Append(line, pos);
  Written(p, sealed);
  return p.batch_id;
}

void BatchBuffer::SealDue(MonoTime now, std::vector<SealedBatch>* sealed) {
  for (auto it = open_.begin(); it != open_.end();) {
    auto next = std::next(it);
    FlushCause cause = DueCause(it->second->stats, limits_, now);
    if (cause != FlushCause::kNone) Seal(it, cause, sealed);
    it = next;
  }
}

std::string_view BatchBuffer::OpenKey(std::string_view partition, std::string_view shard) {
  if (!encoding_.per_shard) return partition;
  key_.assign(partition);
  key_.push_back('\0');
  key_.append(shard);
  return key_;
}

bool BatchBuffer::SealPartition(std::string_view partition, FlushCause cause, std::vector<SealedBatch>* sealed) {
  auto it = open_.find(partition);
  if (it == open_.end()) return false;
  Seal(it, cause, sealed);
  return true;
}

void BatchBuffer::SealShard(std::string_view shard, FlushCause cause, std::vector<SealedBatch>* sealed) {
  for (auto it = open_.begin(); it != open_.end();) {
    auto next = std::next(it);
    if (it->second->slots.count(shard)) Seal(it, cause, sealed);
    it = next;
  }
}

void BatchBuffer::SealAll(FlushCause cause, std::vector<SealedBatch>* sealed) {
  while (!open_.empty()) Seal(open_.begin(), cause, sealed);
}

void BatchBuffer::SealLargest(uint64_t target_bytes, std::vector<SealedBatch>* sealed) {
  while (open_bytes_ > target_bytes && !open_.empty()) {
    auto largest = std::max_element(open_.begin(), open_.end(),
                                    [](const auto& a, const auto& b) { return a.second->held < b.second->held; });
    Seal(largest, FlushCause::kPressure, sealed);
  }
}

std::optional<MonoTime> BatchBuffer::OldestLine() const {
  std::optional<MonoTime> oldest;
  for (const auto& [_, b] : open_) {
    if (!oldest || b->stats.oldest < *oldest) oldest = b->stats.oldest;
  }
  return oldest;
}

SealedBatch BatchBuffer::Piece(const Open& b) const {
  SealedBatch out;
  out.id = b.id;
  out.partition = b.partition;
  out.tag = b.tag;
  for (const auto& [shard, slot] : b.slots) out.shards.emplace(shard, slot.span);
  out.records = b.stats.records - b.records_out;
  out.bytes = b.stats.bytes - b.bytes_out;
  out.oldest = b.stats.oldest;
  return out;
}

void BatchBuffer::Seal(OpenMap::iterator it, FlushCause cause, std::vector<SealedBatch>* sealed) {
  if (it->second.get() == last_open_) {
    last_open_ = nullptr;
    last_slot_ = nullptr;
  }
  std::unique_ptr<Open> b = std::move(it->second);
  open_.erase(it);
  open_bytes_ -= b->held;
  b->closing = cause;
  if (b->pending > 0) {
    closing_bytes_ += b->held;
    const uint64_t id = b->id;
    closing_.emplace(id, std::move(b));
    return;
  }
  sealed->push_back(HandBack(*b));
}

SealedBatch BatchBuffer::HandBack(Open& b) {
  SealedBatch out = Piece(b);
  out.part = b.parts_out > 0 ? b.parts_out + 1 : 0;
  out.cause = b.closing;
  out.held = b.held;
  out.gzip = encoding_.gzip;
  out.header = b.parts_out == 0;
  out.total_bytes = b.stats.bytes;
  out.runs.reserve(b.slots.size());
  for (auto& [_, slot] : b.slots) out.runs.push_back(std::move(slot.run));
  return out;
}

}  // namespace shardhose::batch

#include "checkpoint/shard_progress.h"

#include "common/seqnum.h"

namespace shardhose::checkpoint {

void ShardProgress::Track(const std::string& shard, std::string durable_seq) {
  auto [it, added] = shards_.try_emplace(shard);
  if (!added) return;
  it->second.last_whole = durable_seq;
  it->second.durable = std::move(durable_seq);
}

void ShardProgress::OnAppended(const std::string& shard, std::string_view pos, uint64_t batch_id, bool ends_record) {
  Shard& s = shards_[shard];
  if (!s.by_batch.count(batch_id)) {
    s.pending.push_back(Pending{batch_id, s.last_whole});
    s.by_batch.emplace(batch_id, std::prev(s.pending.end()));
  }
  if (ends_record) s.last_whole.assign(SeqOfPos(pos));
}

void ShardProgress::OnSkipped(const std::string& shard, std::string_view pos, bool ends_record) {
  Shard& s = shards_[shard];
  if (!ends_record) return;
  s.last_whole.assign(SeqOfPos(pos));
  // Durable already; with nothing before it pending, the shard is durable
  // through it.
  if (s.pending.empty()) s.durable = s.last_whole;
}

bool ShardProgress::Advance(Shard& s) {
  const std::string& now = s.pending.empty() ? s.last_whole : s.pending.front().before;
  if (now.empty() || now == s.durable) return false;
  s.durable = now;
  return true;
}

bool ShardProgress::OnDurable(uint64_t batch_id, const std::vector<std::string>& shards) {
  bool moved = false;
  for (const auto& id : shards) {
    auto it = shards_.find(id);
    if (it == shards_.end()) continue;
    Shard& s = it->second;
    auto b = s.by_batch.find(batch_id);
    if (b == s.by_batch.end()) continue;
    s.pending.erase(b->second);
    s.by_batch.erase(b);
    moved |= Advance(s);
  }
  return moved;
}

const std::string& ShardProgress::DurableSeq(const std::string& shard) const {
  static const std::string kEmpty;
  auto it = shards_.find(shard);
  return it == shards_.end() ? kEmpty : it->second.durable;
}

bool ShardProgress::AllDurable(const std::string& shard) const {
  auto it = shards_.find(shard);
  return it == shards_.end() || it->second.pending.empty();
}

uint64_t ShardProgress::pending_batches() const {
  uint64_t n = 0;
  for (const auto& [_, s] : shards_) n += s.pending.size();
  return n;
}

}  // namespace shardhose::checkpoint

#include "checkpoint/shard_progress.h"

namespace shardhose::checkpoint {

void ShardProgress::Track(const std::string& shard, std::string durable_seq) {
  shards_.try_emplace(shard, Shard{std::move(durable_seq), {}});
}

void ShardProgress::OnAppended(const std::string& shard, std::string_view seq, uint64_t batch_id) {
  Shard& s = shards_[shard];
  if (!s.runs.empty() && s.runs.back().batch_id == batch_id && !s.runs.back().done) {
    s.runs.back().last.assign(seq);
    return;
  }
  s.runs.push_back(Run{batch_id, std::string(seq), std::string(seq)});
}

void ShardProgress::OnSkipped(const std::string& shard, std::string_view seq) {
  Shard& s = shards_[shard];
  if (s.runs.empty()) {
    s.durable.assign(seq);
    return;
  }
  if (s.runs.back().done && s.runs.back().batch_id == 0) {
    s.runs.back().last.assign(seq);
    return;
  }
  s.runs.push_back(Run{0, std::string(seq), std::string(seq), /*done=*/true});
}

bool ShardProgress::OnDurable(uint64_t batch_id, const std::vector<std::string>& shards) {
  bool moved = false;
  for (const auto& id : shards) {
    auto it = shards_.find(id);
    if (it == shards_.end()) continue;
    Shard& s = it->second;
    for (Run& r : s.runs) {
      if (r.batch_id == batch_id) r.done = true;
    }
    while (!s.runs.empty() && s.runs.front().done) {
      s.durable = std::move(s.runs.front().last);
      s.runs.pop_front();
      moved = true;
    }
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
  return it == shards_.end() || it->second.runs.empty();
}

uint64_t ShardProgress::pending_runs() const {
  uint64_t n = 0;
  for (const auto& [_, s] : shards_) n += s.runs.size();
  return n;
}

}  // namespace shardhose::checkpoint

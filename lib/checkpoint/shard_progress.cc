#include "checkpoint/shard_progress.h"

#include "common/seqnum.h"

namespace shardhose::checkpoint {

void ShardProgress::Track(const std::string& shard, std::string durable_seq) {
  shards_.try_emplace(shard, Shard{std::move(durable_seq), {}});
}

void ShardProgress::OnAppended(const std::string& shard, std::string_view pos, uint64_t batch_id,
                               bool ends_record) {
  Shard& s = shards_[shard];
  if (s.runs.empty() || s.runs.back().batch_id != batch_id || s.runs.back().done) {
    s.runs.push_back(Run{batch_id, std::string(pos), std::string(pos), {}});
  } else {
    s.runs.back().last.assign(pos);
  }
  if (ends_record) s.runs.back().whole.assign(SeqOfPos(pos));
}

void ShardProgress::OnSkipped(const std::string& shard, std::string_view pos, bool ends_record) {
  Shard& s = shards_[shard];
  if (s.runs.empty()) {
    // Durable already, and nothing before it is pending: only a whole
    // record moves the durable sequence.
    if (ends_record) s.durable.assign(SeqOfPos(pos));
    return;
  }
  if (!(s.runs.back().done && s.runs.back().batch_id == 0)) {
    s.runs.push_back(Run{0, std::string(pos), std::string(pos), {}, /*done=*/true});
  }
  s.runs.back().last.assign(pos);
  if (ends_record) s.runs.back().whole.assign(SeqOfPos(pos));
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
      if (!s.runs.front().whole.empty()) {
        s.durable = std::move(s.runs.front().whole);
        moved = true;
      }
      s.runs.pop_front();
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

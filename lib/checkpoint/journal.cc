#include "checkpoint/journal.h"

#include "common/seqnum.h"

namespace shardhose::checkpoint {

void Journal::Load(const std::vector<PendingCut>& cuts) {
  for (const PendingCut& c : cuts) {
    cuts_[c.key] = c;
    if (!c.uploaded) replays_[c.key] = c;
    loaded_by_partition_.emplace(c.partition, c.key);
  }
  ++version_;
}

bool Journal::InRange(const PendingCut& cut, std::string_view shard, std::string_view pos) {
  auto it = cut.ranges.find(std::string(shard));
  if (it == cut.ranges.end()) return false;
  return ComparePos(it->second.first, pos) <= 0 && ComparePos(pos, it->second.last) <= 0;
}

std::vector<std::string> Journal::DropShard(const std::string& shard) {
  std::vector<std::string> keys;
  for (auto it = cuts_.begin(); it != cuts_.end();) {
    if (!it->second.ranges.count(shard)) {
      ++it;
      continue;
    }
    for (auto [lo, hi] = loaded_by_partition_.equal_range(it->second.partition); lo != hi; ++lo) {
      if (lo->second == it->first) {
        loaded_by_partition_.erase(lo);
        break;
      }
    }
    replays_.erase(it->first);
    keys.push_back(it->first);
    it = cuts_.erase(it);
  }
  if (!keys.empty()) ++version_;
  return keys;
}

Journal::Route Journal::Match(std::string_view partition, std::string_view shard, std::string_view pos,
                              std::string* key) const {
  if (loaded_by_partition_.empty()) return Route::kNew;
  auto [lo, hi] = loaded_by_partition_.equal_range(partition);
  for (auto it = lo; it != hi; ++it) {
    auto cut = cuts_.find(it->second);
    if (cut == cuts_.end() || !InRange(cut->second, shard, pos)) continue;
    if (cut->second.uploaded) return Route::kSkip;
    *key = cut->first;
    return Route::kReplay;
  }
  return Route::kNew;
}

uint64_t Journal::Add(PendingCut cut) {
  cut.uploaded = false;
  std::string key = cut.key;
  cuts_[key] = std::move(cut);
  return ++version_;
}

uint64_t Journal::Extend(const std::string& key, const std::string& shard, const std::string& last) {
  cuts_.at(key).ranges.at(shard).last = last;
  return ++version_;
}

void Journal::MarkUploaded(const std::string& key) {
  auto it = cuts_.find(key);
  if (it == cuts_.end()) return;
  it->second.uploaded = true;
  replays_.erase(key);
  ++version_;
}

bool Journal::Prune(const std::function<const std::string&(const std::string&)>& durable_seq) {
  bool dropped = false;
  for (auto it = cuts_.begin(); it != cuts_.end();) {
    const PendingCut& c = it->second;
    bool below = c.uploaded;
    for (const auto& [shard, range] : c.ranges) {
      if (!below) break;
      const std::string& d = durable_seq(shard);
      below = !d.empty() && CompareSeq(SeqOfPos(range.last), d) <= 0;
    }
    if (below) {
      for (auto [lo, hi] = loaded_by_partition_.equal_range(c.partition); lo != hi; ++lo) {
        if (lo->second == it->first) {
          loaded_by_partition_.erase(lo);
          break;
        }
      }
      it = cuts_.erase(it);
      dropped = true;
    } else {
      ++it;
    }
  }
  if (dropped) ++version_;
  return dropped;
}

std::vector<PendingCut> Journal::Entries() const {
  std::vector<PendingCut> out;
  out.reserve(cuts_.size());
  for (const auto& [_, c] : cuts_) out.push_back(c);
  return out;
}

}  // namespace shardhose::checkpoint

#include "poll/shard_set.h"

namespace shardhose::poll {

std::string_view ShardStateName(ShardState s) {
  switch (s) {
    case ShardState::kWaiting:
      return "waiting";
    case ShardState::kActive:
      return "active";
    case ShardState::kExhausted:
      return "exhausted";
    case ShardState::kFinished:
      return "finished";
    case ShardState::kReleased:
      return "released";
  }
  return "unknown";
}

std::vector<std::string> ShardSet::Merge(const std::vector<ShardInfo>& listed, const IteratorStart& start) {
  std::vector<std::string> added;
  for (const auto& info : listed) {
    auto it = shards_.find(info.id);
    if (it != shards_.end()) {
      if (!info.ending_seq.empty()) it->second.info.ending_seq = info.ending_seq;
      if (!info.starting_seq.empty()) it->second.info.starting_seq = info.starting_seq;
      if (it->second.info.parent.empty()) it->second.info.parent = info.parent;
      if (it->second.info.adjacent_parent.empty()) it->second.info.adjacent_parent = info.adjacent_parent;
      continue;
    }
    ShardEntry e;
    e.info = info;
    e.start = start;
    shards_.emplace(info.id, std::move(e));
    added.push_back(info.id);
  }
  return added;
}

ShardEntry& ShardSet::Put(const ShardInfo& info, ShardState state, const IteratorStart& start) {
  auto it = shards_.try_emplace(info.id).first;
  ShardEntry& e = it->second;
  if (e.state == ShardState::kReleased) {
    const uint64_t queued = e.queued;
    ShardEntry fresh;
    e = std::move(fresh);
    e.queued = queued;  // any heap entry of the old life stays stale
  }
  e.info = info;
  e.state = state;
  e.start = start;
  if (state == ShardState::kActive && !e.held) Schedule(it->first, e);
  return e;
}

void ShardSet::Forget(const std::string& id) {
  auto it = shards_.find(id);
  if (it == shards_.end()) return;
  it->second.state = ShardState::kReleased;
  it->second.dropping = false;
  it->second.iterator.clear();
  ++it->second.queued;  // its heap entry, if any, is stale now
}

void ShardSet::Schedule(const std::string& id, ShardEntry& e) {
  e.queued = ++next_seq_;
  queue_.push(Queued{e.due, &id, &e, e.queued});
  if (queue_.size() > 2 * shards_.size() + 64) Compact();
}

// Drops every stale entry: one entry per active, unheld shard remains.
void ShardSet::Compact() {
  decltype(queue_) fresh;
  for (auto& [id, e] : shards_) {
    if (e.state != ShardState::kActive || e.held) continue;
    e.queued = ++next_seq_;
    fresh.push(Queued{e.due, &id, &e, e.queued});
  }
  queue_.swap(fresh);
}

bool ShardSet::ParentDone(const std::string& parent) const {
  if (parent.empty()) return true;
  auto it = shards_.find(parent);
  if (it == shards_.end()) return true;  // trimmed: past retention
  return it->second.state == ShardState::kExhausted || it->second.state == ShardState::kFinished ||
         it->second.state == ShardState::kReleased;
}

std::vector<std::string> ShardSet::Activate(MonoTime now) {
  std::vector<std::string> activated;
  // Repeat: activating never exhausts a shard, so one pass suffices; the
  // loop is over the sorted map.
  for (auto& [id, e] : shards_) {
    if (e.state != ShardState::kWaiting) continue;
    if (ParentDone(e.info.parent) && ParentDone(e.info.adjacent_parent)) {
      e.state = ShardState::kActive;
      e.due = now;
      Schedule(id, e);
      activated.push_back(id);
    }
  }
  return activated;
}

std::optional<std::string> ShardSet::Next(MonoTime now, MonoTime* next_due) {
  while (!queue_.empty()) {
    const Queued top = queue_.top();
    ShardEntry& e = *top.entry;
    if (e.queued != top.seq || e.state != ShardState::kActive || e.held || e.dropping) {
      queue_.pop();  // stale: superseded, held, being released, or no longer active
      continue;
    }
    if (top.due > now) {
      *next_due = top.due;
      return std::nullopt;
    }
    queue_.pop();
    e.held = true;
    return *top.id;
  }
  *next_due = MonoTime::max();
  return std::nullopt;
}

void ShardSet::Release(const std::string& id, MonoTime due) {
  auto it = shards_.find(id);
  if (it == shards_.end()) return;
  it->second.held = false;
  it->second.due = due;
  if (it->second.state == ShardState::kActive) Schedule(it->first, it->second);
}

ShardEntry* ShardSet::Find(const std::string& id) {
  auto it = shards_.find(id);
  return it == shards_.end() ? nullptr : &it->second;
}

const ShardEntry* ShardSet::Find(const std::string& id) const {
  auto it = shards_.find(id);
  return it == shards_.end() ? nullptr : &it->second;
}

bool ShardSet::AllCaughtUp() const {
  for (const auto& [_, e] : shards_) {
    switch (e.state) {
      case ShardState::kExhausted:
      case ShardState::kFinished:
      case ShardState::kReleased:
        continue;
      case ShardState::kWaiting:
        return false;
      case ShardState::kActive:
        if (e.held || !e.caught_up) return false;
    }
  }
  return true;
}

std::vector<std::string> ShardSet::ExpireUnlisted(const std::vector<ShardInfo>& listed) {
  std::vector<std::string> expired;
  if (listed.empty()) return expired;
  for (auto& [id, e] : shards_) {
    if (e.state != ShardState::kWaiting && e.state != ShardState::kActive) continue;
    if (!e.info.closed()) continue;
    bool still_listed = false;
    for (const auto& s : listed) still_listed = still_listed || s.id == id;
    if (still_listed) continue;
    e.state = ShardState::kExhausted;
    e.iterator.clear();
    expired.push_back(id);
  }
  return expired;
}

}  // namespace shardhose::poll

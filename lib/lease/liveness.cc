#include "lease/liveness.h"

namespace shardhose::lease {

void Liveness::Observe(const std::vector<WorkerBeat>& workers, const std::vector<Lease>& leases, MonoTime now) {
  std::map<std::string, Owner> seen;  // what this listing says, per owner
  for (const WorkerBeat& w : workers) {
    if (w.worker_id.empty()) continue;
    Owner& o = seen[w.worker_id];
    o.has_beat = true;
    o.beat = w.beat;
  }
  for (const Lease& l : leases) {
    if (l.owner.empty()) continue;
    seen[l.owner].counters[l.key] = l.counter;
  }

  std::map<std::string, Owner> next;
  for (auto& [id, now_seen] : seen) {
    auto before = owners_.find(id);
    now_seen.last_change = now;
    if (before != owners_.end()) {
      const Owner& b = before->second;
      bool changed = now_seen.has_beat && (!b.has_beat || b.beat != now_seen.beat);
      for (const auto& [key, counter] : now_seen.counters) {
        auto it = b.counters.find(key);
        if (it == b.counters.end() || it->second != counter) changed = true;
      }
      if (!changed) now_seen.last_change = b.last_change;
      // A row that vanished keeps the beat last seen: its return with the
      // same beat is no sign of life.
      if (!now_seen.has_beat && b.has_beat) {
        now_seen.has_beat = true;
        now_seen.beat = b.beat;
      }
    }
    next.emplace(id, std::move(now_seen));
  }
  owners_ = std::move(next);
}

bool Liveness::Alive(const std::string& owner, MonoTime now) const {
  if (owner.empty()) return false;
  return Silent(owner, now) < lease_duration_;
}

Millis Liveness::Silent(const std::string& owner, MonoTime now) const {
  auto it = owners_.find(owner);
  if (it == owners_.end() || now <= it->second.last_change) return Millis(0);
  return std::chrono::duration_cast<Millis>(now - it->second.last_change);
}

std::vector<std::string> Liveness::LiveOwners(MonoTime now) const {
  std::vector<std::string> out;
  for (const auto& [id, o] : owners_) {
    if (Alive(id, now)) out.push_back(id);
  }
  return out;
}

}  // namespace shardhose::lease

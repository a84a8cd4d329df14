#include "lease/coordinator.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/logging.h"

namespace shardhose::lease {
namespace {

constexpr const char* kConditionFailed = "ConditionalCheckFailedException";

bool Refused(const Status& st) {
  return st.code() == StatusCode::kFailedPrecondition || st.peer_code() == kConditionFailed;
}

int64_t EpochMs(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Keys and counters: what a change of holdings is.
bool SameHoldings(const Coordinator::HeldLeases& a, const Coordinator::HeldLeases& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first || i->second.counter != j->second.counter) return false;
  }
  return true;
}

}  // namespace

Coordinator::Coordinator(LeaseTable* table, Clock* clock, CoordinatorOptions options)
    : table_(table),
      clock_(clock),
      options_(std::move(options)),
      liveness_(options_.lease_duration),
      // A restart reusing its worker_id must not repeat a beat the previous
      // incarnation wrote: start from the wall clock.
      beat_(EpochMs(clock->WallNow())) {}

void Coordinator::SetShards(std::vector<StreamShard> shards) { shards_ = std::move(shards); }

void Coordinator::Count(int64_t CoordinatorStats::*field, int64_t n) {
  MutexLock lock(&mu_);
  stats_.*field += n;
}

Coordinator::HeldLeases Coordinator::Held() const {
  MutexLock lock(&mu_);
  return held_;
}

bool Coordinator::Holds(const std::string& key) const {
  MutexLock lock(&mu_);
  return held_.count(key) > 0;
}

CoordinatorStats Coordinator::stats() const {
  MutexLock lock(&mu_);
  CoordinatorStats s = stats_;
  s.held = static_cast<int64_t>(held_.size());
  return s;
}

bool Coordinator::HoldsShare() const {
  const CoordinatorStats s = stats();
  return s.ticks > 0 && s.held + 1 >= s.target;
}

std::string Coordinator::NotReadyReason(MonoTime now, std::string* note) const {
  MutexLock lock(&mu_);
  if (!last_listed_) return "lease table not read yet";
  auto ago = [&](MonoTime t) { return std::chrono::duration_cast<Millis>(now - t).count() / 1000.0; };
  const double limit_s = static_cast<double>(options_.lease_duration.count()) / 1000.0;
  if (ago(*last_listed_) > limit_s) {
    return fmt::format("lease table not read for {:.0f} s (other workers take our leases after {:.0f} s)",
                       ago(*last_listed_), limit_s);
  }
  if (!last_beat_ || ago(*last_beat_) > limit_s) {
    return fmt::format("lease heartbeat not written for {:.0f} s (other workers take our leases after {:.0f} s)",
                       last_beat_ ? ago(*last_beat_) : ago(*last_listed_), limit_s);
  }
  const auto held = static_cast<int64_t>(held_.size());
  if (held + 1 < stats_.target) {
    return fmt::format("balancing: holds {} leases, its share is {} (of {}, {} live workers)", held, stats_.target,
                       leases_listed_, stats_.live_workers);
  }
  if (note) {
    *note = fmt::format("holds {} leases (share {}) of {}, {} live workers", held, stats_.target, leases_listed_,
                        stats_.live_workers);
  }
  return "";
}

void Coordinator::ReportLost(const std::string& key) {
  MutexLock lock(&mu_);
  if (held_.erase(key) > 0) {
    ++stats_.lost;
    LogWarn("lease lost (a conditional write was refused)", {{"shard", key}, {"worker", options_.worker_id}});
  }
}

void Coordinator::Heartbeat(MonoTime now) {
  if (next_beat_ && now < *next_beat_) return;
  WorkerBeat b;
  b.worker_id = options_.worker_id;
  b.beat = ++beat_;
  {
    MutexLock lock(&mu_);
    b.leases = static_cast<int64_t>(held_.size());
  }
  b.written_ms = EpochMs(clock_->WallNow());
  Status st = table_->Heartbeat(b);
  if (!st.ok()) {
    Count(&CoordinatorStats::table_errors);
    LogWarn("lease heartbeat failed", {{"worker", options_.worker_id}, {"cause", ShortCause(st)}});
    return;  // tried again at the next Tick
  }
  Count(&CoordinatorStats::heartbeats);
  next_beat_ = now + TickInterval();
  MutexLock lock(&mu_);
  last_beat_ = now;
}

std::optional<Lease> Coordinator::Move(const Lease& seen, const std::string& owner, const char* why) {
  Result<Lease> r = table_->Transfer(seen, owner);
  if (r.ok()) return std::move(r).value();
  if (Refused(r.status())) {
    Count(&CoordinatorStats::conflicts);
    LogDebug("lease moved by another worker first", {{"shard", seen.key}, {"action", why}});
  } else {
    Count(&CoordinatorStats::table_errors);
    LogWarn("lease transfer failed", {{"shard", seen.key}, {"action", why}, {"cause", ShortCause(r.status())}});
  }
  return std::nullopt;
}

void Coordinator::CheckHeld(const std::vector<Lease>& leases) {
  std::map<std::string, const Lease*> by_key;
  for (const Lease& l : leases) by_key.emplace(l.key, &l);
  std::vector<Lease> retake;
  {
    MutexLock lock(&mu_);
    for (auto it = held_.begin(); it != held_.end();) {
      auto t = by_key.find(it->first);
      if (t == by_key.end() || t->second->owner != options_.worker_id || t->second->counter != it->second.counter) {
        ++stats_.lost;
        LogWarn("lease lost", {{"shard", it->first},
                               {"worker", options_.worker_id},
                               {"owner_now", t == by_key.end() ? std::string("(no lease)") : t->second->owner}});
        it = held_.erase(it);
      } else if (t->second->finished()) {
        ++stats_.finished;
        it = held_.erase(it);
      } else {
        it->second = *t->second;
        ++it;
      }
    }
    for (const Lease& l : leases) {
      if (l.owner == options_.worker_id && !l.finished() && !held_.count(l.key)) retake.push_back(l);
    }
  }
  // Ours by name but not held by this incarnation: move the counter.
  for (const Lease& l : retake) {
    if (std::optional<Lease> got = Move(l, options_.worker_id, "retake")) {
      LogInfo("lease taken back (held in our name before)", {{"shard", l.key}, {"worker", options_.worker_id}});
      MutexLock lock(&mu_);
      held_[l.key] = std::move(*got);
      ++stats_.taken;
    }
  }
}

void Coordinator::ReleaseFinished(std::vector<Lease>* leases, const std::set<std::string>& live) {
  for (Lease& l : *leases) {
    if (!l.finished() || l.owner.empty()) continue;
    if (l.owner != options_.worker_id && live.count(l.owner)) continue;  // its owner releases it
    if (std::optional<Lease> got = Move(l, "", "release finished")) {
      LogDebug("finished lease released", {{"shard", l.key}, {"owner_was", l.owner}});
      Count(&CoordinatorStats::released);
      l = std::move(*got);
    }
  }
}

int64_t Coordinator::CreateMissing(std::vector<Lease>* leases) {
  if (shards_.empty()) return 0;
  std::map<std::string, const Lease*> listed;
  std::set<std::string> parents_known;  // named as a parent by a lease
  for (const Lease& l : *leases) {
    listed.emplace(l.key, &l);
    parents_known.insert(l.parents.begin(), l.parents.end());
  }
  const bool empty_table = leases->empty();
  const int64_t now_ms = EpochMs(clock_->WallNow());
  std::vector<Lease> made;
  int64_t missing = 0;
  for (const StreamShard& s : shards_) {
    if (s.id.empty() || listed.count(s.id)) continue;
    if (!empty_table && s.closed && parents_known.count(s.id)) continue;  // finished and deleted
    Lease l;
    l.key = s.id;
    if (!s.parent.empty()) l.parents.push_back(s.parent);
    if (!s.adjacent_parent.empty() && s.adjacent_parent != s.parent) l.parents.push_back(s.adjacent_parent);
    std::sort(l.parents.begin(), l.parents.end());
    l.starting_hash_key = s.starting_hash_key;
    l.ending_hash_key = s.ending_hash_key;
    // Where to start: a child of a listed lease continues its parents' run
    // (from its first record, or from the parents' pinned start when they
    // had one); any other shard starts at the configured position.
    bool child = false;
    int64_t parent_start_ms = 0;
    for (const std::string& p : l.parents) {
      auto it = listed.find(p);
      if (it == listed.end()) continue;
      child = true;
      parent_start_ms = std::max(parent_start_ms, it->second->start_ms);
    }
    if (child) {
      l.checkpoint = parent_start_ms > 0 ? kAtTimestamp : kTrimHorizon;
      l.start_ms = parent_start_ms;
    } else if (options_.initial_position == InitialPosition::kLatest) {
      l.checkpoint = kAtTimestamp;
      l.start_ms = now_ms;
    } else if (options_.initial_position == InitialPosition::kAtTimestamp) {
      l.checkpoint = kAtTimestamp;
      l.start_ms = options_.initial_timestamp_ms;
    } else {
      l.checkpoint = kTrimHorizon;
    }
    Status st = table_->Create(l);
    if (st.ok()) {
      Count(&CoordinatorStats::created);
      LogInfo("lease created", {{"shard", l.key}, {"checkpoint", l.checkpoint}});
      made.push_back(std::move(l));
    } else if (Refused(st)) {
      Count(&CoordinatorStats::conflicts);  // another worker made it: seen at the next listing
      ++missing;
    } else {
      Count(&CoordinatorStats::table_errors);
      LogWarn("lease create failed", {{"shard", l.key}, {"cause", ShortCause(st)}});
      ++missing;
    }
  }
  leases->insert(leases->end(), made.begin(), made.end());
  return missing;
}

void Coordinator::Apply(const BalancePlan& plan) {
  for (const Lease& l : plan.give_up) {
    if (Move(l, "", "give up")) {
      MutexLock lock(&mu_);
      held_.erase(l.key);
      ++stats_.released;
    }
  }
  auto take = [&](const Lease& l, bool stolen) {
    std::optional<Lease> got = Move(l, options_.worker_id, stolen ? "steal" : "take");
    if (!got) return;
    LogInfo(stolen ? "lease stolen" : "lease taken",
            {{"shard", l.key}, {"worker", options_.worker_id}, {"from", l.owner}, {"target", plan.target}});
    MutexLock lock(&mu_);
    held_[l.key] = std::move(*got);
    ++(stolen ? stats_.stolen : stats_.taken);
  };
  for (const Lease& l : plan.take) take(l, false);
  for (const Lease& l : plan.steal) take(l, true);
}

void Coordinator::ForgetWorkers(const std::vector<WorkerBeat>& workers, const std::vector<Lease>& leases,
                                MonoTime now) {
  std::set<std::string> owners;
  for (const Lease& l : leases) owners.insert(l.owner);
  for (const WorkerBeat& w : workers) {
    if (w.worker_id == options_.worker_id || owners.count(w.worker_id)) continue;
    if (liveness_.Silent(w.worker_id, now) < options_.forget_workers_after) continue;
    Status st = table_->RemoveWorker(w.worker_id);
    if (st.ok()) {
      LogInfo("removed the heartbeat row of a silent worker", {{"worker", w.worker_id}});
    } else {
      Count(&CoordinatorStats::table_errors);
    }
  }
}

Status Coordinator::Tick(MonoTime now) {
  const HeldLeases before = Held();
  Count(&CoordinatorStats::ticks);
  Heartbeat(now);

  Result<std::vector<Lease>> listed = table_->List();
  if (!listed.ok()) {
    Count(&CoordinatorStats::table_errors);
    return listed.status().WithContext("listing leases");
  }
  Result<std::vector<WorkerBeat>> workers = table_->ListWorkers();
  if (!workers.ok()) {
    Count(&CoordinatorStats::table_errors);
    return workers.status().WithContext("listing workers");
  }
  std::vector<Lease> leases = std::move(listed).value();
  liveness_.Observe(*workers, leases, now);
  CheckHeld(leases);
  const int64_t missing = CreateMissing(&leases);

  // Our own moves (retakes above) are in held_, not in `leases`: use them.
  {
    MutexLock lock(&mu_);
    for (Lease& l : leases) {
      auto it = held_.find(l.key);
      if (it != held_.end()) l = it->second;
    }
  }
  std::set<std::string> live;
  for (const std::string& w : liveness_.LiveOwners(now)) live.insert(w);
  live.insert(options_.worker_id);
  ReleaseFinished(&leases, live);
  const BalancePlan plan = Balance(leases, live, options_.worker_id, options_.max_leases_per_worker);
  Apply(plan);
  ForgetWorkers(*workers, leases, now);

  HeldLeases after;
  {
    MutexLock lock(&mu_);
    stats_.target = plan.target;
    stats_.live_workers = plan.workers;
    int64_t unattended = missing;
    for (const Lease& l : leases) {
      if (l.finished() || held_.count(l.key)) continue;
      if (l.owner.empty() || l.owner == options_.worker_id || !live.count(l.owner)) ++unattended;
    }
    stats_.unattended = unattended;
    leases_listed_ = static_cast<int64_t>(leases.size());
    last_listed_ = now;
    after = held_;
  }
  if (on_change_ && !SameHoldings(before, after)) on_change_(after);
  return Status::OK();
}

Status Coordinator::ReleaseAll() {
  Status first;
  for (const auto& [key, l] : Held()) {
    Result<Lease> r = table_->Transfer(l, "");
    if (r.ok()) {
      Count(&CoordinatorStats::released);
      LogInfo("lease released", {{"shard", key}, {"worker", options_.worker_id}});
    } else if (Refused(r.status())) {
      Count(&CoordinatorStats::lost);
    } else {
      Count(&CoordinatorStats::table_errors);
      if (first.ok()) first = r.status().WithContext(fmt::format("releasing lease {}", key));
    }
    MutexLock lock(&mu_);
    held_.erase(key);
  }
  Status st = table_->RemoveWorker(options_.worker_id);
  if (!st.ok() && first.ok()) first = st.WithContext("removing the heartbeat row");
  if (on_change_) on_change_(HeldLeases{});
  return first;
}

}  // namespace shardhose::lease

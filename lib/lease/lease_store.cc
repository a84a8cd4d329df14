#include "lease/lease_store.h"

#include <fmt/format.h>

#include "common/seqnum.h"

namespace shardhose::lease {

Status LeaseStore::Save(const checkpoint::Checkpoint& cp) {
  std::lock_guard<std::mutex> lock(mu_);
  const Coordinator::HeldLeases held = coordinator_->Held();
  std::string failed;
  Status first;
  for (const auto& [id, sc] : cp.shards) {
    auto w = written_.find(id);
    // Finished and written: never again (the coordinator may have dropped
    // the lease already, and its children may be read elsewhere).
    if (w != written_.end() && w->second.finished()) continue;
    auto h = held.find(id);
    if (h == held.end()) {
      failed += failed.empty() ? id : ", " + id;
      if (first.ok()) first = Status::Aborted(fmt::format("the lease of shard {} is not held", id));
      continue;
    }
    auto hd = handed_.find(id);
    if (hd != handed_.end() && hd->second != h->second.counter) {
      failed += failed.empty() ? id : ", " + id;
      if (first.ok()) {
        first = Status::Aborted(fmt::format("the lease of shard {} moved since its reading began (counter {}, now {})",
                                            id, hd->second, h->second.counter));
      }
      continue;
    }
    Lease next = h->second;
    SetCheckpoint(sc, &next);
    next.checkpoint_sub = 0;
    next.caught_up_ms = sc.caught_up_ms;
    next.journal.clear();
    for (const auto& cut : cp.pending) {
      if (cut.ranges.count(id)) next.journal.push_back(cut);
    }
    // Unchanged since written (or as the lease already says), the
    // caught-up time aside while it moved less than kCaughtUpRefreshMs.
    const Lease& base = w != written_.end() ? w->second : h->second;
    Lease same_but_caught_up = base;
    same_but_caught_up.caught_up_ms = next.caught_up_ms;
    if (next == same_but_caught_up && next.caught_up_ms - base.caught_up_ms < kCaughtUpRefreshMs) continue;
    Status st = table_->Update(next);
    if (!st.ok()) {
      if (st.code() == StatusCode::kFailedPrecondition) coordinator_->ReportLost(id);
      failed += failed.empty() ? id : ", " + id;
      if (first.ok()) first = std::move(st);
      continue;
    }
    written_[id] = std::move(next);
  }
  // Forget what was written for shards no longer in the checkpoint.
  std::erase_if(written_, [&](const auto& entry) { return !cp.shards.count(entry.first); });
  if (failed.empty()) return Status::OK();
  return Status(first.code(), fmt::format("lease(s) of {} not written: {}", failed, first.message()));
}

void LeaseStore::Handed(const std::string& shard, int64_t counter) {
  std::lock_guard<std::mutex> lock(mu_);
  handed_[shard] = counter;
  written_.erase(shard);  // what was written belongs to an earlier reading
}

void LeaseStore::Dropped(const std::string& shard) {
  std::lock_guard<std::mutex> lock(mu_);
  handed_.erase(shard);
  written_.erase(shard);
}

pipeline::LeasedShard ToLeasedShard(const Lease& lease, int64_t default_start_ms, int64_t now_ms) {
  pipeline::LeasedShard s;
  s.info.id = lease.key;
  if (!lease.parents.empty()) s.info.parent = lease.parents[0];
  if (lease.parents.size() > 1) s.info.adjacent_parent = lease.parents[1];
  s.position.caught_up_ms = lease.caught_up_ms;
  if (lease.checkpoint == kShardEnd) {
    s.position.state = checkpoint::ShardCheckpoint::State::kFinished;
  } else if (lease.checkpoint == kAtTimestamp) {
    s.position.start = checkpoint::ShardCheckpoint::Start::kAtTimestamp;
    s.position.start_timestamp_ms = lease.start_ms != 0 ? lease.start_ms : default_start_ms;
  } else if (lease.checkpoint == kLatest) {
    s.position.start = checkpoint::ShardCheckpoint::Start::kAtTimestamp;
    s.position.start_timestamp_ms = now_ms;
  } else if (IsValidSeq(lease.checkpoint)) {
    s.position.sequence = lease.checkpoint;
  }  // else TRIM_HORIZON
  s.cuts = lease.journal;
  return s;
}

}  // namespace shardhose::lease

// Lease mode (pipeline.h, "Lease mode"): shards handed to the pipeline and
// taken back while it runs. Adding a shard is recovery (recovery.h) for
// that shard alone; dropping one forgets everything about it that is not
// in its lease.
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "pipeline/engine.h"
#include "pipeline/recovery.h"

namespace shardhose::pipeline {

Status Pipeline::AddShard(LeasedShard shard) {
  Engine& e = *engine_;
  const std::string id = shard.info.id;
  {
    MutexLock lock(&e.s.mu);
    const poll::ShardEntry* known = e.s.shards.Find(id);
    if (known && known->state != poll::ShardState::kReleased) {
      return Status::FailedPrecondition("shard " + id + " is being read already");
    }
  }
  std::vector<std::string> replays;
  for (const auto& cut : shard.cuts) {
    if (!cut.uploaded) replays.push_back(cut.key);
  }
  // Parts of these objects that the last owner streamed are abandoned: the
  // cuts are re-formed and uploaded afresh.
  AbortOrphanedUploads(e.deps.store, replays);

  MutexLock lock(&e.s.mu);
  e.RoomsHeld();
  poll::IteratorStart start;
  if (shard.position.start == checkpoint::ShardCheckpoint::Start::kAtTimestamp) {
    start.type = poll::IteratorType::kAtTimestamp;
    start.timestamp_ms = shard.position.start_timestamp_ms;
  }
  const bool finished = shard.position.state == checkpoint::ShardCheckpoint::State::kFinished;
  poll::ShardEntry& entry =
      e.s.shards.Put(shard.info, finished ? poll::ShardState::kFinished : poll::ShardState::kWaiting, start);
  entry.caught_up_ms = shard.position.caught_up_ms;
  e.s.progress.Track(id, shard.position.sequence);
  e.s.journal.Load(shard.cuts);
  e.s.shards.Activate(e.s.clock->Now());
  LogInfo(fmt::format("shard {}: lease taken; reading after {}{}", id,
                      shard.position.sequence.empty() ? "its start" : shard.position.sequence,
                      replays.empty() ? "" : fmt::format(", re-forming {} journaled batch(es)", replays.size())),
          {{"shard", id}, {"journaled", replays.size()}});
  e.s.cv.NotifyAll();
  return Status::OK();
}

void Pipeline::DropShard(const std::string& id) {
  Engine& e = *engine_;
  MutexLock lock(&e.s.mu);
  e.RoomsHeld();
  poll::ShardEntry* entry = e.s.shards.Find(id);
  if (!entry || entry->state == poll::ShardState::kReleased) return;
  entry->dropping = true;  // no poller takes it again
  while (entry->held) e.s.clock->Wait(&e.s.cv, &e.s.mu);
  const std::vector<std::string> keys = e.s.journal.DropShard(id);
  e.batcher.DropShard(id, keys);
  e.s.progress.Untrack(id);
  e.s.shards.Forget(id);
  LogInfo(fmt::format("shard {}: lease gone; no longer read here", id), {{"shard", id}});
  e.s.cv.NotifyAll();
}

std::vector<std::string> Pipeline::Shards() const {
  MutexLock lock(&engine_->s.mu);
  std::vector<std::string> ids;
  for (const auto& [id, entry] : engine_->s.shards.entries()) {
    if (entry.state != poll::ShardState::kReleased) ids.push_back(id);
  }
  return ids;
}

bool Pipeline::ReadToTip() const {
  Engine& e = *engine_;
  MutexLock lock(&e.s.mu);
  e.RoomsHeld();
  return e.s.shards.AllCaughtUp();
}

bool Pipeline::CaughtUp() const {
  Engine& e = *engine_;
  MutexLock lock(&e.s.mu);
  e.RoomsHeld();
  if (!e.s.shards.AllCaughtUp()) return false;
  for (const auto& [id, entry] : e.s.shards.entries()) {
    if (entry.state != poll::ShardState::kReleased && !e.s.progress.AllDurable(id)) return false;
  }
  return true;
}

}  // namespace shardhose::pipeline

#include "pipeline/checkpointer.h"

#include <spdlog/spdlog.h>

#include "common/kill_point.h"
#include "common/logging.h"
#include "decode/change_record.h"

namespace shardhose::pipeline {
namespace {

using poll::IteratorType;
using poll::ShardState;

std::string Rfc3339(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return decode::FormatIsoMillis(ms * 1000);
}

}  // namespace

void Checkpointer::Begin(const std::optional<checkpoint::Checkpoint>& loaded, const std::string& name,
                         const std::string& arn) {
  last_.stream_name = name;
  last_.stream_arn = arn;
  if (loaded) last_.generation = loaded->generation;
}

checkpoint::Checkpoint Checkpointer::Snapshot() {
  checkpoint::Checkpoint cp;
  cp.stream_name = last_.stream_name;
  cp.stream_arn = last_.stream_arn;
  cp.generation = last_.generation + 1;
  cp.written_at = Rfc3339(s_.clock->WallNow());
  s_.journal.Prune([this](const std::string& shard) -> const std::string& {
    s_.mu.AssertHeld();  // called back from within Prune
    return s_.progress.DurableSeq(shard);
  });
  cp.pending = s_.journal.Entries();
  for (auto& [id, e] : s_.shards.entries()) {
    if (e.state == ShardState::kReleased) continue;  // lease mode: another worker's
    checkpoint::ShardCheckpoint sc;
    if (e.state == ShardState::kExhausted && s_.progress.AllDurable(id)) {
      s_.shards.Find(id)->state = ShardState::kFinished;
    }
    sc.state = e.state == ShardState::kFinished ? checkpoint::ShardCheckpoint::State::kFinished
                                                : checkpoint::ShardCheckpoint::State::kOpen;
    sc.sequence = s_.progress.DurableSeq(id);
    sc.start = e.start.type == IteratorType::kAtTimestamp ? checkpoint::ShardCheckpoint::Start::kAtTimestamp
                                                          : checkpoint::ShardCheckpoint::Start::kTrimHorizon;
    sc.start_timestamp_ms = e.start.type == IteratorType::kAtTimestamp ? e.start.timestamp_ms : 0;
    sc.parent = e.info.parent;
    sc.adjacent_parent = e.info.adjacent_parent;
    sc.caught_up_ms = e.caught_up_ms;
    cp.shards.emplace(id, std::move(sc));
  }
  return cp;
}

Status Checkpointer::WriteInitial() {
  checkpoint::Checkpoint cp = Snapshot();
  const uint64_t version = s_.journal.version();
  Status st;
  {
    MutexUnlock unlocked(&s_.mu);
    st = store_->Save(cp);
  }
  if (!st.ok()) return st.WithContext("writing the initial checkpoint");
  journal_written_ = version;
  last_ = std::move(cp);
  return Status::OK();
}

bool Checkpointer::Write() {
  while (writing_) s_.clock->Wait(&s_.cv, &s_.mu);
  s_.checkpoint_dirty = false;
  checkpoint::Checkpoint cp = Snapshot();
  const uint64_t version = s_.journal.version();
  if (cp.shards == last_.shards && cp.pending == last_.pending) {
    journal_written_ = std::max(journal_written_, version);
    return true;
  }
  writing_ = true;
  Status st;
  {
    MutexUnlock unlocked(&s_.mu);
    SHARDHOSE_KILL_POINT("checkpoint.before_write");
    st = store_->Save(cp);
  }
  writing_ = false;
  s_.cv.NotifyAll();
  if (!st.ok()) {
    LogError("writing the checkpoint failed, will retry", {{"cause", ShortCause(st)}});
    error_ = st.ToString();
    s_.checkpoint_dirty = true;
    s_.m.CountFailure("checkpoint_write", "io", true);
    return false;
  }
  error_.clear();
  last_written_ = s_.clock->WallNow();
  s_.m.checkpoint_writes.Get().Inc();
  spdlog::debug("checkpoint generation {} written ({} journaled batches)", cp.generation, cp.pending.size());
  journal_written_ = std::max(journal_written_, version);
  last_ = std::move(cp);
  return true;
}

}  // namespace shardhose::pipeline

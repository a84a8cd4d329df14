// The life of a record, as the engine runs it.
//
// Start() -- recovery.h: the checkpoint, the stream, the journal of the last
// run, where each shard starts, the initial checkpoint.
//
// Run() starts the threads that carry a record:
//   pollers   (reader.h)   read a page of a due shard, decode and partition
//                          its records, and hand the lines to the batcher,
//                          which places them in open batches, compresses
//                          them outside the lock, and names, journals and
//                          queues the batches that seal;
//   uploaders (uploader.h) wait until a batch's cut is in the checkpoint,
//                          finish its bytes, upload it, and mark its records
//                          durable;
// and runs the main loop on the calling thread, every tick: seal batches by
// age and memory pressure, write the checkpoint when something changed
// (checkpointer.h), relist the shards now and then, and -- with `drain` --
// notice when every shard is caught up.
//
// Shutdown(): stop the pollers, seal every open batch, let the uploads
// finish (within shutdown.grace_period_s), write the final checkpoint.
//
// Lock: one mutex, Shared::mu (shared.h); no compression, body copy,
// network call or file write under it.
#include "pipeline/pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "pipeline/engine.h"
#include "pipeline/recovery.h"

namespace shardhose::pipeline {
namespace {

constexpr Millis kTick{100};

int64_t EpochMs(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

void Shared::Fatal(std::string why) {
  spdlog::error("{}", why);
  MutexLock lock(&mu);
  if (fatal.empty()) fatal = std::move(why);
  stop_requested = true;
  cv.NotifyAll();
}

Engine::Engine(config::Config c, Deps d)
    : cfg(std::move(c)),
      deps(d),
      own_registry(d.registry ? nullptr : std::make_unique<metrics::Registry>()),
      m(d.registry ? *d.registry : *own_registry),
      s(cfg, d.clock, m),
      checkpointer(s, d.checkpoint),
      uploader(s, d.store, checkpointer),
      batcher(s, uploader),
      reader(s, d.source, batcher, [this] {
        s.mu.AssertHeld();  // the reader calls it with the lock held
        return BufferedBytes();
      }) {}

// ---------------------------------------------------------------- start
Status Engine::Start(bool drain) {
  s.drain = drain;
  ClockParticipant participant(s.clock);
  SHARDHOSE_RETURN_IF_ERROR(reader.Init());
  Recovery recovery(s, deps.source, deps.checkpoint, deps.store, checkpointer, batcher, reader);
  SHARDHOSE_RETURN_IF_ERROR(recovery.Run());
  MutexLock lock(&s.mu);
  started = true;
  last_tick = s.clock->Now();
  return Status::OK();
}

// ------------------------------------------------------------------ run
Status Engine::Run(bool drain) {
  ClockParticipant participant(s.clock);
  reader.Start(static_cast<size_t>(cfg.source.poll_threads));
  uploader.Start(static_cast<size_t>(cfg.output.upload_threads));
  const bool drained = MainLoop(drain);
  if (drained) spdlog::info("every shard is caught up; flushing");
  return Shutdown(drain && drained);
}

// Until Stop(), or with `drain` until every shard is caught up (true).
bool Engine::MainLoop(bool drain) {
  MonoTime next_refresh = s.clock->Now() + std::chrono::seconds(cfg.source.shard_refresh_s);
  MutexLock lock(&s.mu);
  RoomsHeld();
  for (;;) {
    s.clock->WaitFor(&s.cv, &s.mu, kTick);
    if (s.stop_requested.load()) return false;
    const MonoTime now = s.clock->Now();
    last_tick = now;
    SealByAgeAndPressure(now);
    checkpointer.MaybeWrite();
    if (!s.leased && (s.refresh_shards || now >= next_refresh)) {  // lease mode: the coordinator lists
      next_refresh = now + std::chrono::seconds(cfg.source.shard_refresh_s);
      RefreshShards();
    }
    if (drain && PermanentUploadFailure(now)) return false;
    // Lease mode: when a drain is done is the coordinator's to say (every
    // shard of the table, not only this worker's); it calls Stop().
    if (drain && !s.leased && reader.Idle() && s.shards.AllCaughtUp() && !s.refresh_shards) return true;
    if (drain) {
      std::string why = DrainGiveUp(now);
      if (!why.empty()) {
        spdlog::error("{}", why);
        if (s.fatal.empty()) s.fatal = std::move(why);
        return false;
      }
    }
  }
}

// With `drain`: uploads failing with errors retrying cannot fix for longer
// than output.permanent_error_grace_s stop the run (exit 1) instead of
// reading the rest of the stream into batches that cannot be written.
bool Engine::PermanentUploadFailure(MonoTime now) {
  RoomsHeld();
  const Uploader::State& up = uploader.state();
  if (!up.permanent_since || now - *up.permanent_since < std::chrono::seconds(cfg.output.permanent_error_grace_s)) {
    return false;
  }
  std::string why = fmt::format(
      "uploads have failed with {} for {} s (output.permanent_error_grace_s = {}), which retrying cannot fix; "
      "stopping the drain: {}",
      up.permanent_code, std::chrono::duration_cast<std::chrono::seconds>(now - *up.permanent_since).count(),
      cfg.output.permanent_error_grace_s, up.error);
  spdlog::error("{}", why);
  if (s.fatal.empty()) s.fatal = std::move(why);
  return true;
}

void Engine::SealByAgeAndPressure(MonoTime now) {
  RoomsHeld();
  batcher.SealDue(now);
  const uint64_t cap = static_cast<uint64_t>(cfg.batch.max_buffered_bytes);
  if (BufferedBytes() >= cap) {
    // Said once when it starts, then every 30 s while it lasts.
    if (!capped_since_ || now - last_cap_warning_ >= std::chrono::seconds(30)) {
      const std::string& failing = uploader.state().error;
      spdlog::warn(
          "buffer at its cap ({} bytes open, {} bytes uploading{}): flushing the largest batches "
          "early, polling paused until uploads catch up",
          batcher.open_bytes(), uploader.sealed_bytes(), failing.empty() ? "" : "; uploads failing: " + failing);
      last_cap_warning_ = now;
    }
    if (!capped_since_) capped_since_ = now;
    batcher.SealLargest(cap / 4);
  } else if (capped_since_) {
    spdlog::info("buffer below its cap again after {} s; polling resumes",
                 std::chrono::duration_cast<std::chrono::seconds>(now - *capped_since_).count());
    capped_since_.reset();
  }
}

void Engine::RefreshShards() {
  s.refresh_shards = false;
  Result<std::vector<poll::ShardInfo>> listed = Status::OK();
  {
    MutexUnlock unlocked(&s.mu);
    listed = deps.source->ListShards();
  }
  if (!listed.ok()) {
    LogWarn("ListShards failed, will retry",
            {{"aws_code", listed.status().peer_code()}, {"cause", ShortCause(listed.status())}});
    return;
  }
  for (const auto& id : s.shards.Merge(listed.value(), poll::IteratorStart{})) {
    s.progress.Track(id, "");
    LogInfo("new shard", {{"shard", id}});
    s.checkpoint_dirty = true;
  }
  for (const auto& id : s.shards.ExpireUnlisted(listed.value())) {
    LogError(fmt::format("shard {} was closed and has left the stream (past its retention) before it was read "
                         "to its end: its remaining records expired unread and are LOST; its children start now",
                         id),
             {{"shard", id}});
    s.m.retention_gaps.With({id}).Inc();
    s.checkpoint_dirty = true;
  }
  s.shards.Activate(s.clock->Now());
}

// ------------------------------------------------------------- shutdown
Status Engine::Shutdown(bool drained) {
  const MonoTime deadline = s.clock->Now() + std::chrono::seconds(cfg.shutdown.grace_period_s);
  {
    MutexLock lock(&s.mu);
    stopping = true;
  }
  reader.Stop();
  const size_t left = FlushAndWait(drained, deadline);
  uploader.Stop(/*abandon=*/true);
  return Finish(left);
}

// Seals every open batch and waits for the uploads, at most until
// `deadline`. Returns the batches left.
size_t Engine::FlushAndWait(bool drained, MonoTime deadline) {
  MutexLock lock(&s.mu);
  RoomsHeld();
  batcher.SealAll(drained ? batch::FlushCause::kDrain : batch::FlushCause::kShutdown);
  while (!uploader.Idle()) {
    last_tick = s.clock->Now();
    checkpointer.MaybeWrite();
    if (s.clock->Now() >= deadline) break;
    // Uploads that cannot succeed (past output.permanent_error_grace_s):
    // waiting for them until the deadline is futile.
    if (!s.fatal.empty() && uploader.state().permanent_since) break;
    if (PermanentUploadFailure(s.clock->Now())) break;
    s.clock->WaitUntil(&s.cv, &s.mu, std::min(deadline, s.clock->Now() + kTick));
  }
  return uploader.Left();
}

// The final checkpoint, the summary line, and Run()'s answer.
Status Engine::Finish(size_t left) {
  MutexLock lock(&s.mu);
  RoomsHeld();
  // Shards whose last poll was at the tip and whose records are now all
  // durable were caught up as of now.
  const int64_t now_ms = EpochMs(s.clock->WallNow());
  for (const auto& [id, e] : s.shards.entries()) {
    if (e.caught_up && s.progress.AllDurable(id)) s.shards.Find(id)->caught_up_ms = now_ms;
  }
  s.checkpoint_dirty = true;
  checkpointer.MaybeWrite();
  const bool checkpoint_ok = !s.checkpoint_dirty;
  auto ops = [](std::initializer_list<std::string_view> names) {
    return [names](const std::vector<std::string>& labels) {
      for (std::string_view n : names) {
        if (labels[0] == n) return true;
      }
      return false;
    };
  };
  LogInfo("stopped",
          {{"records_in", m.records_in.Total()},
           {"error_records", m.error_records.Total()},
           {"objects_out", m.objects_out.Total()},
           {"records_out", m.records_out.Total()},
           {"bytes_out", m.bytes_out.Total()},
           {"upload_retries", m.retries.Total(ops({"put_object", "upload_part", "complete_multipart", "head_object"}))},
           {"poll_errors", m.errors.Total(ops({"get_records", "get_shard_iterator"}))}});
  if (!s.fatal.empty()) return Status::FailedPrecondition(s.fatal);
  if (left > 0) {
    return Status::Unavailable(
        fmt::format("shutdown deadline ({} s) passed with {} batch(es) not uploaded; the checkpoint covers only "
                    "durable records, which will be read again on the next start",
                    cfg.shutdown.grace_period_s, left));
  }
  if (!checkpoint_ok) return Status::IOError("the final checkpoint could not be written");
  return Status::OK();
}

// ------------------------------------------------------------ the facade
Pipeline::Pipeline(config::Config config, Deps deps) : engine_(std::make_unique<Engine>(std::move(config), deps)) {
  Engine* engine = engine_.get();
  (deps.registry ? *deps.registry : *engine->own_registry).OnExpose([engine] { engine->UpdateGauges(); });
}
Pipeline::~Pipeline() = default;
Status Pipeline::Start(bool drain) { return engine_->Start(drain); }
Status Pipeline::Run(bool drain) { return engine_->Run(drain); }
void Pipeline::Stop() {
  engine_->s.stop_requested = true;
  MutexLock lock(&engine_->s.mu);
  engine_->s.cv.NotifyAll();
}
Health Pipeline::GetHealth() const { return engine_->GetHealth(); }
void Pipeline::SetFlushRules(const config::BatchConfig& batch) {
  Engine& e = *engine_;
  MutexLock lock(&e.s.mu);
  e.RoomsHeld();
  e.batcher.SetFlushLimits(FlushLimitsOf(batch), e.s.clock->Now());
  e.s.cv.NotifyAll();
}

}  // namespace shardhose::pipeline

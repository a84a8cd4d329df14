// Health: what the outside sees of the engine (health.h), and the gauges
// set at every scrape.
#include "pipeline/health.h"

#include <fmt/format.h>

#include <map>

#include "pipeline/engine.h"

namespace shardhose::pipeline {

Health Engine::GetHealth() {
  MutexLock lock(&s.mu);
  RoomsHeld();
  Health h;
  const MonoTime now = s.clock->Now();
  h.started = started;
  h.stopping = stopping || s.stop_requested.load();
  // Liveness: the main loop ticks every 100 ms; a poll or upload call is
  // bounded by its HTTP timeout (plus signing, decoding and compressing).
  const auto poll_limit = std::chrono::seconds(60) + std::chrono::milliseconds(30000);
  const auto upload_limit = std::chrono::seconds(cfg.output.upload_timeout_s) + std::chrono::seconds(60);
  bool alive = started && now - last_tick < std::chrono::seconds(5);
  for (MonoTime t : reader.busy_since()) alive = alive && (t == MonoTime{} || now - t < poll_limit);
  const Uploader::State& up = uploader.state();
  for (MonoTime t : up.busy_since) alive = alive && (t == MonoTime{} || now - t < upload_limit);
  h.alive = alive;
  if (up.permanent_since) {
    // Not ready at once: waiting does not fix these (AccessDenied, ...).
    h.stalled =
        fmt::format("uploads failing with {} for {} s (retrying cannot fix this): {}", up.permanent_code,
                    std::chrono::duration_cast<std::chrono::seconds>(now - *up.permanent_since).count(), up.error);
  } else if (up.failing_since && now - *up.failing_since >= std::chrono::seconds(10)) {
    h.stalled =
        fmt::format("uploads failing for {} s: {}",
                    std::chrono::duration_cast<std::chrono::seconds>(now - *up.failing_since).count(), up.error);
  } else if (!checkpointer.error().empty()) {
    h.stalled = "checkpoint write failing: " + checkpointer.error();
  } else if (BufferedBytes() >= static_cast<uint64_t>(cfg.batch.max_buffered_bytes)) {
    h.stalled = fmt::format("buffer at its cap ({} bytes): polling paused until uploads catch up",
                            cfg.batch.max_buffered_bytes);
  }
  const auto stall_after = std::chrono::seconds(cfg.source.stall_after_s);
  size_t stalled_shards = 0;
  std::string first_stalled;
  for (const auto& [id, e] : s.shards.entries()) {
    if (e.state == poll::ShardState::kReleased) continue;  // lease mode: another worker's
    h.shards++;
    h.shards_active += e.state == poll::ShardState::kActive;
    h.shards_finished += e.state == poll::ShardState::kFinished || e.state == poll::ShardState::kExhausted;
    Health::Shard sh;
    sh.id = id;
    sh.state = std::string(poll::ShardStateName(e.state));
    sh.durable_seq = s.progress.DurableSeq(id);
    sh.millis_behind = e.millis_behind;
    sh.last_read = e.last_read;
    sh.last_error = e.last_error;
    if (e.state == poll::ShardState::kActive && e.unread_since != MonoTime{}) {
      const auto unread = now - e.unread_since;
      sh.unread_s = std::chrono::duration<double>(unread).count();
      if (unread >= stall_after) {
        sh.stalled = true;
        sh.millis_behind = std::max<int64_t>(e.millis_behind, 0) +
                           std::chrono::duration_cast<std::chrono::milliseconds>(unread).count();
        if (stalled_shards++ == 0) {
          first_stalled = fmt::format("shard {}: no successful read for {} s{}", id,
                                      std::chrono::duration_cast<std::chrono::seconds>(unread).count(),
                                      e.last_error.empty() ? "" : ": " + e.last_error);
        }
      }
    }
    if (e.state == poll::ShardState::kActive) h.max_millis_behind = std::max(h.max_millis_behind, sh.millis_behind);
    h.shard_list.push_back(std::move(sh));
  }
  if (h.stalled.empty() && stalled_shards > 0) {
    h.stalled = first_stalled;
    if (stalled_shards > 1) h.stalled += fmt::format(" (and {} more shards)", stalled_shards - 1);
  }
  if (!started && !stopping) h.stalled = s.start_problem;
  h.totals = {m.records_in.Total(), m.bytes_in.Total(), m.records_out.Total(), m.objects_out.Total(),
              m.bytes_out.Total()};
  h.buffered_bytes = BufferedBytes();
  h.open_batches = batcher.open_batches();
  h.last_upload = up.last_upload;
  h.last_checkpoint = checkpointer.last_written();
  if (auto oldest = batcher.OldestLine()) {
    h.oldest_buffered_age_s = std::chrono::duration<double>(now - *oldest).count();
  }
  return h;
}

std::string Engine::DrainGiveUp(MonoTime now) {
  const auto give_up = std::chrono::seconds(cfg.source.drain_give_up_after_s);
  if (give_up.count() == 0) return "";
  for (const auto& [id, e] : s.shards.entries()) {
    // Reads that fail, not polling paused by a full buffer (uploads failing
    // is the uploader's to judge).
    if (e.state != poll::ShardState::kActive || e.unread_since == MonoTime{} || now - e.unread_since < give_up ||
        e.last_error.empty()) {
      continue;
    }
    return fmt::format(
        "giving up the drain: shard {} has had no successful read for {} s (source.drain_give_up_after_s){}; what "
        "was read is flushed and checkpointed, a later run resumes there",
        id, std::chrono::duration_cast<std::chrono::seconds>(now - e.unread_since).count(),
        ": last error: " + e.last_error);
  }
  return "";
}

void Engine::UpdateGauges() {
  Health h = GetHealth();
  const WallTime now = s.clock->WallNow();
  for (const auto& sh : h.shard_list) {
    if (sh.millis_behind >= 0) {
      m.behind_latest_seconds.With({sh.id}).Set(static_cast<double>(sh.millis_behind) / 1000.0);
    }
    if (sh.last_read) {
      m.last_read_timestamp_seconds.With({sh.id}).Set(
          std::chrono::duration<double>(sh.last_read->time_since_epoch()).count());
    }
  }
  std::map<std::string, int> by_state;
  for (std::string_view st : {"waiting", "active", "exhausted", "finished"}) by_state[std::string(st)] = 0;
  for (const auto& sh : h.shard_list) by_state[sh.state]++;
  for (const auto& [state, n] : by_state) m.shards.With({state}).Set(n);
  m.oldest_buffered_age_seconds.Get().Set(h.oldest_buffered_age_s);
  m.buffered_bytes.Get().Set(static_cast<double>(h.buffered_bytes));
  m.open_batches.Get().Set(static_cast<double>(h.open_batches));
  m.checkpoint_age_seconds.Get().Set(h.last_checkpoint ? std::chrono::duration<double>(now - *h.last_checkpoint).count()
                                                       : 0.0);
}

std::string Health::Summary(WallTime now) const {
  std::string s = fmt::format("{} shards ({} active)", shards, shards_active);
  if (max_millis_behind >= 0) s += fmt::format(", {:.1f} s behind", static_cast<double>(max_millis_behind) / 1000.0);
  s += fmt::format(", {:.1f} MiB buffered", static_cast<double>(buffered_bytes) / (1 << 20));
  if (last_upload) {
    s += fmt::format(", last upload {} s ago",
                     std::chrono::duration_cast<std::chrono::seconds>(now - *last_upload).count());
  } else {
    s += ", no upload yet";
  }
  if (!stalled.empty()) s += "; STALLED: " + stalled;
  return s;
}

}  // namespace shardhose::pipeline

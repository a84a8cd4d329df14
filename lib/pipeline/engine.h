// File: pipeline/engine.h
//
// The pipeline's insides (private to lib/pipeline): the shared state and
// the rooms that work on it, in the order a record meets them --
//
//   reader.h        poll, decode, partition
//   batcher.h       batch, name, journal
//   uploader.h      compress (finish), upload, mark durable
//   checkpointer.h  checkpoint
//   recovery.h      what happens at start
//   health.cc       what the outside sees
//   leased_shards.cc  lease mode: shards added and dropped while running
//
// -- and the main loop's own state. pipeline.cc runs them.
#pragma once

#include <memory>

#include "config/config.h"
#include "metrics/metrics.h"
#include "pipeline/batcher.h"
#include "pipeline/checkpointer.h"
#include "pipeline/health.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_metrics.h"
#include "pipeline/reader.h"
#include "pipeline/shared.h"
#include "pipeline/uploader.h"

namespace shardhose::pipeline {

struct Engine {
  Engine(config::Config c, Deps d);

  Status Start(bool drain) EXCLUDES(s.mu);
  Status Run(bool drain) EXCLUDES(s.mu);
  Health GetHealth() EXCLUDES(s.mu);   // health.cc
  void UpdateGauges() EXCLUDES(s.mu);  // health.cc
  // With --drain: why to give up (a shard whose reads have failed, without
  // a successful one, for source.drain_give_up_after_s), or "" (health.cc).
  std::string DrainGiveUp(MonoTime now) REQUIRES(s.mu);

  // The rooms share s.mu but the thread-safety analysis knows it by each
  // room's name for it: with s.mu held, this tells it that every room's is
  // held (and checks at run time that s.mu is).
  void RoomsHeld() const ASSERT_CAPABILITY(batcher.mu(), uploader.mu(), checkpointer.mu(), reader.mu()) {
    s.mu.AssertHeld();
  }

  // Bytes counted against batch.max_buffered_bytes: open batches and
  // sealed ones not yet durable.
  uint64_t BufferedBytes() const REQUIRES(s.mu) {
    RoomsHeld();
    return batcher.open_bytes() + uploader.sealed_bytes();
  }

  const config::Config cfg;
  const Deps deps;
  std::unique_ptr<metrics::Registry> own_registry;
  PipelineMetrics m;
  Shared s;
  Checkpointer checkpointer;
  Uploader uploader;
  Batcher batcher;
  ShardReader reader;

  // The main loop's, for health.
  bool started GUARDED_BY(s.mu) = false;
  bool stopping GUARDED_BY(s.mu) = false;
  MonoTime last_tick GUARDED_BY(s.mu){};

 private:
  // The main loop's periodic work (one tick).
  void SealByAgeAndPressure(MonoTime now) REQUIRES(s.mu);
  // True (and s.fatal set) when uploads have failed with errors retrying
  // cannot fix for output.permanent_error_grace_s; checked by a drain's
  // main loop and while flushing at shutdown.
  bool PermanentUploadFailure(MonoTime now) REQUIRES(s.mu);
  void RefreshShards() REQUIRES(s.mu);
  bool MainLoop(bool drain) EXCLUDES(s.mu);
  Status Shutdown(bool drained) EXCLUDES(s.mu);
  size_t FlushAndWait(bool drained, MonoTime deadline) EXCLUDES(s.mu);
  Status Finish(size_t left) EXCLUDES(s.mu);
  std::optional<MonoTime> capped_since_;  // main loop only
  MonoTime last_cap_warning_{};
};

}  // namespace shardhose::pipeline

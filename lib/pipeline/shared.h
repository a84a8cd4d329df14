// File: pipeline/shared.h
//
// The state the pipeline's rooms share -- the reader, the batcher, the
// uploader, the checkpointer, recovery and health (pipeline.cc wires them)
// -- and the one mutex that guards it.
//
// What lives here is what more than one room reads or changes:
//   shards    where every shard is in its life and where it is read from
//             (reader, recovery, checkpointer, health);
//   progress  which records of each shard are durable (batcher appends,
//             uploader marks durable, checkpointer reads);
//   journal   the cut journal (batcher adds, uploader marks uploaded,
//             checkpointer persists, recovery loads).
// Each room keeps the rest of its state itself, guarded by the same mutex.
//
// Lock discipline: `mu` is held only to read and change this bookkeeping.
// No compression, body copy, network call or file write happens while it
// is held: the rooms let go of it around each (MutexUnlock), and clang's
// thread-safety analysis (the CI's tsa stage) checks every access below.
// Waiting is on `cv` through the clock (common/clock.h): every change that
// a loop may be waiting for is followed by cv.NotifyAll().
#pragma once

#include <atomic>
#include <string>

#include "checkpoint/journal.h"
#include "checkpoint/shard_progress.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "config/config.h"
#include "pipeline/pipeline_metrics.h"
#include "poll/shard_set.h"

namespace shardhose::pipeline {

struct Shared {
  Shared(const config::Config& c, Clock* k, PipelineMetrics& metrics) : cfg(c), clock(k), m(metrics) {}

  // Immutable once Start() returns.
  const config::Config& cfg;
  Clock* const clock;
  PipelineMetrics& m;
  std::string stream_name;  // display name: keys, error lines, logs; set by recovery
  // coordination.mode = "dynamodb": the pipeline reads only the shards
  // handed to it (Pipeline::AddShard), one shard per batch.
  const bool leased = cfg.coordination.mode == config::CoordinationMode::kDynamoDb;
  bool drain = false;  // run --drain (source.drain_give_up_after_s applies); set by Start()

  Mutex mu;
  CondVar cv;  // any change a loop waits for

  poll::ShardSet shards GUARDED_BY(mu);
  checkpoint::ShardProgress progress GUARDED_BY(mu);
  checkpoint::Journal journal GUARDED_BY(mu);
  bool checkpoint_dirty GUARDED_BY(mu) = false;  // the main loop writes the checkpoint
  bool refresh_shards GUARDED_BY(mu) = false;    // the main loop lists the shards now
  std::string fatal GUARDED_BY(mu);              // why the pipeline stopped itself
  std::string start_problem GUARDED_BY(mu);      // why Start() is still retrying, "" if it is not
  std::atomic<bool> stop_requested{false};

  // Stops the pipeline with `why` as Run()'s error.
  void Fatal(std::string why) EXCLUDES(mu);
};

}  // namespace shardhose::pipeline

// File: pipeline/pipeline.h
//
// The daemon's engine: the life of a record, from a shard of a change
// stream to a durable object and a checkpoint that says so.
//
//   poll      poller threads take due shards and read a page of records
//             from the ChangeSource (poll/)                 pipeline/reader.h
//   decode    each record becomes one NDJSON line, or an error line (decode/)
//   partition the line's key prefix is rendered from its fields (partition/)
//   batch     the line joins its partition's open batch; the flush rule
//             seals batches by size, records or age (batch/) pipeline/batcher.h
//   compress  open batches are held gzip'd as they grow, in chunks
//             compressed outside the lock; an uploader finishes the
//             sealed batch into one member (compress/)     pipeline/uploader.h
//   upload    ...and PUTs it under a key derived from its records,
//             retrying with backoff until it is durable (upload/)
//   checkpoint the shards' durable positions advance past the batch's
//             records and the checkpoint is replaced
//             (checkpoint/)                                 pipeline/checkpointer.h
// Start-up (pipeline/recovery.h) and health (pipeline/health.h) complete
// the picture; pipeline.cc wires them.
//
// Guarantees:
//   - Every record read ends up in exactly one sealed batch (a line in its
//     partition, or an error line under the error prefix), and every
//     sealed batch in exactly one object, across crashes
//     (checkpoint/journal.h).
//   - A shard's checkpoint never passes a record whose batch is not durable.
//   - Memory is bounded: batch.max_buffered_bytes caps open + in-flight
//     batches (plus one page per poller); at the cap the largest open
//     batches are flushed early and polling pauses until uploads catch up.
//
// Thread-safety: Stop(), GetHealth() and SetFlushRules() may be called from any thread (not
// from a signal handler). Start() and Run() are called once, in that order,
// from one thread.
#pragma once

#include <memory>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_store.h"
#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "pipeline/health.h"
#include "poll/change_source.h"
#include "upload/object_store.h"

namespace shardhose::pipeline {

struct Deps {
  poll::ChangeSource* source = nullptr;
  upload::ObjectStore* store = nullptr;
  checkpoint::CheckpointStore* checkpoint = nullptr;
  Clock* clock = nullptr;
  // Where the pipeline's metrics (pipeline/pipeline_metrics.h) live;
  // nullptr = a private registry. REQUIRES: outlives the pipeline, and is
  // not exposed any more once the pipeline is destroyed (its scrape hook
  // reads the pipeline).
  metrics::Registry* registry = nullptr;
};

// Lease mode: a shard whose lease this worker now holds, as the lease
// records it.
struct LeasedShard {
  poll::ShardInfo info;
  checkpoint::ShardCheckpoint position;      // durable sequence, start, finished
  std::vector<checkpoint::PendingCut> cuts;  // its journal: cuts of this shard alone
};

struct Engine;  // engine.h

class Pipeline {
 public:
  // REQUIRES: every pointer in deps outlives the pipeline.
  Pipeline(config::Config config, Deps deps);
  ~Pipeline();

  // Recovery (pipeline/recovery.h): loads the checkpoint (kCorruption if
  // it does not decode, kFailedPrecondition if it belongs to another
  // stream), describes the stream and lists its shards (retrying until
  // Stop()), and writes the initial checkpoint. Nothing is read from the
  // shards yet. kInvalidArgument for a bad partition template.
  //
  // With `drain` (what Run() will be given), retrying the stream gives up
  // after source.drain_give_up_after_s (kUnavailable). An AWS error that
  // retrying cannot fix (kNotFound, kPermissionDenied) is returned at once,
  // its message naming the AWS code and what to do. While it retries,
  // GetHealth().stalled says why.
  Status Start(bool drain = false);

  // Polls until Stop() is called or, with `drain`, until every shard is
  // caught up (an empty GetRecords with MillisBehindLatest 0, or closed and
  // read to its end) -- or, with `drain`, until a shard has gone
  // source.drain_give_up_after_s without a successful read (then the error
  // says so, after the same flush and checkpoint). Then flushes every open batch, waits for the uploads
  // (at most shutdown.grace_period_s after polling stopped) and writes the
  // final checkpoint. Returns OK if everything read is durable and
  // checkpointed; otherwise says what is not (the checkpoint then covers
  // only what is durable).
  Status Run(bool drain);

  // Asks Run() to stop polling and shut down. Thread-safe, idempotent.
  void Stop();

  // Thread-safe; cheap enough to call every second.
  Health GetHealth() const;

  // Lease mode (coordination.mode = "dynamodb", lib/lease/): the pipeline
  // reads no shard of its own accord; a coordinator hands it each shard
  // whose lease it takes and takes back each it loses or gives up. The
  // checkpoint store (Deps::checkpoint) then writes each shard's progress
  // into its lease, and Run(drain) ends only on Stop(): when a drain is
  // done is the coordinator's to say.
  //
  // AddShard: from now on the shard is read after `position` (or from its
  // start), and its journaled cuts are re-formed under the same keys
  // (checkpoint/journal.h) -- exactly as a restart does for one shard.
  // Multipart uploads left open for those keys are aborted first.
  // kFailedPrecondition if it is being read already. REQUIRES: after
  // Start(); not in local mode.
  Status AddShard(LeasedShard shard);
  // DropShard: the shard is read no more: waits for its poller's page to be
  // in, then discards its open and re-formed batches and forgets its
  // progress and cuts. Nothing of it that was not journaled is uploaded
  // after this returns; a journaled cut already uploading may still land
  // (under its key, with its bytes: the next owner re-forms the same).
  // No-op for a shard not being read.
  void DropShard(const std::string& id);
  // The shards being read now (added, not dropped); whether every one is
  // read to the tip (its last read empty at the tip, or closed and read to
  // its end: what a drain waits for before it flushes); and whether, on
  // top of that, everything read is durable.
  std::vector<std::string> Shards() const;
  bool ReadToTip() const;
  bool CaughtUp() const;

  // SIGHUP (daemon/reload.h): batch.max_bytes, max_interval_s and
  // max_records of `batch` are the flush rule from now on, for the batches
  // already open too -- those the new rule makes due are sealed at once and
  // go to upload like any other. The rest of `batch` is ignored (it needs
  // a restart). Nothing read is dropped. Thread-safe, at any time after
  // construction. REQUIRES: `batch` passed config::Load's checks.
  void SetFlushRules(const config::BatchConfig& batch);

 private:
  std::unique_ptr<Engine> engine_;
};

}  // namespace shardhose::pipeline

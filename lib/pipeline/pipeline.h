// File: pipeline/pipeline.h
//
// The wiring: the life of a record, from a Kinesis shard to a durable S3
// object and a checkpoint that says so.
//
//   poll      poller threads take due shards from the ShardSet and call
//             GetRecords (poll/)
//   decode    each record becomes one NDJSON line, or an error line (decode/)
//   partition the line's S3 prefix is rendered from its fields (partition/)
//   batch     the line is appended to its partition's open batch; the flush
//             rule seals batches by size, records or age (batch/)
//   compress  an uploader thread gzips the sealed batch (compress/)
//   upload    ...and PUTs it under a deterministic key, retrying with
//             backoff until it is durable (upload/)
//   checkpoint the shards' durable sequence numbers advance past the
//             batch's records and the checkpoint file is replaced
//             (checkpoint/)
//
// Guarantees:
//   - Every record read ends up in exactly one sealed batch (a line in its
//     partition, or an error line under the error prefix).
//   - A shard's checkpoint never passes a record whose batch is not durable.
//   - Memory is bounded: batch.max_buffered_bytes caps open + in-flight
//     batches (plus one GetRecords page per poller); at the cap the largest
//     open batches are flushed early and polling pauses until uploads catch
//     up.
//
// Thread-safety: Stop() may be called from any thread (not from a signal
// handler). Start() and Run() are called once, in that order, from one
// thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "checkpoint/checkpoint.h"
#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "poll/kinesis_client.h"
#include "upload/object_store.h"

namespace shardhose::pipeline {

struct Deps {
  poll::KinesisClient* kinesis = nullptr;
  upload::ObjectStore* store = nullptr;
  checkpoint::CheckpointFile* checkpoint = nullptr;
  Clock* clock = nullptr;
  // Where the pipeline's metrics (pipeline/pipeline_metrics.h) live;
  // nullptr = a private registry. REQUIRES: outlives the pipeline, and is
  // not exposed any more once the pipeline is destroyed (its scrape hook
  // reads the pipeline).
  metrics::Registry* registry = nullptr;
};

// Counters for the end-of-run summary and tests.
struct Stats {
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> bytes_in{0};        // decoded Data bytes
  std::atomic<uint64_t> error_records{0};   // lines sent to the error prefix
  std::atomic<uint64_t> objects_out{0};
  std::atomic<uint64_t> records_out{0};
  std::atomic<uint64_t> bytes_out{0};       // compressed bytes uploaded
  std::atomic<uint64_t> upload_retries{0};
  std::atomic<uint64_t> poll_errors{0};
  std::atomic<uint64_t> checkpoints_written{0};
  std::atomic<uint64_t> records_skipped{0};  // read again after a restart, already durable
  std::atomic<uint64_t> replays_found{0};    // re-formed batches whose object existed already
  std::atomic<uint64_t> retention_gaps{0};   // shards whose checkpoint was past the trim horizon
};

// A snapshot of how the pipeline is doing, for systemd (READY/WATCHDOG/
// STATUS), the HTTP health endpoints and `shardhose checkpoint`.
struct Health {
  bool started = false;   // Start() succeeded: config valid, credentials
                          // resolve, stream described, shard list known
  bool stopping = false;  // Stop() called or drain complete
  // Alive: the main loop ticked within the last 5 s and no poller or
  // uploader has been stuck in one call for longer than its timeout plus
  // a margin. A wedged loop makes this false (the watchdog then fires).
  bool alive = false;
  // Not stalled: "" when healthy, otherwise why it is stalled, e.g.
  // "uploads failing for 42 s: Unavailable: ..." or "buffer at its cap".
  std::string stalled;
  size_t shards = 0, shards_active = 0, shards_finished = 0;
  int64_t max_millis_behind = -1;  // -1 = unknown
  uint64_t buffered_bytes = 0;     // held by open + in-flight batches (compressed, see batch_buffer.h)
  size_t open_batches = 0;
  std::optional<WallTime> last_upload;
  std::optional<WallTime> last_checkpoint;
  double oldest_buffered_age_s = 0;  // age of the oldest line in an open batch
  // Per shard: id, state name, last durable sequence, MillisBehindLatest.
  struct Shard {
    std::string id;
    std::string state;
    std::string durable_seq;
    int64_t millis_behind = -1;
  };
  std::vector<Shard> shard_list;

  // "4 shards (4 active), 1.2 s behind, 3.4 MiB buffered, last upload 2 s ago"
  std::string Summary(WallTime now) const;
};

class Pipeline {
 public:
  // REQUIRES: every pointer in deps outlives the pipeline.
  Pipeline(config::Config config, Deps deps);
  ~Pipeline();

  // Loads the checkpoint (kCorruption if it does not decode,
  // kFailedPrecondition if it belongs to another stream), describes the
  // stream and lists its shards (retrying until Stop()), and writes the
  // initial checkpoint. Nothing is read from the shards yet.
  Status Start();

  // Polls until Stop() is called or, with `drain`, until every shard is
  // caught up (an empty GetRecords with MillisBehindLatest 0, or closed and
  // read to its end). Then flushes every open batch, waits for the uploads
  // (at most shutdown.grace_period_s after polling stopped) and writes the
  // final checkpoint. Returns OK if everything read is durable and
  // checkpointed; otherwise says what is not (the checkpoint then covers
  // only what is durable).
  Status Run(bool drain);

  // Asks Run() to stop polling and shut down. Thread-safe, idempotent.
  void Stop();

  const Stats& stats() const;

  // Thread-safe; cheap enough to call every second.
  Health GetHealth() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardhose::pipeline

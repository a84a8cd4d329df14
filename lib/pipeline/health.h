// File: pipeline/health.h
//
// A snapshot of how the pipeline is doing, for systemd (READY/WATCHDOG/
// STATUS), the HTTP health endpoints and `shardhose checkpoint`; taken by
// Pipeline::GetHealth() (health.cc), which also sets the gauges of
// pipeline_metrics.h at every scrape.
//
// Read health: an active shard that has gone source.stall_after_s without a
// successful read (since its last successful GetRecords, or since its first
// attempt in this process) is stalled. Its lag is then an estimate: the
// last MillisBehindLatest plus the time since that read (a reader that
// cannot read falls behind by the clock), and `stalled` names it with its
// last error -- so a Kinesis endpoint cut mid-run shows as a growing lag
// and a 503 from /readyz, not "0.0 s behind".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace shardhose::pipeline {

struct Health {
  bool started = false;   // Start() succeeded: config valid, credentials
                          // resolve, stream described, shard list known
  bool stopping = false;  // Stop() called or drain complete
  // Alive: the main loop ticked within the last 5 s and no poller or
  // uploader has been stuck in one call for longer than its timeout plus
  // a margin. A wedged loop makes this false (the watchdog then fires).
  bool alive = false;
  // Not stalled: "" when healthy, otherwise why it is stalled, the first
  // that applies of: "uploads failing for 42 s: Unavailable: ...",
  // "checkpoint write failing: ...", "buffer at its cap ...", "shard
  // shardId-000000000001: no successful read for 61 s: GetRecords failed:
  // ..." (plus "(and N more shards)"). Before Start() has succeeded: why it
  // is still retrying ("DescribeStreamSummary failing for 12 s: ..."), or "".
  std::string stalled;
  size_t shards = 0, shards_active = 0, shards_finished = 0;
  int64_t max_millis_behind = -1;  // of the active shards, estimated when stalled; -1 = unknown
  uint64_t buffered_bytes = 0;     // held by open + in-flight batches (compressed, see batch_buffer.h)
  size_t open_batches = 0;
  std::optional<WallTime> last_upload;
  std::optional<WallTime> last_checkpoint;
  double oldest_buffered_age_s = 0;  // age of the oldest line in an open batch
  // Per shard: id, state name, last durable sequence, MillisBehindLatest
  // (DynamoDB Streams: poll::ShardEntry's estimate; estimated when stalled,
  // see above), read health.
  struct Shard {
    std::string id;
    std::string state;
    std::string durable_seq;
    int64_t millis_behind = -1;
    bool stalled = false;
    double unread_s = 0;                // active shards: time without a successful read
    std::optional<WallTime> last_read;  // the last successful read, if any in this process
    std::string last_error;             // the last failure since then, "" if none
  };
  std::vector<Shard> shard_list;

  // Running totals from the metrics, for progress lines and summaries.
  struct Totals {
    uint64_t records_in = 0, bytes_in = 0;                     // read from Kinesis (record Data bytes)
    uint64_t records_out = 0, objects_out = 0, bytes_out = 0;  // durable
  };
  Totals totals;

  // "4 shards (4 active), 1.2 s behind, 3.4 MiB buffered, last upload 2 s ago"
  std::string Summary(WallTime now) const;
};

}  // namespace shardhose::pipeline

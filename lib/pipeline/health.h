// File: pipeline/health.h
//
// A snapshot of how the pipeline is doing, for systemd (READY/WATCHDOG/
// STATUS), the HTTP health endpoints and `shardhose checkpoint`; taken by
// Pipeline::GetHealth() (health.cc), which also sets the gauges of
// pipeline_metrics.h at every scrape.
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

}  // namespace shardhose::pipeline

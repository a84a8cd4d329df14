// File: pipeline/pipeline_metrics.h
//
// Every metric the pipeline exports, declared once (names and meanings:
// lib/metrics/names.md). Built from the daemon's registry; tests assert on
// the values. Label sets with few known values (cause, op, class, reason)
// are created at 0 up front so rate() and alerts see them from the start.
#pragma once

#include <string_view>

#include "metrics/metrics.h"

namespace shardhose::pipeline {

struct PipelineMetrics {
  explicit PipelineMetrics(metrics::Registry& registry);

  metrics::Family<metrics::Counter>& records_in;   // {shard}
  metrics::Family<metrics::Counter>& bytes_in;     // {shard}
  metrics::Family<metrics::Counter>& records_out;  // {table}
  metrics::Family<metrics::Counter>& objects_out;  // {table}
  metrics::Family<metrics::Counter>& bytes_out;    // {table}
  metrics::Family<metrics::Counter>& flushes;      // {cause}
  metrics::Family<metrics::Histogram>& upload_seconds;
  metrics::Family<metrics::Counter>& errors;         // {op, class}
  metrics::Family<metrics::Counter>& retries;        // {op, class}
  metrics::Family<metrics::Counter>& error_records;  // {reason}
  metrics::Family<metrics::Counter>& records_skipped;
  metrics::Family<metrics::Counter>& checkpoint_writes;
  metrics::Family<metrics::Counter>& retention_gaps;  // {shard}
  // Gauges, set at every scrape from Pipeline::GetHealth().
  metrics::Family<metrics::Gauge>& behind_latest_seconds;        // {shard}
  metrics::Family<metrics::Gauge>& last_read_timestamp_seconds;  // {shard}
  metrics::Family<metrics::Gauge>& oldest_buffered_age_seconds;
  metrics::Family<metrics::Gauge>& buffered_bytes;
  metrics::Family<metrics::Gauge>& open_batches;
  metrics::Family<metrics::Gauge>& checkpoint_age_seconds;
  metrics::Family<metrics::Gauge>& shards;      // {state}
  metrics::Family<metrics::Gauge>& build_info;  // {version}

  // A failed remote or local call: counts the error, and the retry if it
  // will be retried. `op` is one of the names in names.md.
  void CountFailure(std::string_view op, std::string_view cls, bool retried);
};

}  // namespace shardhose::pipeline

#include "pipeline/pipeline_metrics.h"

#include "batch/flush_policy.h"
#include "shardhose/version.h"

namespace shardhose::pipeline {

PipelineMetrics::PipelineMetrics(metrics::Registry& r)
    : records_in(r.AddCounter("shardhose_records_in_total", "Kinesis records read, before decoding", {"shard"})),
      bytes_in(r.AddCounter("shardhose_bytes_in_total", "Bytes of Kinesis record Data read", {"shard"})),
      records_out(r.AddCounter("shardhose_records_out_total", "Lines in durable objects", {"table"})),
      objects_out(r.AddCounter("shardhose_objects_out_total", "Durable objects written", {"table"})),
      bytes_out(r.AddCounter("shardhose_bytes_out_total", "Bytes of durable objects, as stored", {"table"})),
      flushes(r.AddCounter("shardhose_flushes_total", "Batches sealed, by cause", {"cause"})),
      upload_seconds(r.AddHistogram("shardhose_upload_seconds", "Duration of one upload attempt", {},
                                    metrics::ExponentialBuckets(0.005, 2, 16))),
      errors(r.AddCounter("shardhose_errors_total", "Failed remote or local calls", {"op", "class"})),
      retries(r.AddCounter("shardhose_retries_total", "Failed calls that were retried", {"op", "class"})),
      error_records(
          r.AddCounter("shardhose_error_records_total", "Records written under error_prefix, by reason", {"reason"})),
      records_skipped(r.AddCounter("shardhose_records_skipped_total",
                                   "Records read again after a restart that were already durable")),
      checkpoint_writes(r.AddCounter("shardhose_checkpoint_writes_total", "Checkpoint files written")),
      retention_gaps(r.AddCounter("shardhose_retention_gaps_total",
                                  "Shards whose checkpoint had passed the trim horizon (records expired unread)",
                                  {"shard"})),
      behind_latest_seconds(r.AddGauge("shardhose_behind_latest_seconds",
                                       "MillisBehindLatest of the shard's last GetRecords, in seconds (DynamoDB "
                                       "Streams: the age of the last record read, 0 once caught up); once the "
                                       "shard has had no successful read for source.stall_after_s, that value plus "
                                       "the time since",
                                       {"shard"})),
      last_read_timestamp_seconds(r.AddGauge("shardhose_shard_last_read_timestamp_seconds",
                                             "Unix time of the shard's last successful GetRecords in this process",
                                             {"shard"})),
      oldest_buffered_age_seconds(r.AddGauge("shardhose_oldest_buffered_record_age_seconds",
                                             "Age of the oldest line in an open batch; 0 if none")),
      buffered_bytes(r.AddGauge("shardhose_buffered_bytes",
                                "Bytes held by open and in-flight batches: compressed, plus the chunk being filled "
                                "(what batch.max_buffered_bytes caps)")),
      open_batches(r.AddGauge("shardhose_open_batches", "Open batches (one per partition)")),
      checkpoint_age_seconds(
          r.AddGauge("shardhose_checkpoint_age_seconds", "Seconds since the checkpoint file was last written")),
      shards(r.AddGauge("shardhose_shards", "Shards by state", {"state"})),
      build_info(r.AddGauge("shardhose_build_info", "Always 1; the running version", {"version"})) {
  for (auto cause :
       {batch::FlushCause::kSize, batch::FlushCause::kRecords, batch::FlushCause::kAge, batch::FlushCause::kPressure,
        batch::FlushCause::kShutdown, batch::FlushCause::kDrain, batch::FlushCause::kReplay}) {
    flushes.With({batch::FlushCauseName(cause)});
  }
  for (std::string_view reason : {"bad_base64", "not_json", "not_change_record", "bad_attribute"}) {
    error_records.With({reason});
  }
  for (std::string_view op :
       {"get_records", "get_shard_iterator", "put_object", "head_object", "upload_part", "complete_multipart"}) {
    for (std::string_view cls : {"throttled", "server_error", "client_error", "network"}) {
      errors.With({op, cls});
      retries.With({op, cls});
    }
  }
  build_info.With({SHARDHOSE_VERSION}).Set(1);
}

void PipelineMetrics::CountFailure(std::string_view op, std::string_view cls, bool retried) {
  errors.With({op, cls}).Inc();
  if (retried) retries.With({op, cls}).Inc();
}

}  // namespace shardhose::pipeline

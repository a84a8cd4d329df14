// Validation (config/loader.h): per-key checks (range, choices, non-empty,
// the row's extra check), skipping keys whose value was unusable; then the
// rules that involve several keys, skipping those that involve an invalid
// key.
#include <algorithm>

#include "config/loader.h"
#include "config/rfc3339.h"

namespace shardhose::config::internal {

void Loader::ValidateEach() {
  for (size_t i = 0; i < options_.size(); ++i) {
    if (origins_[i].invalid) continue;
    const Option& o = options_[i];
    if (const IntRef* ref = std::get_if<IntRef>(&o.ref)) {
      const int64_t v = (*ref)(config_);
      if (v < o.spec.min || v > o.spec.max) {
        ValueProblem(i, o.spec.max == kNoMax
                            ? "must be at least " + std::to_string(o.spec.min) + ", got " + std::to_string(v)
                            : "must be between " + std::to_string(o.spec.min) + " and " + std::to_string(o.spec.max) +
                                  ", got " + std::to_string(v));
      }
      continue;
    }
    if (const EnumRef* ref = std::get_if<EnumRef>(&o.ref)) {
      if (origins_[i].kind == Origin::kDefault) continue;  // the default: a value already
      const std::string& v = names_[i];
      const auto it = std::find(o.spec.names.begin(), o.spec.names.end(), v);
      if (it == o.spec.names.end()) {
        ValueProblem(i, "must be one of " + ChoicesText(o.spec.names) + ", got " + Quote(v));
        continue;
      }
      ref->set(config_, static_cast<int>(it - o.spec.names.begin()));
      continue;
    }
    const StrRef* ref = std::get_if<StrRef>(&o.ref);
    if (!ref) continue;
    const std::string& v = (*ref)(config_);
    if (o.spec.non_empty && v.empty()) {
      ValueProblem(i, "must not be empty");
      continue;
    }
    if (o.spec.check) {
      std::string problem = o.spec.check(v);
      if (!problem.empty()) ValueProblem(i, problem);
    }
  }
}

// source.type = "dynamodb-streams": which stream, and no key that only a
// Kinesis source reads.
void Loader::ValidateStreamsSource() {
  Config& c = config_;
  const auto problem = [&](std::string_view key, const std::string& what) {
    Problem(std::string(key) + ": " + what + OriginOf(key).Where());
  };
  const auto set = [&](std::string_view key) { return OriginOf(key).kind != Origin::kDefault; };
  const std::string only_kinesis = " only applies to source.type = \"kinesis\" (type is \"dynamodb-streams\")";
  if (!c.source.stream_name.empty()) {
    problem("source.stream_name", "names a Kinesis stream and" + only_kinesis +
                                      "; set source.table_name or "
                                      "source.stream_arn");
  }
  if (!Invalid({"source.table_name", "source.stream_arn"})) {
    if (c.source.table_name.empty() && c.source.stream_arn.empty()) {
      problem("source.table_name", "set source.table_name or source.stream_arn (neither is set)");
    } else if (!c.source.table_name.empty() && !c.source.stream_arn.empty()) {
      problem("source.stream_arn", "set only one of source.table_name and source.stream_arn (both are set)");
    } else if (!c.source.stream_arn.empty()) {
      // arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>
      const std::string& arn = c.source.stream_arn;
      const size_t table = arn.find(":table/");
      const size_t stream = arn.find("/stream/");
      if (!StartsWith(arn, "arn:") || arn.find(":dynamodb:") == std::string::npos || table == std::string::npos ||
          stream == std::string::npos || stream <= table + 7 || stream + 8 >= arn.size()) {
        problem("source.stream_arn",
                "must look like arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label> with source.type "
                "= \"dynamodb-streams\", got " +
                    Quote(arn));
      }
    }
  }
  if (!Invalid({"source.initial_position"}) && c.source.initial_position == InitialPosition::kAtTimestamp) {
    problem("source.initial_position",
            "DynamoDB Streams has no AT_TIMESTAMP iterator: use \"TRIM_HORIZON\" (the last 24 hours) or \"LATEST\"");
  }
  if (!Invalid({"source.consumer"}) && c.source.consumer == ConsumerType::kEfo) {
    problem("source.consumer", "\"efo\" (enhanced fan-out)" + only_kinesis);
  }
  if (set("source.consumer_name")) problem("source.consumer_name", "is for enhanced fan-out and" + only_kinesis);
  if (!Invalid({"source.max_records_per_call"}) && set("source.max_records_per_call") &&
      c.source.max_records_per_call > 1000) {
    problem("source.max_records_per_call", "DynamoDB Streams answers at most 1000 records per GetRecords, got " +
                                               std::to_string(c.source.max_records_per_call));
  }
}

void Loader::ValidateTogether() {
  Config& c = config_;
  const auto problem = [&](std::string_view key, const std::string& what) {
    Problem(std::string(key) + ": " + what + OriginOf(key).Where());
  };

  const bool streams = !Invalid({"source.type"}) && c.source.type == SourceType::kDynamoDbStreams;
  if (streams) {
    ValidateStreamsSource();
  } else if (!Invalid({"source.table_name"}) && !c.source.table_name.empty()) {
    problem("source.table_name", "only applies to source.type = \"dynamodb-streams\" (type is \"kinesis\")");
  }
  if (!streams && !Invalid({"source.stream_arn"})) {
    if (std::string arn_problem = CheckStreamArn(c.source.stream_arn); !arn_problem.empty()) {
      problem("source.stream_arn", arn_problem);
      OriginOf("source.stream_arn").invalid = true;
    }
  }
  if (!streams && !Invalid({"source.stream_name", "source.stream_arn"})) {
    if (c.source.stream_name.empty() && c.source.stream_arn.empty()) {
      problem("source.stream_name", "set source.stream_name or source.stream_arn (neither is set)");
    } else if (!c.source.stream_name.empty() && !c.source.stream_arn.empty()) {
      problem("source.stream_arn", "set only one of source.stream_name and source.stream_arn (both are set)");
    } else if (!c.source.stream_arn.empty() && c.source.endpoint_url.empty() &&
               !Invalid({"source.region", "source.endpoint_url"})) {
      // arn:aws:kinesis:<region>:... ; the API is called in source.region.
      std::string_view arn(c.source.stream_arn);
      size_t start = 0;
      for (int n = 0; n < 3; ++n) start = arn.find(':', start) + 1;
      std::string_view arn_region = arn.substr(start, arn.find(':', start) - start);
      if (arn_region != c.source.region) {
        problem("source.stream_arn", "the stream is in region " + std::string(arn_region) + " but source.region is " +
                                         Quote(c.source.region));
      }
    }
  }

  if (c.source.consumer == ConsumerType::kEfo && c.source.max_records_per_call < 2 &&
      !Invalid({"source.consumer", "source.max_records_per_call"})) {
    // A one-record read is the pipeline's trim-horizon probe (poll/efo_reader.h).
    problem("source.max_records_per_call", "must be at least 2 with source.consumer = \"efo\"");
  }

  if (!Invalid({"source.stall_after_s", "source.poll_interval_ms", "source.idle_poll_interval_ms"}) &&
      c.source.stall_after_s * 1000 <= std::max(c.source.poll_interval_ms, c.source.idle_poll_interval_ms)) {
    // A healthy idle shard is read only every idle_poll_interval_ms.
    problem("source.stall_after_s",
            "must be longer than source.poll_interval_ms and source.idle_poll_interval_ms (" +
                std::to_string(std::max(c.source.poll_interval_ms, c.source.idle_poll_interval_ms)) + " ms), got " +
                std::to_string(c.source.stall_after_s) + " s");
  }

  if (!Invalid({"source.initial_position", "source.initial_timestamp"})) {
    const bool at_ts = c.source.initial_position == InitialPosition::kAtTimestamp;
    if (at_ts && c.source.initial_timestamp.empty()) {
      problem("source.initial_timestamp", "required when source.initial_position = \"AT_TIMESTAMP\"");
    } else if (!at_ts && !c.source.initial_timestamp.empty()) {
      problem("source.initial_timestamp",
              "only allowed with source.initial_position = \"AT_TIMESTAMP\", but initial_position is " +
                  Quote(InitialPositionName(c.source.initial_position)));
    } else if (at_ts) {
      auto ms = ParseRfc3339Millis(c.source.initial_timestamp);
      if (ms.ok()) c.source.initial_timestamp_ms = *ms;
    }
  }

  const bool parts = !Invalid({"batch.part_bytes"}) && c.batch.part_bytes > 0;
  if (parts && c.batch.part_bytes < kMinPartBytes) {
    problem("batch.part_bytes", "must be 0 or at least " + std::to_string(kMinPartBytes) +
                                    " (S3's smallest part), got " + std::to_string(c.batch.part_bytes));
  } else if (parts && !Invalid({"batch.max_buffered_bytes"}) && c.batch.max_buffered_bytes < 2 * c.batch.part_bytes) {
    problem("batch.max_buffered_bytes", "must be at least 2 x batch.part_bytes (" +
                                            std::to_string(2 * c.batch.part_bytes) + "), got " +
                                            std::to_string(c.batch.max_buffered_bytes));
  }
  const bool too_big =
      !parts && !Invalid({"batch.max_bytes", "batch.part_bytes"}) && c.batch.max_bytes > kMaxObjectBytes;
  if (too_big) {
    problem("batch.max_bytes", "above " + std::to_string(kMaxObjectBytes) +
                                   " (S3's single PUT) needs batch.part_bytes (multipart upload), got " +
                                   std::to_string(c.batch.max_bytes));
  }
  if (!parts && !too_big && !Invalid({"batch.max_bytes", "batch.max_buffered_bytes"}) &&
      c.batch.max_buffered_bytes < c.batch.max_bytes) {
    problem("batch.max_buffered_bytes", "must be at least batch.max_bytes (" + std::to_string(c.batch.max_bytes) +
                                            "), got " + std::to_string(c.batch.max_buffered_bytes));
  }

  if (!Invalid({"output.bucket", "output.endpoint_url"}) && c.output.bucket.empty() && !c.OutputIsLocalDirectory()) {
    problem("output.bucket", "required (or set output.endpoint_url = \"file:///dir\" to write to a local directory)");
  }

  if (!Invalid({"output.sse", "output.sse_kms_key_id"}) && !c.output.sse_kms_key_id.empty() &&
      c.output.sse != Sse::kKms) {
    problem("output.sse_kms_key_id", "requires output.sse = \"aws:kms\", but sse is " + Quote(SseName(c.output.sse)));
  }
}

}  // namespace shardhose::config::internal

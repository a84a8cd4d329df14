// The option table (see config/schema.h), the names derived from it, the
// names of the enums' values (config.h) and ListOptions().
#include "config/schema.h"

#include <cctype>

#include "config/options.h"

namespace shardhose::config {
namespace internal {

Type TypeOf(const Option& o) {
  if (std::holds_alternative<IntRef>(o.ref)) return Type::kInt;
  if (std::holds_alternative<BoolRef>(o.ref)) return Type::kBool;
  if (std::holds_alternative<EnumRef>(o.ref)) return Type::kEnum;
  return o.spec.timestamp ? Type::kTimestamp : Type::kString;
}

// "source, stream_name, <accessor>" for a row.
#define SH_KEY(sec, key) #sec, #key, Ref(+[](Config & c) -> auto& { return c.sec.key; })
// The same for an enum field.
#define SH_ENUM(sec, key)                                                       \
#sec, #key,                                                                   \
      Ref(EnumRef{+[](const Config& c) { return static_cast<int>(c.sec.key); }, \
                  +[](Config& c, int i) { c.sec.key = static_cast<decltype(c.sec.key)>(i); }})

// clang-format off
const std::vector<Option>& Options() {
  static const std::vector<Option> kOptions = {
    // key                                   accepts                                  description
    {SH_ENUM(source, type),                 OneOf(kSourceTypeNames),                  "The change feed: \"kinesis\" (a Kinesis data stream that Kinesis Data Streams for DynamoDB writes to) or \"dynamodb-streams\" (the table's DynamoDB stream, read directly)."},
    {SH_KEY(source, stream_name),           Any(),                                    "type = \"kinesis\": the Kinesis stream to read. Set exactly one of stream_name and stream_arn."},
    {SH_KEY(source, stream_arn),            Any(),                                    "type = \"kinesis\": the stream's ARN (arn:aws:kinesis:<region>:<account>:stream/<name>), instead of stream_name. type = \"dynamodb-streams\": the DynamoDB stream's ARN (arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>), instead of table_name."},
    {SH_KEY(source, table_name),            Any(),                                    "type = \"dynamodb-streams\": the table whose latest stream is read (found with DescribeTable), instead of stream_arn."},
    {SH_KEY(source, region),                NonEmpty().Aws("AWS_REGION", "AWS_DEFAULT_REGION"), "AWS region of the stream. If not set in the file: AWS_REGION, then AWS_DEFAULT_REGION."},
    {SH_KEY(source, endpoint_url),          Any().Check(CheckSourceEndpoint).Aws("AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL"), "The source's endpoint, http(s)://host[:port]; empty = AWS's endpoint for the region. If not set in the file: AWS_ENDPOINT_URL_KINESIS, then AWS_ENDPOINT_URL. With type = \"dynamodb-streams\" it serves the Streams API and DescribeTable; if not set in the file: AWS_ENDPOINT_URL_DYNAMODB_STREAMS (Streams) and AWS_ENDPOINT_URL_DYNAMODB (DescribeTable), then AWS_ENDPOINT_URL."},
    {SH_ENUM(source, initial_position),     OneOf(kInitialPositionNames),             "Where to start reading a shard that has no checkpoint."},
    {SH_KEY(source, initial_timestamp),     Timestamp().Check(CheckTimestamp),        "RFC 3339 time to start from; required with, and only allowed with, initial_position = \"AT_TIMESTAMP\"."},
    {SH_KEY(source, max_records_per_call),  Range(1, 10000),                          "GetRecords Limit: records per call."},
    {SH_KEY(source, poll_interval_ms),      Range(0),                                 "Minimum gap between GetRecords calls on one shard (Kinesis allows 5 per second per shard)."},
    {SH_KEY(source, idle_poll_interval_ms), Range(0),                                 "Gap after a GetRecords call that returned no records."},
    {SH_KEY(source, shard_refresh_s),       Range(1),                                 "How often to list shards to find new ones (resharding)."},
    {SH_KEY(source, poll_threads),          Range(1, 256),                            "Threads polling shards; shards are multiplexed over them."},
    {SH_ENUM(source, consumer),             OneOf(kConsumerTypeNames),                "How shards are read: \"polling\" (GetRecords) or \"efo\" (enhanced fan-out: a registered stream consumer, SubscribeToShard)."},
    {SH_KEY(source, consumer_name),         NonEmpty().Check(CheckConsumerName),      "Stream consumer registered (or reused) with consumer = \"efo\"."},
    {SH_KEY(source, stall_after_s),         Range(1, 86400),                          "A shard not read successfully for this long is stalled: /readyz answers 503 naming it and the last error, and its lag (shardhose_behind_latest_seconds) grows from the last MillisBehindLatest by the time since. Default: 3 x the poll back-off ceiling (20 s)."},
    {SH_KEY(source, drain_give_up_after_s), Range(0, 604800),                         "With run --drain: exit 1 when a shard (or, at start, the stream) has gone this long without a successful read while its calls fail, e.g. Kinesis unreachable (polling paused by a full buffer does not count); what was read is flushed and checkpointed first. 0 = retry forever."},

    {SH_KEY(batch, max_bytes),              Range(1, kMaxObjectBytesMultipart),       "Uncompressed bytes per object; a batch is flushed when it would exceed this. Above 5 GiB (S3's single PUT) needs part_bytes."},
    {SH_KEY(batch, max_interval_s),         Range(0, 86400),                          "Flush a batch when its oldest line is this old; 0 = flush after every poll."},
    {SH_KEY(batch, max_records),            Range(0),                                 "Flush a batch at this many records; 0 = unlimited."},
    {SH_KEY(batch, max_buffered_bytes),     Range(1),                                 "Cap on bytes held in all open and in-flight batches; polling pauses above it. Must be >= max_bytes (>= 2 x part_bytes with part_bytes)."},
    {SH_KEY(batch, part_bytes),             Range(0, kMaxPartBytes),                  "0 = one PUT per object. Otherwise each (partition, shard) gets its own batch, streamed to S3 as a multipart upload in parts of this many compressed bytes as it grows (>= 5242880), so max_bytes can be many GiB."},

    {SH_KEY(output, bucket),                Any().Check(CheckBucket),                 "S3 bucket. Required unless endpoint_url is a file:// directory."},
    {SH_KEY(output, region),                NonEmpty().Aws("AWS_REGION", "AWS_DEFAULT_REGION"), "AWS region of the bucket. If not set in the file: AWS_REGION, then AWS_DEFAULT_REGION."},
    {SH_KEY(output, endpoint_url),          Any().Check(CheckOutputEndpoint).Aws("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "S3 endpoint, http(s)://host[:port], or file:///abs/dir to write objects to a local directory; empty = AWS. If not set in the file: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL."},
    {SH_KEY(output, force_path_style),      Any(),                                    "Address the bucket as endpoint/bucket/key instead of bucket.endpoint/key (needed by most S3 emulators)."},
    {SH_KEY(output, prefix),                Any().Check(CheckRecordTemplate),         "Key prefix template for records: {table} {event_name} {stream} {shard_id} {event_time:%Y...} {arrival_time:%Y...}."},
    {SH_KEY(output, error_prefix),          Any().Check(CheckErrorTemplate),          "Key prefix template for records that failed to decode; may also use {error}."},
    {SH_ENUM(output, format),               OneOf(kOutputFormatNames),                "unmarshalled = plain JSON per change record; raw = the Kinesis record data as received."},
    {SH_ENUM(output, compression),          OneOf(kCompressionNames),                 "Object compression."},
    {SH_KEY(output, compression_level),     Range(1, 9),                              "gzip level: 1-2 ISA-L igzip (fast), 3-9 zlib."},
    {SH_ENUM(output, sse),                  OneOf(kSseNames),                         "Server-side encryption: \"\" (bucket default), AES256 or aws:kms."},
    {SH_KEY(output, sse_kms_key_id),        Any(),                                    "KMS key for sse = \"aws:kms\"; empty = the AWS-managed key."},
    {SH_KEY(output, upload_threads),        Range(1, 256),                            "Concurrent uploads."},
    {SH_KEY(output, upload_timeout_s),      Range(1, 3600),                           "Deadline for one upload attempt."},
    {SH_ENUM(output, conditional_writes),   OneOf(kConditionalWritesNames),           "Write objects re-formed after an unclean stop with If-None-Match: * (412 = already uploaded) instead of checking them with HeadObject: on, off, or auto (probed at start)."},
    {SH_KEY(output, permanent_error_grace_s), Range(1, 86400),                        "How long upload errors that retrying cannot fix (AccessDenied, NoSuchBucket, ...) may persist before run --drain stops reading and exits 1; run stays not ready meanwhile."},

    {SH_KEY(checkpoint, path),              NonEmpty(),                               "Checkpoint file (replaced atomically); its directory must be writable."},

    {SH_ENUM(coordination, mode),           OneOf(kCoordinationModeNames),            "local = this process reads every shard, its checkpoint in checkpoint.path; dynamodb = processes share the stream through a DynamoDB lease table (README, Scaling out)."},
    {SH_KEY(coordination, table),           Any().Check(CheckTableName),              "Lease table (one item per shard, KCL-compatible; worker heartbeats in <table>-workers); empty = shardhose-<stream>-leases."},
    {SH_KEY(coordination, create_table),    Any(),                                    "Create the lease table and <table>-workers (on-demand billing) when missing; false = they must exist."},
    {SH_KEY(coordination, region),          Any(),                                    "AWS region of the lease table; empty = source.region."},
    {SH_KEY(coordination, endpoint_url),    Any().Check(CheckDynamoDbEndpoint).Aws("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"), "DynamoDB endpoint, http(s)://host[:port]; empty = AWS's endpoint for the region. If not set in the file: AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL."},
    {SH_KEY(coordination, worker_id),       Any().Check(CheckWorkerId),               "This process's name in the lease table; empty = $POD_NAME, else <host name>-<pid>. A restarted worker that keeps its id (a StatefulSet) resumes its leases at once."},
    {SH_KEY(coordination, lease_duration_s), Range(2, 3600),                          "A worker whose heartbeat has not changed for this long is gone: its leases are taken over (the failover time)."},
    {SH_KEY(coordination, max_leases_per_worker), Range(0, 100000),                   "Most leases one worker holds; 0 = no cap."},

    {SH_KEY(load, region),                  Any(),                                    "shardhose load: the region of an s3:// export's bucket; empty = output.region."},
    {SH_KEY(load, endpoint_url),            Any().Check(CheckOutputEndpoint),         "shardhose load: the S3 endpoint of an s3:// export; empty = output.endpoint_url."},
    {SH_KEY(load, dynamodb_endpoint_url),   Any().Check(CheckDynamoDbEndpoint),       "shardhose load: the DynamoDB endpoint for DescribeTable (the key schema); empty = source.endpoint_url for a dynamodb-streams source, else coordination.endpoint_url (AWS_ENDPOINT_URL_DYNAMODB)."},
    {SH_KEY(load, key_attributes),          List().Check(CheckKeyAttributes),         "shardhose load: the table's key attributes, [\"pk\"] or [\"pk\", \"sk\"], when DescribeTable is not allowed; empty = the KeySchema from DescribeTable. --key-attributes wins."},

    {SH_KEY(shutdown, grace_period_s),      Range(1, 3600),                           "On SIGTERM/SIGINT: time to flush open batches and write the checkpoint before exiting."},

    {SH_KEY(server, listen),                Any().Check(CheckListen),                 "HTTP endpoint for /healthz, /readyz and /metrics (Prometheus), host:port or [v6addr]:port; empty = disabled."},

    {SH_KEY(log, level),                    NonEmpty().Check(CheckLogLevel),          "trace|debug|info|warn|error; --log-level wins. Changes live on SIGHUP."},
    {SH_KEY(log, format),                   NonEmpty().Check(CheckLogFormat),         "text (stderr) | json (one object per line, stdout); --log-format wins. Needs a restart."},
    {SH_KEY(log, progress_interval_s),      Range(-1, 86400),                         "run in the foreground, at info level: one progress line (records/s and MB/s in, objects and MB out, lag, buffered bytes; an ETA with --drain) every this many seconds. -1 = 10 s when stderr is a terminal, 60 s otherwise; 0 = off."},
  };
  return kOptions;
}
// clang-format on
#undef SH_KEY
#undef SH_ENUM

// ---------------------------------------------------------------------------
// Names and text.

std::string Dotted(const Option& o) { return std::string(o.section) + "." + std::string(o.key); }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string EnvName(const Option& o) { return "SHARDHOSE_" + Upper(o.section) + "_" + Upper(o.key); }

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string ChoicesText(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view c : names) {
    if (!out.empty()) out += '|';
    out += c.empty() ? "\"\"" : std::string(c);
  }
  return out;
}

std::string AllowedText(const Option& o) {
  if (TypeOf(o) == Type::kInt) {
    if (o.spec.min == kNoMin && o.spec.max == kNoMax) return "";
    if (o.spec.max == kNoMax) return ">= " + std::to_string(o.spec.min);
    return std::to_string(o.spec.min) + ".." + std::to_string(o.spec.max);
  }
  if (!o.spec.names.empty()) return ChoicesText(o.spec.names);
  if (o.spec.list) return "array of strings";
  if (o.spec.non_empty) return "non-empty";
  return "";
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace internal

std::string_view SourceTypeName(SourceType t) { return internal::kSourceTypeNames[static_cast<size_t>(t)]; }
std::string_view InitialPositionName(InitialPosition p) {
  return internal::kInitialPositionNames[static_cast<size_t>(p)];
}
std::string_view ConsumerTypeName(ConsumerType c) { return internal::kConsumerTypeNames[static_cast<size_t>(c)]; }
std::string_view OutputFormatName(OutputFormat f) { return internal::kOutputFormatNames[static_cast<size_t>(f)]; }
std::string_view CompressionName(Compression c) { return internal::kCompressionNames[static_cast<size_t>(c)]; }
std::string_view SseName(Sse s) { return internal::kSseNames[static_cast<size_t>(s)]; }
std::string_view CoordinationModeName(CoordinationMode m) {
  return internal::kCoordinationModeNames[static_cast<size_t>(m)];
}
std::string_view ConditionalWritesName(ConditionalWrites c) {
  return internal::kConditionalWritesNames[static_cast<size_t>(c)];
}

std::vector<OptionInfo> ListOptions() {
  using internal::AllowedText;
  using internal::EnvName;
  using internal::Option;
  using internal::TypeOf;
  using internal::ValueAsToml;
  // By Type; an enum is a string in TOML and in the environment.
  static const char* const kTypeNames[] = {"string", "integer", "boolean", "timestamp", "string"};
  Config defaults;
  std::vector<OptionInfo> out;
  for (const Option& o : internal::Options()) {
    out.push_back(OptionInfo{std::string(o.section), std::string(o.key), kTypeNames[static_cast<int>(TypeOf(o))],
                             ValueAsToml(o, defaults), AllowedText(o), EnvName(o), std::string(o.description)});
  }
  return out;
}

}  // namespace shardhose::config

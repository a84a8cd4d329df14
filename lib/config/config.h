// File: config/config.h
//
// The daemon's configuration: one TOML file, overridden key by key from the
// environment, validated all at once.
//
// Sources, later wins:
//   1. built-in defaults (below);
//   2. the TOML file, if one is given (none is needed: a container can be
//      configured from the environment alone);
//   3. standard AWS variables, where the key was not set in the file
//      (an empty variable counts as unset; the first one found wins):
//      AWS_REGION, then AWS_DEFAULT_REGION -> source.region, output.region;
//      AWS_ENDPOINT_URL_KINESIS, then AWS_ENDPOINT_URL -> source.endpoint_url;
//      AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL -> output.endpoint_url;
//   4. SHARDHOSE_<SECTION>_<KEY> (e.g. SHARDHOSE_OUTPUT_BUCKET=lake),
//      parsed with the key's type (integers in decimal; booleans
//      true/false/1/0, any case; strings as-is, empty included); these win
//      over the file and the AWS variables.
// Every key, with its type, default and allowed values, is listed in one
// table in config/schema.cc (see config/options.h and
// config/shardhose.example.toml).
//
// Load() reports every problem at once, one per line, each starting with
// the dotted key and ending with where the value came from, "(line N)" for
// the file or "(from VAR)" for the environment:
//   batch.max_bytes: must be between 1 and 5368709120, got 0 (line 7)
//   batch.max_byte: unknown key (did you mean batch.max_bytes?) (line 7)
// It reports unknown sections and keys (with a "did you mean" for near
// misses and for keys put in the wrong section), unknown SHARDHOSE_*
// variables (the same), wrong types, out-of-range
// values, bad templates (partition::KeyTemplate::Parse) and key prefixes
// S3 should not be given (a leading '/', "//", "." or ".." segments, control
// characters and the characters AWS says to avoid in keys), bucket names
// that break S3's naming rules, malformed
// endpoint URLs, stream ARNs and server.listen addresses, and inconsistent combinations (no
// stream_name nor stream_arn; both; a stream_arn in another region than
// source.region when no endpoint_url is set; AT_TIMESTAMP without
// initial_timestamp or initial_timestamp without AT_TIMESTAMP; no bucket
// without a file:// endpoint; sse_kms_key_id without sse = "aws:kms";
// max_buffered_bytes < max_bytes). A TOML syntax error is reported alone as
// "<path>:<line>:<column>: TOML syntax error: ...". The daemon prints them
// and exits 2.
//
// Thread-safety: a Config is an immutable value after Load().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shardhose::config {

// The keys that take one of a few names are enums, parsed once by Load().
// Each XxxName() gives a value's name as the configuration spells it (in the
// file, the environment, ToToml() and messages), for logs too.

// source.type: which change feed is read.
//   kKinesis          a Kinesis data stream that "Kinesis Data Streams for
//                     DynamoDB" writes to (poll/kinesis_source.h);
//   kDynamoDbStreams  the table's DynamoDB stream itself, no Kinesis stream
//                     (poll/dynamodb_streams_source.h).
enum class SourceType { kKinesis, kDynamoDbStreams };
std::string_view SourceTypeName(SourceType t);  // "kinesis" "dynamodb-streams"

// source.initial_position: where a shard without a checkpoint starts.
enum class InitialPosition { kTrimHorizon, kLatest, kAtTimestamp };
std::string_view InitialPositionName(InitialPosition p);  // "TRIM_HORIZON" "LATEST" "AT_TIMESTAMP"

// source.consumer: how shards are read.
enum class ConsumerType {
  kPolling,  // GetRecords
  kEfo,      // enhanced fan-out: SubscribeToShard (poll/efo_reader.h)
};
std::string_view ConsumerTypeName(ConsumerType c);  // "polling" "efo"

// output.format: what a line holds (decode/change_record.h).
enum class OutputFormat { kUnmarshalled, kRaw };
std::string_view OutputFormatName(OutputFormat f);  // "unmarshalled" "raw"

// output.compression.
enum class Compression { kGzip, kNone };
std::string_view CompressionName(Compression c);  // "gzip" "none"

// output.sse: the server-side encryption asked of S3.
enum class Sse { kBucketDefault, kAes256, kKms };
std::string_view SseName(Sse s);  // "" "AES256" "aws:kms" (the header's value)

// output.conditional_writes: whether objects re-formed after an unclean
// stop are written with If-None-Match: * (S3 conditional writes) instead
// of being checked with HeadObject first. auto = decided by the start-up
// probe (pipeline/destination_check.h); file:// always supports them.
enum class ConditionalWrites { kAuto, kOn, kOff };
std::string_view ConditionalWritesName(ConditionalWrites c);  // "auto" "on" "off"

// coordination.mode: who decides which shards this process reads.
//   kLocal     every shard; the checkpoint in checkpoint.path (one process).
//   kDynamoDb  the shards whose leases it holds in a DynamoDB lease table
//              shared with other processes (lib/lease/).
enum class CoordinationMode { kLocal, kDynamoDb };
std::string_view CoordinationModeName(CoordinationMode m);  // "local" "dynamodb"

struct SourceConfig {
  SourceType type = SourceType::kKinesis;
  std::string stream_name;  // kKinesis
  std::string stream_arn;   // the Kinesis stream's, or (kDynamoDbStreams) the DynamoDB stream's
  std::string table_name;   // kDynamoDbStreams: its latest stream, instead of stream_arn
  std::string region = "us-east-1";
  std::string endpoint_url;  // "" = AWS's endpoint for the region
  // kDynamoDbStreams: where DescribeTable goes, derived by Load():
  // endpoint_url when the file or SHARDHOSE_SOURCE_ENDPOINT_URL set it,
  // else AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else "" (AWS).
  std::string table_endpoint_url;
  InitialPosition initial_position = InitialPosition::kTrimHorizon;
  std::string initial_timestamp;         // RFC 3339 with offset, with AT_TIMESTAMP
  int64_t initial_timestamp_ms = 0;      // derived from initial_timestamp by Load()
                                         // (ms since epoch; 0 unless AT_TIMESTAMP)
  int64_t max_records_per_call = 10000;  // GetRecords Limit, 1..10000
  int64_t poll_interval_ms = 200;        // min gap between GetRecords on a shard (5/s)
  int64_t idle_poll_interval_ms = 1000;  // gap after an empty GetRecords
  int64_t shard_refresh_s = 60;          // ListShards period
  int64_t poll_threads = 4;              // shards are multiplexed over these
  ConsumerType consumer = ConsumerType::kPolling;
  std::string consumer_name = "shardhose";  // the stream consumer with kEfo
  // A shard without a successful read for this long is stalled: not ready,
  // and its lag estimated as growing (pipeline/health.h). 3 x the poll
  // back-off ceiling (20 s).
  int64_t stall_after_s = 60;
  // With --drain: give up (exit 1) once a shard, or at start the stream
  // itself, has gone this long without a successful read while its calls
  // fail; 0 = never.
  int64_t drain_give_up_after_s = 300;

  bool operator==(const SourceConfig&) const = default;
};

struct BatchConfig {
  int64_t max_bytes = 134217728;            // uncompressed bytes per object
  int64_t max_interval_s = 300;             // age of the oldest line; 0 = every poll
  int64_t max_records = 0;                  // 0 = unlimited
  int64_t max_buffered_bytes = 1073741824;  // cap on all open + in-flight batches
  int64_t part_bytes = 0;                   // multipart part size (compressed); 0 = one PUT per object

  bool operator==(const BatchConfig&) const = default;
};

struct OutputConfig {
  std::string bucket;
  std::string region = "us-east-1";
  std::string endpoint_url;  // "" = AWS; "file:///dir" = local directory
  bool force_path_style = false;
  std::string prefix = "ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/";
  std::string error_prefix = "errors/{error}/dt={arrival_time:%Y-%m-%d}/";
  OutputFormat format = OutputFormat::kUnmarshalled;
  Compression compression = Compression::kGzip;
  int64_t compression_level = 1;  // 1..9 (gzip): 1-2 ISA-L igzip, 3-9 zlib
  Sse sse = Sse::kBucketDefault;
  std::string sse_kms_key_id;
  int64_t upload_threads = 4;
  int64_t upload_timeout_s = 120;
  ConditionalWrites conditional_writes = ConditionalWrites::kAuto;
  // How long upload errors that retrying cannot fix (AccessDenied,
  // NoSuchBucket, ...) may last before `run --drain` gives up (exit 1).
  int64_t permanent_error_grace_s = 60;

  bool operator==(const OutputConfig&) const = default;
};

// [coordination]: how several processes share one stream (README,
// "Scaling out"). Everything but `mode` applies to mode = "dynamodb" only.
struct CoordinationConfig {
  CoordinationMode mode = CoordinationMode::kLocal;
  std::string table;                  // lease table; "" = "shardhose-<stream>-leases" (LeaseTableName)
  bool create_table = true;           // create it (PAY_PER_REQUEST) and <table>-workers when missing
  std::string region;                 // "" = source.region
  std::string endpoint_url;           // "" = AWS's DynamoDB endpoint for the region
  std::string worker_id;              // "" = $POD_NAME, else <host name>-<pid> (WorkerId)
  int64_t lease_duration_s = 10;      // a worker silent this long loses its leases
  int64_t max_leases_per_worker = 0;  // 0 = no cap

  bool operator==(const CoordinationConfig&) const = default;
};

// [load]: `shardhose load` of a DynamoDB export (daemon/load_command.h).
struct LoadConfig {
  std::string region;                 // of an s3:// export; "" = output.region
  std::string endpoint_url;           // of an s3:// export; "" = output.endpoint_url
  std::string dynamodb_endpoint_url;  // DescribeTable for the key schema; "" = see load_command.h
  std::string key_attributes;         // "pk" or "pk,sk" (a TOML array in the file); "" = DescribeTable

  bool operator==(const LoadConfig&) const = default;
};

struct CheckpointConfig {
  std::string path = "/var/lib/shardhose/checkpoint.json";

  bool operator==(const CheckpointConfig&) const = default;
};

struct ShutdownConfig {
  int64_t grace_period_s = 25;  // SIGTERM -> flush + checkpoint deadline

  bool operator==(const ShutdownConfig&) const = default;
};

struct ServerConfig {
  // The HTTP endpoint (/healthz, /readyz, /metrics): "host:port" or
  // "[v6addr]:port" with port 1..65535; "" disables it.
  std::string listen = "127.0.0.1:9600";

  bool operator==(const ServerConfig&) const = default;
};

// [log]: read at start and again on SIGHUP (daemon/reload.h). The command
// line's --log-level/--log-format win over these.
struct LogConfig {
  std::string level = "info";   // trace|debug|info|warn|error; changes live on SIGHUP
  std::string format = "text";  // text (stderr) | json (stdout); a change needs a restart
  // `run` in the foreground at info level: one progress line every this
  // many seconds (daemon/progress.h); -1 = 10 s when stderr is a terminal,
  // 60 s otherwise; 0 = off. Changes live on SIGHUP.
  int64_t progress_interval_s = -1;

  bool operator==(const LogConfig&) const = default;
};

struct Config {
  SourceConfig source;
  BatchConfig batch;
  OutputConfig output;
  CheckpointConfig checkpoint;
  CoordinationConfig coordination;
  LoadConfig load;
  ShutdownConfig shutdown;
  ServerConfig server;
  LogConfig log;

  // The stream's display name: stream_name, or the name part of stream_arn;
  // with type = "dynamodb-streams" the table: table_name, or the table in
  // stream_arn.
  std::string StreamDisplayName() const;
  // coordination.table, or its default "shardhose-<stream>-leases" (the
  // stream's display name with characters DynamoDB refuses replaced by '-').
  std::string LeaseTableName() const;
  // coordination.region, or source.region when it is empty.
  std::string CoordinationRegion() const;
  // True when output.endpoint_url starts with "file://".
  bool OutputIsLocalDirectory() const;
  // The directory of a file:// endpoint ("file:///data/lake/" ->
  // "/data/lake"); "" if the output is not a local directory.
  std::string OutputDirectory() const;

  bool operator==(const Config&) const = default;
};

// "host:port" or "[v6addr]:port" split into host (without brackets) and
// port (0..65535); InvalidArgument naming what is wrong otherwise. The host
// is not resolved.
struct HostPort {
  std::string host;
  int port = 0;
};
Result<HostPort> ParseHostPort(const std::string& s);

// The names of a list setting, held as "a,b" (Spec::List, e.g.
// load.key_attributes): "" -> {}, "a" -> {"a"}, "a,,b" -> {"a", "", "b"}
// (empty names are kept, for checks to refuse).
std::vector<std::string> SplitList(std::string_view value);

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The SHARDHOSE_* variables the binary reads that are not configuration
// keys: the command line's (--config, --log-level, --log-format) and the
// crash tests' kill point (common/kill_point.h).
inline constexpr std::string_view kOtherShardhoseVariables[] = {"SHARDHOSE_CONFIG", "SHARDHOSE_LOG_LEVEL",
                                                                "SHARDHOSE_LOG_FORMAT", "SHARDHOSE_KILL_AT"};

// Loads and validates. `path` may be empty (environment only). Every
// problem is in the returned InvalidArgument's message, one per line,
// each starting with the dotted key name (or, for an unknown variable, its
// name). A file that cannot be read returns the FileSystem's status
// (NotFound / IOError), prefixed with "config file: ". The environment is
// read through `env`, by name; `env_names` are the names of every variable
// set (the process's environment): a SHARDHOSE_* one that is neither a
// key's SHARDHOSE_<SECTION>_<KEY> nor in kOtherShardhoseVariables is a
// problem, "SHARDHOSE_OUTPUT_BUKCET: unknown variable; did you mean
// SHARDHOSE_OUTPUT_BUCKET?" (a near miss, or the key in another section).
Result<Config> Load(const std::string& path, const EnvLookup& env, const std::vector<std::string>& env_names = {});

// The names of every variable in this process's environment (for Load()).
std::vector<std::string> ProcessEnvNames();

// The effective configuration as TOML (what `shardhose validate` prints):
// every key of the table, in table order, so that Load() of the output
// gives back the same Config. The derived initial_timestamp_ms is not
// written. Never contains secrets (there are none in Config).
std::string ToToml(const Config& config);

// One key whose value differs between two configurations, in the option
// table's order, with both values as TOML (as ToToml writes them). For
// SIGHUP (daemon/reload.h): what changed since the running configuration.
struct KeyChange {
  std::string key;  // "batch.max_interval_s"
  std::string before;
  std::string after;
};
std::vector<KeyChange> Diff(const Config& before, const Config& after);

}  // namespace shardhose::config

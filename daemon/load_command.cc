// `shardhose load` (load_command.h): the wiring of load/loader.h to the
// configuration, AWS and the terminal.
#include "load_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>

#include "aws/credentials_chain.h"
#include "aws/curl_http.h"
#include "aws/dynamodb.h"
#include "common/clock.h"
#include "decode/change_record.h"
#include "load/load_progress.h"
#include "load/loader.h"
#include "start_export.h"
#include "upload/file_store.h"
#include "upload/s3_store.h"

namespace shardhose::daemon {
namespace {

upload::S3Options S3OptionsOf(const config::Config& cfg, std::string bucket) {
  upload::S3Options s3;
  s3.bucket = std::move(bucket);
  s3.region = cfg.output.region;
  s3.endpoint_url = cfg.output.endpoint_url;
  s3.force_path_style = cfg.output.force_path_style;
  s3.timeout = std::chrono::seconds(cfg.output.upload_timeout_s);
  return s3;
}

void PrintProgress(const load::LoadStats& s, double seconds) {
  // MB of export data decompressed (the items' DynamoDB JSON), as
  // bench/load_bench.cc counts it; the gzip'd MB read beside it.
  const double mb = static_cast<double>(s.bytes_in) / 1e6;
  std::fprintf(
      stderr,
      "load: %zu/%zu files, %llu items (%.0f/s), %.1f MB of items (%.1f MB/s; %.1f MB gzip'd read), %llu objects%s\n",
      s.files_done, s.files_total, static_cast<unsigned long long>(s.items),
      seconds > 0 ? static_cast<double>(s.items) / seconds : 0.0, mb, seconds > 0 ? mb / seconds : 0.0,
      static_cast<double>(s.bytes_read) / 1e6, static_cast<unsigned long long>(s.objects),
      s.error_lines ? fmt::format(", {} error lines", s.error_lines).c_str() : "");
}

// --then-stream from a DynamoDB Streams source: whether the stream still
// holds every change since the export time minus the margin (records live 24
// hours; there is no AT_TIMESTAMP). Says why not.
bool StreamsStillHold(const LoadOptions& opts, const load::ExportSummary& summary) {
  const int64_t from_ms = summary.export_time_us / 1000 - opts.margin_s * 1000;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  constexpr int64_t kRetentionMs = 24LL * 3600 * 1000;
  if (now_ms - from_ms < kRetentionMs) return true;
  std::fprintf(stderr,
               "shardhose load: --then-stream: DynamoDB Streams keeps records 24 hours and has no AT_TIMESTAMP; the "
               "changes since %s (the export time minus %lld s) are no longer all there. Take a new export (or start "
               "the stream first, then export)\n",
               decode::FormatIsoMillis(from_ms * 1000).c_str(), static_cast<long long>(opts.margin_s));
  return false;
}

// --then-stream (load_command.h): `run`, its first start at the export.
int ThenStream(const CommonOptions& options, const LoadOptions& opts, const config::Config& cfg,
               const load::ExportSummary& summary) {
  const int64_t from_ms = summary.export_time_us / 1000 - opts.margin_s * 1000;
  const bool leased = cfg.coordination.mode == config::CoordinationMode::kDynamoDb;
  if (!leased && FileSystem::Default()->Exists(cfg.checkpoint.path)) {
    std::fprintf(stderr,
                 "load: the stream has a checkpoint (%s): it goes on from there. It must have begun before %s "
                 "(the export time minus %lld s) for no change after the export to be missed\n",
                 cfg.checkpoint.path.c_str(), decode::FormatIsoMillis(from_ms * 1000).c_str(),
                 static_cast<long long>(opts.margin_s));
    return RunCommand(options, opts.drain);
  }
  FirstStart first;
  if (cfg.source.type == config::SourceType::kDynamoDbStreams) {
    if (!StreamsStillHold(opts, summary)) return kExitUsage;
    first.position = config::InitialPosition::kTrimHorizon;
    std::fprintf(stderr, "load: the stream starts at TRIM_HORIZON (it holds every change since %s)\n",
                 decode::FormatIsoMillis(from_ms * 1000).c_str());
  } else {
    first.position = config::InitialPosition::kAtTimestamp;
    first.timestamp_ms = from_ms;
    std::fprintf(stderr, "load: the stream starts at AT_TIMESTAMP %s (the export time minus %lld s)\n",
                 decode::FormatIsoMillis(from_ms * 1000).c_str(), static_cast<long long>(opts.margin_s));
  }
  return RunCommand(options, opts.drain, first);
}

// Where DescribeTable (and ExportTableToPointInTime) go (load_command.h).
aws::DynamoDbOptions TableApi(const config::Config& cfg) {
  aws::DynamoDbOptions d;
  d.region = cfg.source.region;
  d.endpoint_url = !cfg.load.dynamodb_endpoint_url.empty()                   ? cfg.load.dynamodb_endpoint_url
                   : cfg.source.type == config::SourceType::kDynamoDbStreams ? cfg.source.table_endpoint_url
                                                                             : cfg.coordination.endpoint_url;
  return d;
}

// --start-export: the export's folder once DynamoDB has written it; "" after
// printing why not (*exit_code set).
std::string StartExport(const config::Config& cfg, const LoadOptions& opts, aws::HttpClient* http,
                        aws::CredentialsProvider* creds, Clock* clock, int* exit_code) {
  ExportRequest req;
  req.table = !opts.table.empty() ? opts.table : cfg.source.table_name;
  std::string_view uri = opts.start_export;
  if (uri.substr(0, 5) != "s3://" || uri.size() == 5 || uri[5] == '/') {
    std::fprintf(stderr, "shardhose load: --start-export wants s3://bucket[/prefix], got %s\n",
                 opts.start_export.c_str());
    *exit_code = kExitUsage;
    return "";
  }
  if (req.table.empty()) {
    std::fprintf(stderr, "shardhose load: --start-export needs the table: --table T (or source.table_name)\n");
    *exit_code = kExitUsage;
    return "";
  }
  uri.remove_prefix(5);
  const size_t slash = uri.find('/');
  req.bucket = std::string(uri.substr(0, slash));
  std::string prefix = slash == std::string_view::npos ? std::string() : std::string(uri.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  req.prefix = prefix;
  aws::DynamoDbClient ddb(TableApi(cfg), http, creds, clock);
  std::fprintf(stderr, "load: exporting table %s to s3://%s/%s (ExportTableToPointInTime)\n", req.table.c_str(),
               req.bucket.c_str(), req.prefix.c_str());
  auto folder = StartExportAndWait(ddb, req, clock, [](const std::string& status, double seconds) {
    std::fprintf(stderr, "load: export %s after %.0f s\n", status.c_str(), seconds);
  });
  if (!folder.ok()) {
    std::fprintf(stderr, "shardhose load: %s\n", folder.status().ToString().c_str());
    *exit_code = folder.status().code() == StatusCode::kFailedPrecondition ? kExitUsage : kExitFailure;
    return "";
  }
  std::fprintf(stderr, "load: the export is at %s\n", folder->c_str());
  return *folder;
}

}  // namespace

int LoadCommand(const CommonOptions& options, const LoadOptions& opts) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  for (const std::string& name : config::SplitList(opts.key_attributes)) {
    if (name.empty()) {
      std::fprintf(stderr, "shardhose load: --key-attributes: a name is empty in \"%s\"\n",
                   opts.key_attributes.c_str());
      return kExitUsage;
    }
  }

  Clock* clock = Clock::Real();
  auto http = aws::NewCurlHttpClient();
  auto creds = aws::NewDefaultCredentialsProvider(aws::ProcessEnv(), http.get(), clock);

  std::string export_uri = opts.export_uri;
  if (!opts.start_export.empty()) {
    int rc = kExitOk;
    export_uri = StartExport(*cfg, opts, http.get(), creds.get(), clock, &rc);
    if (export_uri.empty()) return rc;
  }
  auto location = load::ParseExportLocation(export_uri);
  if (!location.ok()) {
    std::fprintf(stderr, "shardhose load: %s\n", location.status().message().c_str());
    return kExitUsage;
  }

  // Where the export is read from, and where the lake is.
  std::unique_ptr<upload::ObjectStore> export_store;
  std::unique_ptr<load::ExportReader> reader;
  if (location->s3) {
    upload::S3Options s3 = S3OptionsOf(*cfg, location->bucket);
    if (!cfg->load.region.empty()) s3.region = cfg->load.region;
    if (!cfg->load.endpoint_url.empty()) s3.endpoint_url = cfg->load.endpoint_url;
    export_store = upload::NewS3ObjectStore(s3, http.get(), creds.get(), clock);
    reader = load::NewS3ExportReader(export_store.get(), location->bucket);
  } else {
    reader = load::NewLocalExportReader(FileSystem::Default());
  }
  std::unique_ptr<upload::ObjectStore> out;
  if (cfg->OutputIsLocalDirectory()) {
    out = upload::NewFileObjectStore(cfg->OutputDirectory(), FileSystem::Default());
  } else {
    upload::S3Options s3 = S3OptionsOf(*cfg, cfg->output.bucket);
    s3.sse = std::string(config::SseName(cfg->output.sse));
    s3.sse_kms_key_id = cfg->output.sse_kms_key_id;
    out = upload::NewS3ObjectStore(s3, http.get(), creds.get(), clock);
  }

  load::Loader loader(*cfg, reader.get(), out.get(), FileSystem::Default(), clock);
  auto summary = loader.ReadSummary(*location);
  if (!summary.ok()) {
    std::fprintf(stderr, "shardhose load: %s\n", summary.status().ToString().c_str());
    return summary.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
  }

  // --then-stream from DynamoDB Streams: refused before anything is loaded
  // when the stream no longer holds the changes since the export.
  const bool fresh_stream = cfg->coordination.mode != config::CoordinationMode::kDynamoDb &&
                            !FileSystem::Default()->Exists(cfg->checkpoint.path);
  if (opts.then_stream && fresh_stream && cfg->source.type == config::SourceType::kDynamoDbStreams &&
      !StreamsStillHold(opts, *summary)) {
    return kExitUsage;
  }

  // The key schema.
  std::vector<std::string> keys = config::SplitList(opts.key_attributes);  // checked above
  if (keys.empty()) keys = config::SplitList(cfg->load.key_attributes);    // checked by config::Load
  if (keys.empty()) {
    aws::DynamoDbClient ddb(TableApi(*cfg), http.get(), creds.get(), clock);
    auto table = ddb.DescribeTable(summary->table);
    if (!table.ok() || table->key_schema.empty()) {
      std::fprintf(stderr,
                   "shardhose load: the key schema of table %s is needed for `keys`: DescribeTable failed (%s); give "
                   "it with --key-attributes pk[,sk] or [load] key_attributes\n",
                   summary->table.c_str(), table.ok() ? "no KeySchema" : table.status().ToString().c_str());
      return kExitUsage;
    }
    keys = table->key_schema;
  }
  if (keys.size() > 2) {
    std::fprintf(stderr, "shardhose load: a key has one or two attributes (partition key, sort key), got %zu\n",
                 keys.size());
    return kExitUsage;
  }

  load::LoadOptions lo;
  lo.location = *location;
  lo.key_attributes = keys;
  lo.progress_path = load::LoadProgressPath(cfg->checkpoint.path, summary->export_id);
  // One load of an export at a time: two would race on its progress file.
  if (Status st = FileSystem::Default()->CreateDirs(lo.progress_path.substr(0, lo.progress_path.rfind('/')));
      !st.ok()) {
    std::fprintf(stderr, "shardhose load: %s\n", st.ToString().c_str());
    return kExitFailure;
  }
  auto lock = FileSystem::Default()->LockFile(lo.progress_path + ".lock");
  if (!lock.ok()) {
    std::fprintf(stderr, "shardhose load: %s\n", lock.status().ToString().c_str());
    return ExitForCheckpointAccess(lock.status());
  }
  if (auto p = load::ReadLoadProgress(FileSystem::Default(), lo.progress_path); !p.ok()) {
    std::fprintf(stderr, "shardhose load: %s\n", p.status().ToString().c_str());
    return kExitCheckpoint;
  }
  const MonoTime start = clock->Now();
  auto seconds = [&] { return std::chrono::duration<double>(clock->Now() - start).count(); };
  lo.on_progress = [&](const load::LoadStats& s) { PrintProgress(s, seconds()); };
  std::fprintf(stderr, "load: export %s of table %s (%s), keys %s, into %s; progress in %s\n",
               summary->export_id.c_str(), summary->table.c_str(),
               decode::FormatIsoMillis(summary->export_time_us).c_str(),
               fmt::format("{}", fmt::join(keys, ",")).c_str(), out->Describe().c_str(), lo.progress_path.c_str());
  auto stats = loader.Run(lo, *summary);
  if (!stats.ok()) {
    const Status& st = stats.status();
    std::fprintf(stderr, "shardhose load: %s\n", st.ToString().c_str());
    if (st.IsInvalidArgument()) return kExitUsage;
    if (st.code() == StatusCode::kFailedPrecondition) return kExitCheckpoint;
    return kExitFailure;
  }
  if (stats->files_skipped == stats->files_total) PrintProgress(*stats, seconds());
  std::fprintf(stderr, "load: done: every data file of export %s is in the lake (%zu loaded before this run)\n",
               summary->export_id.c_str(), stats->files_skipped);
  if (!opts.then_stream) return kExitOk;
  lock->reset();  // another load of this export may run now; the stream takes its own lock
  return ThenStream(options, opts, *cfg, *summary);
}

}  // namespace shardhose::daemon

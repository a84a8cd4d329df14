// Wiring: builds the real collaborators (curl, credentials, Kinesis, S3 or
// a local directory, the checkpoint file) from the configuration and hands
// them to the pipeline.
#include "commands.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "aws/credentials_chain.h"
#include "aws/curl_http.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_file.h"
#include "common/logging.h"
#include "compress/gzip_chunks.h"
#include "config/config.h"
#include "http_server.h"
#include "metrics/metrics.h"
#include "pipeline/destination_check.h"
#include "pipeline/pipeline.h"
#include "poll/efo_reader.h"
#include "poll/kinesis_api.h"
#include "poll/kinesis_source.h"
#include "service.h"
#include "shardhose/version.h"
#include "signals.h"
#include "upload/file_store.h"
#include "upload/s3_store.h"

namespace shardhose::daemon {
// Loads the configuration, printing every problem to stderr.
std::optional<config::Config> LoadConfig(const CommonOptions& options) {
  auto cfg = config::Load(options.config_path, aws::ProcessEnv());
  if (!cfg.ok()) {
    std::fprintf(stderr, "shardhose: invalid configuration%s:\n%s\n",
                 options.config_path.empty() ? "" : fmt::format(" in {}", options.config_path).c_str(),
                 cfg.status().message().c_str());
    return std::nullopt;
  }
  return std::move(cfg).value();
}

int ExitFor(const Status& st) {
  if (st.ok()) return kExitOk;
  if (st.IsCorruption() || st.code() == StatusCode::kFailedPrecondition) return kExitCheckpoint;
  if (st.IsInvalidArgument()) return kExitUsage;
  return kExitFailure;
}

int RunCommand(const CommonOptions& options, bool drain) {
  auto level = ParseLogLevel(options.log_level);
  auto format = ParseLogFormat(options.log_format);
  if (!level.ok() || !format.ok()) {
    std::fprintf(stderr, "shardhose: %s\n", (!level.ok() ? level.status() : format.status()).message().c_str());
    return kExitUsage;
  }
  InitLogging(*level, *format);
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;

  BlockShutdownSignals();
  auto http = aws::NewCurlHttpClient();
  auto creds = aws::NewDefaultCredentialsProvider(aws::ProcessEnv(), http.get(), Clock::Real());
  Clock* clock = Clock::Real();

  poll::KinesisOptions kopts;
  kopts.region = cfg->source.region;
  kopts.endpoint_url = cfg->source.endpoint_url;
  auto kinesis = poll::NewKinesisClient(kopts, http.get(), creds.get(), clock);
  std::unique_ptr<poll::KinesisClient> efo;  // reads through `kinesis` for everything but records
  if (cfg->source.consumer == config::ConsumerType::kEfo) {
    poll::EfoOptions eopts;
    eopts.region = kopts.region;
    eopts.endpoint_url = kopts.endpoint_url;
    eopts.consumer_name = cfg->source.consumer_name;
    efo = poll::NewEfoKinesisClient(eopts, kinesis.get(), http.get(), creds.get(), clock);
  }

  std::unique_ptr<upload::ObjectStore> store;
  if (cfg->OutputIsLocalDirectory()) {
    store = upload::NewFileObjectStore(cfg->OutputDirectory(), FileSystem::Default());
  } else {
    upload::S3Options s3;
    s3.bucket = cfg->output.bucket;
    s3.region = cfg->output.region;
    s3.endpoint_url = cfg->output.endpoint_url;
    s3.force_path_style = cfg->output.force_path_style;
    s3.sse = std::string(config::SseName(cfg->output.sse));
    s3.sse_kms_key_id = cfg->output.sse_kms_key_id;
    s3.timeout = std::chrono::seconds(cfg->output.upload_timeout_s);
    store = upload::NewS3ObjectStore(s3, http.get(), creds.get(), clock);
  }
  checkpoint::CheckpointFile checkpoint_file(FileSystem::Default(), cfg->checkpoint.path);

  spdlog::info("shardhose {} starting: stream {}, output {}, format {}, compression {}{}", SHARDHOSE_VERSION,
               cfg->StreamDisplayName(), store->Describe(), config::OutputFormatName(cfg->output.format),
               cfg->output.compression == config::Compression::kNone
                   ? std::string("none")
                   : "gzip level " + std::to_string(cfg->output.compression_level) + " (" +
                         compress::ChunkEngine(static_cast<int>(cfg->output.compression_level)) + ")",
               drain ? ", drain mode" : "");
  if (auto c = creds->Get(); !c.ok()) {
    spdlog::error("no AWS credentials: {}", c.status().ToString());
    return kExitFailure;
  }
  spdlog::debug("credentials from {}", creds->Describe());
  // Before reading the stream: the output can be written (exit 1 within
  // seconds, naming the AWS code, if not), and conditional writes resolved.
  // Transient failures (network, 5xx) past the check's 10 s do not stop
  // the start: uploads retry them, and /readyz says so.
  if (auto conditional = pipeline::CheckDestination(store.get(), *cfg, clock, std::chrono::seconds(10));
      !conditional.ok() && !conditional.status().IsRetryable()) {
    spdlog::error("{}", conditional.status().message());
    return kExitFailure;
  } else if (!conditional.ok()) {
    spdlog::warn("{}; starting anyway, uploads will retry", conditional.status().message());
    if (cfg->output.conditional_writes == config::ConditionalWrites::kAuto) {
      cfg->output.conditional_writes = config::ConditionalWrites::kOff;
    }
  } else {
    cfg->output.conditional_writes = *conditional ? config::ConditionalWrites::kOn : config::ConditionalWrites::kOff;
    spdlog::info("output {} is writable; re-formed objects are checked {}", store->Describe(),
                 *conditional ? "by conditional writes (If-None-Match)" : "with HeadObject");
  }

  // Destroyed in reverse order: the HTTP server (which reads the pipeline
  // and the registry) goes first, the registry last.
  metrics::Registry registry;
  auto source = poll::NewKinesisSource(efo ? efo.get() : kinesis.get(),
                                       poll::StreamRef{cfg->source.stream_name, cfg->source.stream_arn});
  pipeline::Pipeline pipeline(*cfg, pipeline::Deps{source.get(), store.get(), &checkpoint_file, clock, &registry});
  ServiceNotifier notifier(&pipeline, clock);
  std::unique_ptr<HttpServer> server;
  if (!cfg->server.listen.empty()) {
    auto started = HttpServer::Start(cfg->server.listen, &pipeline, &registry);
    if (!started.ok()) {
      spdlog::error("server.listen {}: {}", cfg->server.listen, started.status().ToString());
      return started.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
    }
    server = std::move(started).value();
    spdlog::info("serving /healthz, /readyz and /metrics on {} (port {})", cfg->server.listen, server->port());
  }
  SignalWatcher signals([&](int) {
    notifier.Stopping();
    pipeline.Stop();
  });

  Status st = pipeline.Start();
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    if (st.IsCorruption()) {
      spdlog::error(
          "nothing was read or written. Inspect the file; `shardhose checkpoint reset` moves it aside "
          "(the next start then begins at source.initial_position), `shardhose checkpoint rewind` "
          "edits one shard");
    }
    return ExitFor(st);
  }
  notifier.Ready();
  st = pipeline.Run(drain);
  notifier.Stopping();
  if (!st.ok()) {
    spdlog::error("{}", st.ToString());
    return kExitFailure;
  }
  spdlog::info("done");
  return kExitOk;
}

int ValidateCommand(const CommonOptions& options) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  std::cout << config::ToToml(*cfg);
  std::fprintf(stderr, "configuration OK\n");
  return kExitOk;
}

}  // namespace shardhose::daemon

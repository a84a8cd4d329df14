// Wiring: builds the real collaborators (curl, credentials, the change
// source, S3 or a local directory, the checkpoint file) from the
// configuration and hands them to the pipeline.
#include "commands.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>

#include "aws/credentials_chain.h"
#include "aws/curl_http.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_file.h"
#include "common/logging.h"
#include "compress/gzip_chunks.h"
#include "config/config.h"
#include "decode/change_record.h"
#include "http_server.h"
#include "lease/checkpoint_import.h"
#include "lease_metrics.h"
#include "lease_worker.h"
#include "metrics/metrics.h"
#include "metrics/process_metrics.h"
#include "pipeline/destination_check.h"
#include "pipeline/pipeline.h"
#include "progress.h"
#include "reload.h"
#include "service.h"
#include "shardhose/version.h"
#include "signals.h"
#include "source_factory.h"
#include "upload/file_store.h"
#include "upload/s3_store.h"

namespace shardhose::daemon {
namespace {

// An error printed before (or instead of) the logger, on stderr. Under
// journald every line gets SD_ERR's prefix, like a logged error, so that
// `journalctl -p err` shows it.
void PrintError(const std::string& text) {
  std::string out;
  const bool journal = IsJournalStream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    const size_t end = nl == std::string::npos ? text.size() : nl + 1;
    if (journal) out += "<3>";
    out.append(text, start, end - start);
    start = end;
  }
  if (out.empty() || out.back() != '\n') out += '\n';
  std::fputs(out.c_str(), stderr);
}

}  // namespace

std::optional<config::Config> LoadConfig(const CommonOptions& options) {
  auto cfg = config::Load(options.config_path, aws::ProcessEnv(), config::ProcessEnvNames());
  if (!cfg.ok() && options.log_format == "json") {
    LogConfigProblems(spdlog::level::err, "invalid configuration", options.config_path, cfg.status());
    return std::nullopt;
  }
  if (!cfg.ok()) {
    PrintError(fmt::format("shardhose: invalid configuration{}:\n{}",
                           options.config_path.empty() ? "" : " in " + options.config_path, cfg.status().message()));
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

int ExitForCheckpointAccess(const Status& st) {
  if (st.ok()) return kExitOk;
  if (st.code() == StatusCode::kFailedPrecondition) return kExitLocked;
  if (st.code() == StatusCode::kPermissionDenied) return kExitNotWritable;
  return kExitFailure;
}

constexpr std::string_view kCorruptCheckpointHint =
    "nothing was read or written. Inspect the file; `shardhose checkpoint reset` moves it aside "
    "(the next start then begins at source.initial_position), `shardhose checkpoint rewind` "
    "edits one shard";

int RunCommand(const CommonOptions& options, bool drain, const std::optional<FirstStart>& first_start) {
  // Before anything else, so that a SIGHUP during start-up waits for the
  // watcher instead of ending the process.
  BlockShutdownSignals();
  auto level = ParseLogLevel(options.log_level.empty() ? "info" : options.log_level);
  auto format = ParseLogFormat(options.log_format.empty() ? "text" : options.log_format);
  if (!level.ok() || !format.ok()) {
    PrintError("shardhose: " + (!level.ok() ? level.status() : format.status()).message());
    return kExitUsage;
  }
  InitLogging(*level, *format);
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  // `load --then-stream`: the stream's first start, over the file's (and
  // over every reloaded file's, daemon/reload.h).
  const std::function<void(config::Config*)> first_start_over = [first_start](config::Config* c) {
    if (!first_start) return;
    c->source.initial_position = first_start->position;
    c->source.initial_timestamp_ms = first_start->timestamp_ms;
    c->source.initial_timestamp = first_start->position == config::InitialPosition::kAtTimestamp
                                      ? decode::FormatIsoMillis(first_start->timestamp_ms * 1000)
                                      : std::string();
  };
  first_start_over(&*cfg);
  // [log] where the command line said nothing (Load checked the names).
  if (options.log_level.empty() || options.log_format.empty()) {
    if (options.log_level.empty()) level = ParseLogLevel(cfg->log.level);
    if (options.log_format.empty()) format = ParseLogFormat(cfg->log.format);
    if (level.ok() && format.ok()) InitLogging(*level, *format);
  }
  const bool leased = cfg->coordination.mode == config::CoordinationMode::kDynamoDb;
  // The checkpoint first: a second instance, or a directory this user
  // cannot write, is said plainly and with its own exit status before
  // anything else is tried. (Lease mode: the leases are the checkpoint.)
  checkpoint::CheckpointFile checkpoint_file(FileSystem::Default(), cfg->checkpoint.path);
  if (!leased) {
    Status st = checkpoint_file.CheckWritable();
    if (st.ok()) st = checkpoint_file.Acquire();
    if (!st.ok()) {
      spdlog::error("{}", st.message());
      return ExitForCheckpointAccess(st);
    }
  }

  auto http = aws::NewCurlHttpClient();
  auto creds = aws::NewDefaultCredentialsProvider(aws::ProcessEnv(), http.get(), Clock::Real());
  Clock* clock = Clock::Real();

  ConfiguredSource configured = NewConfiguredSource(*cfg, http.get(), creds.get(), clock, SourceUse{.efo = true});
  poll::ChangeSource* source = configured.source.get();

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

  const std::string compression = cfg->output.compression == config::Compression::kNone
                                      ? std::string("none")
                                      : "gzip level " + std::to_string(cfg->output.compression_level) + " (" +
                                            compress::ChunkEngine(static_cast<int>(cfg->output.compression_level)) +
                                            ")";
  LogInfo("shardhose starting", {{"version", SHARDHOSE_VERSION},
                                 {"stream", cfg->StreamDisplayName()},
                                 {"output", store->Describe()},
                                 {"format", config::OutputFormatName(cfg->output.format)},
                                 {"compression", compression},
                                 {"mode", drain ? "drain" : "run"},
                                 {"pid", static_cast<int64_t>(getpid())}});
  if (auto c = creds->Get(); !c.ok()) {
    spdlog::error("no AWS credentials: {}", c.status().ToString());
    return kExitFailure;
  }
  spdlog::debug("credentials from {}", creds->Describe());
  // A corrupt checkpoint stops the start before anything is written, the
  // probe below included (Start() says the same of a foreign one).
  if (auto loaded_checkpoint =
          leased ? Result<std::optional<checkpoint::Checkpoint>>(std::nullopt) : checkpoint_file.Load();
      !loaded_checkpoint.ok()) {
    spdlog::error("cannot start: {}", loaded_checkpoint.status().ToString());
    if (loaded_checkpoint.status().IsCorruption()) spdlog::error("{}", kCorruptCheckpointHint);
    return ExitFor(loaded_checkpoint.status());
  }
  // Before reading the stream: the output can be written (exit 1 within
  // seconds, naming the AWS code, if not), and conditional writes resolved.
  // Transient failures (network, 5xx) past the check's 10 s do not stop
  // the start: uploads retry them, and /readyz says so.
  // As loaded, for SIGHUP's comparison: the check below resolves
  // output.conditional_writes = "auto" in *cfg.
  const config::Config loaded = *cfg;
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
  metrics::AddProcessMetrics(registry);
  std::unique_ptr<LeaseMode> lease_mode;
  if (leased) {
    auto m = SetUpLeaseMode(*cfg, http.get(), creds.get(), clock);
    if (!m.ok()) {
      spdlog::error("lease table {}: {}", cfg->LeaseTableName(), m.status().ToString());
      return kExitFailure;
    }
    lease_mode = std::move(m).value();
    LogInfo(fmt::format("coordinating through {} as worker {}", lease_mode->table->Describe(),
                        lease_mode->coordinator->worker_id()),
            {{"worker_id", lease_mode->coordinator->worker_id()}});
    // A single-process deployment moving to lease mode: its local
    // checkpoint becomes leases once (lease/checkpoint_import.h).
    auto imported = lease::ImportCheckpointFile(FileSystem::Default(), cfg->checkpoint.path, cfg->StreamDisplayName(),
                                                lease_mode->table.get());
    if (!imported.ok()) {
      spdlog::error("cannot start: {}", imported.status().ToString());
      return ExitFor(imported.status());
    }
    ExportLeaseMetrics(registry, lease_mode->coordinator.get());
    if (imported->found) {
      LogInfo(
          fmt::format("imported the local checkpoint {}: {} lease(s) made from it, {} shard(s) the table "
                      "already had left as they were; the file is now {}",
                      cfg->checkpoint.path, imported->created, imported->known, imported->moved_to));
    }
  }
  checkpoint::CheckpointStore* checkpoints =
      leased ? static_cast<checkpoint::CheckpointStore*>(lease_mode->store.get()) : &checkpoint_file;
  pipeline::Pipeline pipeline(*cfg, pipeline::Deps{source, store.get(), checkpoints, clock, &registry});
  std::unique_ptr<LeaseWorker> lease_worker;
  if (leased) {
    lease_worker = std::make_unique<LeaseWorker>(*cfg, source, &pipeline, lease_mode->coordinator.get(),
                                                 lease_mode->store.get(), clock);
  }
  ServiceNotifier notifier(&pipeline, clock);
  if (lease_worker && drain) {
    lease_worker->DrainThen([&] {
      notifier.Stopping();
      lease_worker->Freeze();
      pipeline.Stop();
    });
  }
  std::unique_ptr<HttpServer> server;
  if (!cfg->server.listen.empty()) {
    // Lease mode: ready also means holding its share of a table it can reach.
    HttpServer::ReadyCheck leases_ready;
    if (lease_mode) {
      leases_ready = [coordinator = lease_mode->coordinator.get(), clock](std::string* note) {
        return coordinator->NotReadyReason(clock->Now(), note);
      };
    }
    auto started = HttpServer::Start(cfg->server.listen, &pipeline, &registry, std::move(leases_ready));
    if (!started.ok()) {
      const Status& e = started.status();
      if (e.code() == StatusCode::kFailedPrecondition) {
        spdlog::error(
            "server.listen = \"{}\": {} (set server.listen, or SHARDHOSE_SERVER_LISTEN, e.g. "
            "127.0.0.1:9601; \"\" disables the endpoint)",
            cfg->server.listen, e.message());
        return kExitPortInUse;
      }
      spdlog::error("server.listen {}: {}", cfg->server.listen, e.ToString());
      return e.IsInvalidArgument() ? kExitUsage : kExitFailure;
    }
    server = std::move(started).value();
    spdlog::info("serving /healthz, /readyz and /metrics on {} (port {})", cfg->server.listen, server->port());
  }
  ProgressReporter progress([&pipeline] { return pipeline.GetHealth(); }, drain);
  progress.SetInterval(ResolveProgressInterval(cfg->log.progress_interval_s, ::isatty(STDERR_FILENO) == 1));
  // SIGHUP: what can change live (daemon/reload.h). More live settings
  // register here, as the progress interval does.
  Reloader reloader(options, loaded, &pipeline);
  reloader.SetOverride(first_start_over);
  reloader.OnReload([&progress](const config::Config& c) {
    progress.SetInterval(ResolveProgressInterval(c.log.progress_interval_s, ::isatty(STDERR_FILENO) == 1));
  });
  SignalWatcher signals(
      [&](int) {
        notifier.Stopping();
        if (lease_worker) lease_worker->Freeze();
        pipeline.Stop();
      },
      [&] {
        notifier.Reloading();
        reloader.Reload();
        notifier.Reloaded();
      });

  Status st = pipeline.Start(drain);
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    if (st.IsCorruption()) spdlog::error("{}", kCorruptCheckpointHint);
    return ExitFor(st);
  }
  notifier.Ready();
  if (lease_worker) lease_worker->Start();
  st = pipeline.Run(drain);
  notifier.Stopping();
  if (lease_worker) {
    // Everything read is durable and in the leases (or, if not, the next
    // owner reads it again): let them go, so that others take them at once.
    lease_worker->Freeze();
    lease_worker->Stop();
    if (Status released = lease_mode->coordinator->ReleaseAll(); !released.ok()) {
      LogWarn("releasing the leases failed; they move once their lease duration passes",
              {{"cause", ShortCause(released)}});
    } else {
      LogInfo("leases released", {{"worker_id", lease_mode->coordinator->worker_id()}});
    }
  }
  progress.Finish(st.ok());
  if (!st.ok()) {
    spdlog::error("{}", st.ToString());
    return kExitFailure;
  }
  return kExitOk;
}

int ValidateCommand(const CommonOptions& options) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  checkpoint::CheckpointFile checkpoint_file(FileSystem::Default(), cfg->checkpoint.path);
  if (Status st = checkpoint_file.CheckWritable(); !st.ok()) {
    std::fprintf(stderr, "shardhose: checkpoint.path = \"%s\": %s\n", cfg->checkpoint.path.c_str(),
                 st.message().c_str());
    return ExitForCheckpointAccess(st);
  }
  std::cout << config::ToToml(*cfg);
  std::fprintf(stderr, "configuration OK\n");
  return kExitOk;
}

}  // namespace shardhose::daemon

// File: daemon/http_server.h
//
// The HTTP endpoint for containers and scrapers ([server] listen =
// "127.0.0.1:9600"; "" disables it), served by cpp-httplib on its own
// threads (one accept thread, four workers):
//   GET /healthz  liveness: 200 "ok" while Health::alive (the loops are
//                 alive), and 200 "ok: starting" before Start() has
//                 succeeded (it retries on its own; a restart would not
//                 help); else 503 with the reason (stuck loop, or
//                 stopping once the loops have ended).
//   GET /readyz   200 "ready: <Health::Summary>" once started, alive, not
//                 stalled and not stopping; else 503 with the first reason
//                 that applies: "not started yet" (": <why>" while Start()
//                 retries, e.g. "DescribeStreamSummary failing for 12 s:
//                 ..."), "stopping", "not alive", "stalled: <Health::stalled>"
//                 (e.g. "stalled: shard shardId-...: no successful read for
//                 61 s: GetRecords failed: ...").
//                 With a ReadyCheck (lease mode: Coordinator::NotReadyReason,
//                 e.g. "balancing: holds 0 leases, its share is 3 ..." or
//                 "lease table not read for 12 s ..."), its reason comes
//                 after the pipeline's, and a ready body ends with
//                 "; leases: <its note>".
//   GET /metrics  the registry in Prometheus text format 0.0.4
//                 (Content-Type: text/plain; version=0.0.4; charset=utf-8),
//                 gzip'd when the client accepts it.
// HEAD works wherever GET does; any other path is 404. Bodies are one line
// of text ending in "\n". Slow clients are cut off after 5 s; an idle
// keep-alive connection is closed after 1 s (which also bounds how long
// the destructor waits for one).
//
// The socket is bound with SO_REUSEADDR only (not SO_REUSEPORT), so a
// second process cannot share the port: Start() fails instead.
//
// Thread-safety: Start/destructor from the main thread; handlers run on the
// server's threads and only call the health source (which must be
// thread-safe, as Pipeline::GetHealth() is) and Registry::Expose().
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"

namespace shardhose::daemon {

class HttpServer {
 public:
  // What /healthz and /readyz look at; called on the server's threads.
  using HealthSource = std::function<pipeline::Health()>;
  // More to being ready than the pipeline's health: "" when ready (and
  // *note set to what the ready body adds), else why not. Called on the
  // server's threads.
  using ReadyCheck = std::function<std::string(std::string* note)>;

  // Binds `listen` ("host:port" or "[v6addr]:port"; port 0 picks a free
  // one) and starts serving before it returns. InvalidArgument for a
  // malformed (or empty: "" = disabled is the caller's decision) address;
  // FailedPrecondition "host:N: port N is already in use ..." if another socket
  // listens there (EADDRINUSE); IOError if it cannot bind otherwise
  // (unknown host, not an address of this host, a privileged port), with
  // the reason. Logs nothing (the caller says where it listens).
  // REQUIRES: pipeline and registry outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen, const pipeline::Pipeline* pipeline,
                                                   const metrics::Registry* registry, ReadyCheck ready = nullptr);
  // The same with any health source (tests use a fake).
  // REQUIRES: whatever `health` and `ready` use and `registry` outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen, HealthSource health,
                                                   const metrics::Registry* registry, ReadyCheck ready = nullptr);

  // Stops accepting, finishes or closes the open connections and joins the
  // server's threads.
  virtual ~HttpServer() = default;
  // The bound port (useful with port 0).
  virtual int port() const = 0;
};

}  // namespace shardhose::daemon

// File: daemon/http_server.h
//
// The HTTP endpoint for containers and scrapers ([server] listen =
// "127.0.0.1:9600"; "" disables it), served by cpp-httplib on its own
// threads:
//   GET /healthz  200 "ok" while Pipeline::GetHealth().alive (the loops are
//                 alive), else 503 with the reason.
//   GET /readyz   200 once started and not stalled; 503 with the reason
//                 (not started yet / stalled: uploads failing, buffer at
//                 cap, checkpoint write failing / stopping).
//   GET /metrics  the registry in Prometheus text format 0.0.4.
//
// Thread-safety: Start/destructor from the main thread; handlers run on the
// server's threads and only call thread-safe methods of the pipeline and
// registry.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"

namespace shardhose::daemon {

class HttpServer {
 public:
  // Binds `listen` ("host:port"; port 0 picks a free one) and starts
  // serving. InvalidArgument for a malformed address, IOError if it cannot
  // bind. REQUIRES: pipeline and registry outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                   const pipeline::Pipeline* pipeline,
                                                   const metrics::Registry* registry);
  virtual ~HttpServer() = default;
  // The bound port (useful with port 0).
  virtual int port() const = 0;
};

}  // namespace shardhose::daemon

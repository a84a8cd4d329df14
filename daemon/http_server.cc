// The HTTP endpoint: /healthz, /readyz and /metrics on cpp-httplib.
//
// Threads: Start() binds, then runs httplib's accept loop on thread_, which
// hands connections to a pool of kWorkers threads. The destructor calls
// httplib::Server::stop() (closes the listening socket; the accept loop
// ends and the pool is drained and joined) and joins thread_. Start() waits
// until the accept loop is running, so a destructor right after Start()
// cannot miss it (stop() is a no-op before the loop has started).

#include "http_server.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "config/config.h"

namespace shardhose::daemon {
namespace {

constexpr int kWorkers = 4;
constexpr time_t kIoTimeoutS = 5;
constexpr time_t kKeepAliveTimeoutS = 1;
constexpr size_t kMaxRequestBody = 64 * 1024;
constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kTextContentType[] = "text/plain; charset=utf-8";

// Why host:port cannot be bound: the errno of a bind(2) with the options
// httplib uses (SO_REUSEADDR), for each address the host resolves to; 0 if
// one binds now.
int BindErrno(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return EADDRNOTAVAIL;
  int err = EADDRNOTAVAIL;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    err = ::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    ::close(fd);
    if (err == 0 || err == EADDRINUSE) break;
  }
  ::freeaddrinfo(res);
  return err;
}

// Why the pipeline is not ready, or "" if it is (the order of the header).
std::string NotReadyReason(const pipeline::Health& h) {
  if (!h.started) return h.stalled.empty() ? "not started yet" : "not started yet: " + h.stalled;
  if (h.stopping) return "stopping";
  if (!h.alive) return "not alive";
  if (!h.stalled.empty()) return "stalled: " + h.stalled;
  return "";
}

// A reason on one line (it goes into a one-line body).
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(HealthSource health, const metrics::Registry* registry, ReadyCheck ready)
      : health_(std::move(health)), registry_(registry), ready_(std::move(ready)) {}

  ~HttpServerImpl() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const override { return port_; }

  Status Bind(const std::string& host, int port) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
    // httplib's default sets SO_REUSEPORT, which would let a second daemon
    // bind the same port and take half of the probes. SO_REUSEADDR only.
    server_.set_socket_options([](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    server_.set_read_timeout(kIoTimeoutS, 0);
    server_.set_write_timeout(kIoTimeoutS, 0);
    server_.set_keep_alive_timeout(kKeepAliveTimeoutS);
    server_.set_payload_max_length(kMaxRequestBody);

    server_.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      const pipeline::Health h = health_();
      if (h.alive) {
        res.set_content("ok\n", kTextContentType);
      } else if (!h.started && !h.stopping) {
        // Start() retries on its own (credentials, DescribeStream); a
        // restart would not help, so liveness holds while it does.
        res.set_content("ok: starting\n", kTextContentType);
      } else {
        res.status = 503;
        res.set_content(h.stopping ? "not alive: stopping\n" : "not alive: a poll, upload or main loop is stuck\n",
                        kTextContentType);
      }
    });
    server_.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      const pipeline::Health h = health_();
      std::string note;
      std::string reason = NotReadyReason(h);
      if (reason.empty() && ready_) reason = ready_(&note);
      if (reason.empty()) {
        std::string body = "ready: " + h.Summary(std::chrono::system_clock::now());
        if (!note.empty()) body += "; leases: " + note;
        res.set_content(OneLine(body) + "\n", kTextContentType);
      } else {
        res.status = 503;
        res.set_content(OneLine(reason) + "\n", kTextContentType);
      }
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(registry_->Expose(), kMetricsContentType);
    });

    port_ = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    if (port_ < 0) {
      // httplib does not say why; a bind of our own does.
      const int err = BindErrno(host, port);
      if (err == EADDRINUSE) {
        return Status::FailedPrecondition(host + ":" + std::to_string(port) + ": port " + std::to_string(port) +
                                          " is already in use (another shardhose, or another service, listens "
                                          "on it): give each instance its own port");
      }
      return Status::IOError("http server: cannot listen on " + host + ":" + std::to_string(port) + " (" +
                             (err == 0 ? std::string("unknown reason") : std::strerror(err)) + ")");
    }
    return Status::OK();
  }

  Status Run() {
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      loop_ended_.store(true);
    });
    while (!server_.is_running() && !loop_ended_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!server_.is_running()) return Status::IOError("http server: the accept loop did not start");
    return Status::OK();
  }

 private:
  const HealthSource health_;
  const metrics::Registry* const registry_;
  const ReadyCheck ready_;
  httplib::Server server_;
  int port_ = -1;
  std::atomic<bool> loop_ended_{false};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen, const pipeline::Pipeline* pipeline,
                                                      const metrics::Registry* registry, ReadyCheck ready) {
  return Start(
      listen, [pipeline] { return pipeline->GetHealth(); }, registry, std::move(ready));
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen, HealthSource health,
                                                      const metrics::Registry* registry, ReadyCheck ready) {
  auto hp = config::ParseHostPort(listen);
  if (!hp.ok()) return Status::InvalidArgument("http server: listen address " + hp.status().message());
  auto server = std::make_unique<HttpServerImpl>(std::move(health), registry, std::move(ready));
  Status st = server->Bind(hp->host, hp->port);
  if (st.ok()) st = server->Run();
  if (!st.ok()) return st;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace shardhose::daemon

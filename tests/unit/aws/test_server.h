// File: tests/unit/aws/test_server.h
//
// An in-process HTTP server (cpp-httplib) on 127.0.0.1:<ephemeral port> for
// the HTTP transport and object store tests. Records every request it
// receives (method, raw target, headers, body, client port) and answers with
// a handler the test sets. Test-only code.
//
// httplib decompresses request bodies sent with Content-Encoding gzip/
// deflate/br (and answers 400 if they are not valid), so `body` is what the
// handler saw, not what was on the wire.
//
// Thread-safety: requests() and set_handler() may be called from the test
// thread while the server's worker threads serve requests.
#pragma once

#include <httplib.h>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace shardhose::testing {

struct RecordedRequest {
  std::string method;
  std::string target;  // as received: "/bucket/a%20b?x=1"
  httplib::Headers headers;
  std::string body;
  int remote_port = -1;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);  // httplib::Headers compares case-insensitively
    return it == headers.end() ? std::string() : it->second;
  }
  bool HasHeader(const std::string& name) const { return headers.count(name) > 0; }
};

class TestServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  TestServer() {
    server_.set_keep_alive_max_count(1000);
    // Stopping waits for idle keep-alive connections: destroy clients first.
    server_.set_keep_alive_timeout(2);
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      Handler h;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back({req.method, req.target, req.headers, req.body, req.remote_port});
        h = handler_;
      }
      if (h) {
        h(req, res);
      } else {
        res.status = 200;
      }
    };
    server_.Get(".*", record);
    server_.Put(".*", record);
    server_.Post(".*", record);
    server_.Delete(".*", record);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop is up would be lost (httplib race).
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void set_handler(Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(h);
  }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  Handler handler_;                        // GUARDED_BY(mu_)
  std::vector<RecordedRequest> requests_;  // GUARDED_BY(mu_)
};

}  // namespace shardhose::testing

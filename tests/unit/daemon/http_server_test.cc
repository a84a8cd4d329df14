// The HTTP endpoint against a real cpp-httplib client on 127.0.0.1, with a
// fake health source (and once with a real, never started Pipeline).
#include "http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "config/config.h"

namespace shardhose::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class FakeHealth {
 public:
  FakeHealth() {
    h_.started = true;
    h_.alive = true;
    h_.shards = 4;
    h_.shards_active = 4;
  }
  void Set(pipeline::Health h) {
    std::lock_guard lock(mu_);
    h_ = std::move(h);
  }
  pipeline::Health Get() const {
    calls_.fetch_add(1);
    std::lock_guard lock(mu_);
    return h_;
  }
  HttpServer::HealthSource Source() const {
    return [this] { return Get(); };
  }
  int calls() const { return calls_.load(); }

 private:
  mutable std::mutex mu_;
  pipeline::Health h_;  // GUARDED_BY(mu_)
  mutable std::atomic<int> calls_{0};
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    records_ = &registry_.AddCounter("shardhose_records_in_total", "Records read.", {"shard"});
    auto r = HttpServer::Start("127.0.0.1:0", health_.Source(), &registry_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    server_ = std::move(*r);
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_connection_timeout(5);
    client_->set_read_timeout(5);
  }

  httplib::Result GetPath(const std::string& path) { return client_->Get(path.c_str()); }

  metrics::Registry registry_;
  metrics::Family<metrics::Counter>* records_ = nullptr;
  FakeHealth health_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, HealthzFollowsAlive) {
  auto res = GetPath("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok\n");
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/plain"));

  pipeline::Health h;
  h.started = true;
  h.alive = false;
  health_.Set(h);
  res = GetPath("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "not alive: a poll, upload or main loop is stuck\n");

  h.stopping = true;  // the loops have ended
  health_.Set(h);
  res = GetPath("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "not alive: stopping\n");

  // Start() is still retrying: alive for liveness purposes, not ready.
  h = pipeline::Health{};
  health_.Set(h);
  res = GetPath("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok: starting\n");
  EXPECT_EQ(GetPath("/readyz")->status, 503);
}

// Lease mode: the ReadyCheck is asked once the pipeline is ready; its
// reason makes /readyz 503, its note ends the ready body.
TEST(HttpServerReadyCheck, LeaseReasonAfterThePipelines) {
  FakeHealth health;
  metrics::Registry registry;
  std::mutex mu;
  std::string reason = "balancing: holds 0 leases, its share is 3 (of 8, 3 live workers)";
  int asked = 0;
  auto r = HttpServer::Start("127.0.0.1:0", health.Source(), &registry, [&](std::string* note) {
    std::lock_guard lock(mu);
    ++asked;
    *note = "holds 3 leases (share 3) of 8, 3 live workers";
    return reason;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  httplib::Client c("127.0.0.1", (*r)->port());
  auto res = c.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, reason + "\n");
  {
    std::lock_guard lock(mu);
    reason = "";
  }
  res = c.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, StartsWith("ready: 4 shards"));
  EXPECT_THAT(res->body, ::testing::EndsWith("; leases: holds 3 leases (share 3) of 8, 3 live workers\n"));
  // The pipeline's reason comes first; the lease check is not asked then.
  pipeline::Health h;
  h.started = true;
  h.alive = true;
  h.stalled = "buffer at its cap";
  health.Set(h);
  int before;
  {
    std::lock_guard lock(mu);
    before = asked;
  }
  res = c.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "stalled: buffer at its cap\n");
  std::lock_guard lock(mu);
  EXPECT_EQ(asked, before);
}

TEST_F(HttpServerTest, ReadyzGivesTheFirstReason) {
  auto res = GetPath("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, StartsWith("ready: 4 shards"));
  EXPECT_EQ(res->body.back(), '\n');
  EXPECT_EQ(res->body.find('\n'), res->body.size() - 1) << "one line";

  struct Case {
    bool started, stopping, alive;
    std::string stalled;
    std::string want;
  };
  const std::vector<Case> cases = {
      {false, false, false, "", "not started yet\n"},
      {false, true, true, "x", "not started yet: x\n"},
      {false, false, true, "DescribeStreamSummary failing for 12 s: Unavailable: connect failed",
       "not started yet: DescribeStreamSummary failing for 12 s: Unavailable: connect failed\n"},
      {true, false, true, "shard shardId-1: no successful read for 61 s: GetRecords failed: Unavailable: reset",
       "stalled: shard shardId-1: no successful read for 61 s: GetRecords failed: Unavailable: reset\n"},
      {true, true, true, "", "stopping\n"},
      {true, false, false, "", "not alive\n"},
      {true, false, true, "uploads failing for 42 s: Unavailable: 503\nSlowDown",
       "stalled: uploads failing for 42 s: Unavailable: 503 SlowDown\n"},
      {true, false, true, "buffer at its cap", "stalled: buffer at its cap\n"},
  };
  for (const Case& c : cases) {
    pipeline::Health h;
    h.started = c.started;
    h.stopping = c.stopping;
    h.alive = c.alive;
    h.stalled = c.stalled;
    health_.Set(h);
    res = GetPath("/readyz");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503) << c.want;
    EXPECT_EQ(res->body, c.want);
  }
}

TEST_F(HttpServerTest, MetricsServesTheRegistry) {
  records_->With({"shardId-000000000000"}).Inc(5);
  auto res = GetPath("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body, registry_.Expose());
  EXPECT_THAT(res->body, HasSubstr("\nshardhose_records_in_total{shard=\"shardId-000000000000\"} 5\n"));

  records_->With({"shardId-000000000000"}).Inc(2);
  res = GetPath("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("\nshardhose_records_in_total{shard=\"shardId-000000000000\"} 7\n"));
  EXPECT_EQ(health_.calls(), 0) << "/metrics does not need the health snapshot";
}

TEST_F(HttpServerTest, MetricsAreGzippedWhenTheClientAcceptsIt) {
  for (int i = 0; i < 200; ++i) records_->With({"shardId-" + std::to_string(i)}).Inc(i);
  httplib::Headers headers = {{"Accept-Encoding", "gzip"}};
  client_->set_decompress(false);
  auto raw = client_->Get("/metrics", headers);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(raw->body.substr(0, 2), "\x1f\x8b");
  client_->set_decompress(true);
  auto plain = client_->Get("/metrics", headers);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, registry_.Expose());
}

TEST_F(HttpServerTest, HeadAndUnknownPaths) {
  auto head = client_->Head("/metrics");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  auto missing = GetPath("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto post = client_->Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
}

TEST_F(HttpServerTest, ConcurrentScrapesWhileCountersMove) {
  std::atomic<bool> done{false};
  std::thread writer([&] {
    auto& c = records_->With({"shardId-000000000001"});
    while (!done.load()) c.Inc();
  });
  std::vector<std::thread> scrapers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 3; ++t) {
    scrapers.emplace_back([&] {
      httplib::Client c("127.0.0.1", server_->port());
      for (int i = 0; i < 20; ++i) {
        auto res = c.Get(i % 2 ? "/metrics" : "/readyz");
        if (res && res->status == 200) ok.fetch_add(1);
      }
    });
  }
  for (auto& s : scrapers) s.join();
  done = true;
  writer.join();
  EXPECT_EQ(ok.load(), 60);
}

TEST_F(HttpServerTest, DestructorClosesAnIdleKeepAliveConnection) {
  client_->set_keep_alive(true);
  const int port = server_->port();
  auto res = GetPath("/healthz");
  ASSERT_TRUE(res);
  const auto start = std::chrono::steady_clock::now();
  server_.reset();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(3)) << "keep-alive timeout is 1 s";
  httplib::Client fresh("127.0.0.1", port);
  fresh.set_connection_timeout(1);
  EXPECT_FALSE(fresh.Get("/healthz")) << "still listening after the destructor";
}

TEST(HttpServerStartTest, StopsRightAfterStart) {
  metrics::Registry registry;
  for (int i = 0; i < 20; ++i) {
    auto r = HttpServer::Start(
        "127.0.0.1:0", [] { return pipeline::Health{}; }, &registry);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }  // each destructor must return (the accept loop was running)
}

TEST(HttpServerStartTest, BadAddressesAreInvalidArguments) {
  metrics::Registry registry;
  auto health = [] { return pipeline::Health{}; };
  for (const char* bad : {"", "9600", "127.0.0.1", "127.0.0.1:99999", "::1:80"}) {
    auto r = HttpServer::Start(bad, health, &registry);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad << ": " << r.status().ToString();
  }
  auto r = HttpServer::Start("no-such-host.invalid:9600", health, &registry);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
}

TEST(HttpServerStartTest, APortInUseIsAFailedPreconditionNamingThePort) {
  metrics::Registry registry;
  auto health = [] { return pipeline::Health{}; };
  auto first = HttpServer::Start("127.0.0.1:0", health, &registry);
  ASSERT_TRUE(first.ok());
  const std::string addr = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = HttpServer::Start(addr, health, &registry);
  ASSERT_FALSE(second.ok()) << "a second server shares the port (SO_REUSEPORT?)";
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition) << second.status().ToString();
  EXPECT_THAT(second.status().message(), HasSubstr(addr));
  EXPECT_THAT(second.status().message(), HasSubstr("port " + std::to_string((*first)->port()) + " is already in use"));

  // Also against a plain socket that another program holds.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  auto third = HttpServer::Start("127.0.0.1:" + std::to_string(ntohs(sa.sin_port)), health, &registry);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kFailedPrecondition) << third.status().ToString();
  ::close(fd);
}

TEST(HttpServerStartTest, IPv6Loopback) {
  metrics::Registry registry;
  auto r = HttpServer::Start(
      "[::1]:0", [] { return pipeline::Health{}; }, &registry);
  if (!r.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << r.status().ToString();
  httplib::Client c("::1", (*r)->port());
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST(HttpServerPipelineTest, ServesARealPipelinesHealth) {
  config::Config cfg;
  cfg.source.stream_name = "orders";
  cfg.output.bucket = "lake";
  pipeline::Pipeline p(cfg, pipeline::Deps{nullptr, nullptr, nullptr, Clock::Real()});
  metrics::Registry registry;
  auto r = HttpServer::Start("127.0.0.1:0", &p, &registry);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  httplib::Client c("127.0.0.1", (*r)->port());
  auto ready = c.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "not started yet\n");
  auto live = c.Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, "ok: starting\n");
}

}  // namespace
}  // namespace shardhose::daemon

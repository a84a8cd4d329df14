// The default chain's remote sources against an in-process HTTP server
// standing in for STS, the ECS/EKS container endpoint and EC2 IMDS, through
// the real libcurl HttpClient. Time is a SimulatedClock; the only real-time
// waits are for the provider's background refresh thread (Eventually()).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "aws/credentials_chain.h"
#include "aws/credentials_internal.h"
#include "aws/curl_http.h"
#include "test_server.h"

namespace shardhose::aws {
namespace {

namespace fs = std::filesystem;
using shardhose::testing::RecordedRequest;
using shardhose::testing::TestServer;
using std::chrono::minutes;
using std::chrono::seconds;

// Lookups share the map, so a test can change the environment after a
// provider was made (only between calls: the map is not locked).
class FakeEnv {
 public:
  void Set(const std::string& k, const std::string& v) { (*vars_)[k] = v; }
  EnvLookup Lookup() const {
    auto vars = vars_;
    return [vars](const std::string& k) -> std::optional<std::string> {
      auto it = vars->find(k);
      if (it == vars->end()) return std::nullopt;
      return it->second;
    };
  }

 private:
  std::shared_ptr<std::map<std::string, std::string>> vars_ = std::make_shared<std::map<std::string, std::string>>();
};

template <typename F>
bool Eventually(F f) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (!f()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// "2023-11-14T22:23:20Z" for a wall time.
std::string Iso(WallTime t) {
  const auto secs = std::chrono::time_point_cast<seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss hms(secs - days);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02ld:%02ld:%02lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()));
  return buf;
}

std::string StsAnswer(const std::string& id, WallTime expiration) {
  return "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
         "  <AssumeRoleWithWebIdentityResult>\n"
         "    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>\n"
         "    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>\n"
         "    <Credentials>\n"
         "      <AccessKeyId>" +
         id +
         "</AccessKeyId>\n"
         "      <SecretAccessKey>stssecret/" +
         id +
         "</SecretAccessKey>\n"
         "      <SessionToken>ststoken&amp;" +
         id +
         "</SessionToken>\n"
         "      <Expiration>" +
         Iso(expiration) +
         "</Expiration>\n"
         "    </Credentials>\n"
         "  </AssumeRoleWithWebIdentityResult>\n"
         "</AssumeRoleWithWebIdentityResponse>\n";
}

std::string JsonAnswer(const std::string& id, WallTime expiration) {
  return "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"" + id +
         "\",\"SecretAccessKey\":\"jsonsecret\",\"Token\":\"jsontoken\",\"Expiration\":\"" + Iso(expiration) + "\"}";
}

// A handler gate: requests block in Wait() until the test calls Open().
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class RemoteCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shardhose_rcreds_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    env_.Set("HOME", dir_.string());  // no ~/.aws files
    env_.Set("AWS_EC2_METADATA_DISABLED", "true");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  std::unique_ptr<CredentialsProvider> Chain() {
    DefaultChainOptions o;
    o.container_relative_host = server_.base_url();
    o.http_timeout = std::chrono::milliseconds(5000);
    return NewDefaultCredentialsProvider(env_.Lookup(), http_.get(), &clock_, o);
  }

  void UseWebIdentity(const std::string& token = "eyJhbGciOi.token+/=") {
    Write(dir_ / "token", token + "\n");
    env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", (dir_ / "token").string());
    env_.Set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/shardhose");
    env_.Set("AWS_ENDPOINT_URL_STS", server_.base_url());
  }
  void UseImds() {
    env_.Set("AWS_EC2_METADATA_DISABLED", "false");
    env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", server_.base_url() + "/");
  }

  // An IMDS: token, role "my-role", credentials expiring in `lifetime`.
  void ServeImds(minutes lifetime = minutes(60)) {
    server_.set_handler([this, lifetime](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "PUT" && req.path == "/latest/api/token") {
        res.set_content("imdstoken", "text/plain");
      } else if (req.get_header_value("X-aws-ec2-metadata-token") != "imdstoken") {
        res.status = 401;
      } else if (req.path == "/latest/meta-data/iam/security-credentials/") {
        res.set_content("my-role\n", "text/plain");
      } else if (req.path == "/latest/meta-data/iam/security-credentials/my-role") {
        res.set_content(JsonAnswer("ASIAIMDS", clock_.WallNow() + lifetime), "text/plain");
      } else {
        res.status = 404;
      }
    });
  }

  fs::path dir_;
  FakeEnv env_;
  SimulatedClock clock_;
  // Destroyed in reverse order: providers (declared in tests) first, then
  // the client, then the server.
  TestServer server_;
  std::unique_ptr<HttpClient> http_ = NewCurlHttpClient();
};

// --- web identity ------------------------------------------------------------

TEST_F(RemoteCredentialsTest, WebIdentityFromEnvironment) {
  UseWebIdentity();
  env_.Set("AWS_ROLE_SESSION_NAME", "my session");
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(StsAnswer("ASIASTS1", clock_.WallNow() + minutes(60)), "text/xml");
  });
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIASTS1");
  EXPECT_EQ(c->secret_access_key, "stssecret/ASIASTS1");
  EXPECT_EQ(c->session_token, "ststoken&ASIASTS1");
  ASSERT_TRUE(c->expiration.has_value());
  EXPECT_EQ(*c->expiration, clock_.WallNow() + minutes(60));
  EXPECT_EQ(p->Describe(), "web identity role arn:aws:iam::123456789012:role/shardhose");

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_FALSE(reqs[0].HasHeader("Authorization"));  // unsigned
  EXPECT_EQ(reqs[0].body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fshardhose"
            "&RoleSessionName=my%20session&WebIdentityToken=eyJhbGciOi.token%2B%2F%3D");

  // Cached: no second request.
  clock_.Advance(minutes(30));
  EXPECT_EQ(p->Get()->access_key_id, "ASIASTS1");
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(RemoteCredentialsTest, WebIdentityDefaultSessionName) {
  UseWebIdentity();
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(StsAnswer("ASIA", clock_.WallNow() + minutes(60)), "text/xml");
  });
  ASSERT_TRUE(Chain()->Get().ok());
  EXPECT_NE(server_.requests().at(0).body.find("&RoleSessionName=shardhose-" + std::to_string(getpid()) + "&"),
            std::string::npos);
}

TEST_F(RemoteCredentialsTest, WebIdentityFromProfile) {
  Write(dir_ / "token", "profiletoken");
  fs::create_directories(dir_ / ".aws");
  Write(dir_ / ".aws/config", "[profile eks]\nrole_arn = arn:aws:iam::1:role/p\nweb_identity_token_file = " +
                                  (dir_ / "token").string() + "\nrole_session_name = sess\n");
  env_.Set("AWS_PROFILE", "eks");
  env_.Set("AWS_ENDPOINT_URL", server_.base_url());
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(StsAnswer("ASIAPROF", clock_.WallNow() + minutes(60)), "text/xml");
  });
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAPROF");
  EXPECT_EQ(p->Describe(), "profile eks web identity role arn:aws:iam::1:role/p");
  EXPECT_NE(server_.requests().at(0).body.find("&RoleSessionName=sess&WebIdentityToken=profiletoken"),
            std::string::npos);
}

TEST_F(RemoteCredentialsTest, WebIdentityTokenFileMissingOrRoleMissing) {
  UseWebIdentity();
  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", (dir_ / "nope").string());
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
  EXPECT_TRUE(server_.requests().empty());

  FakeEnv half;
  half.Set("AWS_WEB_IDENTITY_TOKEN_FILE", (dir_ / "token").string());
  half.Set("AWS_EC2_METADATA_DISABLED", "true");
  EXPECT_TRUE(NewDefaultCredentialsProvider(half.Lookup(), http_.get(), &clock_)->Get().status().IsInvalidArgument());
}

TEST_F(RemoteCredentialsTest, WebIdentityErrors) {
  UseWebIdentity("SECRETJWT");
  struct Case {
    int status;
    std::string body;
    StatusCode code;
    bool retryable;
  };
  const std::string err = "<ErrorResponse><Error><Type>Sender</Type><Code>";
  for (const Case& k : std::vector<Case>{
           {200, "<html>not sts SECRETBODY</html>", StatusCode::kUnavailable, true},
           {200,
            "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>SECRETBODY"
            "</SecretAccessKey><SessionToken>t</SessionToken><Expiration>soon</Expiration>"
            "</Credentials>",
            StatusCode::kUnavailable, true},
           {500, "", StatusCode::kUnavailable, true},
           {400, err + "InvalidIdentityToken</Code><Message>bad</Message></Error></ErrorResponse>",
            StatusCode::kUnavailable, true},
           {400, err + "IDPCommunicationError</Code></Error></ErrorResponse>", StatusCode::kUnavailable, true},
           {403, err + "AccessDenied</Code><Message>Not authorized</Message></Error></ErrorResponse>",
            StatusCode::kPermissionDenied, false},
       }) {
    SCOPED_TRACE(k.body);
    server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
      res.status = k.status;
      res.set_content(k.body, "text/xml");
    });
    Result<Credentials> c = Chain()->Get();
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), k.code) << c.status().ToString();
    EXPECT_EQ(c.status().IsRetryable(), k.retryable) << c.status().ToString();
    EXPECT_EQ(c.status().message().find("SECRET"), std::string::npos) << c.status().message();
  }
}

TEST_F(RemoteCredentialsTest, ConfiguredSourceThatFailsDoesNotFallThrough) {
  UseWebIdentity();
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  server_.set_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST") {
      res.status = 503;
    } else {
      res.set_content(JsonAnswer("ASIACONTAINER", clock_.WallNow() + minutes(60)), "application/json");
    }
  });
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsRetryable());
  EXPECT_EQ(server_.requests().size(), 1u);
}

// --- refresh -----------------------------------------------------------------

// Captures everything logged through spdlog's default logger.
class LogCapture {
 public:
  LogCapture() : old_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(old_); }
  std::string text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::shared_ptr<spdlog::logger> old_;
  std::ostringstream out_;
};

TEST_F(RemoteCredentialsTest, RefreshRunsInTheBackgroundWithoutStallingGet) {
  LogCapture logs;
  UseWebIdentity();
  std::atomic<int> calls{0};
  Gate gate;
  std::atomic<bool> block{false};
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    const int n = ++calls;
    if (block.load()) gate.Wait();
    // Each answer lives 10 minutes: the refresh is due after 5.
    res.set_content(StsAnswer("ASIA" + std::to_string(n), clock_.WallNow() + minutes(10)), "text/xml");
  });
  struct Release {
    Gate* g;
    ~Release() { g->Open(); }  // never leave the server's thread blocked
  } release{&gate};

  auto p = Chain();
  ASSERT_EQ(p->Get()->access_key_id, "ASIA1");
  clock_.Advance(minutes(4) + seconds(59));
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  EXPECT_EQ(calls.load(), 1);

  block = true;
  clock_.Advance(seconds(2));  // 5:01 in: the refresh is due
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  ASSERT_TRUE(Eventually([&] { return calls.load() == 2; }));

  // STS is stuck on the second request. Get() must not wait for it.
  auto during = std::async(std::launch::async, [&] {
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) ids.push_back(p->Get()->access_key_id);
    return ids;
  });
  ASSERT_EQ(during.wait_for(seconds(5)), std::future_status::ready) << "Get() blocked on the refresh";
  for (const std::string& id : during.get()) EXPECT_EQ(id, "ASIA1");
  EXPECT_EQ(calls.load(), 2);  // one refresh in flight, not one per Get()

  gate.Open();
  ASSERT_TRUE(Eventually([&] { return p->Get()->access_key_id == "ASIA2"; }));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(p->Describe(), "web identity role arn:aws:iam::123456789012:role/shardhose");

  const std::string logged = logs.text();
  for (const char* secret : {"stssecret", "ststoken", "eyJhbGciOi"}) {
    EXPECT_EQ(logged.find(secret), std::string::npos) << secret << " in logs:\n" << logged;
  }
}

TEST_F(RemoteCredentialsTest, FailedBackgroundRefreshKeepsCachedCredentialsThenFails) {
  LogCapture logs;
  UseWebIdentity();
  std::atomic<int> calls{0};
  std::atomic<int> fail_status{0};
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    const int n = ++calls;
    if (int s = fail_status.load(); s != 0) {
      res.status = s;
      res.set_content("<ErrorResponse><Error><Code>" + std::string(s == 403 ? "AccessDenied" : "InternalFailure") +
                          "</Code></Error></ErrorResponse>",
                      "text/xml");
      return;
    }
    res.set_content(StsAnswer("ASIA" + std::to_string(n), clock_.WallNow() + minutes(10)), "text/xml");
  });
  auto p = Chain();
  const WallTime expiration = *p->Get()->expiration;

  fail_status = 500;
  clock_.Advance(minutes(6));
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  ASSERT_TRUE(Eventually([&] { return logs.text().find("refreshing credentials") != std::string::npos; }));
  EXPECT_EQ(calls.load(), 2);
  // No retry before 10 s have passed.
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  clock_.Advance(seconds(5));
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  EXPECT_EQ(calls.load(), 2);
  clock_.Advance(seconds(6));
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  ASSERT_TRUE(Eventually([&] { return calls.load() == 3; }));

  // Past the expiry margin: nothing usable, the refresh fails -> retryable error.
  fail_status = 403;
  clock_.Advance(expiration - clock_.WallNow() - seconds(30));
  ASSERT_TRUE(Eventually([&] { return !p->Get().ok(); }));
  Result<Credentials> c = p->Get();
  EXPECT_TRUE(c.status().IsUnavailable()) << c.status().ToString();
  EXPECT_TRUE(c.status().IsRetryable());
  EXPECT_NE(c.status().message().find("AccessDenied"), std::string::npos);

  // STS recovers: the next Get() fetches synchronously.
  fail_status = 0;
  Result<Credentials> again = p->Get();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(again->access_key_id, "ASIA1");
  EXPECT_EQ(logs.text().find("stssecret"), std::string::npos);
}

TEST_F(RemoteCredentialsTest, CallersWaitingForAnExpiredRefreshShareOneFetch) {
  UseWebIdentity();
  std::atomic<int> calls{0};
  Gate gate;
  std::atomic<bool> block{false};
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    const int n = ++calls;
    if (block.load()) gate.Wait();
    res.set_content(StsAnswer("ASIA" + std::to_string(n), clock_.WallNow() + minutes(10)), "text/xml");
  });
  struct Release {
    Gate* g;
    ~Release() { g->Open(); }
  } release{&gate};
  auto p = Chain();
  ASSERT_TRUE(p->Get().ok());
  block = true;
  clock_.Advance(minutes(20));  // expired: nothing to serve
  std::vector<std::future<Result<Credentials>>> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return p->Get(); }));
  }
  ASSERT_TRUE(Eventually([&] { return calls.load() == 2; }));
  EXPECT_EQ(waiters[0].wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  gate.Open();
  for (auto& w : waiters) {
    Result<Credentials> c = w.get();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->access_key_id, "ASIA2");
  }
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(RemoteCredentialsTest, ShortLivedCredentialsRefreshHalfway) {
  UseWebIdentity();
  std::atomic<int> calls{0};
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    const int n = ++calls;
    res.set_content(StsAnswer("ASIA" + std::to_string(n), clock_.WallNow() + minutes(4)), "text/xml");
  });
  auto p = Chain();
  ASSERT_EQ(p->Get()->access_key_id, "ASIA1");
  clock_.Advance(minutes(1) + seconds(59));
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  EXPECT_EQ(calls.load(), 1);
  clock_.Advance(seconds(2));
  EXPECT_EQ(p->Get()->access_key_id, "ASIA1");
  ASSERT_TRUE(Eventually([&] { return p->Get()->access_key_id == "ASIA2"; }));
}

TEST_F(RemoteCredentialsTest, TokenFileIsReadAgainOnRefresh) {
  UseWebIdentity("first");
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(StsAnswer("ASIA", clock_.WallNow() + minutes(10)), "text/xml");
  });
  auto p = Chain();
  ASSERT_TRUE(p->Get().ok());
  Write(dir_ / "token", "second");
  clock_.Advance(minutes(20));
  ASSERT_TRUE(p->Get().ok());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].body.find("WebIdentityToken=first"), std::string::npos);
  EXPECT_NE(reqs[1].body.find("WebIdentityToken=second"), std::string::npos);
}

// --- container ---------------------------------------------------------------

TEST_F(RemoteCredentialsTest, ContainerRelativeUri) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc-123");
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(JsonAnswer("ASIAECS", clock_.WallNow() + minutes(60)), "application/json");
  });
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAECS");
  EXPECT_EQ(c->secret_access_key, "jsonsecret");
  EXPECT_EQ(c->session_token, "jsontoken");
  EXPECT_EQ(*c->expiration, clock_.WallNow() + minutes(60));
  EXPECT_EQ(p->Describe(), "container " + server_.base_url());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v2/credentials/abc-123");
  EXPECT_FALSE(reqs[0].HasHeader("Authorization"));
}

TEST_F(RemoteCredentialsTest, ContainerFullUriWithTokenFileRereadOnRefresh) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", server_.base_url() + "/v1/credentials");
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "envtoken");  // the file wins
  Write(dir_ / "auth", "podtoken1\n");
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", (dir_ / "auth").string());
  std::atomic<int> calls{0};
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(JsonAnswer("ASIAPOD" + std::to_string(++calls), clock_.WallNow() + minutes(10)),
                    "application/json");
  });
  auto p = Chain();
  ASSERT_EQ(p->Get()->access_key_id, "ASIAPOD1");
  Write(dir_ / "auth", "podtoken2");
  clock_.Advance(minutes(6));
  EXPECT_EQ(p->Get()->access_key_id, "ASIAPOD1");
  ASSERT_TRUE(Eventually([&] { return p->Get()->access_key_id == "ASIAPOD2"; }));
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/v1/credentials");
  EXPECT_EQ(reqs[0].Header("Authorization"), "podtoken1");
  EXPECT_EQ(reqs[1].Header("Authorization"), "podtoken2");
}

TEST_F(RemoteCredentialsTest, ContainerAuthorizationTokenFromEnvironment) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:" + std::to_string(server_.port()) + "/creds");
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc");
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(JsonAnswer("ASIA", clock_.WallNow() + minutes(60)), "application/json");
  });
  auto p = Chain();
  ASSERT_TRUE(p->Get().ok());
  EXPECT_EQ(server_.requests().at(0).Header("Authorization"), "Basic abc");
  EXPECT_EQ(p->Describe(), "container http://localhost:" + std::to_string(server_.port()));
}

TEST_F(RemoteCredentialsTest, ContainerErrors) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  struct Case {
    int status;
    std::string body;
    StatusCode code;
    bool retryable;
  };
  for (const Case& k : std::vector<Case>{
           {200, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SECRETBODY\"", StatusCode::kUnavailable, true},
           {200, "{\"AccessKeyId\":\"A\",\"Token\":\"SECRETBODY\"}", StatusCode::kUnavailable, true},
           {200, "[\"SECRETBODY\"]", StatusCode::kUnavailable, true},
           {500, "SECRETBODY", StatusCode::kUnavailable, true},
           {429, "", StatusCode::kUnavailable, true},
           {403, "SECRETBODY", StatusCode::kPermissionDenied, false},
           {400, "", StatusCode::kInvalidArgument, false},
       }) {
    SCOPED_TRACE(std::to_string(k.status) + " " + k.body);
    server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
      res.status = k.status;
      res.set_content(k.body, "application/json");
    });
    Result<Credentials> c = Chain()->Get();
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), k.code) << c.status().ToString();
    EXPECT_EQ(c.status().IsRetryable(), k.retryable) << c.status().ToString();
    EXPECT_EQ(c.status().message().find("SECRETBODY"), std::string::npos) << c.status().message();
  }
}

TEST_F(RemoteCredentialsTest, ContainerFullUriHostRules) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.169.254/creds");
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_NE(c.status().message().find("169.254.169.254"), std::string::npos);

  for (const char* ok :
       {"https://creds.example.com/x", "HTTPS://1.2.3.4:8443/", "http://127.0.0.1/", "http://127.9.8.7:51679/creds",
        "http://localhost:80/", "http://[::1]:80/", "http://169.254.170.2/v2", "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials", "http://[FD00:EC2:0::23]:80/"}) {
    EXPECT_TRUE(internal::CheckContainerFullUri(ok).ok()) << ok;
  }
  for (const char* bad : {"http://example.com/", "http://169.254.170.3/", "http://10.0.0.1/",
                          "http://localhost.example.com/", "http://127.0.0.1.nip.io/", "http://[fd00:ec2::24]/",
                          "http://user@example.com@/", "ftp://127.0.0.1/", "127.0.0.1/creds", "http://[::1/"}) {
    EXPECT_TRUE(internal::CheckContainerFullUri(bad).IsInvalidArgument()) << bad;
  }
}

TEST_F(RemoteCredentialsTest, ContainerTokenWithLineBreakIsRejected) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Injected: 1");
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_TRUE(server_.requests().empty());
}

// --- IMDS --------------------------------------------------------------------

TEST_F(RemoteCredentialsTest, ImdsV2) {
  UseImds();
  ServeImds();
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->session_token, "jsontoken");
  EXPECT_EQ(p->Describe(), "imds role my-role");
  auto reqs = server_.requests();
  ASSERT_GE(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].target, "/latest/api/token");
  EXPECT_EQ(reqs[0].Header("X-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_EQ(reqs.back().method, "GET");
  EXPECT_EQ(reqs.back().target, "/latest/meta-data/iam/security-credentials/my-role");
  EXPECT_EQ(reqs.back().Header("X-aws-ec2-metadata-token"), "imdstoken");
}

TEST_F(RemoteCredentialsTest, ImdsRefresh) {
  UseImds();
  ServeImds(minutes(10));
  auto p = Chain();
  ASSERT_TRUE(p->Get().ok());
  const size_t first = server_.requests().size();
  clock_.Advance(minutes(6));
  ASSERT_TRUE(p->Get().ok());
  ASSERT_TRUE(Eventually([&] { return server_.requests().size() == first + 3; }));
}

TEST_F(RemoteCredentialsTest, ImdsDisabled) {
  ServeImds();
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", server_.base_url());
  env_.Set("AWS_EC2_METADATA_DISABLED", "True");
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(RemoteCredentialsTest, ImdsWithoutRoleOrUnreachableIsNotFound) {
  UseImds();
  server_.set_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "PUT") {
      res.set_content("imdstoken", "text/plain");
    } else {
      res.status = 404;
    }
  });
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("no IAM role"), std::string::npos);

  // Nothing listens on port 1: refused at once.
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");
  const auto start = std::chrono::steady_clock::now();
  c = Chain()->Get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("imds: not reachable"), std::string::npos);
}

TEST_F(RemoteCredentialsTest, ImdsErrors) {
  UseImds();
  for (std::string answer : {std::string("{\"Code\":\"Failure\",\"Message\":\"x\"}"),
                             std::string("{\"AccessKeyId\":\"A\"}"), std::string("SECRET")}) {
    SCOPED_TRACE(answer);
    server_.set_handler([answer](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "PUT") {
        res.set_content("imdstoken", "text/plain");
      } else if (req.path.ends_with("/")) {
        res.set_content("my-role", "text/plain");
      } else {
        res.set_content(answer, "application/json");
      }
    });
    Result<Credentials> c = Chain()->Get();
    ASSERT_FALSE(c.ok());
    EXPECT_TRUE(c.status().IsUnavailable()) << c.status().ToString();
    EXPECT_EQ(c.status().message().find("SECRET"), std::string::npos);
  }
  // Token refused (IMDS disabled on the instance, hop limit): an error, not NotFound.
  server_.set_handler([](const httplib::Request&, httplib::Response& res) { res.status = 403; });
  EXPECT_EQ(Chain()->Get().status().code(), StatusCode::kPermissionDenied);
}

// --- chain order ---------------------------------------------------------------

TEST_F(RemoteCredentialsTest, ChainOrder) {
  // Every source is configured and answers; remove them one at a time,
  // first to last, and check who wins.
  server_.set_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST") {
      res.set_content(StsAnswer("FROM_STS", clock_.WallNow() + minutes(60)), "text/xml");
    } else if (req.path == "/container") {
      res.set_content(JsonAnswer("FROM_CONTAINER", clock_.WallNow() + minutes(60)), "application/json");
    } else if (req.method == "PUT") {
      res.set_content("imdstoken", "text/plain");
    } else if (req.path.ends_with("/")) {
      res.set_content("my-role", "text/plain");
    } else {
      res.set_content(JsonAnswer("FROM_IMDS", clock_.WallNow() + minutes(60)), "application/json");
    }
  });
  fs::create_directories(dir_ / ".aws");
  Write(dir_ / ".aws/credentials", "[default]\naws_access_key_id = FROM_PROFILE\naws_secret_access_key = s\n");
  env_.Set("AWS_ACCESS_KEY_ID", "FROM_ENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", "s");
  UseWebIdentity();
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container");
  UseImds();

  EXPECT_EQ(Chain()->Get()->access_key_id, "FROM_ENV");
  env_.Set("AWS_ACCESS_KEY_ID", "");
  env_.Set("AWS_SECRET_ACCESS_KEY", "");
  EXPECT_EQ(Chain()->Get()->access_key_id, "FROM_STS");
  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", "");
  EXPECT_EQ(Chain()->Get()->access_key_id, "FROM_PROFILE");
  fs::remove(dir_ / ".aws/credentials");
  EXPECT_EQ(Chain()->Get()->access_key_id, "FROM_CONTAINER");
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "");
  auto p = Chain();
  EXPECT_EQ(p->Get()->access_key_id, "FROM_IMDS");
  EXPECT_EQ(p->Describe(), "imds role my-role");
  env_.Set("AWS_EC2_METADATA_DISABLED", "true");
  Result<Credentials> none = Chain()->Get();
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.status().IsNotFound());
  for (const char* part : {"environment:", "web identity:", "profile default:", "container:", "imds:"}) {
    EXPECT_NE(none.status().message().find(part), std::string::npos) << none.status().message();
  }
}

TEST_F(RemoteCredentialsTest, ChainSticksToTheResolvedSource) {
  UseImds();
  ServeImds(minutes(10));
  auto p = Chain();
  ASSERT_EQ(p->Get()->access_key_id, "ASIAIMDS");
  // Environment keys appearing later do not switch sources: expiry and
  // refresh go back to IMDS.
  env_.Set("AWS_ACCESS_KEY_ID", "FROM_ENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", "s");
  clock_.Advance(minutes(30));
  EXPECT_EQ(p->Get()->access_key_id, "ASIAIMDS");
  EXPECT_EQ(p->Describe(), "imds role my-role");
  EXPECT_EQ(Chain()->Get()->access_key_id, "FROM_ENV");
}

}  // namespace
}  // namespace shardhose::aws

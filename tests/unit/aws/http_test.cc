// The libcurl HttpClient against an in-process server on 127.0.0.1. The
// timeout test waits for a real (short) timeout: there is no other way to
// exercise curl's timer.
#include "aws/http.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "test_server.h"

namespace shardhose::aws {
namespace {

using shardhose::testing::TestServer;

TEST(UriEncode, Rules) {
  EXPECT_EQ(UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(UriEncode("a b/c+d=e&f%", false), "a%20b%2Fc%2Bd%3De%26f%25");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xE1\x88\xB4", false), "%E1%88%B4");
  EXPECT_EQ(UriEncode("", true), "");
}

TEST(HttpRequest, SetHeaderReplacesCaseInsensitively) {
  HttpRequest r;
  r.headers = {{"X-A", "1"}, {"x-b", "2"}, {"x-a", "3"}};
  r.SetHeader("x-A", "9");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].name, "X-A");
  EXPECT_EQ(r.headers[0].value, "9");
  EXPECT_EQ(r.Header("X-B"), "2");
  EXPECT_EQ(r.Header("missing"), "");
  r.SetHeader("Content-Type", "text/plain");
  EXPECT_EQ(r.headers.back().name, "Content-Type");
}

TEST(HttpResponse, HeaderIsCaseInsensitive) {
  HttpResponse r;
  r.headers = {{"ETag", "\"abc\""}};
  EXPECT_EQ(r.Header("etag"), "\"abc\"");
}

class CurlHttpTest : public ::testing::Test {
 protected:
  // Destroyed in reverse order: the client (and its keep-alive
  // connections) goes first, so the server stops without waiting for them.
  TestServer server_;
  std::unique_ptr<HttpClient> client_ = NewCurlHttpClient();
};

TEST_F(CurlHttpTest, PutSendsContentLengthNoExpectNoChunked) {
  const std::string body(3 << 20, 'x');  // large enough for curl to consider Expect
  HttpRequest req;
  req.method = "PUT";
  req.url = server_.base_url() + "/bucket/a%20b/key.gz";
  req.body = body;
  req.SetHeader("x-amz-meta-a", "b");
  Result<HttpResponse> r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].target, "/bucket/a%20b/key.gz");
  EXPECT_EQ(reqs[0].Header("Content-Length"), std::to_string(body.size()));
  EXPECT_FALSE(reqs[0].HasHeader("Expect"));
  EXPECT_FALSE(reqs[0].HasHeader("Transfer-Encoding"));
  EXPECT_FALSE(reqs[0].HasHeader("Content-Type"));  // curl must not add one
  EXPECT_EQ(reqs[0].Header("x-amz-meta-a"), "b");
  EXPECT_EQ(reqs[0].Header("Host"), "127.0.0.1:" + std::to_string(server_.port()));
  EXPECT_EQ(reqs[0].body, body);
}

TEST_F(CurlHttpTest, ZeroLengthPutAndPost) {
  for (const char* method : {"PUT", "POST"}) {
    HttpRequest req;
    req.method = method;
    req.url = server_.base_url() + "/empty";
    Result<HttpResponse> r = client_->Send(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& q : reqs) {
    EXPECT_EQ(q.Header("Content-Length"), "0") << q.method;
    EXPECT_FALSE(q.HasHeader("Transfer-Encoding"));
  }
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[1].method, "POST");
}

TEST_F(CurlHttpTest, PostJsonKeepsCallerContentType) {
  HttpRequest req;
  req.method = "POST";
  req.url = server_.base_url() + "/";
  req.SetHeader("Content-Type", "application/x-amz-json-1.1");
  const std::string body = R"({"StreamName":"s"})";
  req.body = body;
  ASSERT_TRUE(client_->Send(req).ok());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(reqs[0].body, body);
}

TEST_F(CurlHttpTest, ResponseStatusHeadersBodyForAnyStatus) {
  server_.set_handler([](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("x-amz-request-id", "REQ1");
    res.set_content("<Error><Code>SlowDown</Code></Error>", "application/xml");
  });
  HttpRequest req;
  req.url = server_.base_url() + "/x";
  Result<HttpResponse> r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->Header("X-Amz-Request-Id"), "REQ1");
  EXPECT_EQ(r->Header("content-type"), "application/xml");
  EXPECT_EQ(r->body, "<Error><Code>SlowDown</Code></Error>");
}

TEST_F(CurlHttpTest, HeadAndDelete) {
  server_.set_handler([](const httplib::Request& req, httplib::Response& res) {
    res.status = req.method == "DELETE" ? 204 : 200;
    res.set_header("ETag", "\"e\"");
  });
  HttpRequest req;
  req.method = "HEAD";
  req.url = server_.base_url() + "/k";
  Result<HttpResponse> r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("etag"), "\"e\"");
  EXPECT_TRUE(r->body.empty());
  req.method = "DELETE";
  r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "HEAD");
  EXPECT_EQ(reqs[1].method, "DELETE");
}

TEST_F(CurlHttpTest, ConnectionIsReused) {
  HttpRequest req;
  req.url = server_.base_url() + "/a";
  ASSERT_TRUE(client_->Send(req).ok());
  ASSERT_TRUE(client_->Send(req).ok());
  ASSERT_TRUE(client_->Send(req).ok());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].remote_port, reqs[1].remote_port);
  EXPECT_EQ(reqs[1].remote_port, reqs[2].remote_port);
}

TEST_F(CurlHttpTest, ConcurrentSends) {
  constexpr int kThreads = 6, kEach = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        HttpRequest req;
        req.method = "PUT";
        req.url = server_.base_url() + "/t" + std::to_string(t) + "/" + std::to_string(i);
        std::string body = "body-" + std::to_string(t) + "-" + std::to_string(i);
        req.body = body;
        Result<HttpResponse> r = client_->Send(req);
        if (r.ok() && r->status == 200) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), static_cast<size_t>(kThreads * kEach));
  for (const auto& q : reqs) {
    // body "body-T-I" was sent to "/tT/I": no request got another's body.
    std::string expected = "/t" + q.body.substr(5);
    expected[expected.find('-')] = '/';
    EXPECT_EQ(q.target, expected);
  }
}

TEST_F(CurlHttpTest, TimeoutIsNetworkError) {
  // Shared with the handler, which may still be returning on the server's
  // thread after this test body has ended (it held a stack mutex once and
  // crashed, rarely, when the test's locals were gone first).
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
  };
  auto gate = std::make_shared<Gate>();
  server_.set_handler([gate](const httplib::Request&, httplib::Response& res) {
    std::unique_lock<std::mutex> lock(gate->mu);
    gate->cv.wait_for(lock, std::chrono::seconds(10), [&] { return gate->release; });
    res.status = 200;
  });
  HttpRequest req;
  req.url = server_.base_url() + "/slow";
  req.timeout = std::chrono::milliseconds(200);
  Result<HttpResponse> r = client_->Send(req);
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->release = true;
  }
  gate->cv.notify_all();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().retry_class(), RetryClass::kNetwork);
  EXPECT_TRUE(r.status().IsRetryable());
  EXPECT_NE(r.status().message().find("/slow"), std::string::npos);
}

TEST(CurlHttp, ConnectionRefusedIsNetworkError) {
  std::string url;
  {
    TestServer gone;
    url = gone.base_url() + "/x";
  }  // the port is closed now
  auto client = NewCurlHttpClient();
  HttpRequest req;
  req.url = url;
  Result<HttpResponse> r = client->Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().retry_class(), RetryClass::kNetwork);
}

TEST(CurlHttp, MalformedUrlIsInvalidArgument) {
  auto client = NewCurlHttpClient();
  HttpRequest req;
  req.url = "nope://x/";
  Result<HttpResponse> r = client->Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_EQ(r.status().retry_class(), RetryClass::kNone);
}

TEST(CurlHttp, QueryIsNotLoggedInErrors) {
  auto client = NewCurlHttpClient();
  HttpRequest req;
  std::string url;
  {
    TestServer gone;
    url = gone.base_url();
  }
  req.url = url + "/k?X-Amz-Security-Token=SECRET";
  Result<HttpResponse> r = client->Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("SECRET"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace shardhose::aws

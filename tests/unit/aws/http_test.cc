// The libcurl HttpClient against an in-process server on 127.0.0.1. The
// timeout, stall and stop tests wait for real (short) times: there is no
// other way to exercise curl's timers and its idle progress callback (about
// once a second).
#include "aws/http.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>
#include <vector>

#include "aws/curl_http.h"
#include "aws/sigv4.h"
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

TEST_F(CurlHttpTest, SignedHostIsTheHostCurlSends) {
  // An endpoint written with an upper-case host: the signature must cover the
  // Host header exactly as it arrives, or the server's check fails.
  HttpRequest req;
  req.method = "PUT";
  req.url = "http://LOCALHOST:" + std::to_string(server_.port()) + "/bucket/key";
  req.body = "x";
  Credentials creds;
  creds.access_key_id = "AKIDEXAMPLE";
  creds.secret_access_key = "secret";
  SigningParams p;
  p.region = "us-east-1";
  p.service = "s3";
  p.time = std::chrono::system_clock::now();
  SigningSteps steps;
  ASSERT_TRUE(SignRequest(&req, creds, p, &steps).ok());
  Result<HttpResponse> r = client_->Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const std::string host = reqs[0].Header("Host");
  EXPECT_EQ(host, "LOCALHOST:" + std::to_string(server_.port()));
  EXPECT_NE(steps.canonical_request.find("\nhost:" + host + "\n"), std::string::npos) << steps.canonical_request;
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

TEST_F(CurlHttpTest, BodySinkIsSizedFromContentLengthEachTimeAnAnswerIsBigger) {
  // Answers of 100 KB, then 1 MB, then 100 KB again, into one reused sink:
  // each is read into it whole, and the 1 MB answer grows it once to its
  // Content-Length (+ parser padding), not by doubling from 100 KB.
  std::atomic<size_t> size{100000};
  server_.set_handler([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(size.load(), 'x'), "application/json");
  });
  std::string sink;
  HttpRequest req;
  req.url = server_.base_url() + "/p";
  req.body_sink = &sink;
  ASSERT_TRUE(client_->Send(req).ok());
  EXPECT_EQ(sink.size(), 100000u);
  size = 1000000;
  ASSERT_TRUE(client_->Send(req).ok());
  EXPECT_EQ(sink.size(), 1000000u);
  EXPECT_GE(sink.capacity(), 1000000u + 16);
  EXPECT_LE(sink.capacity(), 1000000u + 64) << "grown by doubling, not from Content-Length";
  const size_t cap = sink.capacity();
  size = 100000;
  ASSERT_TRUE(client_->Send(req).ok());
  EXPECT_EQ(sink, std::string(100000, 'x'));
  EXPECT_EQ(sink.capacity(), cap) << "a smaller answer keeps the buffer";
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

// ---- Stream() ----

// A one-shot event shared by the test and the server's handler thread,
// which may still be running after the test body has ended (hence
// shared_ptr, as in TimeoutIsNetworkError).
struct Signal {
  std::mutex mu;
  std::condition_variable cv;
  bool set = false;
  void Set() {
    {
      std::lock_guard<std::mutex> lock(mu);
      set = true;
    }
    cv.notify_all();
  }
  // True if set within `wait`.
  bool WaitFor(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, wait, [&] { return set; });
  }
};

// A streamed answer: "first", then (once `next` is set, or after 10 s)
// "second" and the end; with `cut`, the connection is dropped after
// "first" instead (once `next` is set).
void StreamTwoChunks(TestServer& server, std::shared_ptr<Signal> next, bool cut = false,
                     std::shared_ptr<std::atomic<bool>> waited_for_next = nullptr) {
  server.set_handler([next, cut, waited_for_next](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_header("x-amzn-RequestId", "R1");
    res.set_chunked_content_provider("application/vnd.amazon.eventstream",
                                     [next, cut, waited_for_next](size_t offset, httplib::DataSink& sink) {
                                       if (offset == 0) return sink.write("first", 5);
                                       const bool woken = next->WaitFor(std::chrono::seconds(10));
                                       if (waited_for_next) *waited_for_next = woken;
                                       if (cut) return false;  // httplib closes the connection mid-body
                                       sink.write("second", 6);
                                       sink.done();
                                       return true;
                                     });
  });
}

HttpRequest StreamRequest(const TestServer& server, const std::string& body) {
  HttpRequest req;
  req.method = "POST";
  req.url = server.base_url() + "/stream";
  req.body = body;
  req.timeout = std::chrono::milliseconds(0);
  req.SetHeader("Content-Type", "application/x-amz-json-1.1");
  return req;
}

// What the callbacks saw, in order: "head:<status>", then each body piece.
struct Seen {
  std::vector<std::string> events;
  HttpResponse head;
  std::string body;
};

HttpStreamOptions Recording(Seen* seen) {
  HttpStreamOptions o;
  o.on_head = [seen](const HttpResponse& head) {
    seen->head = head;
    seen->events.push_back("head:" + std::to_string(head.status));
    return true;
  };
  o.on_body = [seen](std::string_view bytes) {
    seen->events.emplace_back(bytes);
    seen->body.append(bytes);
    return true;
  };
  return o;
}

TEST_F(CurlHttpTest, StreamDeliversChunksAsTheyArrive) {
  auto next = std::make_shared<Signal>();
  auto waited = std::make_shared<std::atomic<bool>>(false);
  StreamTwoChunks(server_, next, false, waited);
  Seen seen;
  HttpStreamOptions o = Recording(&seen);
  o.on_body = [&seen, next](std::string_view bytes) {
    seen.events.emplace_back(bytes);
    seen.body.append(bytes);
    // The server sends "second" only after this: a client that held the
    // body back until the end would wait 10 s and see one piece.
    if (seen.body == "first") next->Set();
    return true;
  };
  const std::string body = R"({"ShardId":"s"})";
  Result<StreamEnd> r = client_->Stream(StreamRequest(server_, body), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, StreamEnd::kComplete);
  EXPECT_TRUE(waited->load());
  EXPECT_EQ(seen.body, "firstsecond");
  ASSERT_GE(seen.events.size(), 3u);
  EXPECT_EQ(seen.events[0], "head:200");
  EXPECT_EQ(seen.events[1], "first");
  EXPECT_EQ(seen.head.Header("X-Amzn-RequestId"), "R1");
  EXPECT_TRUE(seen.head.body.empty());

  // Sent as Send() sends: Content-Length, the caller's Content-Type.
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].body, body);
  EXPECT_EQ(reqs[0].Header("Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_FALSE(reqs[0].HasHeader("Expect"));
  EXPECT_FALSE(reqs[0].HasHeader("Transfer-Encoding"));
}

TEST_F(CurlHttpTest, StreamStopsWhenACallbackSaysSo) {
  auto next = std::make_shared<Signal>();
  StreamTwoChunks(server_, next);
  Seen seen;
  HttpStreamOptions o = Recording(&seen);
  o.on_body = [&seen](std::string_view bytes) {
    seen.body.append(bytes);
    return false;
  };
  const auto start = std::chrono::steady_clock::now();
  Result<StreamEnd> r = client_->Stream(StreamRequest(server_, "{}"), o);
  const auto took = std::chrono::steady_clock::now() - start;
  next->Set();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, StreamEnd::kStopped);
  EXPECT_EQ(seen.body, "first");
  EXPECT_LT(took, std::chrono::seconds(5));  // not the server's 10 s

  // Stopped at the head: no body is delivered.
  Seen at_head;
  HttpStreamOptions h = Recording(&at_head);
  h.on_head = [](const HttpResponse&) { return false; };
  auto next2 = std::make_shared<Signal>();
  StreamTwoChunks(server_, next2);
  r = client_->Stream(StreamRequest(server_, "{}"), h);
  next2->Set();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, StreamEnd::kStopped);
  EXPECT_TRUE(at_head.body.empty());
}

TEST_F(CurlHttpTest, StreamStopFlagEndsAnIdleStream) {
  auto next = std::make_shared<Signal>();
  StreamTwoChunks(server_, next);
  Seen seen;
  std::atomic<bool> stop{false};
  HttpStreamOptions o = Recording(&seen);
  o.stop = &stop;
  // Set from another thread once "first" is in; no byte arrives after it.
  auto first = std::make_shared<Signal>();
  o.on_body = [&seen, first](std::string_view bytes) {
    seen.body.append(bytes);
    first->Set();
    return true;
  };
  std::thread stopper([&] {
    if (!first->WaitFor(std::chrono::seconds(10))) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the stream is idle by now
    stop = true;
  });
  const auto start = std::chrono::steady_clock::now();
  Result<StreamEnd> r = client_->Stream(StreamRequest(server_, "{}"), o);
  const auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  next->Set();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, StreamEnd::kStopped);
  EXPECT_EQ(seen.body, "first");
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(CurlHttpTest, StreamErrorStatusDeliversHeadAndBody) {
  server_.set_handler([](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_header("x-amzn-ErrorType", "ResourceInUseException");
    res.set_content(R"({"message":"in use"})", "application/x-amz-json-1.1");
  });
  Seen seen;
  Result<StreamEnd> r = client_->Stream(StreamRequest(server_, "{}"), Recording(&seen));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, StreamEnd::kComplete);
  ASSERT_FALSE(seen.events.empty());
  EXPECT_EQ(seen.events[0], "head:400");
  EXPECT_EQ(seen.head.Header("X-Amzn-ErrorType"), "ResourceInUseException");
  EXPECT_EQ(seen.body, R"({"message":"in use"})");
}

TEST_F(CurlHttpTest, StreamWithoutBodyStillDeliversTheHead) {
  server_.set_handler([](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  Seen seen;
  Result<StreamEnd> r = client_->Stream(StreamRequest(server_, "{}"), Recording(&seen));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, StreamEnd::kComplete);
  EXPECT_EQ(seen.events, std::vector<std::string>{"head:204"});
}

TEST_F(CurlHttpTest, StreamCutMidBodyIsNetworkError) {
  auto next = std::make_shared<Signal>();
  StreamTwoChunks(server_, next, /*cut=*/true);
  Seen seen;
  HttpStreamOptions o = Recording(&seen);
  o.on_body = [&seen, next](std::string_view bytes) {
    seen.body.append(bytes);
    next->Set();
    return true;
  };
  Result<StreamEnd> r = client_->Stream(StreamRequest(server_, "{}"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_EQ(r.status().retry_class(), RetryClass::kNetwork);
  EXPECT_EQ(seen.body, "first");  // what arrived was delivered
}

TEST_F(CurlHttpTest, StreamTimeoutIsNetworkError) {
  auto next = std::make_shared<Signal>();
  StreamTwoChunks(server_, next);
  Seen seen;
  const std::string body = "{}";  // the request views it: it must outlive the call
  HttpRequest req = StreamRequest(server_, body);
  req.timeout = std::chrono::milliseconds(300);  // the whole stream
  Result<StreamEnd> r = client_->Stream(req, Recording(&seen));
  next->Set();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_EQ(r.status().retry_class(), RetryClass::kNetwork);
  EXPECT_NE(r.status().message().find("/stream"), std::string::npos);
  EXPECT_EQ(seen.body, "first");
}

TEST_F(CurlHttpTest, StreamStallIsNetworkError) {
  auto next = std::make_shared<Signal>();
  StreamTwoChunks(server_, next);
  Seen seen;
  HttpStreamOptions o = Recording(&seen);
  o.stall_timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  Result<StreamEnd> r = client_->Stream(StreamRequest(server_, "{}"), o);
  const auto took = std::chrono::steady_clock::now() - start;
  next->Set();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_EQ(r.status().retry_class(), RetryClass::kNetwork);
  EXPECT_NE(r.status().message().find("/stream"), std::string::npos);
  EXPECT_EQ(seen.body, "first");
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(5));  // not the server's 10 s

  // Time spent in the callbacks is no stall.
  auto next2 = std::make_shared<Signal>();
  StreamTwoChunks(server_, next2);
  HttpStreamOptions slow = Recording(&seen);
  slow.stall_timeout = std::chrono::milliseconds(300);
  slow.on_body = [next2](std::string_view) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    next2->Set();
    return true;
  };
  r = client_->Stream(StreamRequest(server_, "{}"), slow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, StreamEnd::kComplete);
}

TEST(CurlHttp, StreamConnectionRefusedIsNetworkError) {
  std::string url;
  {
    TestServer gone;
    url = gone.base_url() + "/x";
  }
  auto client = NewCurlHttpClient();
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  Seen seen;
  Result<StreamEnd> r = client->Stream(req, Recording(&seen));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_EQ(r.status().retry_class(), RetryClass::kNetwork);
  EXPECT_TRUE(seen.events.empty());
}

// A test double that answers only Send(): the default Stream().
class SendOnly final : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& request) override {
    sink_was_set = request.body_sink != nullptr;
    HttpResponse r;
    r.status = 200;
    r.headers = {{"x-h", "v"}};
    r.body = "whole body";
    return r;
  }
  bool sink_was_set = true;
};

TEST(HttpClientDefaultStream, DeliversTheBodyInOnePiece) {
  SendOnly http;
  std::string sink;
  HttpRequest req;
  req.body_sink = &sink;  // ignored by Stream()
  Seen seen;
  Result<StreamEnd> r = http.Stream(req, Recording(&seen));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, StreamEnd::kComplete);
  EXPECT_FALSE(http.sink_was_set);
  EXPECT_EQ(seen.events, (std::vector<std::string>{"head:200", "whole body"}));
  EXPECT_EQ(seen.head.Header("X-H"), "v");
  EXPECT_TRUE(seen.head.body.empty());

  std::atomic<bool> stop{true};
  HttpStreamOptions o = Recording(&seen);
  o.stop = &stop;
  r = http.Stream(req, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, StreamEnd::kStopped);
}

}  // namespace
}  // namespace shardhose::aws

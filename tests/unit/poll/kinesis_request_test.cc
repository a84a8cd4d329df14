// The shared Kinesis request builder: endpoint, protocol headers, signing,
// and Call()'s classification and body_sink handling, against a fake
// HttpClient.
#include "poll/kinesis_request.h"

#include <gtest/gtest.h>

#include "poll/kinesis_api.h"

namespace shardhose::poll {
namespace {

class ScriptedHttp final : public aws::HttpClient {
 public:
  Result<aws::HttpResponse> Send(const aws::HttpRequest& req) override {
    last = req;
    last_body = std::string(req.body);
    sink_seen = req.body_sink;
    if (!answer.ok()) return answer.status();
    return *answer;
  }
  Result<aws::HttpResponse> answer = aws::HttpResponse{200, {}, "{}"};
  aws::HttpRequest last;
  std::string last_body;
  std::string* sink_seen = nullptr;
};

class KinesisRequestTest : public ::testing::Test {
 protected:
  KinesisRequestBuilder Builder(std::string endpoint_url) {
    KinesisEndpoint e;
    e.region = "eu-west-1";
    e.endpoint_url = std::move(endpoint_url);
    e.timeout = std::chrono::milliseconds(1234);
    e.connect_timeout = std::chrono::milliseconds(567);
    return KinesisRequestBuilder(e, creds_.get(), &clock_);
  }

  std::unique_ptr<aws::CredentialsProvider> creds_ =
      aws::NewStaticCredentialsProvider(aws::Credentials{"AKIDEXAMPLE", "secret", "", std::nullopt});
  SimulatedClock clock_;
};

TEST_F(KinesisRequestTest, EndpointFromRegionOrUrl) {
  EXPECT_EQ(Builder("").url(), "https://kinesis.eu-west-1.amazonaws.com/");
  EXPECT_EQ(Builder("http://localhost:4567").url(), "http://localhost:4567/");
  EXPECT_EQ(Builder("http://localhost:4567/").url(), "http://localhost:4567/");
  EXPECT_EQ(Builder("https://vpce.example/kinesis").url(), "https://vpce.example/kinesis");
}

TEST_F(KinesisRequestTest, BuildsASignedJsonProtocolPost) {
  const std::string body = R"({"StreamName":"s"})";
  auto req = Builder("http://localhost:4567").Build("ListShards", body);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url, "http://localhost:4567/");
  EXPECT_EQ(req->body, body);
  EXPECT_EQ(req->Header("X-Amz-Target"), "Kinesis_20131202.ListShards");
  EXPECT_EQ(req->Header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(req->Header("X-Amz-Date"), "20231114T221320Z");  // the simulated clock's start
  const std::string_view auth = req->Header("Authorization");
  EXPECT_EQ(auth.find("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/kinesis/aws4_request"), 0u) << auth;
  EXPECT_NE(auth.find("x-amz-target"), std::string_view::npos);  // the target is signed
  EXPECT_EQ(req->timeout, std::chrono::milliseconds(1234));
  EXPECT_EQ(req->connect_timeout, std::chrono::milliseconds(567));
}

TEST_F(KinesisRequestTest, CredentialFailuresAreReturned) {
  class NoCreds final : public aws::CredentialsProvider {
   public:
    Result<aws::Credentials> Get() override { return Status::NotFound("no credentials"); }
    std::string Describe() override { return "none"; }
  };
  NoCreds none;
  KinesisRequestBuilder b(KinesisEndpoint{}, &none, &clock_);
  EXPECT_TRUE(b.Build("ListShards", "{}").status().IsNotFound());
}

TEST_F(KinesisRequestTest, CallClassifiesAnswers) {
  ScriptedHttp http;
  auto b = Builder("");
  http.answer = aws::HttpResponse{200, {}, R"({"Shards":[]})"};
  auto ok = b.Call(&http, "ListShards", R"({"StreamName":"s"})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->body, R"({"Shards":[]})");
  EXPECT_EQ(http.last_body, R"({"StreamName":"s"})");
  EXPECT_EQ(http.last.Header("X-Amz-Target"), "Kinesis_20131202.ListShards");

  http.answer = aws::HttpResponse{400, {}, R"({"__type":"ProvisionedThroughputExceededException"})"};
  auto throttled = b.Call(&http, "GetRecords", "{}");
  EXPECT_EQ(throttled.status().retry_class(), RetryClass::kThrottled);
  EXPECT_EQ(throttled.status().peer_code(), "ProvisionedThroughputExceededException");

  http.answer = Status::Unavailable("reset").WithPeer(RetryClass::kNetwork, "");
  auto down = b.Call(&http, "GetRecords", "{}");
  EXPECT_EQ(down.status().retry_class(), RetryClass::kNetwork);
  EXPECT_NE(down.status().message().find("GetRecords"), std::string::npos);
}

TEST_F(KinesisRequestTest, CallLeavesAnAnswerInTheSink) {
  ScriptedHttp http;  // ignores body_sink: answers in the response
  auto b = Builder("");
  std::string sink;
  http.answer = aws::HttpResponse{200, {}, R"({"Records":[]})"};
  auto ok = b.Call(&http, "GetRecords", "{}", &sink);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(http.sink_seen, &sink);
  EXPECT_EQ(sink, R"({"Records":[]})");

  // An error answer in the sink is moved back to be classified.
  class SinkHttp final : public aws::HttpClient {
   public:
    Result<aws::HttpResponse> Send(const aws::HttpRequest& req) override {
      *req.body_sink = R"({"__type":"ExpiredIteratorException","message":"old"})";
      return aws::HttpResponse{400, {}, ""};
    }
  };
  SinkHttp sink_http;
  auto expired = b.Call(&sink_http, "GetRecords", "{}", &sink);
  EXPECT_EQ(expired.status().peer_code(), "ExpiredIteratorException");
}

TEST(KinesisJson, Helpers) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  w.Key("a");
  WriteJsonString(w, std::string_view("x\"y\0z", 5));
  w.EndObject();
  EXPECT_EQ(std::string(sb.GetString(), sb.GetSize()), R"({"a":"x\"y\u0000z"})");

  std::string body = R"({"s":"v\n","n":1})";
  rapidjson::Document d;
  ParseJsonInPlace(body, &d);
  ASSERT_FALSE(d.HasParseError());
  EXPECT_EQ(JsonString(d, "s"), "v\n");
  EXPECT_EQ(JsonString(d, "n"), "");
  EXPECT_EQ(JsonString(d, "missing"), "");
  EXPECT_EQ(JsonString(d["n"], "s"), "");
}

TEST(KinesisJson, EpochSecondsWithMilliseconds) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartArray();
  WriteJsonEpochSeconds(w, 1716200000123);
  WriteJsonEpochSeconds(w, 1716200000007);
  WriteJsonEpochSeconds(w, 0);
  w.EndArray();
  EXPECT_EQ(std::string(sb.GetString(), sb.GetSize()), "[1716200000.123,1716200000.007,0.000]");
}

// AT_TIMESTAMP once sent "Timestamp":} (a raw value written with length 0).
TEST_F(KinesisRequestTest, GetShardIteratorAtTimestampSendsValidJson) {
  ScriptedHttp http;
  http.answer = aws::HttpResponse{200, {}, R"({"ShardIterator":"AAAA"})"};
  KinesisOptions o;
  o.endpoint_url = "http://localhost:4567";
  auto kinesis = NewKinesisClient(o, &http, creds_.get(), &clock_);
  auto it = kinesis->GetShardIterator(StreamRef{"s", ""}, "shardId-000000000001",
                                      IteratorStart{IteratorType::kAtTimestamp, "", 1716200000123});
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  EXPECT_EQ(http.last_body, R"({"StreamName":"s","ShardId":"shardId-000000000001","ShardIteratorType":"AT_TIMESTAMP",)"
                            R"("Timestamp":1716200000.123})");
}

}  // namespace
}  // namespace shardhose::poll

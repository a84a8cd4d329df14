// The DynamoDB Streams source against a scripted HttpClient: each call's
// target and body, DescribeStream paging, the stream found through
// DescribeTable, and GetRecords pages parsed without touching the records'
// text (the decoder gets each record exactly as received).
#include "poll/dynamodb_streams_source.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>

#include "aws/credentials.h"

namespace shardhose::poll {
namespace {

constexpr const char* kArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-20T12:00:00.000";

// Answers each request with the next scripted answer; remembers them all.
class ScriptedHttp final : public aws::HttpClient {
 public:
  Result<aws::HttpResponse> Send(const aws::HttpRequest& req) override {
    const std::string target(req.Header("X-Amz-Target"));
    targets.push_back(target);
    urls.push_back(req.url);
    bodies.emplace_back(req.body);
    if (answers.empty()) return aws::HttpResponse{500, {}, "{}"};
    auto a = std::move(answers.front());
    answers.pop_front();
    return a;
  }
  void Answer(std::string body, int status = 200) { answers.push_back(aws::HttpResponse{status, {}, std::move(body)}); }

  std::deque<Result<aws::HttpResponse>> answers;
  std::vector<std::string> targets, urls, bodies;
};

class StreamsSourceTest : public ::testing::Test {
 protected:
  std::unique_ptr<ChangeSource> Source(std::string arn = kArn, std::string table = "") {
    DynamoDbStreamsOptions o;
    o.region = "eu-west-1";
    o.endpoint_url = "http://127.0.0.1:8000";
    o.dynamodb_endpoint_url = "http://127.0.0.1:8001";
    o.stream_arn = std::move(arn);
    o.table_name = std::move(table);
    return NewDynamoDbStreamsSource(o, &http_, creds_.get(), &clock_);
  }

  ScriptedHttp http_;
  std::unique_ptr<aws::CredentialsProvider> creds_ =
      aws::NewStaticCredentialsProvider(aws::Credentials{"AKID", "secret", "", std::nullopt});
  SimulatedClock clock_;
};

TEST(StreamArn, TableOfStreamArn) {
  EXPECT_EQ(TableOfStreamArn(kArn), "orders");
  EXPECT_EQ(TableOfStreamArn("arn:aws-cn:dynamodb:cn-north-1:1:table/a.b-c_d/stream/x"), "a.b-c_d");
  EXPECT_EQ(TableOfStreamArn("arn:aws:kinesis:us-east-1:1:stream/orders"), "");
  EXPECT_EQ(TableOfStreamArn("arn:aws:dynamodb:us-east-1:1:table/orders"), "");
  EXPECT_EQ(TableOfStreamArn("orders"), "");
}

TEST_F(StreamsSourceTest, DescribeAndListFollowLastEvaluatedShardId) {
  auto src = Source();
  EXPECT_EQ(src->format(), RecordFormat::kDynamoDbStreams);
  http_.Answer(R"({"StreamDescription":{"StreamArn":")" + std::string(kArn) +
               R"(","StreamStatus":"ENABLED","TableName":"orders","Shards":[]}})");
  auto d = src->Describe();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->name, "orders");
  EXPECT_EQ(d->arn, kArn);
  EXPECT_EQ(d->status, "ACTIVE");
  EXPECT_EQ(d->retention_hours, 24);
  EXPECT_EQ(http_.targets.back(), "DynamoDBStreams_20120810.DescribeStream");
  EXPECT_EQ(http_.urls.back(), "http://127.0.0.1:8000/");

  http_.Answer(R"({"StreamDescription":{"Shards":[
      {"ShardId":"shardId-1","SequenceNumberRange":{"StartingSequenceNumber":"100","EndingSequenceNumber":"200"}},
      {"ShardId":"shardId-2","ParentShardId":"shardId-1","SequenceNumberRange":{"StartingSequenceNumber":"300"}}],
      "LastEvaluatedShardId":"shardId-2"}})");
  http_.Answer(R"({"StreamDescription":{"Shards":[
      {"ShardId":"shardId-3","ParentShardId":"shardId-2","SequenceNumberRange":{"StartingSequenceNumber":"400"}}]}})");
  auto shards = src->ListShards();
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  ASSERT_EQ(shards->size(), 3u);
  EXPECT_TRUE((*shards)[0].closed());
  EXPECT_EQ((*shards)[0].ending_seq, "200");
  EXPECT_FALSE((*shards)[1].closed());
  EXPECT_EQ((*shards)[1].parent, "shardId-1");
  EXPECT_EQ((*shards)[2].parent, "shardId-2");
  EXPECT_NE(http_.bodies[1].find(R"("StreamArn":")"), std::string::npos);
  EXPECT_EQ(http_.bodies[1].find("ExclusiveStartShardId"), std::string::npos);
  EXPECT_NE(http_.bodies[2].find(R"("ExclusiveStartShardId":"shardId-2")"), std::string::npos);
}

TEST_F(StreamsSourceTest, StreamOfATableIsItsLatestStreamArnLookedUpOnce) {
  auto src = Source("", "orders");
  http_.Answer(R"({"Table":{"TableName":"orders","TableStatus":"ACTIVE","LatestStreamArn":")" + std::string(kArn) +
               R"("}})");
  http_.Answer(R"({"ShardIterator":"it-1"})");
  http_.Answer(R"({"ShardIterator":"it-2"})");
  auto it = src->GetShardIterator("shardId-1", IteratorStart{IteratorType::kAfterSequenceNumber, "123", 0});
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  EXPECT_EQ(*it, "it-1");
  EXPECT_EQ(http_.targets[0], "DynamoDB_20120810.DescribeTable");
  EXPECT_EQ(http_.urls[0], "http://127.0.0.1:8001/");
  EXPECT_EQ(http_.targets[1], "DynamoDBStreams_20120810.GetShardIterator");
  EXPECT_NE(http_.bodies[1].find(R"("ShardIteratorType":"AFTER_SEQUENCE_NUMBER","SequenceNumber":"123")"),
            std::string::npos)
      << http_.bodies[1];
  EXPECT_NE(http_.bodies[1].find(kArn), std::string::npos);
  ASSERT_TRUE(src->GetShardIterator("shardId-1", IteratorStart{}).ok());
  EXPECT_EQ(http_.targets.size(), 3u) << "DescribeTable once";
  EXPECT_NE(http_.bodies[2].find(R"("ShardIteratorType":"TRIM_HORIZON")"), std::string::npos);

  // No AT_TIMESTAMP in this API.
  auto at = src->GetShardIterator("shardId-1", IteratorStart{IteratorType::kAtTimestamp, "", 1});
  EXPECT_EQ(at.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StreamsSourceTest, ATableWithoutAStreamSaysSo) {
  auto src = Source("", "orders");
  http_.Answer(R"({"Table":{"TableName":"orders","TableStatus":"ACTIVE"}})");
  auto d = src->Describe();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kNotFound);
  EXPECT_NE(d.status().message().find("has no stream"), std::string::npos) << d.status().ToString();
}

TEST_F(StreamsSourceTest, GetRecordsClampsTheLimitAndKeepsRecordsAsReceived) {
  auto src = Source();
  const std::string rec1 =
      R"({"awsRegion":"eu-west-1","dynamodb":{"ApproximateCreationDateTime":1716200000,"Keys":{"pk":{"S":"a\"b"}},)"
      R"("SequenceNumber":"111","SizeBytes":12},"eventID":"e1","eventName":"INSERT","eventSource":"aws:dynamodb"})";
  const std::string rec2 =
      R"({ "eventID" : "e2", "eventName":"REMOVE", "dynamodb" : { "Keys":{"n":{"N":"12345678901234567890123456789012345678"}},)"
      R"( "SequenceNumber" : "222", "ApproximateCreationDateTime" : 1.7162000011E9 }, "userIdentity":{"type":"Service"} })";
  http_.Answer(R"({"NextShardIterator":"next-it","Records":[)" + rec1 + ",\n  " + rec2 + "]}");
  RecordsPage page;
  ASSERT_TRUE(src->GetRecords("it-1", 10000, &page).ok());
  EXPECT_NE(http_.bodies.back().find(R"("Limit":1000)"), std::string::npos) << http_.bodies.back();
  EXPECT_EQ(http_.targets.back(), "DynamoDBStreams_20120810.GetRecords");
  ASSERT_EQ(page.records.size(), 2u);
  EXPECT_EQ(page.records[0].data_base64, rec1);
  EXPECT_EQ(page.records[0].sequence_number, "111");
  EXPECT_EQ(page.records[0].arrival_ms, 1716200000000);
  EXPECT_EQ(page.records[1].data_base64, rec2);
  EXPECT_EQ(page.records[1].sequence_number, "222");
  EXPECT_EQ(page.records[1].arrival_ms, 1716200001100);
  EXPECT_EQ(page.records[1].partition_key, "");
  EXPECT_EQ(page.next_iterator, "next-it");
  EXPECT_EQ(page.millis_behind, -1);
  EXPECT_EQ(page.data_bytes, rec1.size() + rec2.size());
}

// The errors the reader acts on keep their codes: throttling backs off as
// throttling (pipeline/reader.cc, common/backoff.h), an expired or trimmed
// iterator is renewed, a trimmed position is a retention gap.
TEST_F(StreamsSourceTest, ErrorsAreClassifiedForTheReader) {
  auto src = Source();
  const struct {
    int status;
    const char* type;
    RetryClass want;
  } cases[] = {
      {400, "com.amazonaws.dynamodb.v20120810#LimitExceededException", RetryClass::kThrottled},
      {400, "com.amazon.coral.availability#ThrottlingException", RetryClass::kThrottled},
      {400, "com.amazonaws.dynamodb.v20120810#ExpiredIteratorException", RetryClass::kClientError},
      {400, "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException", RetryClass::kClientError},
      {500, "com.amazonaws.dynamodb.v20120810#InternalServerError", RetryClass::kServerError},
  };
  for (const auto& c : cases) {
    http_.Answer(std::string(R"({"__type":")") + c.type + R"(","message":"m"})", c.status);
    RecordsPage page;
    Status st = src->GetRecords("it-1", 100, &page);
    ASSERT_FALSE(st.ok()) << c.type;
    const std::string_view type(c.type);
    EXPECT_EQ(st.peer_code(), type.substr(type.find('#') + 1)) << c.type;
    EXPECT_EQ(st.retry_class(), c.want) << c.type << ": " << st.ToString();
  }
  http_.Answer(R"({"__type":"com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException","message":"m"})", 400);
  auto it = src->GetShardIterator("shardId-1", IteratorStart{IteratorType::kAfterSequenceNumber, "1", 0});
  EXPECT_EQ(it.status().peer_code(), "TrimmedDataAccessException");
}

TEST(ParseStreamsGetRecords, ClosedShardEndAndBadAnswers) {
  RecordsPage page;
  page.body = R"({"Records":[]})";
  ASSERT_TRUE(ParseStreamsGetRecords(&page).ok());
  EXPECT_TRUE(page.records.empty());
  EXPECT_EQ(page.next_iterator, "") << "a closed shard read to its end";

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "not JSON"},
      {R"({"NextShardIterator":"x"})", "no Records"},
      {R"({"Records":[1]})", "not an object"},
      {R"({"Records":["x"]})", "not an object"},
      {R"({"Records":[[]]})", "not an object"},
      {R"({"Records":[{"dynamodb":{}}]})", "without dynamodb.SequenceNumber"},
      {R"({"Records":[{"dynamodb":{"SequenceNumber":"1\u0032"}}]})", "not a plain string"},
      {R"({"Records":[{"SequenceNumber":"1"}]})", "without dynamodb.SequenceNumber"},
  };
  for (const auto& [body, want] : bad) {
    page.body = body;
    Status st = ParseStreamsGetRecords(&page);
    EXPECT_EQ(st.code(), StatusCode::kInternal) << body;
    EXPECT_NE(st.message().find(want), std::string::npos) << body << ": " << st.ToString();
  }
  // Nested SequenceNumber keys elsewhere do not count; the record's own does.
  page.body = R"({"Records":[{"dynamodb":{"NewImage":{"SequenceNumber":{"S":"9"}},"SequenceNumber":"7"}}]})";
  ASSERT_TRUE(ParseStreamsGetRecords(&page).ok());
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].sequence_number, "7");
}

}  // namespace
}  // namespace shardhose::poll

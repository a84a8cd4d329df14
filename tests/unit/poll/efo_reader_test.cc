// The enhanced fan-out reader: its iterators, events, queue, and the
// client as a whole against a fake HttpClient (SubscribeToShard answers
// scripted as event-stream bytes) and a fake polling client. No sockets.
#include "poll/efo_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace shardhose::poll {
namespace {

TEST(EfoIterator, RoundTripsEveryStart) {
  const std::vector<IteratorStart> starts = {
      {IteratorType::kTrimHorizon, "", 0},
      {IteratorType::kLatest, "", 0},
      {IteratorType::kAtTimestamp, "", 1716200000123},
      {IteratorType::kAfterSequenceNumber, "49680476149699778201539733603476564820055367867716075522", 0},
      {IteratorType::kAtSequenceNumber, "4968001", 0}};
  for (const auto& s : starts) {
    const std::string it = EncodeEfoIterator("shardId-000000000007", s);
    std::string shard;
    IteratorStart got;
    ASSERT_TRUE(DecodeEfoIterator(it, &shard, &got).ok()) << it;
    EXPECT_EQ(shard, "shardId-000000000007");
    EXPECT_EQ(got.type, s.type) << it;
    EXPECT_EQ(got.sequence, s.sequence) << it;
    EXPECT_EQ(got.timestamp_ms, s.timestamp_ms) << it;
  }
}

TEST(EfoIterator, RejectsForeignIterators) {
  std::string shard;
  IteratorStart got;
  for (const char* it : {"", "AAAAAAAAAAE=", "efo|", "efo||TRIM_HORIZON|", "efo|s|NOPE|", "efo|s|TRIM_HORIZON|x",
                         "efo|s|AFTER_SEQUENCE_NUMBER|", "efo|s|AT_TIMESTAMP|12a", "efo|s"}) {
    EXPECT_TRUE(DecodeEfoIterator(it, &shard, &got).IsInvalidArgument()) << it;
  }
}

EventMessage Event(std::string type, std::string payload, std::string message_type = "event") {
  EventMessage m;
  auto str = [](std::string name, std::string value) {
    EventHeader h;
    h.name = std::move(name);
    h.type = EventHeaderType::kString;
    h.bytes = std::move(value);
    return h;
  };
  m.headers.push_back(str(":message-type", message_type));
  if (message_type == "exception") {
    m.headers.push_back(str(":exception-type", type));
  } else {
    m.headers.push_back(str(":event-type", type));
  }
  m.headers.push_back(str(":content-type", "application/json"));
  m.payload = std::move(payload);
  return m;
}

TEST(EfoEvent, SubscribeToShardEventBecomesAPage) {
  RecordsPage page;
  auto r = PageFromEvent(Event("SubscribeToShardEvent",
                               R"({"Records":[{"ApproximateArrivalTimestamp":1795396413.226,"Data":"aGVsbG8=",)"
                               R"("EncryptionType":"NONE","PartitionKey":"a","SequenceNumber":"4968001"}],)"
                               R"("ContinuationSequenceNumber":"4968001","MillisBehindLatest":7,"ChildShards":null})"),
                         &page);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].data_base64, "aGVsbG8=");
  EXPECT_EQ(page.records[0].sequence_number, "4968001");
  EXPECT_EQ(page.records[0].arrival_ms, 1795396413226);
  EXPECT_EQ(page.continuation_seq, "4968001");
  EXPECT_EQ(page.millis_behind, 7);
  EXPECT_TRUE(page.child_shards.empty());
}

TEST(EfoEvent, ClosedShardHasNoContinuation) {
  RecordsPage page;
  page.continuation_seq = "stale";
  auto r =
      PageFromEvent(Event("SubscribeToShardEvent",
                          R"({"Records":[],"MillisBehindLatest":0,"ChildShards":[{"ShardId":"shardId-000000000002",)"
                          R"("ParentShards":["shardId-000000000000"],"HashKeyRange":{}}]})"),
                    &page);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(page.continuation_seq, "");
  ASSERT_EQ(page.child_shards.size(), 1u);
  EXPECT_EQ(page.child_shards[0].parent, "shardId-000000000000");
}

TEST(EfoEvent, InitialResponseIsSkipped) {
  RecordsPage page;
  auto r = PageFromEvent(Event("initial-response", "{}"), &page);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(EfoEvent, ExceptionsAreClassified) {
  RecordsPage page;
  auto inuse =
      PageFromEvent(Event("ResourceInUseException", R"({"message":"another subscription"})", "exception"), &page);
  ASSERT_FALSE(inuse.ok());
  EXPECT_EQ(inuse.status().peer_code(), "ResourceInUseException");
  // A fast restart's leftover subscription: transient, backed off like throttling.
  EXPECT_TRUE(inuse.status().IsUnavailable());
  EXPECT_EQ(inuse.status().retry_class(), RetryClass::kThrottled);
  auto limit = PageFromEvent(Event("LimitExceededException", R"({"message":"slow down"})", "exception"), &page);
  ASSERT_FALSE(limit.ok());
  EXPECT_EQ(limit.status().retry_class(), RetryClass::kThrottled);
  auto internal = PageFromEvent(Event("InternalFailure", "{}", "exception"), &page);
  ASSERT_FALSE(internal.ok());
  EXPECT_EQ(internal.status().peer_code(), "InternalFailure");
  EXPECT_TRUE(PageFromEvent(Event("Surprise", "{}"), &page).status().IsCorruption());
  EXPECT_FALSE(PageFromEvent(Event("SubscribeToShardEvent", "not json"), &page).ok());
}

std::unique_ptr<RecordsPage> EventPage(int records, int64_t millis_behind, std::string continuation = "4968009") {
  auto page = std::make_unique<RecordsPage>();
  page->records.resize(static_cast<size_t>(records));
  page->millis_behind = millis_behind;
  page->continuation_seq = std::move(continuation);
  return page;
}

constexpr std::chrono::milliseconds kWait{200};

// Takes once; *waited is how long Take blocked.
EfoEventQueue::Took TakeTimed(EfoEventQueue& q, RecordsPage* page, Status* error, std::chrono::milliseconds* waited) {
  const auto start = std::chrono::steady_clock::now();
  const auto took = q.Take(kWait, page, error);
  *waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return took;
}

TEST(EfoEventQueue, WaitsForTheFirstEvent) {
  EfoEventQueue q(8);
  RecordsPage page;
  Status error;
  std::chrono::milliseconds waited;
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kNothing);
  EXPECT_GE(waited, kWait);
  EXPECT_TRUE(error.ok());
}

// The drain hang: at the tip, an empty queue must answer at once (a caught-up
// page) instead of holding the poller for wait_for_event, or shards whose
// pushes arrive at staggered phases leave the pipeline no moment with no
// GetRecords in flight.
TEST(EfoEventQueue, AtTheTipAnswersAtOnceUntilTheNextEvent) {
  EfoEventQueue q(8);
  RecordsPage page;
  Status error;
  std::chrono::milliseconds waited;
  ASSERT_TRUE(q.Push(EventPage(0, 0)));
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kPage);
  EXPECT_EQ(page.millis_behind, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kAtTip);
    EXPECT_LT(waited, kWait / 2);
  }
  // New records are pushed: taken next, and no longer at the tip.
  ASSERT_TRUE(q.Push(EventPage(2, 0)));
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kPage);
  EXPECT_EQ(page.records.size(), 2u);
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kNothing);
  EXPECT_GE(waited, kWait);
}

TEST(EfoEventQueue, BehindOrClosedIsNotTheTip) {
  EfoEventQueue q(8);
  RecordsPage page;
  Status error;
  std::chrono::milliseconds waited;
  ASSERT_TRUE(q.Push(EventPage(0, 1500)));  // empty but behind
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kPage);
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kNothing);
  ASSERT_TRUE(q.Push(EventPage(0, 0, "")));  // the end of a closed shard
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kPage);
  EXPECT_EQ(TakeTimed(q, &page, &error, &waited), EfoEventQueue::Took::kNothing);
}

TEST(EfoEventQueue, AnEndedSubscriptionIsReportedEvenAtTheTip) {
  EfoEventQueue q(8);
  RecordsPage page;
  Status error;
  ASSERT_TRUE(q.Push(EventPage(0, 0)));
  q.Finish(Status::Unavailable("reset").WithPeer(RetryClass::kNetwork, ""));
  EXPECT_FALSE(q.ended());  // one page still queued
  EXPECT_EQ(q.Take(kWait, &page, &error), EfoEventQueue::Took::kPage);
  EXPECT_TRUE(q.ended());
  EXPECT_EQ(q.Take(kWait, &page, &error), EfoEventQueue::Took::kEnded);
  EXPECT_TRUE(error.IsUnavailable());

  EfoEventQueue clean(8);
  clean.Finish(Status::OK());  // the server ended it: still an error to the reader, who resubscribes
  EXPECT_EQ(clean.Take(kWait, &page, &error), EfoEventQueue::Took::kEnded);
  EXPECT_EQ(error.retry_class(), RetryClass::kNetwork);
}

TEST(EfoEventQueue, StopReleasesABlockedPush) {
  EfoEventQueue q(1);
  ASSERT_TRUE(q.Push(EventPage(1, 0)));
  bool pushed = true;
  std::thread t([&] { pushed = q.Push(EventPage(1, 0)); });
  EXPECT_FALSE(q.WaitForStop(std::chrono::milliseconds(50)));
  q.Stop();
  t.join();
  EXPECT_FALSE(pushed);
  EXPECT_TRUE(q.stopped());
  EXPECT_TRUE(q.WaitForStop(std::chrono::milliseconds(0)));
}

// ---- The client, against fakes ----

constexpr char kStreamArn[] = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
constexpr char kConsumerArn[] = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/lake:1";
constexpr char kShard[] = "shardId-000000000000";

// One scripted SubscribeToShard answer.
struct Answer {
  int status = 200;
  std::string body;   // delivered after the head
  size_t piece = 0;   // in pieces of this many bytes; 0 = at once
  Status error;       // then returned (a network error), instead of the end
  bool hold = false;  // then no more bytes until the stream is stopped
};

// What the reader asked of the transport for one SubscribeToShard.
struct StreamCall {
  aws::HttpRequest request;  // body: a view into `body`
  std::string body;
  aws::HttpStreamOptions options;
};

// Kinesis behind the HttpClient seam: Register/DescribeStreamConsumer
// through Send(), SubscribeToShard through Stream() with scripted answers
// (none left: an answer that holds until stopped, a live subscription).
class FakeKinesisHttp final : public aws::HttpClient {
 public:
  Result<aws::HttpResponse> Send(const aws::HttpRequest& req) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string op(req.Header("X-Amz-Target"));
    sent_.push_back(op);
    aws::HttpResponse resp;
    resp.status = 200;
    if (op == "Kinesis_20131202.DescribeStreamConsumer") {
      if (!registered_) {
        resp.status = 400;
        resp.body = R"({"__type":"ResourceNotFoundException","message":"no consumer"})";
      } else {
        const bool creating = creating_left_ > 0;
        if (creating) --creating_left_;
        resp.body = std::string(R"({"ConsumerDescription":{"ConsumerARN":")") + kConsumerArn +
                    R"(","ConsumerStatus":")" + (creating ? "CREATING" : "ACTIVE") + R"("}})";
      }
    } else if (op == "Kinesis_20131202.RegisterStreamConsumer") {
      registered_ = true;
      resp.body = "{}";
    } else {
      resp.status = 400;
      resp.body = R"({"__type":"UnknownOperationException"})";
    }
    return resp;
  }

  Result<aws::StreamEnd> Stream(const aws::HttpRequest& req, const aws::HttpStreamOptions& o) override {
    Answer a;
    {
      std::lock_guard<std::mutex> lock(mu_);
      StreamCall call{req, std::string(req.body), o};
      call.request.body = {};
      streams_.push_back(std::move(call));
      if (answers_.empty()) {
        a.hold = true;
      } else {
        a = std::move(answers_.front());
        answers_.erase(answers_.begin());
      }
    }
    aws::HttpResponse head;
    head.status = a.status;
    if (o.on_head && !o.on_head(head)) return aws::StreamEnd::kStopped;
    const size_t piece = a.piece == 0 ? std::max<size_t>(a.body.size(), 1) : a.piece;
    for (size_t at = 0; at < a.body.size(); at += piece) {
      if (!o.on_body(std::string_view(a.body).substr(at, piece))) return aws::StreamEnd::kStopped;
    }
    if (!a.error.ok()) return a.error;
    if (!a.hold) return aws::StreamEnd::kComplete;
    while (o.stop == nullptr || !o.stop->load()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return aws::StreamEnd::kStopped;
  }

  // The next `n` DescribeStreamConsumer answers say CREATING.
  void CreatingFor(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    creating_left_ = n;
  }

  void Script(Answer a) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.push_back(std::move(a));
  }
  std::vector<std::string> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  std::vector<StreamCall> streams() {
    std::lock_guard<std::mutex> lock(mu_);
    return streams_;
  }
  // Waits (up to 10 s) until `n` streams were asked for.
  bool WaitForStreams(size_t n) {
    for (int i = 0; i < 5000; ++i) {
      if (streams().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

 private:
  std::mutex mu_;
  bool registered_ = false;          // guarded by mu_
  int creating_left_ = 0;            // guarded by mu_
  std::vector<std::string> sent_;    // guarded by mu_
  std::vector<Answer> answers_;      // guarded by mu_
  std::vector<StreamCall> streams_;  // guarded by mu_
};

// The polling client the reader decorates.
class FakePolling final : public KinesisClient {
 public:
  Result<StreamSummary> DescribeStreamSummary(const StreamRef&) override {
    StreamSummary s;
    s.name = "s";
    s.arn = kStreamArn;
    s.status = "ACTIVE";
    return s;
  }
  Result<std::vector<ShardInfo>> ListShards(const StreamRef&) override { return std::vector<ShardInfo>{}; }
  Result<std::string> GetShardIterator(const StreamRef&, const std::string& shard_id,
                                       const IteratorStart& start) override {
    return "polled|" + shard_id + "|" + std::string(IteratorTypeName(start.type));
  }
  Status GetRecords(const StreamRef&, const std::string& iterator, int limit, RecordsPage* page) override {
    polled.push_back(iterator + "|" + std::to_string(limit));
    page->next_iterator = "polled-next";
    return Status::OK();
  }
  std::vector<std::string> polled;
};

std::string Wire(const EventMessage& m) { return EncodeEventMessage(m); }

std::string RecordsEvent(const std::string& seq, const std::string& continuation, int64_t behind = 0) {
  std::string payload = R"({"Records":[{"ApproximateArrivalTimestamp":1716200000.5,"Data":"aGVsbG8=",)"
                        R"("PartitionKey":"a","SequenceNumber":")" +
                        seq + R"("}],)";
  if (!continuation.empty()) payload += R"("ContinuationSequenceNumber":")" + continuation + R"(",)";
  payload += R"("MillisBehindLatest":)" + std::to_string(behind) + "}";
  return Wire(Event("SubscribeToShardEvent", payload));
}

class EfoClientTest : public ::testing::Test {
 protected:
  EfoClientTest() {
    EfoOptions o;
    o.region = "eu-west-1";
    o.endpoint_url = "http://kinesis.local:4567";
    o.consumer_name = "lake";
    o.wait_for_event = std::chrono::seconds(10);  // returns as soon as there is something
    o.stall_timeout = std::chrono::seconds(42);
    options_ = o;
    efo_ = NewEfoKinesisClient(o, &polling_, &http_, creds_.get(), &clock_);
  }

  std::string Iterator(IteratorType type, std::string seq = "") {
    return EncodeEfoIterator(kShard, IteratorStart{type, std::move(seq), 0});
  }

  EfoOptions options_;
  FakeKinesisHttp http_;
  FakePolling polling_;
  std::unique_ptr<aws::CredentialsProvider> creds_ =
      aws::NewStaticCredentialsProvider(aws::Credentials{"AKIDEXAMPLE", "secret", "", std::nullopt});
  SimulatedClock clock_;
  // Last: destroyed first, stopping its subscriptions while the fakes live.
  std::unique_ptr<KinesisClient> efo_;
};

TEST_F(EfoClientTest, RegistersTheConsumerAndReadsEventsAsTheyArrive) {
  Answer a;
  a.body = Wire(Event("initial-response", "{}")) + RecordsEvent("101", "101", 500) + RecordsEvent("102", "102");
  a.piece = 7;  // events split anywhere
  a.hold = true;
  http_.Script(a);

  const StreamRef stream{"s", ""};
  RecordsPage page;
  ASSERT_TRUE(efo_->GetRecords(stream, Iterator(IteratorType::kTrimHorizon), 10000, &page).ok());
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].sequence_number, "101");
  EXPECT_EQ(page.records[0].data_base64, "aGVsbG8=");
  EXPECT_EQ(page.millis_behind, 500);
  EXPECT_EQ(page.next_iterator, Iterator(IteratorType::kAfterSequenceNumber, "101"));
  ASSERT_TRUE(efo_->GetRecords(stream, page.next_iterator, 10000, &page).ok());
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].sequence_number, "102");
  EXPECT_EQ(page.next_iterator, Iterator(IteratorType::kAfterSequenceNumber, "102"));

  // The consumer was looked up, registered, and looked up again.
  EXPECT_EQ(http_.sent(), (std::vector<std::string>{"Kinesis_20131202.DescribeStreamConsumer",
                                                    "Kinesis_20131202.RegisterStreamConsumer",
                                                    "Kinesis_20131202.DescribeStreamConsumer"}));
  // One subscription, asked for as Kinesis wants it.
  auto calls = http_.streams();
  ASSERT_EQ(calls.size(), 1u);
  const StreamCall& c = calls[0];
  EXPECT_EQ(c.request.method, "POST");
  EXPECT_EQ(c.request.url, "http://kinesis.local:4567/");
  EXPECT_EQ(c.request.Header("X-Amz-Target"), "Kinesis_20131202.SubscribeToShard");
  EXPECT_EQ(c.request.Header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_NE(c.request.Header("Authorization").find("/eu-west-1/kinesis/aws4_request"), std::string_view::npos);
  EXPECT_EQ(c.body, std::string(R"({"ConsumerARN":")") + kConsumerArn + R"(","ShardId":")" + kShard +
                        R"(","StartingPosition":{"Type":"TRIM_HORIZON"}})");
  EXPECT_EQ(c.request.timeout, std::chrono::milliseconds(0));  // a subscription lasts 5 minutes
  EXPECT_EQ(c.request.connect_timeout, options_.connect_timeout);
  EXPECT_TRUE(c.options.http2);
  EXPECT_EQ(c.options.stall_timeout, std::chrono::seconds(42));
  EXPECT_NE(c.options.stop, nullptr);
}

// A consumer still CREATING is asked again every 250 ms of the clock's time
// (not the machine's) until consumer_active_timeout.
TEST_F(EfoClientTest, WaitsOnTheClockForTheConsumerToBecomeActive) {
  clock_.SetAutoAdvance(true);
  ClockParticipant participant(&clock_);
  Answer a;
  a.body = RecordsEvent("101", "101");
  a.hold = true;
  http_.Script(a);
  http_.CreatingFor(3);
  const MonoTime start = clock_.Now();
  RecordsPage page;
  ASSERT_TRUE(efo_->GetRecords(StreamRef{"s", ""}, Iterator(IteratorType::kTrimHorizon), 10000, &page).ok());
  EXPECT_EQ(page.records.size(), 1u);
  EXPECT_GE(clock_.Now() - start, std::chrono::milliseconds(750));
}

TEST_F(EfoClientTest, AConsumerNeverActiveIsUnavailableAfterTheTimeout) {
  clock_.SetAutoAdvance(true);
  ClockParticipant participant(&clock_);
  http_.CreatingFor(1000000);
  const MonoTime start = clock_.Now();
  RecordsPage page;
  Status st = efo_->GetRecords(StreamRef{"s", ""}, Iterator(IteratorType::kTrimHorizon), 10000, &page);
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  EXPECT_NE(st.message().find("CREATING"), std::string::npos) << st.ToString();
  EXPECT_GE(clock_.Now() - start, options_.consumer_active_timeout);
}

TEST_F(EfoClientTest, ResubscribesAfterTheLastContinuationWhenTheServerEndsTheStream) {
  Answer first;
  first.body = RecordsEvent("201", "201");  // then the server ends it (5 minutes on AWS)
  http_.Script(first);
  Answer second;
  second.body = RecordsEvent("202", "202");
  second.hold = true;
  http_.Script(second);

  const StreamRef stream{"", kStreamArn};
  RecordsPage page;
  ASSERT_TRUE(efo_->GetRecords(stream, Iterator(IteratorType::kLatest), 10000, &page).ok());
  EXPECT_EQ(page.records[0].sequence_number, "201");
  ASSERT_TRUE(efo_->GetRecords(stream, page.next_iterator, 10000, &page).ok());
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].sequence_number, "202");
  auto calls = http_.streams();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_NE(calls[0].body.find(R"("StartingPosition":{"Type":"LATEST"})"), std::string::npos);
  EXPECT_NE(calls[1].body.find(R"("StartingPosition":{"Type":"AFTER_SEQUENCE_NUMBER","SequenceNumber":"201"})"),
            std::string::npos);
}

TEST_F(EfoClientTest, AnErrorAnswerIsClassifiedAndTheNextCallResubscribes) {
  Answer in_use;
  in_use.status = 400;
  in_use.body = R"({"__type":"ResourceInUseException","message":"another subscription"})";
  in_use.piece = 5;
  http_.Script(in_use);
  Answer limit;
  limit.status = 400;
  limit.body = R"({"__type":"LimitExceededException","message":"slow down"})";
  http_.Script(limit);
  Answer ok;
  ok.body = RecordsEvent("301", "301");
  ok.hold = true;
  http_.Script(ok);

  const StreamRef stream{"", kStreamArn};
  const std::string it = Iterator(IteratorType::kAtSequenceNumber, "300");
  RecordsPage page;
  Status st = efo_->GetRecords(stream, it, 10000, &page);
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  EXPECT_EQ(st.retry_class(), RetryClass::kThrottled);
  EXPECT_EQ(st.peer_code(), "ResourceInUseException");
  st = efo_->GetRecords(stream, it, 10000, &page);
  EXPECT_EQ(st.retry_class(), RetryClass::kThrottled) << st.ToString();
  EXPECT_EQ(st.peer_code(), "LimitExceededException");
  ASSERT_TRUE(efo_->GetRecords(stream, it, 10000, &page).ok());
  EXPECT_EQ(page.records[0].sequence_number, "301");
  auto calls = http_.streams();
  ASSERT_EQ(calls.size(), 3u);
  for (const auto& c : calls) {
    EXPECT_NE(c.body.find(R"({"Type":"AT_SEQUENCE_NUMBER","SequenceNumber":"300"})"), std::string::npos);
  }
}

TEST_F(EfoClientTest, NetworkErrorsAndCutMessagesAreNetworkErrors) {
  Answer reset;
  reset.error = Status::Unavailable("connection reset").WithPeer(RetryClass::kNetwork, "");
  http_.Script(reset);
  Answer cut;
  const std::string event = RecordsEvent("402", "402");
  cut.body = event.substr(0, event.size() - 3);  // then the server ends the stream
  http_.Script(cut);
  Answer bad_crc;
  bad_crc.body = event;
  bad_crc.body.back() ^= 1;
  http_.Script(bad_crc);

  const StreamRef stream{"", kStreamArn};
  const std::string it = Iterator(IteratorType::kTrimHorizon);
  RecordsPage page;
  Status st = efo_->GetRecords(stream, it, 10000, &page);
  EXPECT_EQ(st.retry_class(), RetryClass::kNetwork) << st.ToString();
  EXPECT_NE(st.message().find("connection reset"), std::string::npos);
  // Each retry resubscribes from the same place.
  st = efo_->GetRecords(stream, it, 10000, &page);
  EXPECT_EQ(st.retry_class(), RetryClass::kNetwork) << st.ToString();
  EXPECT_NE(st.message().find("inside a message"), std::string::npos);
  st = efo_->GetRecords(stream, it, 10000, &page);
  EXPECT_EQ(st.retry_class(), RetryClass::kNetwork) << st.ToString();
  EXPECT_NE(st.message().find("SubscribeToShard"), std::string::npos);
  auto calls = http_.streams();
  ASSERT_EQ(calls.size(), 3u);
  for (const auto& c : calls) EXPECT_NE(c.body.find(R"({"Type":"TRIM_HORIZON"})"), std::string::npos);
}

TEST_F(EfoClientTest, SubscribesAtATimestamp) {
  Answer a;
  a.body = RecordsEvent("601", "601");
  a.hold = true;
  http_.Script(a);
  RecordsPage page;
  const std::string it = EncodeEfoIterator(kShard, IteratorStart{IteratorType::kAtTimestamp, "", 1716200000123});
  ASSERT_TRUE(efo_->GetRecords(StreamRef{"", kStreamArn}, it, 10000, &page).ok());
  auto calls = http_.streams();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_NE(calls[0].body.find(R"("StartingPosition":{"Type":"AT_TIMESTAMP","Timestamp":1716200000.123}})"),
            std::string::npos)
      << calls[0].body;
}

TEST_F(EfoClientTest, TheShardsEndPassesChildShardsOn) {
  Answer end;
  end.body = Wire(Event("SubscribeToShardEvent",
                        R"({"Records":[],"MillisBehindLatest":0,"ChildShards":[{"ShardId":"shardId-000000000002",)"
                        R"("ParentShards":["shardId-000000000000"],"HashKeyRange":{}}]})"));
  http_.Script(end);
  RecordsPage page;
  ASSERT_TRUE(efo_->GetRecords(StreamRef{"", kStreamArn}, Iterator(IteratorType::kTrimHorizon), 10000, &page).ok());
  EXPECT_EQ(page.next_iterator, "");
  ASSERT_EQ(page.child_shards.size(), 1u);
  EXPECT_EQ(page.child_shards[0].id, "shardId-000000000002");
  EXPECT_EQ(http_.streams().size(), 1u);  // no resubscription after the end
}

TEST_F(EfoClientTest, AnotherIteratorStopsTheLiveSubscriptionAndStartsWhereItSays) {
  Answer live;
  live.body = RecordsEvent("501", "501");
  live.hold = true;  // until stopped
  http_.Script(live);
  const StreamRef stream{"", kStreamArn};
  RecordsPage page;
  ASSERT_TRUE(efo_->GetRecords(stream, Iterator(IteratorType::kTrimHorizon), 10000, &page).ok());
  // A restart from a checkpoint: not the iterator the subscription expects.
  Answer from_checkpoint;
  from_checkpoint.body = RecordsEvent("777", "777");
  from_checkpoint.hold = true;
  http_.Script(from_checkpoint);
  ASSERT_TRUE(efo_->GetRecords(stream, Iterator(IteratorType::kAfterSequenceNumber, "776"), 10000, &page).ok());
  EXPECT_EQ(page.records[0].sequence_number, "777");
  auto calls = http_.streams();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_NE(calls[1].body.find(R"("SequenceNumber":"776")"), std::string::npos);
}

TEST_F(EfoClientTest, AnIdleSubscriptionIsStoppedOnDestruction) {
  RecordsPage page;
  EfoOptions o = options_;
  o.wait_for_event = std::chrono::milliseconds(50);
  auto efo = NewEfoKinesisClient(o, &polling_, &http_, creds_.get(), &clock_);
  ASSERT_TRUE(efo->GetRecords(StreamRef{"", kStreamArn}, Iterator(IteratorType::kTrimHorizon), 10000, &page).ok());
  EXPECT_TRUE(page.records.empty());
  EXPECT_EQ(page.millis_behind, -1);  // nothing yet: not known to be caught up
  ASSERT_TRUE(http_.WaitForStreams(1));
  efo.reset();  // joins the subscription thread, which waits for bytes
}

TEST_F(EfoClientTest, TheTrimHorizonProbeGoesToThePollingClient) {
  RecordsPage page;
  ASSERT_TRUE(efo_->GetRecords(StreamRef{"", kStreamArn}, Iterator(IteratorType::kTrimHorizon), 1, &page).ok());
  EXPECT_EQ(polling_.polled, std::vector<std::string>{std::string("polled|") + kShard + "|TRIM_HORIZON|1"});
  EXPECT_EQ(page.next_iterator, "polled-next");
  EXPECT_TRUE(http_.streams().empty());
  EXPECT_TRUE(http_.sent().empty());
}

}  // namespace
}  // namespace shardhose::poll

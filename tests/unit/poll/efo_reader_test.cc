#include "poll/efo_reader.h"

#include <gtest/gtest.h>

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
  auto r = PageFromEvent(Event("SubscribeToShardEvent",
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
  auto inuse = PageFromEvent(Event("ResourceInUseException", R"({"message":"another subscription"})", "exception"),
                             &page);
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

}  // namespace
}  // namespace shardhose::poll

#include <gtest/gtest.h>

#include "poll/kinesis_client.h"

namespace shardhose::poll {
namespace {

TEST(GetRecords, ParsesRecordsInPlace) {
  RecordsPage page;
  page.body = R"({"Records":[
    {"Data":"eyJhIjoxfQ==","PartitionKey":"k1","SequenceNumber":"4968001","ApproximateArrivalTimestamp":1716200000.123},
    {"Data":"e30=","PartitionKey":"k\u00e92","SequenceNumber":"4968002","ApproximateArrivalTimestamp":1716200001}],
    "NextShardIterator":"AAAA","MillisBehindLatest":1500})";
  ASSERT_TRUE(ParseGetRecords(&page).ok());
  ASSERT_EQ(page.records.size(), 2u);
  EXPECT_EQ(page.records[0].data_base64, "eyJhIjoxfQ==");
  EXPECT_EQ(page.records[0].sequence_number, "4968001");
  EXPECT_EQ(page.records[0].arrival_ms, 1716200000123);
  EXPECT_EQ(page.records[1].partition_key,
            "k\xc3\xa9"
            "2");
  EXPECT_EQ(page.next_iterator, "AAAA");
  EXPECT_EQ(page.millis_behind, 1500);
  EXPECT_TRUE(page.child_shards.empty());
}

TEST(GetRecords, ClosedShardWithChildren) {
  RecordsPage page;
  page.body = R"({"Records":[],"MillisBehindLatest":0,"ChildShards":[
    {"ShardId":"shardId-000000000004","ParentShards":["shardId-000000000001","shardId-000000000002"],
     "HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"}}]})";
  ASSERT_TRUE(ParseGetRecords(&page).ok());
  EXPECT_TRUE(page.records.empty());
  EXPECT_EQ(page.next_iterator, "");
  ASSERT_EQ(page.child_shards.size(), 1u);
  EXPECT_EQ(page.child_shards[0].id, "shardId-000000000004");
  EXPECT_EQ(page.child_shards[0].parent, "shardId-000000000001");
  EXPECT_EQ(page.child_shards[0].adjacent_parent, "shardId-000000000002");
}

TEST(GetRecords, RejectsGarbage) {
  for (const char* body : {"", "not json", "[]", R"({"Records":5})", R"({"Records":[{"Data":"e30="}]})"}) {
    RecordsPage page;
    page.body = body;
    EXPECT_FALSE(ParseGetRecords(&page).ok()) << body;
  }
}

// The reading is a SAX handler; it answers as a DOM read with FindMember
// did (tests/fuzz/get_records_fuzz.cc holds it to that): a member named
// twice counts once, its first occurrence, even when that one has the wrong
// type; unknown members and nested values are skipped whatever they hold.
TEST(GetRecords, FirstOccurrenceOfAMemberCounts) {
  RecordsPage page;
  page.body = R"({"X":{"Records":[1]},"Records":[
    {"SequenceNumber":"1","SequenceNumber":"2","Data":7,"Data":"e30=","Extra":[{"SequenceNumber":"9"}],
     "ApproximateArrivalTimestamp":"1","ApproximateArrivalTimestamp":2}],
    "Records":5,"NextShardIterator":"A","NextShardIterator":"B","MillisBehindLatest":1.5,"MillisBehindLatest":7,
    "ChildShards":[5,{"ShardId":"c","ParentShards":[1,"p2","p3"]},{"ShardId":""}]})";
  ASSERT_TRUE(ParseGetRecords(&page).ok());
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].sequence_number, "1");
  EXPECT_EQ(page.records[0].data_base64, "");  // the first Data is a number
  EXPECT_EQ(page.records[0].arrival_ms, 0);    // the first timestamp is a string
  EXPECT_EQ(page.next_iterator, "A");
  EXPECT_EQ(page.millis_behind, 0);  // the first is not an integer
  ASSERT_EQ(page.child_shards.size(), 1u);
  EXPECT_EQ(page.child_shards[0].id, "c");
  EXPECT_EQ(page.child_shards[0].parent, "");  // not a string
  EXPECT_EQ(page.child_shards[0].adjacent_parent, "p2");
}

// Errors come in the DOM reading's order: not JSON before no Records before
// the first bad record.
TEST(GetRecords, ErrorsInOrder) {
  auto error = [](const char* body) {
    RecordsPage page;
    page.body = body;
    return ParseGetRecords(&page).message();
  };
  EXPECT_EQ(error(R"({"Records":[5]} x)"), "GetRecords: answer is not JSON");
  EXPECT_EQ(error(R"({"Records":{}})"), "GetRecords: answer has no Records");
  EXPECT_EQ(error(R"({"Records":[{"Data":"x"},5]})"), "GetRecords: record without SequenceNumber");
  EXPECT_EQ(error(R"({"Records":[[],{"Data":"x"}]})"), "GetRecords: record is not an object");
  EXPECT_EQ(error(R"({"Records":[{"SequenceNumber":"1","MillisBehindLatest":{"a":[1,2,{"b":3}]}}],
                     "MillisBehindLatest":9223372036854775808})"),
            "");
}

}  // namespace
}  // namespace shardhose::poll

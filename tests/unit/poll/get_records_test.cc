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

}  // namespace
}  // namespace shardhose::poll

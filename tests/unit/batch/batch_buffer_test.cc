#include "batch/batch_buffer.h"

#include <gtest/gtest.h>

namespace shardhose::batch {
namespace {

using std::chrono::seconds;

std::string Line(size_t n) { return std::string(n - 1, 'x') + "\n"; }

TEST(BatchBuffer, OneBatchPerPartitionWithShardSpans) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  uint64_t a = buf.Append("p/a/", "1\n", "shard-1", "10", clock.Now(), &sealed);
  uint64_t b = buf.Append("p/b/", "2\n", "shard-1", "11", clock.Now(), &sealed);
  EXPECT_EQ(buf.Append("p/a/", "3\n", "shard-2", "5", clock.Now(), &sealed), a);
  EXPECT_EQ(buf.Append("p/a/", "4\n", "shard-1", "12", clock.Now(), &sealed), a);
  EXPECT_NE(a, b);
  EXPECT_TRUE(sealed.empty());
  EXPECT_EQ(buf.open_batches(), 2u);
  EXPECT_EQ(buf.open_bytes(), 8u);

  buf.SealAll(FlushCause::kShutdown, &sealed);
  ASSERT_EQ(sealed.size(), 2u);
  const SealedBatch& pa = sealed[0].partition == "p/a/" ? sealed[0] : sealed[1];
  EXPECT_EQ(pa.body, "1\n4\n3\n");  // grouped by shard, canonical
  EXPECT_EQ(pa.records, 3u);
  EXPECT_EQ(pa.bytes, 6u);
  EXPECT_EQ(pa.cause, FlushCause::kShutdown);
  ASSERT_EQ(pa.shards.size(), 2u);
  EXPECT_EQ(pa.shards.at("shard-1").first_seq, "10");
  EXPECT_EQ(pa.shards.at("shard-1").last_seq, "12");
  EXPECT_EQ(pa.shards.at("shard-1").records, 2u);
  EXPECT_EQ(pa.shards.at("shard-2").first_seq, "5");
  EXPECT_EQ(buf.open_bytes(), 0u);
}

TEST(BatchBuffer, SizeCutsBeforeTheLineThatWouldOverflow) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 100, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("p/", Line(60), "s", "1", clock.Now(), &sealed);
  buf.Append("p/", Line(40), "s", "2", clock.Now(), &sealed);  // exactly 100: full, sealed
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].bytes, 100u);
  EXPECT_EQ(sealed[0].cause, FlushCause::kSize);
  buf.Append("p/", Line(60), "s", "3", clock.Now(), &sealed);
  buf.Append("p/", Line(60), "s", "4", clock.Now(), &sealed);  // would be 120: cut first
  ASSERT_EQ(sealed.size(), 2u);
  EXPECT_EQ(sealed[1].bytes, 60u);
  EXPECT_EQ(sealed[1].shards.at("s").first_seq, "3");
  EXPECT_EQ(buf.open_bytes(), 60u);
}

TEST(BatchBuffer, OversizeLineBecomesItsOwnObject) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 100, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("p/", Line(10), "s", "1", clock.Now(), &sealed);
  buf.Append("p/", Line(500), "s", "2", clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 2u);
  EXPECT_EQ(sealed[0].records, 1u);
  EXPECT_EQ(sealed[0].bytes, 10u);
  EXPECT_EQ(sealed[1].records, 1u);
  EXPECT_EQ(sealed[1].bytes, 500u);
  EXPECT_EQ(buf.open_batches(), 0u);
}

TEST(BatchBuffer, RecordsLimit) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(300), .max_records = 2});
  std::vector<SealedBatch> sealed;
  buf.Append("p/", "a\n", "s", "1", clock.Now(), &sealed);
  EXPECT_TRUE(sealed.empty());
  buf.Append("p/", "b\n", "s", "2", clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].cause, FlushCause::kRecords);
}

TEST(BatchBuffer, AgeIsPerBatchFromItsOldestLine) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 1000, .max_interval = seconds(60), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("old/", "a\n", "s", "1", clock.Now(), &sealed);
  clock.Advance(seconds(30));
  buf.Append("new/", "b\n", "s", "2", clock.Now(), &sealed);
  buf.Append("old/", "c\n", "s", "3", clock.Now(), &sealed);
  EXPECT_EQ(*buf.OldestLine(), clock.Now() - seconds(30));
  clock.Advance(seconds(29));
  buf.SealDue(clock.Now(), &sealed);
  EXPECT_TRUE(sealed.empty());
  clock.Advance(seconds(1));
  buf.SealDue(clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].partition, "old/");
  EXPECT_EQ(sealed[0].cause, FlushCause::kAge);
  clock.Advance(seconds(30));
  buf.SealDue(clock.Now(), &sealed);
  ASSERT_EQ(sealed.size(), 2u);
  EXPECT_EQ(sealed[1].partition, "new/");
}

TEST(BatchBuffer, PressureSealsLargestFirst) {
  SimulatedClock clock;
  BatchBuffer buf({.max_bytes = 10000, .max_interval = seconds(300), .max_records = 0});
  std::vector<SealedBatch> sealed;
  buf.Append("small/", Line(10), "s", "1", clock.Now(), &sealed);
  buf.Append("big/", Line(300), "s", "2", clock.Now(), &sealed);
  buf.Append("mid/", Line(100), "s", "3", clock.Now(), &sealed);
  buf.SealLargest(150, &sealed);
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].partition, "big/");
  EXPECT_EQ(sealed[0].cause, FlushCause::kPressure);
  EXPECT_EQ(buf.open_bytes(), 110u);
  buf.SealLargest(0, &sealed);
  EXPECT_EQ(sealed.size(), 3u);
  EXPECT_EQ(buf.open_batches(), 0u);
}

}  // namespace
}  // namespace shardhose::batch

namespace shardhose::batch {
namespace {

TEST(BatchBuffer, SealedBodyIsCanonicalWhateverTheInterleaving) {
  SimulatedClock clock;
  const FlushLimits limits{.max_bytes = 1000, .max_interval = std::chrono::seconds(300), .max_records = 0};
  BatchBuffer one(limits), two(limits);
  std::vector<SealedBatch> a, b;
  one.Append("p/", "b1\n", "shard-b", "1", clock.Now(), &a);
  one.Append("p/", "a1\n", "shard-a", "7", clock.Now(), &a);
  one.Append("p/", "b2\n", "shard-b", "2", clock.Now(), &a);
  two.Append("p/", "a1\n", "shard-a", "7", clock.Now(), &b);
  two.Append("p/", "b1\n", "shard-b", "1", clock.Now(), &b);
  two.Append("p/", "b2\n", "shard-b", "2", clock.Now(), &b);
  one.SealAll(FlushCause::kDrain, &a);
  two.SealAll(FlushCause::kDrain, &b);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].body, "a1\nb1\nb2\n");
  EXPECT_EQ(a[0].body, b[0].body);
}

}  // namespace
}  // namespace shardhose::batch

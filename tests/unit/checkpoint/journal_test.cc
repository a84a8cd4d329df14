#include "checkpoint/journal.h"

#include <gtest/gtest.h>

#include "checkpoint/shard_progress.h"

namespace shardhose::checkpoint {
namespace {

using Route = Journal::Route;

PendingCut Cut(std::string partition, std::string key, bool uploaded, std::map<std::string, SeqRange> ranges) {
  PendingCut c;
  c.partition = std::move(partition);
  c.key = std::move(key);
  c.uploaded = uploaded;
  c.ranges = std::move(ranges);
  return c;
}

TEST(Journal, RoutesPlainRecords) {
  Journal j;
  j.Load({Cut("p/", "k1", true, {{"A", {"100", "120"}}}), Cut("p/", "k2", false, {{"A", {"121", "130"}}})});
  std::string key;
  EXPECT_EQ(j.Match("p/", "A", "99", &key), Route::kNew);
  EXPECT_EQ(j.Match("p/", "A", "100", &key), Route::kSkip);
  EXPECT_EQ(j.Match("p/", "A", "120", &key), Route::kSkip);
  EXPECT_EQ(j.Match("p/", "A", "125", &key), Route::kReplay);
  EXPECT_EQ(key, "k2");
  EXPECT_EQ(j.Match("q/", "A", "125", &key), Route::kNew);  // another partition
  EXPECT_EQ(j.Match("p/", "B", "125", &key), Route::kNew);  // another shard
  EXPECT_EQ(j.Match("p/", "A", "131", &key), Route::kNew);
}

// The sub-records of aggregated record 200 went to two partitions: 200.0 and
// 200.2 to x/ (uploaded), 200.1 and 200.3 to y/ (pending), 200.4 to no cut.
TEST(Journal, RoutesSubRecordsByPosition) {
  Journal j;
  j.Load({Cut("x/", "kx", true, {{"A", {"150", "200.2"}}}), Cut("y/", "ky", false, {{"A", {"200.1", "200.3"}}})});
  std::string key;
  EXPECT_EQ(j.Match("x/", "A", "150", &key), Route::kSkip);
  EXPECT_EQ(j.Match("x/", "A", "200.0", &key), Route::kSkip);
  EXPECT_EQ(j.Match("x/", "A", "200.2", &key), Route::kSkip);
  EXPECT_EQ(j.Match("y/", "A", "200.1", &key), Route::kReplay);
  EXPECT_EQ(key, "ky");
  EXPECT_EQ(j.Match("y/", "A", "200.3", &key), Route::kReplay);
  EXPECT_EQ(j.Match("x/", "A", "200.4", &key), Route::kNew);  // after the cut's last position
  EXPECT_EQ(j.Match("y/", "A", "200.4", &key), Route::kNew);
  EXPECT_EQ(j.Match("y/", "A", "200.0", &key), Route::kNew);   // before the cut's first position
  EXPECT_EQ(j.Match("y/", "A", "200.10", &key), Route::kNew);  // numeric sub order, not text
  EXPECT_EQ(j.Match("x/", "A", "201.0", &key), Route::kNew);
  EXPECT_EQ(j.Match("x/", "A", "199", &key), Route::kSkip);
}

TEST(Journal, PruneWaitsUntilTheWholeAggregatedRecordIsDurable) {
  Journal j;
  j.Add(Cut("x/", "kx", false, {{"A", {"150", "200.2"}}}));
  j.MarkUploaded("kx");
  std::string durable = "199";
  auto d = [&](const std::string&) -> const std::string& { return durable; };
  EXPECT_FALSE(j.Prune(d));  // 200 is not wholly durable yet: 200.0..2 may be read again
  EXPECT_EQ(j.size(), 1u);
  durable = "200";
  EXPECT_TRUE(j.Prune(d));
  EXPECT_EQ(j.size(), 0u);
}

TEST(ShardProgressSubRecords, DurablePassesAnAggregateOnlyWhenAllItsSubRecordsAre) {
  ShardProgress p;
  p.Track("A", "199");
  // Record 200 (aggregated, 3 sub-records) spread over batches 1 and 2,
  // then plain record 201 in batch 1.
  p.OnAppended("A", "200.0", 1, false);
  p.OnAppended("A", "200.1", 2, false);
  p.OnAppended("A", "200.2", 1, true);
  p.OnAppended("A", "201", 1);
  EXPECT_FALSE(p.OnDurable(1, {"A"}));  // 200.1 is pending: nothing moves
  EXPECT_EQ(p.DurableSeq("A"), "199");
  EXPECT_TRUE(p.OnDurable(2, {"A"}));
  EXPECT_EQ(p.DurableSeq("A"), "201");
  EXPECT_TRUE(p.AllDurable("A"));
}

TEST(ShardProgressSubRecords, PrefixEndingInsideAnAggregateStaysAtTheRecordBefore) {
  ShardProgress p;
  p.Track("A", "");
  p.OnAppended("A", "100", 1);
  p.OnAppended("A", "101.0", 1, false);
  p.OnAppended("A", "101.1", 2, true);
  EXPECT_TRUE(p.OnDurable(1, {"A"}));
  EXPECT_EQ(p.DurableSeq("A"), "100");  // 101.0 is durable, 101.1 is not
  EXPECT_TRUE(p.OnDurable(2, {"A"}));
  EXPECT_EQ(p.DurableSeq("A"), "101");
}

TEST(ShardProgressSubRecords, SkippedSubRecordsAfterARestart) {
  ShardProgress p;
  p.Track("A", "199");
  // Read again after a restart: 200.0 is in an uploaded cut, 200.1 is new.
  p.OnSkipped("A", "200.0", false);
  EXPECT_EQ(p.DurableSeq("A"), "199");
  p.OnAppended("A", "200.1", 5, true);
  EXPECT_TRUE(p.OnDurable(5, {"A"}));
  EXPECT_EQ(p.DurableSeq("A"), "200");

  // The last sub-record skipped with nothing pending: the record is durable.
  p.OnSkipped("A", "201.0", false);
  p.OnSkipped("A", "201.1", true);
  EXPECT_EQ(p.DurableSeq("A"), "201");

  // Skipped after a pending run: moves once the run is durable.
  p.OnAppended("A", "202.0", 6, false);
  p.OnSkipped("A", "202.1", true);
  EXPECT_EQ(p.DurableSeq("A"), "201");
  EXPECT_TRUE(p.OnDurable(6, {"A"}));
  EXPECT_EQ(p.DurableSeq("A"), "202");
}

}  // namespace
}  // namespace shardhose::checkpoint

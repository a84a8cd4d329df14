#include "checkpoint/shard_progress.h"

#include <gtest/gtest.h>

namespace shardhose::checkpoint {
namespace {

TEST(ShardProgress, DurableIsTheLongestDurablePrefix) {
  ShardProgress p;
  p.Track("A", "99");
  // A's records scatter over batches 7 and 9: [7: 100..140] [9: 141] [7: 142..180]
  for (int s = 100; s <= 140; ++s) p.OnAppended("A", std::to_string(s), 7);
  p.OnAppended("A", "141", 9);
  for (int s = 142; s <= 180; ++s) p.OnAppended("A", std::to_string(s), 7);
  EXPECT_EQ(p.pending_batches(), 2u);  // one entry per batch, not per record or run

  EXPECT_FALSE(p.OnDurable(9, {"A"}));  // 141 durable, but 100..140 are not
  EXPECT_EQ(p.DurableSeq("A"), "99");
  EXPECT_FALSE(p.AllDurable("A"));

  EXPECT_TRUE(p.OnDurable(7, {"A"}));
  EXPECT_EQ(p.DurableSeq("A"), "180");
  EXPECT_TRUE(p.AllDurable("A"));
  EXPECT_EQ(p.pending_batches(), 0u);
}

TEST(ShardProgress, PartialAdvanceAndSeveralShards) {
  ShardProgress p;
  p.Track("A", "");
  p.Track("B", "5");
  p.OnAppended("A", "1", 1);
  p.OnAppended("B", "6", 1);
  p.OnAppended("A", "2", 2);
  p.OnAppended("A", "3", 1);  // new run: batch changed in between
  EXPECT_TRUE(p.OnDurable(1, {"A", "B"}));
  EXPECT_EQ(p.DurableSeq("A"), "1");  // 2 (batch 2) still pending
  EXPECT_EQ(p.DurableSeq("B"), "6");
  EXPECT_TRUE(p.OnDurable(2, {"A"}));
  EXPECT_EQ(p.DurableSeq("A"), "3");
  EXPECT_EQ(p.DurableSeq("unknown"), "");
  EXPECT_TRUE(p.AllDurable("unknown"));
}

TEST(ShardProgress, TrackDoesNotResetAKnownShard) {
  ShardProgress p;
  p.Track("A", "10");
  p.OnAppended("A", "11", 1);
  p.Track("A", "");
  EXPECT_EQ(p.DurableSeq("A"), "10");
  EXPECT_FALSE(p.AllDurable("A"));
}

}  // namespace
}  // namespace shardhose::checkpoint

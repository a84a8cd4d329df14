#include "poll/shard_set.h"

#include <gtest/gtest.h>

namespace shardhose::poll {
namespace {

ShardInfo Shard(std::string id, std::string parent = "", std::string adjacent = "", bool closed = false) {
  ShardInfo s;
  s.id = std::move(id);
  s.parent = std::move(parent);
  s.adjacent_parent = std::move(adjacent);
  if (closed) s.ending_seq = "999";
  return s;
}

TEST(ShardSet, ChildrenWaitForEveryParent) {
  SimulatedClock clock;
  ShardSet set;
  // 0 and 1 merged into 2; 2 split into 3 and 4.
  set.Merge({Shard("s0", "", "", true), Shard("s1", "", "", true), Shard("s2", "s0", "s1", true),
             Shard("s3", "s2"), Shard("s4", "s2")},
            IteratorStart{});
  EXPECT_EQ(set.Activate(clock.Now()), (std::vector<std::string>{"s0", "s1"}));
  set.Find("s0")->state = ShardState::kExhausted;
  EXPECT_TRUE(set.Activate(clock.Now()).empty());  // s2 still waits for s1
  set.Find("s1")->state = ShardState::kExhausted;
  EXPECT_EQ(set.Activate(clock.Now()), (std::vector<std::string>{"s2"}));
  set.Find("s2")->state = ShardState::kFinished;
  EXPECT_EQ(set.Activate(clock.Now()), (std::vector<std::string>{"s3", "s4"}));
}

TEST(ShardSet, UnlistedParentCountsAsDone) {
  SimulatedClock clock;
  ShardSet set;
  set.Merge({Shard("child", "trimmed-parent")}, IteratorStart{});
  EXPECT_EQ(set.Activate(clock.Now()).size(), 1u);
}

TEST(ShardSet, ClosedShardLeavingTheListingExpiresAndItsChildrenStart) {
  SimulatedClock clock;
  ShardSet set;
  // s0 split into s2 and s3 long ago, but s0 was never read to its end
  // (the daemon fell a whole retention period behind); s1 is open.
  set.Merge({Shard("s0", "", "", true), Shard("s1"), Shard("s2", "s0"), Shard("s3", "s0")}, IteratorStart{});
  EXPECT_EQ(set.Activate(clock.Now()), (std::vector<std::string>{"s0", "s1"}));
  set.Find("s0")->iterator = "it";

  // Listed again: nothing expires. An empty answer changes nothing either.
  EXPECT_TRUE(set.ExpireUnlisted({Shard("s0", "", "", true), Shard("s1"), Shard("s2", "s0"), Shard("s3", "s0")})
                  .empty());
  EXPECT_TRUE(set.ExpireUnlisted({}).empty());

  // s0 is past retention; s1 is missing too but open (e.g. a child learned
  // from ChildShards after the listing was made): only s0 expires.
  EXPECT_EQ(set.ExpireUnlisted({Shard("s2", "s0"), Shard("s3", "s0")}), (std::vector<std::string>{"s0"}));
  EXPECT_EQ(set.Find("s0")->state, ShardState::kExhausted);
  EXPECT_EQ(set.Find("s0")->iterator, "");
  EXPECT_EQ(set.Find("s1")->state, ShardState::kActive);
  EXPECT_EQ(set.Activate(clock.Now()), (std::vector<std::string>{"s2", "s3"}));
  // Reported once.
  EXPECT_TRUE(set.ExpireUnlisted({Shard("s2", "s0"), Shard("s3", "s0")}).empty());
}

TEST(ShardSet, NextHandsOutEarliestDueAndHoldsIt) {
  SimulatedClock clock;
  ShardSet set;
  set.Merge({Shard("a"), Shard("b")}, IteratorStart{});
  set.Activate(clock.Now());
  MonoTime next;
  auto first = set.Next(clock.Now(), &next);
  auto second = set.Next(clock.Now(), &next);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  EXPECT_FALSE(set.Next(clock.Now(), &next));  // both held
  EXPECT_EQ(next, MonoTime::max());
  set.Release(*first, clock.Now() + Millis(200));
  EXPECT_FALSE(set.Next(clock.Now(), &next));
  EXPECT_EQ(next, clock.Now() + Millis(200));
  clock.Advance(Millis(200));
  EXPECT_EQ(set.Next(clock.Now(), &next), first);
}

TEST(ShardSet, AllCaughtUp) {
  SimulatedClock clock;
  ShardSet set;
  set.Merge({Shard("a", "", "", true), Shard("b", "a")}, IteratorStart{});
  set.Activate(clock.Now());
  EXPECT_FALSE(set.AllCaughtUp());  // b is waiting
  set.Find("a")->state = ShardState::kExhausted;
  set.Activate(clock.Now());
  EXPECT_FALSE(set.AllCaughtUp());
  set.Find("b")->caught_up = true;
  EXPECT_TRUE(set.AllCaughtUp());
  set.Find("b")->held = true;
  EXPECT_FALSE(set.AllCaughtUp());
}

TEST(ShardSet, MergeKeepsStateAndLearnsClosure) {
  SimulatedClock clock;
  ShardSet set;
  set.Merge({Shard("a")}, IteratorStart{});
  set.Activate(clock.Now());
  EXPECT_TRUE(set.Merge({Shard("a", "", "", true), Shard("b", "a")}, IteratorStart{}) ==
              std::vector<std::string>{"b"});
  EXPECT_EQ(set.Find("a")->state, ShardState::kActive);
  EXPECT_TRUE(set.Find("a")->info.closed());
}

}  // namespace
}  // namespace shardhose::poll

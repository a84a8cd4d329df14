#include "poll/shard_set.h"

#include <gtest/gtest.h>

#include <random>

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
  set.Merge({Shard("s0", "", "", true), Shard("s1", "", "", true), Shard("s2", "s0", "s1", true), Shard("s3", "s2"),
             Shard("s4", "s2")},
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
  EXPECT_TRUE(
      set.ExpireUnlisted({Shard("s0", "", "", true), Shard("s1"), Shard("s2", "s0"), Shard("s3", "s0")}).empty());
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
  EXPECT_TRUE(set.Merge({Shard("a", "", "", true), Shard("b", "a")}, IteratorStart{}) == std::vector<std::string>{"b"});
  EXPECT_EQ(set.Find("a")->state, ShardState::kActive);
  EXPECT_TRUE(set.Find("a")->info.closed());
}

// The scheduler is a lazily invalidated heap; these check it against the
// plain definition: the active, unheld shard with the earliest due time
// (ties: smallest id).

TEST(ShardSet, ManyShardsComeDueInOrder) {
  SimulatedClock clock;
  ShardSet set;
  std::vector<ShardInfo> listed;
  for (int i = 0; i < 1000; ++i) listed.push_back(Shard("shard-" + std::to_string(1000 + i)));
  set.Merge(listed, IteratorStart{});
  set.Activate(clock.Now());
  MonoTime next;
  // Take all, release each with a due time that reverses the id order.
  std::vector<std::string> ids;
  while (auto id = set.Next(clock.Now(), &next)) ids.push_back(*id);
  ASSERT_EQ(ids.size(), 1000u);
  EXPECT_EQ(ids.front(), "shard-1000");  // equal due times: smallest id first
  EXPECT_EQ(next, MonoTime::max());      // every shard held
  for (int i = 0; i < 1000; ++i) set.Release(ids[static_cast<size_t>(i)], clock.Now() + Millis(1000 - i));
  EXPECT_FALSE(set.Next(clock.Now(), &next));
  EXPECT_EQ(next, clock.Now() + Millis(1));
  clock.Advance(Millis(1000));
  for (int i = 999; i >= 0; --i) {
    auto id = set.Next(clock.Now(), &next);
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, ids[static_cast<size_t>(i)]);
  }
  EXPECT_FALSE(set.Next(clock.Now(), &next));
}

TEST(ShardSet, ReleasedExhaustedShardIsNotHandedOut) {
  SimulatedClock clock;
  ShardSet set;
  set.Merge({Shard("a", "", "", true), Shard("b")}, IteratorStart{});
  set.Activate(clock.Now());
  MonoTime next;
  auto a = set.Next(clock.Now(), &next);
  ASSERT_EQ(a, std::optional<std::string>("a"));
  set.Find("a")->state = ShardState::kExhausted;  // read to its end while held
  set.Release("a", clock.Now());
  EXPECT_EQ(set.Next(clock.Now(), &next), std::optional<std::string>("b"));
  EXPECT_FALSE(set.Next(clock.Now(), &next));
  EXPECT_EQ(next, MonoTime::max());
}

TEST(ShardSet, LatestReleaseWinsAndNoShardIsHandedOutTwice) {
  SimulatedClock clock;
  ShardSet set;
  set.Merge({Shard("a"), Shard("b")}, IteratorStart{});
  set.Activate(clock.Now());
  MonoTime next;
  // Released many times without being taken: only the last due time counts,
  // and the stale entries neither hand it out early nor twice.
  for (int i = 0; i < 10000; ++i) set.Release("a", clock.Now() + Millis(i % 7));
  set.Release("a", clock.Now() + Millis(500));
  EXPECT_EQ(set.Next(clock.Now(), &next), std::optional<std::string>("b"));
  EXPECT_FALSE(set.Next(clock.Now(), &next));
  EXPECT_EQ(next, clock.Now() + Millis(500));
  clock.Advance(Millis(500));
  EXPECT_EQ(set.Next(clock.Now(), &next), std::optional<std::string>("a"));
  EXPECT_FALSE(set.Next(clock.Now(), &next));
}

TEST(ShardSet, PutActiveIsScheduled) {
  SimulatedClock clock;
  ShardSet set;
  set.Put(Shard("a"), ShardState::kActive, IteratorStart{});
  set.Put(Shard("f"), ShardState::kFinished, IteratorStart{});
  MonoTime next;
  EXPECT_EQ(set.Next(clock.Now(), &next), std::optional<std::string>("a"));
  EXPECT_FALSE(set.Next(clock.Now(), &next));
}

// Random operations, compared step by step with a linear scan.
TEST(ShardSet, MatchesLinearScanUnderRandomOperations) {
  SimulatedClock clock;
  ShardSet set;
  std::vector<ShardInfo> listed;
  for (int i = 0; i < 50; ++i) listed.push_back(Shard("s" + std::to_string(100 + i)));
  set.Merge(listed, IteratorStart{});
  set.Activate(clock.Now());
  auto reference = [&](MonoTime now, MonoTime* next_due) -> std::optional<std::string> {
    const ShardEntry* best = nullptr;
    const std::string* best_id = nullptr;
    for (const auto& [id, e] : set.entries()) {
      if (e.state != ShardState::kActive || e.held) continue;
      if (!best || e.due < best->due) best = &e, best_id = &id;
    }
    if (best && best->due <= now) return *best_id;
    *next_due = best ? best->due : MonoTime::max();
    return std::nullopt;
  };
  std::mt19937 rng(7);
  std::vector<std::string> held;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      MonoTime want_next{}, got_next{};
      auto want = reference(clock.Now(), &want_next);
      auto got = set.Next(clock.Now(), &got_next);
      ASSERT_EQ(got, want) << "step " << step;
      if (got) {
        held.push_back(*got);
      } else {
        ASSERT_EQ(got_next, want_next) << "step " << step;
      }
    } else if (op < 8 && !held.empty()) {
      const size_t k = rng() % held.size();
      if (rng() % 1000 == 0) set.Find(held[k])->state = ShardState::kExhausted;
      set.Release(held[k], clock.Now() + Millis(static_cast<int>(rng() % 300)));
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
    } else {
      clock.Advance(Millis(static_cast<int>(rng() % 40)));
    }
  }
}

}  // namespace
}  // namespace shardhose::poll

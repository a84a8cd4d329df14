#include "lease/liveness.h"

#include <gtest/gtest.h>

namespace shardhose::lease {
namespace {

using std::chrono::seconds;

const MonoTime t0 = MonoTime(seconds(1000));

WorkerBeat Beat(const std::string& id, int64_t beat, int64_t written_ms = 0) {
  WorkerBeat b;
  b.worker_id = id;
  b.beat = beat;
  b.written_ms = written_ms;
  return b;
}

Lease Owned(const std::string& key, const std::string& owner, int64_t counter) {
  Lease l;
  l.key = key;
  l.owner = owner;
  l.counter = counter;
  return l;
}

TEST(Liveness, FirstSeenCountsFromNow) {
  Liveness lv(seconds(10));
  EXPECT_TRUE(lv.Alive("never-seen", t0));
  EXPECT_FALSE(lv.Alive("", t0));
  lv.Observe({Beat("a", 7)}, {}, t0);
  EXPECT_TRUE(lv.Alive("a", t0 + seconds(9)));
  EXPECT_FALSE(lv.Alive("a", t0 + seconds(10)));
}

TEST(Liveness, ChangingBeatKeepsAlive) {
  Liveness lv(seconds(10));
  lv.Observe({Beat("a", 1)}, {}, t0);
  lv.Observe({Beat("a", 2)}, {}, t0 + seconds(6));
  lv.Observe({Beat("a", 2)}, {}, t0 + seconds(12));
  EXPECT_TRUE(lv.Alive("a", t0 + seconds(15)));
  EXPECT_FALSE(lv.Alive("a", t0 + seconds(16)));
  EXPECT_EQ(lv.Silent("a", t0 + seconds(16)), seconds(10));
}

// Clocks of other machines are never trusted: a written_ms that moves while
// the beat stays is no sign of life, one that stays while the beat moves is.
TEST(Liveness, WallClockOfTheWriterIsIgnored) {
  Liveness lv(seconds(10));
  lv.Observe({Beat("a", 1, 5)}, {}, t0);
  lv.Observe({Beat("a", 1, 999999)}, {}, t0 + seconds(11));
  EXPECT_FALSE(lv.Alive("a", t0 + seconds(11)));
  lv.Observe({Beat("a", 2, 5)}, {}, t0 + seconds(12));
  EXPECT_TRUE(lv.Alive("a", t0 + seconds(12)));
}

// A KCL worker has no heartbeat row but renews by bumping counters.
TEST(Liveness, CounterChangesKeepAKclWorkerAlive) {
  Liveness lv(seconds(10));
  lv.Observe({}, {Owned("s1", "kcl", 5), Owned("s2", "kcl", 9)}, t0);
  lv.Observe({}, {Owned("s1", "kcl", 5), Owned("s2", "kcl", 10)}, t0 + seconds(8));
  EXPECT_TRUE(lv.Alive("kcl", t0 + seconds(17)));
  lv.Observe({}, {Owned("s1", "kcl", 5), Owned("s2", "kcl", 10)}, t0 + seconds(17));
  EXPECT_FALSE(lv.Alive("kcl", t0 + seconds(18)));
}

TEST(Liveness, TakingALeaseIsASignOfLifeLosingOneIsNot) {
  Liveness lv(seconds(10));
  lv.Observe({Beat("a", 1), Beat("b", 1)}, {Owned("s1", "a", 1)}, t0);
  // b takes s1 from a: counter 2 under b. Life for b, not for a.
  lv.Observe({Beat("a", 1), Beat("b", 1)}, {Owned("s1", "b", 2)}, t0 + seconds(9));
  EXPECT_FALSE(lv.Alive("a", t0 + seconds(10)));
  EXPECT_TRUE(lv.Alive("b", t0 + seconds(18)));
}

TEST(Liveness, VanishedRowReturningWithTheSameBeatIsNoSignOfLife) {
  Liveness lv(seconds(10));
  lv.Observe({Beat("a", 3)}, {Owned("s1", "a", 1)}, t0);
  lv.Observe({}, {Owned("s1", "a", 1)}, t0 + seconds(4));
  lv.Observe({Beat("a", 3)}, {Owned("s1", "a", 1)}, t0 + seconds(8));
  EXPECT_FALSE(lv.Alive("a", t0 + seconds(10)));
}

TEST(Liveness, OwnersGoneFromBothTablesAreForgotten) {
  Liveness lv(seconds(10));
  lv.Observe({Beat("a", 1)}, {}, t0);
  lv.Observe({}, {}, t0 + seconds(20));
  EXPECT_TRUE(lv.LiveOwners(t0 + seconds(20)).empty());
  // Back again: first seen now.
  lv.Observe({Beat("a", 1)}, {}, t0 + seconds(21));
  EXPECT_EQ(lv.LiveOwners(t0 + seconds(21)), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace shardhose::lease

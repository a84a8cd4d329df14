#include "lease/coordinator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "testing/fake_lease_table.h"

namespace shardhose::lease {
namespace {

using shardhose::testing::FakeLeaseTable;
using Op = FakeLeaseTable::Op;
using std::chrono::seconds;

constexpr Millis kLeaseDuration = seconds(10);

std::string Shard(int i) { return fmt::format("shardId-{:012d}", i); }

std::vector<StreamShard> OpenShards(int n) {
  std::vector<StreamShard> v;
  for (int i = 0; i < n; ++i) v.push_back({Shard(i), "", "", "0", "1", false});
  return v;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  struct Worker {
    std::unique_ptr<LeaseTable> handle;
    std::unique_ptr<Coordinator> c;
  };

  Coordinator& Start(const std::string& id, std::vector<StreamShard> shards = {}, int64_t max_leases = 0,
                     InitialPosition pos = InitialPosition::kTrimHorizon) {
    Worker& w = workers_[id];
    w.handle = table_.Connect(id);
    CoordinatorOptions o;
    o.worker_id = id;
    o.lease_duration = kLeaseDuration;
    o.max_leases_per_worker = max_leases;
    o.initial_position = pos;
    w.c = std::make_unique<Coordinator>(w.handle.get(), &clock_, o);
    w.c->SetShards(std::move(shards));
    return *w.c;
  }
  Coordinator& W(const std::string& id) { return *workers_.at(id).c; }
  LeaseTable& Handle(const std::string& id) { return *workers_.at(id).handle; }
  void Stop(const std::string& id) { workers_.erase(id); }

  void Tick(const std::string& id) {
    Status st = W(id).Tick(clock_.Now());
    ASSERT_TRUE(st.ok()) << id << ": " << st.ToString();
  }
  // One tick interval passes; then the named workers (all if empty) tick.
  void Round(const std::vector<std::string>& ids = {}) {
    clock_.Advance(kLeaseDuration / 3);
    if (ids.empty()) {
      for (auto& [id, w] : workers_) Tick(id);
    } else {
      for (const std::string& id : ids) Tick(id);
    }
  }

  std::map<std::string, int> Owners() const {
    std::map<std::string, int> c;
    for (const Lease& l : table_.Leases()) {
      if (!l.finished()) ++c[l.owner];
    }
    return c;
  }
  // Every unfinished lease owned by exactly one running worker, which holds
  // it (and nobody else does), and counts within +-1.
  bool Balanced() const {
    std::map<std::string, int> held;
    for (const Lease& l : table_.Leases()) {
      if (l.finished()) continue;
      if (!workers_.count(l.owner) || !workers_.at(l.owner).c->Holds(l.key)) return false;
    }
    int lo = INT32_MAX, hi = 0;
    for (const auto& [id, w] : workers_) {
      const int n = static_cast<int>(w.c->Held().size());
      for (const auto& [key, l] : w.c->Held()) {
        if (table_.Peek(key)->owner != id) return false;
      }
      lo = std::min(lo, n);
      hi = std::max(hi, n);
    }
    return hi - lo <= 1;
  }
  int64_t Moves() const {
    int64_t n = 0;
    for (const auto& [id, w] : workers_) n += w.c->stats().taken + w.c->stats().stolen;
    return n;
  }

  SimulatedClock clock_;
  FakeLeaseTable table_;
  std::map<std::string, Worker> workers_;
};

TEST_F(CoordinatorTest, EmptyTableLatestIsPinnedToATimestampAndChildrenContinueTheirParentsRun) {
  Coordinator& a = Start("a", OpenShards(2), 0, InitialPosition::kLatest);
  Tick("a");
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch()).count();
  for (const Lease& l : table_.Leases()) {
    EXPECT_EQ(l.checkpoint, kAtTimestamp);
    EXPECT_EQ(l.start_ms, now_ms);
    EXPECT_EQ(l.owner, "a");
    EXPECT_EQ(l.counter, 1);
  }
  EXPECT_EQ(a.Held().size(), 2u);
  EXPECT_EQ(a.stats().created, 2);

  // A reshard: shard 0 splits into 2 and 3. The children continue their
  // parent's run (from the pinned start: every child record arrived after
  // it) and wait for their parent.
  std::vector<StreamShard> shards = OpenShards(2);
  shards[0].closed = true;
  shards.push_back({Shard(2), Shard(0), "", "0", "0", false});
  shards.push_back({Shard(3), Shard(0), "", "1", "1", false});
  a.SetShards(shards);
  Round();
  ASSERT_TRUE(table_.Peek(Shard(2)));
  EXPECT_EQ(table_.Peek(Shard(2))->checkpoint, kAtTimestamp);
  EXPECT_EQ(table_.Peek(Shard(2))->start_ms, now_ms);
  EXPECT_EQ(table_.Peek(Shard(2))->parents, std::vector<std::string>{Shard(0)});
  EXPECT_EQ(table_.Peek(Shard(2))->owner, "");
  EXPECT_FALSE(a.Holds(Shard(2)));

  // The parent finishes and is deleted: the children are taken, and the
  // closed parent, still listed by the stream, is not created again.
  Lease p = a.Held().at(Shard(0));
  p.checkpoint = kShardEnd;
  p.children = {Shard(2), Shard(3)};
  ASSERT_TRUE(Handle("a").Update(p).ok());
  Round();
  EXPECT_TRUE(a.Holds(Shard(2)));
  EXPECT_TRUE(a.Holds(Shard(3)));
  EXPECT_FALSE(a.Holds(Shard(0)));
  EXPECT_EQ(a.stats().finished, 1);
  EXPECT_EQ(table_.Peek(Shard(0))->owner, "") << "a finished lease keeps no owner";
  EXPECT_EQ(table_.Peek(Shard(0))->checkpoint, kShardEnd);
  ASSERT_TRUE(Handle("a").Delete(*table_.Peek(Shard(0))).ok());
  Round();
  EXPECT_FALSE(table_.Peek(Shard(0)));
}

// A worker that dies between finishing a shard and its next Tick leaves
// the finished lease in its name: another worker releases it once the
// owner is not live (and not before).
TEST_F(CoordinatorTest, FinishedLeaseOfADeadWorkerIsReleased) {
  for (const char* id : {"a", "b"}) Start(id, OpenShards(4));
  for (int i = 0; i < 6; ++i) Round();
  ASSERT_TRUE(Balanced());
  Lease done = W("b").Held().begin()->second;
  done.checkpoint = kShardEnd;
  ASSERT_TRUE(Handle("b").Update(done).ok());
  Stop("b");
  Round({"a"});
  EXPECT_EQ(table_.Peek(done.key)->owner, "b") << "b may still be alive";
  for (int i = 0; i < 4; ++i) Round({"a"});
  EXPECT_EQ(table_.Peek(done.key)->owner, "");
  EXPECT_EQ(table_.Peek(done.key)->checkpoint, kShardEnd);
  EXPECT_FALSE(W("a").Holds(done.key));
  EXPECT_EQ(W("a").Held().size(), 3u);  // b's other open leases
}

TEST_F(CoordinatorTest, ChildrenOfATrimHorizonRunStartAtTrimHorizon) {
  Start("a", OpenShards(1));
  Tick("a");
  EXPECT_EQ(table_.Peek(Shard(0))->checkpoint, kTrimHorizon);
  std::vector<StreamShard> shards = OpenShards(1);
  shards[0].closed = true;
  shards.push_back({Shard(1), Shard(0), "", "0", "0", false});
  shards.push_back({Shard(2), Shard(0), "", "1", "1", false});
  W("a").SetShards(shards);
  Round();
  for (int i = 1; i <= 2; ++i) {
    EXPECT_EQ(table_.Peek(Shard(i))->checkpoint, kTrimHorizon);
    EXPECT_EQ(table_.Peek(Shard(i))->start_ms, 0);
  }
}

// Two workers making a fresh LATEST table at once: the second sees part of
// it. Shards without a listed parent still start at LATEST (pinned), and
// the children of pre-existing shards at their parents' start.
TEST_F(CoordinatorTest, FreshTableMadeByTwoWorkersAtOnceKeepsLatest) {
  Lease first;
  first.key = Shard(0);
  first.checkpoint = kAtTimestamp;
  first.start_ms = 1700000000000;
  table_.PutLease(first);
  std::vector<StreamShard> shards = OpenShards(3);
  shards.push_back({Shard(3), Shard(0), "", "0", "0", false});
  Start("b", shards, 0, InitialPosition::kLatest);
  Tick("b");
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch()).count();
  for (int i = 1; i <= 2; ++i) {
    EXPECT_EQ(table_.Peek(Shard(i))->checkpoint, kAtTimestamp);
    EXPECT_EQ(table_.Peek(Shard(i))->start_ms, now_ms);
  }
  EXPECT_EQ(table_.Peek(Shard(3))->checkpoint, kAtTimestamp);
  EXPECT_EQ(table_.Peek(Shard(3))->start_ms, 1700000000000);
}

TEST_F(CoordinatorTest, ThreeWorkersOnEightShardsBalanceWithinBoundedTicks) {
  for (const char* id : {"a", "b", "c"}) Start(id, OpenShards(8));
  int ticks = 0;
  do {
    Round();
    ++ticks;
  } while (!Balanced() && ticks < 6);  // 6 ticks = 2 lease durations
  EXPECT_TRUE(Balanced()) << "after " << ticks << " ticks";
  EXPECT_EQ(table_.Leases().size(), 8u);
  EXPECT_EQ(Owners().count(""), 0u);
  // Stays balanced: no lease moves any more.
  const int64_t moves = Moves();
  for (int i = 0; i < 30; ++i) Round();
  EXPECT_EQ(Moves(), moves);
  EXPECT_TRUE(Balanced());
  int64_t lost = 0, stolen = 0;
  for (const char* id : {"a", "b", "c"}) {
    lost += W(id).stats().lost;
    stolen += W(id).stats().stolen;
    EXPECT_TRUE(W(id).HoldsShare()) << id;
  }
  EXPECT_EQ(lost, stolen) << "a lease is lost only to a steal";
}

// /readyz in lease mode: not ready before the table is read, while short
// of its share, or once the table has not been read (or the heartbeat not
// written) for a lease duration; ready with what it holds otherwise.
TEST_F(CoordinatorTest, NotReadyReasonFollowsTheTableAndTheShare) {
  Coordinator& a = Start("a", OpenShards(6));
  EXPECT_EQ(a.NotReadyReason(clock_.Now()), "lease table not read yet");
  Round();
  std::string note;
  EXPECT_EQ(a.NotReadyReason(clock_.Now(), &note), "");
  EXPECT_EQ(note, "holds 6 leases (share 6) of 6, 1 live workers");

  // A second worker starts: short of its share until it has taken 2 of 3.
  Coordinator& b = Start("b", OpenShards(6));
  Round({"b"});
  EXPECT_TRUE(b.NotReadyReason(clock_.Now()).starts_with("balancing: holds ")) << b.NotReadyReason(clock_.Now());
  for (int i = 0; i < 6 && !Balanced(); ++i) Round();
  ASSERT_TRUE(Balanced());
  EXPECT_EQ(b.NotReadyReason(clock_.Now(), &note), "");
  EXPECT_EQ(note, "holds 3 leases (share 3) of 6, 2 live workers");

  // The table unreachable for b: still ready within a lease duration, then not.
  for (int i = 0; i < 4; ++i) {
    table_.FailNext(Op::kHeartbeat, Status::Unavailable("down"));
    table_.FailNext(Op::kList, Status::Unavailable("down"));
    clock_.Advance(kLeaseDuration / 3);
    EXPECT_FALSE(b.Tick(clock_.Now()).ok());
    const std::string why = b.NotReadyReason(clock_.Now());
    if (i < 3) {  // 3 ticks = one lease duration
      EXPECT_EQ(why, "") << i;
    } else {
      EXPECT_TRUE(why.starts_with("lease table not read for ")) << why;
    }
  }
  // Listing works again but the heartbeat keeps failing.
  table_.FailNext(Op::kHeartbeat, Status::Unavailable("down"));
  clock_.Advance(kLeaseDuration / 3);
  Tick("b");
  EXPECT_TRUE(b.NotReadyReason(clock_.Now()).starts_with("lease heartbeat not written for "))
      << b.NotReadyReason(clock_.Now());
  clock_.Advance(kLeaseDuration / 3);
  Tick("b");
  EXPECT_EQ(b.NotReadyReason(clock_.Now()), "");
}

// Lease traffic grows with workers, not shards: once balanced, one write
// (the heartbeat) per worker per tick.
TEST_F(CoordinatorTest, SteadyStateWritesAreOneHeartbeatPerWorker) {
  for (const char* id : {"a", "b"}) Start(id, OpenShards(50));
  for (int i = 0; i < 10; ++i) Round();
  ASSERT_TRUE(Balanced());
  const int64_t writes = table_.writes();
  for (int i = 0; i < 30; ++i) Round();
  EXPECT_EQ(table_.writes() - writes, 2 * 30);
}

TEST_F(CoordinatorTest, JoiningWorkerGetsItsShareWithinTwoLeaseDurations) {
  for (const char* id : {"a", "b"}) Start(id, OpenShards(8));
  for (int i = 0; i < 6; ++i) Round();
  ASSERT_TRUE(Balanced());
  const int64_t lost_before = W("a").stats().lost + W("b").stats().lost;
  Start("c", OpenShards(8));
  int ticks = 0;
  do {
    Round();
    ++ticks;
  } while (!Balanced() && ticks < 6);
  EXPECT_TRUE(Balanced()) << "after " << ticks << " ticks";
  EXPECT_LE(ticks, 3);
  EXPECT_EQ(W("c").Held().size(), 2u);
  // Mostly shed, not stolen: c may steal one before a and b see it.
  EXPECT_LE(W("a").stats().lost + W("b").stats().lost, lost_before + 1);
}

TEST_F(CoordinatorTest, ReleaseOnShutdownLetsAnotherTakeAtOnce) {
  for (const char* id : {"a", "b"}) Start(id, OpenShards(8));
  for (int i = 0; i < 6; ++i) Round();
  ASSERT_TRUE(Balanced());
  int changes = 0;
  W("a").set_on_change([&](const Coordinator::HeldLeases& h) {
    EXPECT_TRUE(h.empty());
    ++changes;
  });
  const int64_t released = W("a").stats().released;
  ASSERT_TRUE(W("a").ReleaseAll().ok());
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(W("a").stats().released - released, 4);
  EXPECT_TRUE(W("a").Held().empty());
  Stop("a");
  for (const Lease& l : table_.Leases()) {
    if (l.owner != "b") {
      EXPECT_EQ(l.owner, "") << l.key;
    }
  }
  // b's very next tick, with no lease duration waited for.
  Tick("b");
  EXPECT_EQ(W("b").Held().size(), 8u);
  EXPECT_TRUE(Balanced());
}

// `unattended` (what run --drain waits on): unfinished leases nobody live
// reads once the tick's plan is applied.
TEST_F(CoordinatorTest, UnattendedCountsLeasesWithoutALiveReader) {
  Coordinator& a = Start("a", OpenShards(5), 3);
  EXPECT_EQ(a.stats().unattended, -1);  // no tick yet
  Tick("a");
  EXPECT_EQ(a.Held().size(), 3u);
  EXPECT_EQ(a.stats().unattended, 2);  // over a's cap: created, nobody takes them
  Start("b", OpenShards(5));
  Tick("b");
  EXPECT_EQ(W("b").stats().unattended, 0);  // b took the two free ones
  Tick("a");
  EXPECT_EQ(a.stats().unattended, 0);  // b's heartbeat is new: alive
  // b dies: once its leases expire they are unattended for a (at its cap).
  Stop("b");
  for (int i = 0; i < 6; ++i) Round({"a"});
  EXPECT_EQ(a.Held().size(), 3u);
  EXPECT_EQ(a.stats().unattended, 2);
  // A finished lease needs nobody.
  Lease held = a.Held().begin()->second;
  held.checkpoint = kShardEnd;
  ASSERT_TRUE(Handle("a").Update(held).ok());
  Round({"a"});
  Round({"a"});
  EXPECT_EQ(a.Held().size(), 3u);  // one of b's in place of the finished one
  EXPECT_EQ(a.stats().unattended, 1);
}

TEST_F(CoordinatorTest, ZombieIsFencedNoticesAndDropsItsLeases) {
  for (const char* id : {"a", "b"}) Start(id, OpenShards(4));
  for (int i = 0; i < 6; ++i) Round();
  ASSERT_TRUE(Balanced());
  const Coordinator::HeldLeases zombie_held = W("a").Held();
  ASSERT_EQ(zombie_held.size(), 2u);

  const int64_t lost_before = W("a").stats().lost;
  // a stops (SIGSTOP) past the lease duration; b takes its leases.
  for (int i = 0; i < 5; ++i) Round({"b"});
  EXPECT_EQ(W("b").Held().size(), 4u);

  // a continues: its engine's writes with the counters it held are refused.
  for (const auto& [key, l] : zombie_held) {
    Lease progress = l;
    progress.checkpoint = "12345";
    Status st = Handle("a").Update(progress);
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << key;
    EXPECT_EQ(st.peer_code(), "ConditionalCheckFailedException");
    EXPECT_EQ(table_.Peek(key)->checkpoint, kTrimHorizon);
    // Nor can it release or re-take them with what it saw.
    EXPECT_FALSE(Handle("a").Transfer(l, "").ok());
  }
  // Its next tick notices and drops them.
  Tick("a");
  EXPECT_EQ(W("a").stats().lost - lost_before, 2);
  for (const auto& [key, l] : zombie_held) EXPECT_FALSE(W("a").Holds(key) && table_.Peek(key)->owner != "a");
  // And as a live worker again it gets its share back.
  for (int i = 0; i < 6; ++i) Round();
  EXPECT_TRUE(Balanced());
}

TEST_F(CoordinatorTest, BothTakeTheSameExpiredLeaseExactlyOneWins) {
  Lease dead;
  dead.key = Shard(0);
  dead.owner = "dead";
  dead.counter = 7;
  table_.PutLease(dead);
  Start("a");
  Start("b");
  Round();
  EXPECT_TRUE(W("a").Held().empty()) << "the owner is first seen now: not expired yet";
  for (int i = 0; i < 4; ++i) Round();  // "dead" silent for 13.3 s
  const Lease now = *table_.Peek(Shard(0));
  EXPECT_TRUE(now.owner == "a" || now.owner == "b") << now.owner;
  EXPECT_EQ(now.counter, 8);
  EXPECT_NE(W("a").Holds(Shard(0)), W("b").Holds(Shard(0)));
  EXPECT_EQ(W("a").stats().taken + W("b").stats().taken, 1);
}

// The same, with the race forced: y's whole tick runs between x's listing
// and x's Transfer of the lease both chose.
TEST_F(CoordinatorTest, RaceForAnExpiredLeaseExactlyOneWins) {
  std::vector<Lease> dead(2);
  for (int i = 0; i < 2; ++i) {
    dead[i].key = Shard(i);
    dead[i].owner = "dead";
    dead[i].counter = 7;
    table_.PutLease(dead[i]);
  }
  // Two worker ids whose plans pick the same lease first.
  const std::string x = "x";
  const std::string key = Balance(dead, {"x"}, x, 0).take.at(0).key;
  std::string y;
  for (int i = 0; i < 100 && y.empty(); ++i) {
    const std::string id = fmt::format("y{}", i);
    if (Balance(dead, {x}, id, 0).take.at(0).key == key) y = id;
  }
  ASSERT_FALSE(y.empty());
  Start(x);
  Start(y);
  // Their first ticks see "dead" for the first time (alive, and over its
  // share): their steals are refused here, to keep the leases expiring.
  table_.set_hook([&](const std::string&, Op op, const std::string&) {
    return op == Op::kTransfer ? shardhose::testing::ConditionFailed("test") : Status::OK();
  });
  Tick(x);
  Tick(y);
  const int64_t conflicts = W(x).stats().conflicts;
  clock_.Advance(kLeaseDuration + seconds(1));
  bool fired = false;
  table_.set_hook([&](const std::string& who, Op op, const std::string& k) {
    if (who == x && op == Op::kTransfer && k == key && !fired) {
      fired = true;
      Status st = W(y).Tick(clock_.Now());
      EXPECT_TRUE(st.ok());
    }
    return Status::OK();
  });
  Tick(x);
  table_.set_hook(nullptr);
  ASSERT_TRUE(fired);
  EXPECT_EQ(table_.Peek(key)->owner, y);
  EXPECT_EQ(table_.Peek(key)->counter, 8);
  EXPECT_TRUE(W(y).Holds(key));
  EXPECT_FALSE(W(x).Holds(key));
  EXPECT_EQ(W(x).stats().conflicts - conflicts, 1);
  EXPECT_EQ(W(x).stats().taken, 0);
  // x takes the other one at its next tick.
  Round();
  EXPECT_TRUE(Balanced());
  EXPECT_EQ(W(x).Held().size(), 1u);
}

// Every interleaving of the victim's one write (a progress Update, or the
// release at shutdown) with the thief's steal (its listing, then its
// Transfer): the victim's write lands only before the Transfer, the thief's
// Transfer only if nothing moved the lease since its listing, and the lease
// ends with exactly one owner.
TEST_F(CoordinatorTest, EveryInterleavingOfAStealWithTheVictimsWrite) {
  enum class Victim { kUpdate, kRelease };
  enum class When { kBeforeList, kBetweenListAndTransfer, kAfterTransfer };
  for (Victim victim : {Victim::kUpdate, Victim::kRelease}) {
    for (When when : {When::kBeforeList, When::kBetweenListAndTransfer, When::kAfterTransfer}) {
      SCOPED_TRACE(
          fmt::format("victim {} at {}", victim == Victim::kUpdate ? "update" : "release", static_cast<int>(when)));
      workers_.clear();
      table_.Clear();
      Start("a", OpenShards(3));
      Tick("a");
      ASSERT_EQ(W("a").Held().size(), 3u);
      Start("c");
      // The lease c will steal (Balance is deterministic).
      const std::string key = Balance(table_.Leases(), {"a", "c"}, "c", 0).steal.at(0).key;
      const Lease seen_by_a = W("a").Held().at(key);

      Status victim_status;
      bool victim_done = false;
      auto victim_write = [&] {
        victim_done = true;
        if (victim == Victim::kUpdate) {
          Lease progress = seen_by_a;
          progress.checkpoint = "777";
          victim_status = Handle("a").Update(progress);
        } else {
          victim_status = W("a").ReleaseAll();
        }
      };
      table_.set_hook([&](const std::string& who, Op op, const std::string& k) {
        if (who != "c" || victim_done) return Status::OK();
        if ((when == When::kBeforeList && op == Op::kList) ||
            (when == When::kBetweenListAndTransfer && op == Op::kTransfer && k == key)) {
          victim_write();
        }
        return Status::OK();
      });
      clock_.Advance(seconds(1));
      Tick("c");
      if (!victim_done) victim_write();
      table_.set_hook(nullptr);

      const Lease now = *table_.Peek(key);
      const bool stolen_first = when == When::kAfterTransfer;
      if (victim == Victim::kUpdate) {
        // c's steal never depended on a's progress write: it always lands.
        EXPECT_EQ(now.owner, "c");
        EXPECT_TRUE(W("c").Holds(key));
        EXPECT_EQ(victim_status.ok(), !stolen_first) << victim_status.ToString();
        EXPECT_EQ(now.checkpoint, stolen_first ? kTrimHorizon : "777");
      } else if (when == When::kBeforeList) {
        // Released before c looked: c takes free leases (up to its share).
        EXPECT_TRUE(victim_status.ok());
        EXPECT_EQ(W("c").stats().stolen, 0);
        EXPECT_EQ(W("c").Held().size(), 3u);
      } else if (when == When::kBetweenListAndTransfer) {
        // The release moved the counter: c's Transfer is refused; the lease
        // is free, and c takes it at its next tick.
        EXPECT_TRUE(victim_status.ok());
        EXPECT_EQ(now.owner, "");
        EXPECT_EQ(W("c").stats().conflicts, 1);
        EXPECT_FALSE(W("c").Holds(key));
        Round({"c"});
        EXPECT_TRUE(W("c").Holds(key));
      } else {
        // Stolen first: a's release of it is refused (counted as lost), the
        // others are released.
        EXPECT_TRUE(victim_status.ok());
        EXPECT_EQ(now.owner, "c");
        EXPECT_EQ(W("a").stats().lost, 1);
        EXPECT_EQ(W("a").stats().released, 2);
      }
      // Whatever the order, a later write by a with what it saw is refused
      // once the lease moved, and the lease has one owner.
      Lease late = seen_by_a;
      late.checkpoint = "999";
      EXPECT_FALSE(Handle("a").Update(late).ok());
      if (victim == Victim::kUpdate) {
        Tick("a");
        EXPECT_FALSE(W("a").Holds(key));
        EXPECT_EQ(W("a").stats().lost, 1);
      }
    }
  }
}

TEST_F(CoordinatorTest, RestartReusingItsWorkerIdTakesItsLeasesBackAndFencesTheOldIncarnation) {
  Start("a", OpenShards(3));
  Tick("a");
  const Coordinator::HeldLeases old = W("a").Held();
  ASSERT_EQ(old.size(), 3u);
  Stop("a");  // killed: nothing released
  Start("a", OpenShards(3));
  Round();
  EXPECT_EQ(W("a").Held().size(), 3u);
  for (const auto& [key, l] : old) {
    EXPECT_EQ(table_.Peek(key)->counter, l.counter + 1) << key;
    Lease progress = l;
    progress.checkpoint = "5";
    EXPECT_FALSE(table_.UpdateAs("old a", progress).ok()) << key;
  }
}

TEST_F(CoordinatorTest, ParentsBeforeChildrenAcrossWorkers) {
  // 0 splits into 1 and 2; 3 is an unrelated open shard.
  std::vector<StreamShard> shards = {{Shard(0), "", "", "0", "9", true},
                                     {Shard(1), Shard(0), "", "0", "4", false},
                                     {Shard(2), Shard(0), "", "5", "9", false},
                                     {Shard(3), "", "", "10", "19", false}};
  Start("a", shards);
  Start("b", shards);
  for (int i = 0; i < 6; ++i) Round();
  for (const char* id : {"a", "b"}) {
    EXPECT_FALSE(W(id).Holds(Shard(1))) << id;
    EXPECT_FALSE(W(id).Holds(Shard(2))) << id;
  }
  const std::string parent_owner = table_.Peek(Shard(0))->owner;
  ASSERT_FALSE(parent_owner.empty());
  Lease p = W(parent_owner).Held().at(Shard(0));
  p.checkpoint = kShardEnd;
  ASSERT_TRUE(Handle(parent_owner).Update(p).ok());
  for (int i = 0; i < 6; ++i) Round();
  EXPECT_EQ(table_.Peek(Shard(1))->owner.empty(), false);
  EXPECT_EQ(table_.Peek(Shard(2))->owner.empty(), false);
  EXPECT_TRUE(Balanced());
  EXPECT_EQ(W(parent_owner).stats().finished, 1);
}

TEST_F(CoordinatorTest, CapGivesUpTheExcess) {
  Start("a", OpenShards(5), 3);
  Tick("a");
  EXPECT_EQ(W("a").Held().size(), 3u);
  EXPECT_EQ(W("a").stats().target, 3);
  // Leases it holds beyond the cap (say, a cap lowered at a restart reusing
  // the id) are released.
  Stop("a");
  for (Lease l : table_.Leases()) {
    if (l.owner.empty()) {
      ASSERT_TRUE(table_.TransferAs("x", l, "a").ok());
    }
  }
  Start("a", OpenShards(5), 2);
  Round();
  Round();
  EXPECT_EQ(W("a").Held().size(), 2u);
  EXPECT_EQ(W("a").stats().released, 3);
}

TEST_F(CoordinatorTest, TableFailures) {
  Coordinator& a = Start("a", OpenShards(2));
  Tick("a");
  ASSERT_EQ(a.Held().size(), 2u);
  table_.FailNext(Op::kList, Status::Unavailable("throttled").WithPeer(RetryClass::kThrottled, "x"));
  EXPECT_TRUE(a.Tick(clock_.Now()).IsUnavailable());
  EXPECT_EQ(a.Held().size(), 2u) << "a failed listing changes nothing held";
  table_.FailNext(Op::kHeartbeat, Status::Unavailable("503"));
  Round();
  EXPECT_EQ(a.stats().table_errors, 2);

  // A failed Transfer (not a refused condition) takes nothing.
  Start("b", OpenShards(3));
  table_.FailNext(Op::kCreate, Status::Unavailable("503"));
  table_.FailNext(Op::kTransfer, Status::Unavailable("503"));
  Round({"b"});
  EXPECT_EQ(W("b").stats().table_errors, 2);
  EXPECT_EQ(W("b").Held().size(), 0u);
  Round({"b"});
  EXPECT_EQ(W("b").Held().size(), 1u);
}

TEST_F(CoordinatorTest, ReportLostDropsTheLease) {
  Coordinator& a = Start("a", OpenShards(2));
  Tick("a");
  a.ReportLost(Shard(1));
  EXPECT_FALSE(a.Holds(Shard(1)));
  EXPECT_EQ(a.stats().lost, 1);
  a.ReportLost(Shard(1));
  EXPECT_EQ(a.stats().lost, 1);
}

}  // namespace
}  // namespace shardhose::lease

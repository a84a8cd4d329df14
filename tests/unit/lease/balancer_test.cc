#include "lease/balancer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace shardhose::lease {
namespace {

std::string Shard(int i) { return fmt::format("shardId-{:012d}", i); }

std::vector<Lease> Shards(int n) {
  std::vector<Lease> v;
  for (int i = 0; i < n; ++i) {
    Lease l;
    l.key = Shard(i);
    v.push_back(l);
  }
  return v;
}

std::vector<std::string> Keys(const std::vector<Lease>& v) {
  std::vector<std::string> out;
  for (const Lease& l : v) out.push_back(l.key);
  return out;
}

std::map<std::string, int> Counts(const std::vector<Lease>& leases) {
  std::map<std::string, int> c;
  for (const Lease& l : leases) {
    if (!l.owner.empty() && !l.finished()) ++c[l.owner];
  }
  return c;
}

TEST(Balancer, TakesFreeLeasesUpToTarget) {
  std::vector<Lease> leases = Shards(8);
  const BalancePlan p = Balance(leases, {"a", "b", "c"}, "a", 0);
  EXPECT_EQ(p.target, 3);
  EXPECT_EQ(p.workers, 3);
  EXPECT_EQ(p.take.size(), 3u);
  EXPECT_TRUE(p.steal.empty());
  // Deterministic.
  EXPECT_EQ(Keys(Balance(leases, {"a", "b", "c"}, "a", 0).take), Keys(p.take));
}

TEST(Balancer, ExpiredOwnersLeasesAreFree) {
  std::vector<Lease> leases = Shards(4);
  for (Lease& l : leases) l.owner = "dead";
  const BalancePlan p = Balance(leases, {"b"}, "a", 0);
  EXPECT_EQ(p.target, 2);
  EXPECT_EQ(p.take.size(), 2u);
}

TEST(Balancer, FinishedLeasesAreNeverTakenNorCounted) {
  std::vector<Lease> leases = Shards(4);
  leases[0].checkpoint = kShardEnd;
  leases[1].checkpoint = kShardEnd;
  leases[1].owner = "b";
  const BalancePlan p = Balance(leases, {"b"}, "a", 0);
  EXPECT_EQ(p.target, 1);
  ASSERT_EQ(p.take.size(), 1u);
  EXPECT_NE(p.take[0].key, Shard(0));
}

TEST(Balancer, ParentsBeforeChildren) {
  std::vector<Lease> leases = Shards(4);  // 0,1 parents of 2; 3 child of a trimmed parent
  leases[2].parents = {Shard(0), Shard(1)};
  leases[3].parents = {"shardId-gone"};
  leases[0].owner = "b";
  leases[1].checkpoint = kShardEnd;
  EXPECT_FALSE(Eligible(leases[2], leases));
  EXPECT_TRUE(Eligible(leases[3], leases));
  BalancePlan p = Balance(leases, {"b"}, "a", 0);
  EXPECT_EQ(Keys(p.take), std::vector<std::string>{Shard(3)});
  leases[0].checkpoint = kShardEnd;
  EXPECT_TRUE(Eligible(leases[2], leases));
  p = Balance(leases, {}, "a", 0);
  std::vector<std::string> taken = Keys(p.take);
  std::sort(taken.begin(), taken.end());
  EXPECT_EQ(taken, (std::vector<std::string>{Shard(2), Shard(3)}));
}

TEST(Balancer, StealsOneFromTheWorkerMostOverItsShare) {
  std::vector<Lease> leases = Shards(8);
  for (int i = 0; i < 8; ++i) leases[i].owner = i < 5 ? "b" : "c";  // b 5, c 3, a 0
  BalancePlan p = Balance(leases, {"b", "c"}, "a", 0);
  EXPECT_EQ(p.target, 2);  // shares: b 3, c 3, a 2
  ASSERT_EQ(p.steal.size(), 1u) << "one at a time";
  EXPECT_EQ(p.steal[0].owner, "b");
  EXPECT_TRUE(p.take.empty());

  // b 3, c 3, a 2: everybody at its share: nothing moves.
  for (int i = 0; i < 8; ++i) leases[i].owner = i < 3 ? "b" : i < 6 ? "c" : "a";
  for (const char* w : {"a", "b", "c"}) {
    p = Balance(leases, {"a", "b", "c"}, w, 0);
    EXPECT_TRUE(p.steal.empty() && p.take.empty() && p.give_up.empty()) << w;
  }

  // 9 shards, 4 workers: b 3, c 3, d 3, a 0: shares b 3, c 2, d 2, a 2.
  leases = Shards(9);
  for (int i = 0; i < 9; ++i) leases[i].owner = i < 3 ? "b" : i < 6 ? "c" : "d";
  p = Balance(leases, {"b", "c", "d"}, "a", 0);
  EXPECT_EQ(p.target, 2);
  ASSERT_EQ(p.steal.size(), 1u);
  EXPECT_EQ(p.steal[0].owner, "c");
}

TEST(Balancer, ShedsDownToItsShareWhileAnotherWorkerIsShort) {
  std::vector<Lease> leases = Shards(8);
  for (int i = 0; i < 8; ++i) leases[i].owner = i < 6 ? "a" : "b";  // a 6, b 2, c 0
  BalancePlan p = Balance(leases, {"b", "c"}, "a", 0);
  EXPECT_EQ(p.target, 3);
  EXPECT_EQ(Keys(p.give_up), (std::vector<std::string>{Shard(5), Shard(4), Shard(3)}));
  // a 4, b 2, c 2: shares a 3, b 3, c 2: a sheds one, which b takes (or
  // steals, if it plans before a shed); c has its share.
  for (int i = 0; i < 8; ++i) leases[i].owner = i < 4 ? "a" : i < 6 ? "b" : "c";
  p = Balance(leases, {"b", "c"}, "a", 0);
  EXPECT_EQ(Keys(p.give_up), std::vector<std::string>{Shard(3)});
  EXPECT_EQ(Balance(leases, {"a", "b"}, "c", 0).steal.size(), 0u);
  EXPECT_EQ(Balance(leases, {"a", "c"}, "b", 0).steal.size(), 1u);
  // Nobody short: no shedding, even above the average.
  leases = Shards(7);
  for (int i = 0; i < 7; ++i) leases[i].owner = i < 3 ? "a" : i < 5 ? "b" : "c";
  EXPECT_TRUE(Balance(leases, {"b", "c"}, "a", 0).give_up.empty());
}

TEST(Balancer, CapLimitsTargetAndGivesUpTheExcess) {
  std::vector<Lease> leases = Shards(6);
  for (int i = 0; i < 4; ++i) leases[i].owner = "a";
  const BalancePlan p = Balance(leases, {}, "a", 2);
  EXPECT_EQ(p.target, 2);
  EXPECT_EQ(Keys(p.give_up), (std::vector<std::string>{Shard(3), Shard(2)}));
  EXPECT_TRUE(p.take.empty());
}

TEST(Balancer, NothingToDoOnAnEmptyTable) {
  const BalancePlan p = Balance({}, {"b"}, "a", 0);
  EXPECT_EQ(p.target, 0);
  EXPECT_TRUE(p.take.empty() && p.steal.empty() && p.give_up.empty());
}

// Runs rounds in which every worker in turn plans against the current table
// and applies its plan at once; returns the rounds until a round moved
// nothing, or -1 after `max_rounds`.
int Converge(std::vector<Lease>* leases, const std::vector<std::string>& workers, int max_rounds, int* moves) {
  const std::set<std::string> live(workers.begin(), workers.end());
  for (int round = 0; round < max_rounds; ++round) {
    int moved = 0;
    for (const std::string& w : workers) {
      const BalancePlan p = Balance(*leases, live, w, 0);
      for (const Lease& g : p.give_up) {
        for (Lease& l : *leases) {
          if (l.key == g.key) {
            l.owner = "";
            ++l.counter;
            ++moved;
          }
        }
      }
      std::vector<Lease> got = p.take;
      got.insert(got.end(), p.steal.begin(), p.steal.end());
      for (const Lease& g : got) {
        for (Lease& l : *leases) {
          if (l.key == g.key) {
            l.owner = w;
            ++l.counter;
            ++moved;
          }
        }
      }
    }
    *moves += moved;
    if (moved == 0) return round;
  }
  return -1;
}

TEST(Balancer, ConvergesToWithinOneAndStaysThere) {
  for (int workers = 1; workers <= 7; ++workers) {
    for (int shards = 0; shards <= 40; shards += 3) {
      std::vector<std::string> ids;
      for (int w = 0; w < workers; ++w) ids.push_back(fmt::format("worker-{}", w));
      std::vector<Lease> leases = Shards(shards);
      // Start skewed: everything on the first worker.
      for (Lease& l : leases) l.owner = ids[0];
      int moves = 0;
      const int rounds = Converge(&leases, ids, 100, &moves);
      ASSERT_GE(rounds, 0) << workers << " workers, " << shards << " shards: no convergence";
      std::map<std::string, int> c = Counts(leases);
      int lo = shards, hi = 0;
      for (const std::string& id : ids) {
        lo = std::min(lo, c[id]);
        hi = std::max(hi, c[id]);
      }
      EXPECT_LE(hi - lo, 1) << workers << " workers, " << shards << " shards";
      // Each lease moves at most once (shed, then taken): no ping-pong.
      EXPECT_LE(moves, 2 * shards) << workers << " workers, " << shards << " shards";
      EXPECT_LE(rounds, 3) << workers << " workers, " << shards << " shards";
      // And then nothing moves any more.
      int more = 0;
      EXPECT_EQ(Converge(&leases, ids, 5, &more), 0);
    }
  }
}

TEST(Balancer, WorkerJoiningAnEvenSpreadTakesItsShare) {
  std::vector<Lease> leases = Shards(8);
  for (int i = 0; i < 8; ++i) leases[i].owner = i % 2 ? "a" : "b";  // 4 + 4
  int moves = 0;
  EXPECT_GE(Converge(&leases, {"a", "b", "c"}, 10, &moves), 0);
  EXPECT_EQ(moves, 4);  // a and b shed one each, c takes both (4,4,0 -> 3,3,2)
  EXPECT_EQ(Counts(leases)["c"], 2);
}

}  // namespace
}  // namespace shardhose::lease

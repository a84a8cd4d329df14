// Random runs of several coordinators against one FakeLeaseTable: workers
// killed, paused past their lease duration (zombies) and resumed, added and
// stopped gracefully, a split or a merge, while each "engine" writes
// progress on what it holds (and SHARD_END, some time after its shard
// closed). Checked at every step: fencing (a worker whose write lands owns
// the lease; whoever holds the table's counter is the owner), parents
// before children (an owned child has every listed parent finished); at
// the end: every lease owned by exactly one running worker that
// holds it, balanced within +-1, within two lease durations + 30 s of the
// last change.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "lease/coordinator.h"
#include "testing/fake_lease_table.h"

namespace shardhose::lease {
namespace {

using shardhose::testing::FakeLeaseTable;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Millis kLeaseDuration = seconds(10);

struct SimWorker {
  std::unique_ptr<LeaseTable> handle;
  std::unique_ptr<Coordinator> c;
  MonoTime next_tick;
  MonoTime paused_until;  // not ticking nor writing before this
};

class Simulation {
 public:
  explicit Simulation(uint32_t seed) : rng_(seed) {
    for (int i = 0; i < 8; ++i) shards_.push_back({fmt::format("shardId-{:012d}", i), "", "", "0", "1", false});
  }

  void Add() {
    const std::string id = fmt::format("w{}", next_id_++);
    SimWorker& w = workers_[id];
    w.handle = table_.Connect(id);
    CoordinatorOptions o;
    o.worker_id = id;
    o.lease_duration = kLeaseDuration;
    w.c = std::make_unique<Coordinator>(w.handle.get(), &clock_, o);
    w.c->SetShards(shards_);
    w.next_tick = clock_.Now();
    w.paused_until = clock_.Now();
  }

  std::string Pick() {
    auto it = workers_.begin();
    std::advance(it, std::uniform_int_distribution<size_t>(0, workers_.size() - 1)(rng_));
    return it->first;
  }

  // Shard 0 splits into 8 and 9, or 1 and 2 merge into 10.
  void Reshard(bool split) {
    auto close = [&](int i) {
      shards_[static_cast<size_t>(i)].closed = true;
      closed_.insert(shards_[static_cast<size_t>(i)].id);
    };
    if (split) {
      close(0);
      shards_.push_back({"shardId-000000000008", shards_[0].id, "", "0", "0", false});
      shards_.push_back({"shardId-000000000009", shards_[0].id, "", "1", "1", false});
    } else {
      close(1);
      close(2);
      shards_.push_back({"shardId-000000000010", shards_[1].id, shards_[2].id, "1", "2", false});
    }
    for (auto& [id, w] : workers_) w.c->SetShards(shards_);
  }

  // One random event, then time passes and due workers act.
  void Step(bool chaos) {
    const int dice = std::uniform_int_distribution<int>(0, 99)(rng_);
    if (chaos && dice < 4 && workers_.size() > 1) {
      workers_.erase(Pick());  // SIGKILL: nothing released
      ++kills_;
    } else if (chaos && dice < 8 && workers_.size() < 5) {
      Add();
    } else if (chaos && dice < 10 && workers_.size() > 1) {
      const std::string id = Pick();
      EXPECT_TRUE(workers_[id].c->ReleaseAll().ok());  // SIGTERM
      workers_.erase(id);
    } else if (chaos && dice < 13) {
      SimWorker& w = workers_[Pick()];  // SIGSTOP past the lease duration
      w.paused_until = clock_.Now() + kLeaseDuration + milliseconds(std::uniform_int_distribution<int>(1, 15000)(rng_));
      ++pauses_;
    }
    clock_.Advance(milliseconds(std::uniform_int_distribution<int>(200, 1500)(rng_)));
    for (auto& [id, w] : workers_) {
      if (clock_.Now() < w.paused_until || clock_.Now() < w.next_tick) continue;
      Engine(id, w);  // the engine runs on its own: a zombie writes before its Tick notices
      Status st = w.c->Tick(clock_.Now());
      EXPECT_TRUE(st.ok()) << st.ToString();
      w.next_tick = clock_.Now() + w.c->TickInterval();
      Engine(id, w);
    }
    CheckFencing();
  }

  // The engine writes progress on every lease it holds; a refused write
  // is a lease lost.
  void Engine(const std::string& id, SimWorker& w) {
    for (auto [key, l] : w.c->Held()) {
      if (l.finished() || ended_.count(key)) continue;  // a finished shard is not read any more
      const bool end = closed_.count(key) && std::uniform_int_distribution<int>(0, 9)(rng_) < 3;
      l.checkpoint = end ? kShardEnd : std::to_string(++seq_);
      Status st = w.handle->Update(l);
      if (st.ok()) {
        if (end) ended_.insert(key);
        const Lease now = *table_.Peek(key);
        EXPECT_EQ(now.owner, id) << key;
        ++writes_;
      } else {
        EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
        w.c->ReportLost(key);
        ++refused_;
      }
    }
  }

  // Whoever holds a lease with the table's counter is its owner; an owned
  // child has its listed parents finished.
  void CheckFencing() {
    std::map<std::string, Lease> by_key;
    for (const Lease& l : table_.Leases()) by_key[l.key] = l;
    for (const auto& [key, l] : by_key) {
      if (l.owner.empty()) continue;
      for (const std::string& p : l.parents) {
        if (by_key.count(p)) {
          EXPECT_TRUE(by_key[p].finished()) << key << " owned before its parent " << p;
        }
      }
    }
    for (auto& [id, w] : workers_) {
      for (const auto& [key, l] : w.c->Held()) {
        const Lease now = *table_.Peek(key);
        if (now.counter == l.counter) {
          EXPECT_EQ(now.owner, id) << key;
        }
      }
    }
  }

  void Resume() {
    for (auto& [id, w] : workers_) w.paused_until = clock_.Now();
  }

  bool Balanced() const {
    for (const Lease& l : table_.Leases()) {
      if (l.finished()) continue;
      if (!workers_.count(l.owner) || !workers_.at(l.owner).c->Holds(l.key)) return false;
    }
    size_t lo = SIZE_MAX, hi = 0;
    for (const auto& [id, w] : workers_) {
      lo = std::min(lo, w.c->Held().size());
      hi = std::max(hi, w.c->Held().size());
    }
    return hi - lo <= 1;
  }

  SimulatedClock clock_;
  FakeLeaseTable table_;
  std::mt19937 rng_;
  std::vector<StreamShard> shards_;
  std::set<std::string> closed_;
  std::set<std::string> ended_;  // SHARD_END written
  std::map<std::string, SimWorker> workers_;
  int next_id_ = 0;
  int64_t seq_ = 1000;
  int kills_ = 0, pauses_ = 0, writes_ = 0, refused_ = 0;
};

TEST(Simulation, ChaosThenBalanceWithinTwoLeaseDurationsPlus30s) {
  int kills = 0, pauses = 0, refused = 0;
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Simulation sim(seed);
    for (int i = 0; i < 3; ++i) sim.Add();
    for (int i = 0; i < 400; ++i) {
      if (i == 150) sim.Reshard(/*split=*/seed % 2 == 1);
      sim.Step(/*chaos=*/true);
    }
    sim.Resume();
    const MonoTime deadline = sim.clock_.Now() + 2 * kLeaseDuration + seconds(30);
    while (sim.clock_.Now() < deadline) sim.Step(/*chaos=*/false);
    EXPECT_TRUE(sim.Balanced());
    EXPECT_EQ(sim.table_.Leases().size(), seed % 2 == 1 ? 10u : 9u);
    int finished = 0;
    for (const Lease& l : sim.table_.Leases()) finished += l.finished();
    EXPECT_EQ(finished, seed % 2 == 1 ? 1 : 2);
    kills += sim.kills_;
    pauses += sim.pauses_;
    refused += sim.refused_;
  }
  EXPECT_GT(kills, 20);
  EXPECT_GT(pauses, 20);
  EXPECT_GT(refused, 0) << "zombies never wrote: the fencing was not exercised";
}

// The fake is a linearizable table: threads racing for one lease, exactly
// one Transfer lands.
TEST(FakeLeaseTable, ConcurrentTransfersExactlyOneWins) {
  FakeLeaseTable table;
  Lease l;
  l.key = "shardId-000000000000";
  l.owner = "dead";
  table.PutLease(l);
  for (int round = 0; round < 20; ++round) {
    const Lease seen = *table.Peek(l.key);
    std::atomic<int> wins{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        if (table.TransferAs(fmt::format("t{}", t), seen, fmt::format("t{}", t)).ok()) ++wins;
      });
    }
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(table.Peek(l.key)->counter, seen.counter + 1);
  }
}

}  // namespace
}  // namespace shardhose::lease

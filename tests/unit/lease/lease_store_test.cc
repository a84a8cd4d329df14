// LeaseStore (lease/lease_store.h): the pipeline's checkpoint written into
// the leases held, fenced by their counters, and a lease read back as the
// shard the pipeline is handed.
#include "lease/lease_store.h"

#include <gtest/gtest.h>

#include "testing/fake_lease_table.h"

namespace shardhose::lease {
namespace {

using shardhose::testing::FakeLeaseTable;

constexpr Millis kLeaseDuration{10000};

class LeaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_table_ = table_.Connect("a");
    b_table_ = table_.Connect("b");
    a_ = NewCoordinator(a_table_.get(), "a");
    b_ = NewCoordinator(b_table_.get(), "b");
  }
  std::unique_ptr<Coordinator> NewCoordinator(LeaseTable* t, const std::string& id) {
    CoordinatorOptions o;
    o.worker_id = id;
    o.lease_duration = kLeaseDuration;
    auto c = std::make_unique<Coordinator>(t, &clock_, o);
    c->SetShards({StreamShard{"shardId-0", "", "", "0", "9", false}});
    return c;
  }
  checkpoint::Checkpoint Progress(const std::string& seq, std::vector<checkpoint::PendingCut> cuts = {}) {
    checkpoint::Checkpoint cp;
    cp.shards["shardId-0"].sequence = seq;
    cp.pending = std::move(cuts);
    return cp;
  }

  SimulatedClock clock_;
  FakeLeaseTable table_;
  std::unique_ptr<LeaseTable> a_table_, b_table_;
  std::unique_ptr<Coordinator> a_, b_;
};

TEST_F(LeaseStoreTest, WritesProgressIntoTheHeldLeaseAndIsFencedOnceItMoves) {
  ASSERT_TRUE(a_->Tick(clock_.Now()).ok());
  ASSERT_TRUE(a_->Holds("shardId-0"));
  LeaseStore store(a_table_.get(), a_.get());

  checkpoint::PendingCut cut;
  cut.partition = "ddb/t/";
  cut.key = "ddb/t/orders-0-100-abc.json.gz";
  cut.ranges["shardId-0"] = {"100", "200"};
  ASSERT_TRUE(store.Save(Progress("99", {cut})).ok());
  Lease stored = *table_.Peek("shardId-0");
  EXPECT_EQ(stored.owner, "a");
  EXPECT_EQ(stored.checkpoint, "99");
  ASSERT_EQ(stored.journal.size(), 1u);
  EXPECT_EQ(stored.journal[0], cut);
  const int64_t writes = table_.calls(FakeLeaseTable::Op::kUpdate);
  ASSERT_TRUE(store.Save(Progress("99", {cut})).ok());
  EXPECT_EQ(table_.calls(FakeLeaseTable::Op::kUpdate), writes) << "nothing changed: nothing written";

  // b takes the lease (a is silent past the lease duration).
  clock_.Advance(kLeaseDuration * 3);
  ASSERT_TRUE(b_->Tick(clock_.Now()).ok());
  clock_.Advance(kLeaseDuration * 2);
  ASSERT_TRUE(b_->Tick(clock_.Now()).ok());
  ASSERT_TRUE(b_->Holds("shardId-0"));
  // a, a zombie, still thinks it holds the lease: its write is refused,
  // and the coordinator drops the lease.
  cut.ranges["shardId-0"].last = "300";
  Status st = store.Save(Progress("200", {cut}));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("shardId-0"), std::string::npos) << st.message();
  EXPECT_FALSE(a_->Holds("shardId-0"));
  EXPECT_EQ(table_.Peek("shardId-0")->checkpoint, "99") << "the fenced write changed nothing";
  // Not held at all: refused without a write.
  EXPECT_EQ(store.Save(Progress("200")).code(), StatusCode::kAborted);
  // Once the pipeline dropped the shard, saving works again.
  EXPECT_TRUE(store.Save(checkpoint::Checkpoint{}).ok());

  // b reads the shard where the lease says, with a's journaled cut.
  pipeline::LeasedShard s = ToLeasedShard(*table_.Peek("shardId-0"), 0, 0);
  EXPECT_EQ(s.info.id, "shardId-0");
  EXPECT_EQ(s.position.sequence, "99");
  ASSERT_EQ(s.cuts.size(), 1u);
  EXPECT_EQ(s.cuts[0].ranges.at("shardId-0").last, "200");
}

// A lease taken again (here: a restart reusing the worker id takes its lease
// back, a new counter) while the pipeline still holds the earlier reading:
// that reading's progress and cuts must not go into the new lease. Found
// by the chaos e2e: a zombie stole its lease back and uploaded a stale cut
// whose records the owner in between had written too.
TEST_F(LeaseStoreTest, AReadingHandedWithAnEarlierCounterIsNotWritten) {
  ASSERT_TRUE(a_->Tick(clock_.Now()).ok());
  const int64_t first = a_->Held().at("shardId-0").counter;
  auto again = NewCoordinator(a_table_.get(), "a");  // the same worker id, a new incarnation
  ASSERT_TRUE(again->Tick(clock_.Now()).ok());
  ASSERT_TRUE(again->Holds("shardId-0"));
  const int64_t second = again->Held().at("shardId-0").counter;
  ASSERT_NE(first, second);

  LeaseStore store(a_table_.get(), again.get());
  store.Handed("shardId-0", first);
  checkpoint::PendingCut cut;
  cut.partition = "ddb/t/";
  cut.key = "ddb/t/orders-0-100-abc.json.gz";
  cut.ranges["shardId-0"] = {"100", "200"};
  const int64_t writes = table_.calls(FakeLeaseTable::Op::kUpdate);
  Status st = store.Save(Progress("99", {cut}));
  EXPECT_EQ(st.code(), StatusCode::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("moved since its reading began"), std::string::npos) << st.message();
  EXPECT_EQ(table_.calls(FakeLeaseTable::Op::kUpdate), writes) << "nothing written";
  EXPECT_TRUE(table_.Peek("shardId-0")->journal.empty());
  EXPECT_TRUE(again->Holds("shardId-0")) << "not a lost lease: the worker re-reads it";

  // The worker drops the stale reading and hands the lease over again.
  store.Dropped("shardId-0");
  EXPECT_TRUE(store.Save(checkpoint::Checkpoint{}).ok());
  store.Handed("shardId-0", second);
  ASSERT_TRUE(store.Save(Progress("99", {cut})).ok());
  EXPECT_EQ(table_.Peek("shardId-0")->journal.size(), 1u);
}

// An idle shard's caught-up time moves every minute; alone, it is written
// once it moved an hour (a write per shard per minute would cost more than
// the rest of the lease traffic together).
TEST_F(LeaseStoreTest, CaughtUpTimeAloneIsWrittenHourly) {
  ASSERT_TRUE(a_->Tick(clock_.Now()).ok());
  LeaseStore store(a_table_.get(), a_.get());
  checkpoint::Checkpoint cp = Progress("100");
  cp.shards["shardId-0"].caught_up_ms = 1000;
  ASSERT_TRUE(store.Save(cp).ok());
  const int64_t writes = table_.calls(FakeLeaseTable::Op::kUpdate);
  for (int minute = 1; minute < 60; ++minute) {
    cp.shards["shardId-0"].caught_up_ms = 1000 + minute * 60000;
    ASSERT_TRUE(store.Save(cp).ok());
  }
  EXPECT_EQ(table_.calls(FakeLeaseTable::Op::kUpdate), writes);
  EXPECT_EQ(table_.Peek("shardId-0")->caught_up_ms, 1000);
  cp.shards["shardId-0"].caught_up_ms = 1000 + kCaughtUpRefreshMs;
  ASSERT_TRUE(store.Save(cp).ok());
  EXPECT_EQ(table_.calls(FakeLeaseTable::Op::kUpdate), writes + 1);
  // With any other change it goes along at once.
  cp.shards["shardId-0"].caught_up_ms += 60000;
  cp.shards["shardId-0"].sequence = "101";
  ASSERT_TRUE(store.Save(cp).ok());
  EXPECT_EQ(table_.Peek("shardId-0")->caught_up_ms, 1000 + kCaughtUpRefreshMs + 60000);
}

TEST_F(LeaseStoreTest, FinishedIsWrittenOnceAndSentinelsBecomeStarts) {
  ASSERT_TRUE(a_->Tick(clock_.Now()).ok());
  LeaseStore store(a_table_.get(), a_.get());
  checkpoint::Checkpoint cp = Progress("500");
  cp.shards["shardId-0"].state = checkpoint::ShardCheckpoint::State::kFinished;
  ASSERT_TRUE(store.Save(cp).ok());
  EXPECT_EQ(table_.Peek("shardId-0")->checkpoint, kShardEnd);
  const int64_t writes = table_.calls(FakeLeaseTable::Op::kUpdate);
  cp.shards["shardId-0"].caught_up_ms = 12345;
  ASSERT_TRUE(store.Save(cp).ok());
  EXPECT_EQ(table_.calls(FakeLeaseTable::Op::kUpdate), writes) << "a finished lease is never written again";
  a_->ReportLost("shardId-0");  // as when the coordinator drops a lease it sees at SHARD_END
  EXPECT_TRUE(store.Save(cp).ok()) << "a finished shard's progress is settled, held or not";

  Lease l;
  l.key = "shardId-7";
  l.parents = {"shardId-1", "shardId-2"};
  l.checkpoint = kShardEnd;
  EXPECT_EQ(ToLeasedShard(l, 0, 0).position.state, checkpoint::ShardCheckpoint::State::kFinished);
  EXPECT_EQ(ToLeasedShard(l, 0, 0).info.adjacent_parent, "shardId-2");
  l.checkpoint = kAtTimestamp;
  EXPECT_EQ(ToLeasedShard(l, 777, 0).position.start_timestamp_ms, 777) << "a KCL table has no shStartMs";
  l.start_ms = 555;
  EXPECT_EQ(ToLeasedShard(l, 777, 0).position.start_timestamp_ms, 555);
  l.checkpoint = kLatest;
  EXPECT_EQ(ToLeasedShard(l, 777, 999).position.start_timestamp_ms, 999) << "LATEST is pinned when taken";
  l.checkpoint = kTrimHorizon;
  EXPECT_EQ(ToLeasedShard(l, 0, 0).position.start, checkpoint::ShardCheckpoint::Start::kTrimHorizon);
  EXPECT_EQ(ToLeasedShard(l, 0, 0).position.sequence, "");
}

}  // namespace
}  // namespace shardhose::lease

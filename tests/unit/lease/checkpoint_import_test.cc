// lease/checkpoint_import.h: a local checkpoint file becomes the leases of
// its shards once, and is moved aside.
#include "lease/checkpoint_import.h"

#include <gtest/gtest.h>

#include "checkpoint/checkpoint.h"
#include "testing/fake_lease_table.h"
#include "testing/mem_fs.h"

namespace shardhose::lease {
namespace {

using checkpoint::Checkpoint;
using checkpoint::PendingCut;
using checkpoint::SeqRange;
using checkpoint::ShardCheckpoint;

Checkpoint Sample() {
  Checkpoint cp;
  cp.stream_name = "orders";
  cp.stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";
  ShardCheckpoint parent;
  parent.state = ShardCheckpoint::State::kFinished;
  parent.sequence = "100";
  cp.shards["shardId-0"] = parent;
  ShardCheckpoint child;
  child.sequence = "200";
  child.parent = "shardId-0";
  child.caught_up_ms = 1700000000000;
  cp.shards["shardId-1"] = child;
  ShardCheckpoint fresh;
  fresh.start = ShardCheckpoint::Start::kAtTimestamp;
  fresh.start_timestamp_ms = 1716200000000;
  cp.shards["shardId-2"] = fresh;
  // One shard, not uploaded: re-formed by the lease's owner.
  cp.pending.push_back(PendingCut{"p/", "p/one", false, {{"shardId-1", SeqRange{"201", "210"}}}});
  // Two shards, uploaded: split, each shard skips its records.
  cp.pending.push_back(
      PendingCut{"p/", "p/two", true, {{"shardId-1", SeqRange{"211", "220"}}, {"shardId-2", SeqRange{"5", "9"}}}});
  return cp;
}

TEST(LeasesOfCheckpointTest, PositionsParentsAndJournalPerShard) {
  auto leases = LeasesOfCheckpoint(Sample());
  ASSERT_TRUE(leases.ok()) << leases.status().ToString();
  ASSERT_EQ(leases->size(), 3u);
  const Lease& p = (*leases)[0];
  EXPECT_EQ(p.key, "shardId-0");
  EXPECT_EQ(p.checkpoint, kShardEnd);
  EXPECT_TRUE(p.journal.empty());
  EXPECT_EQ(p.owner, "");
  const Lease& c = (*leases)[1];
  EXPECT_EQ(c.checkpoint, "200");
  EXPECT_EQ(c.parents, std::vector<std::string>{"shardId-0"});
  EXPECT_EQ(c.caught_up_ms, 1700000000000);
  ASSERT_EQ(c.journal.size(), 2u);
  EXPECT_EQ(c.journal[0].key, "p/one");
  EXPECT_FALSE(c.journal[0].uploaded);
  EXPECT_EQ(c.journal[1].key, "p/two");
  EXPECT_TRUE(c.journal[1].uploaded);
  EXPECT_EQ(c.journal[1].ranges.size(), 1u);
  EXPECT_EQ(c.journal[1].ranges.at("shardId-1"), (SeqRange{"211", "220"}));
  const Lease& f = (*leases)[2];
  EXPECT_EQ(f.checkpoint, kAtTimestamp);
  EXPECT_EQ(f.start_ms, 1716200000000);
  ASSERT_EQ(f.journal.size(), 1u);
  EXPECT_EQ(f.journal[0].ranges.at("shardId-2"), (SeqRange{"5", "9"}));
}

TEST(LeasesOfCheckpointTest, ABatchOfSeveralShardsInFlightIsRefused) {
  Checkpoint cp = Sample();
  cp.pending[1].uploaded = false;
  auto leases = LeasesOfCheckpoint(cp);
  ASSERT_FALSE(leases.ok());
  EXPECT_EQ(leases.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(leases.status().message().find("1 batch(es) of several shards"), std::string::npos);
  EXPECT_NE(leases.status().message().find("SIGTERM"), std::string::npos);
}

class ImportFileTest : public ::testing::Test {
 protected:
  void Write(const Checkpoint& cp) {
    ASSERT_TRUE(fs_.CreateDirs("/state").ok());
    ASSERT_TRUE(fs_.WriteFile(kPath, checkpoint::Encode(cp), true).ok());
  }
  static constexpr const char* kPath = "/state/checkpoint.json";
  test::MemFileSystem fs_;
  testing::FakeLeaseTable table_;
};

TEST_F(ImportFileTest, NoFileNothingToDo) {
  auto h = table_.Connect("a");
  auto r = ImportCheckpointFile(&fs_, kPath, "orders", h.get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->found);
  EXPECT_TRUE(table_.Leases().empty());
}

TEST_F(ImportFileTest, ImportsOnceForShardsTheTableLacksThenMovesTheFileAside) {
  Write(Sample());
  Lease known;
  known.key = "shardId-2";
  known.owner = "b";
  known.counter = 7;
  known.checkpoint = "77";
  table_.PutLease(known);
  auto h = table_.Connect("a");
  auto r = ImportCheckpointFile(&fs_, kPath, "orders", h.get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->found);
  EXPECT_EQ(r->created, 2);
  EXPECT_EQ(r->known, 1);
  EXPECT_EQ(r->moved_to, std::string(kPath) + ".imported");
  EXPECT_FALSE(fs_.Exists(kPath));
  EXPECT_TRUE(fs_.Exists(r->moved_to));
  ASSERT_TRUE(table_.Peek("shardId-1"));
  EXPECT_EQ(table_.Peek("shardId-1")->checkpoint, "200");
  EXPECT_EQ(table_.Peek("shardId-1")->owner, "");
  EXPECT_EQ(table_.Peek("shardId-1")->journal.size(), 2u);
  EXPECT_EQ(*table_.Peek("shardId-2"), known);  // the table's state wins
  // Afterwards the file is not used.
  auto again = ImportCheckpointFile(&fs_, kPath, "orders", h.get());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->found);
}

TEST_F(ImportFileTest, AnotherStreamsOrACorruptFileStopsAndStaysPut) {
  Write(Sample());
  auto h = table_.Connect("a");
  auto other = ImportCheckpointFile(&fs_, kPath, "payments", h.get());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("of stream orders, not payments"), std::string::npos);
  ASSERT_TRUE(fs_.WriteFile(kPath, "{not json", true).ok());
  auto corrupt = ImportCheckpointFile(&fs_, kPath, "orders", h.get());
  ASSERT_FALSE(corrupt.ok());
  EXPECT_TRUE(corrupt.status().IsCorruption()) << corrupt.status().ToString();
  EXPECT_TRUE(fs_.Exists(kPath));
  EXPECT_TRUE(table_.Leases().empty());
}

TEST_F(ImportFileTest, ATableFailureLeavesTheFileForTheNextStart) {
  Write(Sample());
  table_.FailNext(testing::FakeLeaseTable::Op::kCreate, Status::Unavailable("connection refused"));
  auto h = table_.Connect("a");
  auto r = ImportCheckpointFile(&fs_, kPath, "orders", h.get());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(fs_.Exists(kPath));
  // The next start imports what is missing.
  auto next = ImportCheckpointFile(&fs_, kPath, "orders", h.get());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->created + next->known, 3);
}

}  // namespace
}  // namespace shardhose::lease

// Lease mode (pipeline.h, "Lease mode"): the pipeline reads only the shards
// handed to it, one shard per object, and a shard taken away and given to
// another pipeline (its lease moved) ends up exactly once: the new owner
// re-forms the cuts the old one journaled, under the same keys, and the old
// one uploads nothing it did not journal.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "checkpoint/checkpoint_store.h"
#include "pipeline/pipeline.h"
#include "poll/kinesis_source.h"
#include "testing/change_records.h"
#include "testing/fake_kinesis.h"
#include "testing/fake_store.h"

namespace shardhose::pipeline {
namespace {

using test::ChangeRecord;

bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Keeps what the pipeline saved last (in lease mode: the lease items' content).
class RecordingStore : public checkpoint::CheckpointStore {
 public:
  Status Acquire() override { return Status::OK(); }
  Result<std::optional<checkpoint::Checkpoint>> Load() override { return std::optional<checkpoint::Checkpoint>(); }
  Status Save(const checkpoint::Checkpoint& cp) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = cp;
    return Status::OK();
  }
  std::string Describe() const override { return "recording"; }
  checkpoint::Checkpoint Last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  // The shard as its lease would hand it to the next owner.
  LeasedShard Lease(const std::string& id, const poll::ShardInfo& info) {
    checkpoint::Checkpoint cp = Last();
    LeasedShard s;
    s.info = info;
    if (cp.shards.count(id)) s.position = cp.shards.at(id);
    for (const auto& cut : cp.pending) {
      if (cut.ranges.count(id)) s.cuts.push_back(cut);
    }
    return s;
  }

 private:
  std::mutex mu_;
  checkpoint::Checkpoint last_;
};

class LeasedShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetAutoAdvance(true);
    cfg_.source.stream_name = "orders-changes";
    cfg_.source.poll_interval_ms = 1;
    cfg_.source.idle_poll_interval_ms = 5;
    cfg_.source.poll_threads = 2;
    cfg_.batch.max_bytes = 1 << 20;
    cfg_.batch.max_records = 10;
    cfg_.batch.max_interval_s = 1;
    cfg_.output.bucket = "lake";
    cfg_.shutdown.grace_period_s = 20;
    cfg_.coordination.mode = config::CoordinationMode::kDynamoDb;
    kinesis_.AddShard("shardId-0");
    kinesis_.AddShard("shardId-1");
    for (int i = 0; i < 10; ++i) {
      kinesis_.Put("shardId-0", ChangeRecord("s0-" + std::to_string(i), "t", 1716200000000));
      kinesis_.Put("shardId-1", ChangeRecord("s1-" + std::to_string(i), "t", 1716200000000));
    }
    source_ = poll::NewKinesisSource(&kinesis_, poll::StreamRef{cfg_.source.stream_name, ""});
  }

  struct Worker {
    RecordingStore checkpoint;
    std::unique_ptr<Pipeline> pipeline;
    std::thread run;
    Status status;
  };
  std::unique_ptr<Worker> StartWorker() {
    auto w = std::make_unique<Worker>();
    w->pipeline = std::make_unique<Pipeline>(cfg_, Deps{source_.get(), &store_, &w->checkpoint, &clock_, nullptr});
    EXPECT_TRUE(w->pipeline->Start().ok());
    Worker* raw = w.get();
    w->run = std::thread([raw] { raw->status = raw->pipeline->Run(/*drain=*/true); });
    return w;
  }
  void StopWorker(Worker& w) {
    w.pipeline->Stop();
    w.run.join();
  }
  poll::ShardInfo Info(const std::string& id) {
    poll::ShardInfo info;
    info.id = id;
    return info;
  }
  std::map<std::string, int> Ids() {
    std::lock_guard<std::mutex> lock(store_.mu);
    return test::CountEventIds(store_.objects);
  }

  config::Config cfg_;
  SimulatedClock clock_;
  test::FakeKinesis kinesis_;
  test::FakeStore store_;
  std::unique_ptr<poll::ChangeSource> source_;
};

TEST_F(LeasedShardsTest, ReadsOnlyTheShardsHandedToItOneShardPerObject) {
  auto w = StartWorker();
  EXPECT_TRUE(w->pipeline->Shards().empty());
  ASSERT_TRUE(w->pipeline->AddShard(LeasedShard{Info("shardId-0"), {}, {}}).ok());
  EXPECT_EQ(w->pipeline->AddShard(LeasedShard{Info("shardId-0"), {}, {}}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(WaitFor([&] { return Ids().size() == 10 && w->pipeline->CaughtUp(); }));
  // A drain in lease mode ends only when the coordinator says so.
  EXPECT_TRUE(w->run.joinable());
  EXPECT_EQ(w->pipeline->Shards(), std::vector<std::string>{"shardId-0"});
  ASSERT_TRUE(w->pipeline->AddShard(LeasedShard{Info("shardId-1"), {}, {}}).ok());
  ASSERT_TRUE(WaitFor([&] { return Ids().size() == 20 && w->pipeline->CaughtUp(); }));
  StopWorker(*w);
  EXPECT_TRUE(w->status.ok()) << w->status.ToString();

  for (const auto& [id, n] : Ids()) EXPECT_EQ(n, 1) << id;
  // Each object holds one shard's records.
  for (const auto& [key, body] : store_.objects) {
    const auto ids = test::CountEventIds({{key, body}});
    ASSERT_FALSE(ids.empty()) << key;
    const std::string shard = ids.begin()->first.substr(0, 3);
    for (const auto& [id, _] : ids) EXPECT_EQ(id.substr(0, 3), shard) << key;
  }
  // The saved progress names both shards, durable to their last record.
  const checkpoint::Checkpoint cp = w->checkpoint.Last();
  ASSERT_EQ(cp.shards.size(), 2u);
  EXPECT_FALSE(cp.shards.at("shardId-0").sequence.empty());
  EXPECT_TRUE(cp.pending.empty() || cp.pending.front().uploaded);
}

TEST_F(LeasedShardsTest, AShardMovedToAnotherWorkerEndsUpExactlyOnce) {
  // Worker A journals a batch of shard 0 but cannot upload it (S3 refuses).
  store_.write_error = Status::PermissionDenied("Access Denied").WithPeer(RetryClass::kClientError, "AccessDenied");
  auto a = StartWorker();
  ASSERT_TRUE(a->pipeline->AddShard(LeasedShard{Info("shardId-0"), {}, {}}).ok());
  ASSERT_TRUE(WaitFor([&] { return a->checkpoint.Last().pending.size() == 1; }));
  // More records arrive; A reads some of them into an open batch.
  for (int i = 10; i < 15; ++i) kinesis_.Put("shardId-0", ChangeRecord("s0-" + std::to_string(i), "t", 1716200000000));
  ASSERT_TRUE(WaitFor([&] { return a->pipeline->GetHealth().totals.records_in >= 15; }));

  // The lease moves: A lets the shard go, B takes it as the lease says.
  a->pipeline->DropShard("shardId-0");
  EXPECT_TRUE(a->pipeline->Shards().empty());
  a->pipeline->DropShard("shardId-0");  // a no-op
  const LeasedShard moved = a->checkpoint.Lease("shardId-0", Info("shardId-0"));
  ASSERT_EQ(moved.cuts.size(), 1u);
  EXPECT_FALSE(moved.cuts[0].uploaded);
  EXPECT_EQ(moved.position.sequence, "") << "nothing of shard 0 was durable";
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    store_.write_error = Status::OK();
  }
  auto b = StartWorker();
  ASSERT_TRUE(b->pipeline->AddShard(moved).ok());
  ASSERT_TRUE(WaitFor([&] { return Ids().size() == 15 && b->pipeline->CaughtUp(); }));
  // The journaled batch is under the key A named it, whoever wrote it.
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    EXPECT_TRUE(store_.objects.count(moved.cuts[0].key)) << moved.cuts[0].key;
  }
  StopWorker(*b);
  StopWorker(*a);
  EXPECT_TRUE(b->status.ok()) << b->status.ToString();

  const auto ids = Ids();
  EXPECT_EQ(ids.size(), 15u);
  for (const auto& [id, n] : ids) {
    EXPECT_EQ(n, 1) << id;
    EXPECT_EQ(id.substr(0, 3), "s0-") << "shard 1 was never handed out";
  }
  EXPECT_TRUE(store_.rewritten.empty()) << store_.rewritten.front();
  // A saved nothing of shard 0 after it let it go.
  EXPECT_EQ(a->checkpoint.Last().shards.count("shardId-0"), 0u);
}

}  // namespace
}  // namespace shardhose::pipeline

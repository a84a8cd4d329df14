// The fixture of the pipeline's in-process tests (pipeline_test.cc,
// streams_pipeline_test.cc): an in-memory Kinesis stream, object store and
// filesystem behind the project's own interfaces (tests/unit/testing/),
// and simulated time: the clock auto-advances whenever every pipeline
// thread waits (common/clock.h), so a backoff or a 300 s age flush takes no
// real time and nothing sleeps.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_file.h"
#include "pipeline/pipeline.h"
#include "poll/kinesis_source.h"
#include "testing/change_records.h"
#include "testing/fake_kinesis.h"
#include "testing/fake_store.h"
#include "testing/mem_fs.h"

namespace shardhose::pipeline {

using test::FakeKinesis;
using test::FakeStore;

// What a run counted, from its metrics.
struct Counts {
  uint64_t records_in = 0, retention_gaps = 0, records_skipped = 0;
};

// The sum of every sample of `name` in a Prometheus exposition.
inline uint64_t Sum(const std::string& text, std::string_view name) {
  uint64_t sum = 0;
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const char next = text[at + name.size()];
    at += name.size();
    if (!line_start || (next != ' ' && next != '{')) continue;
    const size_t sp = text.find(' ', text[at] == '{' ? text.find('}', at) : at);
    sum += std::stoull(text.substr(sp + 1, text.find('\n', sp) - sp - 1));
  }
  return sum;
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetAutoAdvance(true);
    dir_ = "/pipeline";
    cfg_.source.stream_name = "orders-changes";
    cfg_.source.poll_interval_ms = 1;
    cfg_.source.idle_poll_interval_ms = 5;
    cfg_.source.poll_threads = 3;
    cfg_.batch.max_bytes = 2000;
    cfg_.batch.max_interval_s = 300;
    cfg_.output.bucket = "lake";
    cfg_.checkpoint.path = dir_ + "/state/checkpoint.json";
    cfg_.shutdown.grace_period_s = 20;
  }

  // The pipeline's dependencies: `k` as the change source, the simulated
  // clock.
  Deps DepsOf(poll::KinesisClient* k, upload::ObjectStore* store, checkpoint::CheckpointStore* cp,
              metrics::Registry* registry = nullptr) {
    sources_.push_back(poll::NewKinesisSource(k, poll::StreamRef{cfg_.source.stream_name, ""}));
    if (wrap_source_) sources_.push_back(wrap_source_(sources_.back().get()));
    return Deps{sources_.back().get(), store, cp, &clock_, registry};
  }

  Status Drain(Counts* counts = nullptr) {
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    metrics::Registry registry;
    Pipeline p(cfg_, DepsOf(&kinesis_, &store_, &file, &registry));
    SHARDHOSE_RETURN_IF_ERROR(p.Start());
    Status st = p.Run(/*drain=*/true);
    if (counts) {
      const std::string text = registry.Expose();
      counts->records_in = Sum(text, "shardhose_records_in_total");
      counts->retention_gaps = Sum(text, "shardhose_retention_gaps_total");
      counts->records_skipped = Sum(text, "shardhose_records_skipped_total");
    }
    return st;
  }

  // n change records of table "t" into `shard`, event ids prefix0..prefix<n-1>.
  void PutRecords(const std::string& shard, const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) kinesis_.Put(shard, test::ChangeRecord(prefix + std::to_string(i), "t", 1716200000000));
  }

  // The checkpoint as after a long outage: `shard` last caught up in 1970.
  void MarkCaughtUpLongAgo(const std::string& shard) {
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    auto cp = file.Load();
    ASSERT_TRUE(cp.ok() && cp->has_value());
    checkpoint::Checkpoint c = **cp;
    c.shards.at(shard).caught_up_ms = 1;
    ASSERT_TRUE(file.Save(c).ok());
  }

  // The daemon down longer than the stream's retention: a drain of 10
  // records (a0..a9), 10 more arrive (b0..b9), the shard was last caught up
  // in 1970, the oldest 15 expire; then a drain, whose metrics go to
  // *after. What must come of it: the loss reported and counted once,
  // reading on from b5, every survivor written once.
  void DrainAfterAnOutagePastRetention(Counts* after) {
    kinesis_.AddShard("shardId-0");
    PutRecords("shardId-0", "a", 10);
    ASSERT_TRUE(Drain().ok());
    MarkCaughtUpLongAgo("shardId-0");
    PutRecords("shardId-0", "b", 10);
    kinesis_.Trim("shardId-0", 15);
    ASSERT_TRUE(Drain(after).ok());
    EXPECT_EQ(after->retention_gaps, 1u);
    EXPECT_EQ(after->records_in, 5u);
    auto ids = store_.EventIds();
    EXPECT_EQ(ids.size(), 15u);  // 10 + the 5 that survived
    for (int i = 5; i < 10; ++i) EXPECT_EQ(ids.count("b" + std::to_string(i)), 1u);
  }

  // The checkpointed record expired, but the shard was caught up after the
  // trim horizon (a drain of a0..a9 just now; they expire; b0..b2 arrive):
  // then a drain, whose metrics go to *after. Nothing can have been lost:
  // no gap is counted, and all 13 are written once.
  void DrainAfterTheCheckpointOfAnIdleShardExpired(Counts* after) {
    kinesis_.AddShard("shardId-0");
    PutRecords("shardId-0", "a", 10);
    ASSERT_TRUE(Drain().ok());
    kinesis_.Trim("shardId-0", 10);
    PutRecords("shardId-0", "b", 3);
    ASSERT_TRUE(Drain(after).ok());
    EXPECT_EQ(after->retention_gaps, 0u);
    EXPECT_EQ(store_.EventIds().size(), 13u);
  }

  checkpoint::Checkpoint LoadCheckpoint() {
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    auto cp = file.Load();
    EXPECT_TRUE(cp.ok() && cp->has_value());
    return cp->value();
  }

  // A restart after a crash: the checkpoint file as the crash left it, a
  // store holding `objects`, one drain. Fills *after with what the store
  // then holds.
  void RestartFromCrash(FakeKinesis& k, const std::string& crash_checkpoint,
                        const std::map<std::string, std::string>& objects, FakeStore* after) {
    ASSERT_TRUE(fs_.WriteFile(cfg_.checkpoint.path, crash_checkpoint, true).ok());
    after->objects = objects;
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    Pipeline p(cfg_, DepsOf(&k, after, &file));
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.Run(true).ok());
  }

  std::string dir_;
  config::Config cfg_;
  SimulatedClock clock_;
  test::MemFileSystem fs_;
  std::vector<std::unique_ptr<poll::ChangeSource>> sources_;
  // Set: every pipeline reads the Kinesis source through what this returns.
  std::function<std::unique_ptr<poll::ChangeSource>(poll::ChangeSource*)> wrap_source_;
  FakeKinesis kinesis_;
  FakeStore store_;
};

}  // namespace shardhose::pipeline

// The pipeline end to end in one process (pipeline_fixture.h: in-memory
// stream, store and filesystem, simulated time). The same capabilities are
// tested against kinesis-local and s3rver in tests/e2e/.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "../decode/kpl_aggregate.h"
#include "checkpoint/checkpoint_file.h"
#include "common/base64.h"
#include "common/seqnum.h"
#include "compress/compress.h"
#include "pipeline_fixture.h"
#include "poll/kinesis_client.h"
#include "poll/kinesis_source.h"
#include "testing/change_records.h"
#include "testing/fake_kinesis.h"
#include "testing/fake_store.h"
#include "testing/mem_fs.h"

namespace shardhose::pipeline {
namespace {

using test::ChangeRecord;
using test::FakeKinesis;
using test::FakeStore;

TEST_F(PipelineTest, DrainWritesEveryRecordOnceAcrossAReshard) {
  kinesis_.AddShard("shardId-0");
  kinesis_.AddShard("shardId-1");
  kinesis_.AddShard("shardId-2", "shardId-0");
  int n = 0;
  for (int i = 0; i < 60; ++i)
    kinesis_.Put("shardId-0", ChangeRecord("e" + std::to_string(n++), "orders", 1716200000000 + i * 60000));
  for (int i = 0; i < 50; ++i)
    kinesis_.Put("shardId-1", ChangeRecord("e" + std::to_string(n++), "customers", 1716200000000));
  kinesis_.Close("shardId-0", {"shardId-2"});
  for (int i = 0; i < 40; ++i)
    kinesis_.Put("shardId-2", ChangeRecord("e" + std::to_string(n++), "orders", 1716210000000));
  kinesis_.Put("shardId-1", "this is not json");
  kinesis_.throttle_every = 7;
  kinesis_.expire_every = 11;
  store_.fail_first = 3;

  ASSERT_TRUE(Drain().ok());

  std::vector<std::string> error_keys;
  auto ids = store_.EventIds(&error_keys);
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
  ASSERT_EQ(error_keys.size(), 1u);
  EXPECT_EQ(error_keys[0].rfind("errors/not_json/dt=2024-05-20/", 0), 0u) << error_keys[0];
  for (const auto& [key, _] : store_.objects) {
    EXPECT_TRUE(key.rfind("ddb/orders/dt=2024-05-20/hr=", 0) == 0 || key.rfind("ddb/customers/", 0) == 0 ||
                key.rfind("errors/", 0) == 0)
        << key;
    EXPECT_TRUE(key.ends_with(".json.gz")) << key;
  }

  // The child was read only after its parent was read to the end.
  size_t last_parent = 0, first_child = SIZE_MAX;
  for (size_t i = 0; i < kinesis_.calls.size(); ++i) {
    if (kinesis_.calls[i].starts_with("GetRecords shardId-0 ")) last_parent = i;
    if (kinesis_.calls[i].starts_with("GetRecords shardId-2 ") && first_child == SIZE_MAX) first_child = i;
  }
  EXPECT_LT(last_parent, first_child);

  auto cp = LoadCheckpoint();
  EXPECT_EQ(cp.stream_name, "orders-changes");
  EXPECT_EQ(cp.shards.at("shardId-0").state, checkpoint::ShardCheckpoint::State::kFinished);
  EXPECT_EQ(cp.shards.at("shardId-1").sequence, kinesis_.shards["shardId-1"].records.back().seq);
  EXPECT_EQ(cp.shards.at("shardId-2").sequence, kinesis_.shards["shardId-2"].records.back().seq);
  EXPECT_EQ(cp.shards.at("shardId-2").parent, "shardId-0");
}

TEST_F(PipelineTest, MergedChildStartsAfterBothParents) {
  // shardId-0 and shardId-1 merged into shardId-2; shardId-1 has a long
  // backlog (the fake answers 7 records per call), so shardId-0 ends first.
  kinesis_.AddShard("shardId-0");
  kinesis_.AddShard("shardId-1");
  kinesis_.AddShard("shardId-2", "shardId-0", "shardId-1");
  int n = 0;
  for (int i = 0; i < 3; ++i) kinesis_.Put("shardId-0", ChangeRecord("e" + std::to_string(n++), "t", 1716200000000));
  for (int i = 0; i < 60; ++i) kinesis_.Put("shardId-1", ChangeRecord("e" + std::to_string(n++), "t", 1716200000000));
  kinesis_.Close("shardId-0", {"shardId-2"});
  kinesis_.Close("shardId-1", {"shardId-2"});
  for (int i = 0; i < 20; ++i) kinesis_.Put("shardId-2", ChangeRecord("e" + std::to_string(n++), "t", 1716200000000));

  ASSERT_TRUE(Drain().ok());
  auto ids = store_.EventIds();
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  size_t last_parent = 0, first_child = SIZE_MAX;
  for (size_t i = 0; i < kinesis_.calls.size(); ++i) {
    const std::string& c = kinesis_.calls[i];
    if (c.starts_with("GetRecords shardId-0 ") || c.starts_with("GetRecords shardId-1 ")) last_parent = i;
    if (c.starts_with("GetRecords shardId-2 ") && first_child == SIZE_MAX) first_child = i;
  }
  EXPECT_LT(last_parent, first_child);
  auto cp = LoadCheckpoint();
  EXPECT_EQ(cp.shards.at("shardId-2").parent, "shardId-0");
  EXPECT_EQ(cp.shards.at("shardId-2").adjacent_parent, "shardId-1");
  EXPECT_EQ(cp.shards.at("shardId-0").state, checkpoint::ShardCheckpoint::State::kFinished);
  EXPECT_EQ(cp.shards.at("shardId-1").state, checkpoint::ShardCheckpoint::State::kFinished);
}

TEST_F(PipelineTest, ParentPastRetentionWhileRunningLetsItsChildrenStart) {
  // shardId-0 was split into shardId-2 long ago and is still listed when the
  // daemon starts, but passes the stream's retention before it is read (the
  // daemon was a whole retention period behind). Its children must not wait
  // for it forever: the loss is reported and counted, the children are read.
  kinesis_.AddShard("shardId-0");
  kinesis_.AddShard("shardId-1");
  kinesis_.AddShard("shardId-2", "shardId-0");
  for (int i = 0; i < 10; ++i) kinesis_.Put("shardId-0", ChangeRecord("lost" + std::to_string(i), "t", 1716200000000));
  kinesis_.Close("shardId-0", {"shardId-2"});
  for (int i = 0; i < 20; ++i) kinesis_.Put("shardId-1", ChangeRecord("a" + std::to_string(i), "t", 1716200000000));
  for (int i = 0; i < 30; ++i) kinesis_.Put("shardId-2", ChangeRecord("c" + std::to_string(i), "t", 1716200000000));
  kinesis_.gone_after_first_list.insert("shardId-0");

  Counts stats;
  ASSERT_TRUE(Drain(&stats).ok());
  EXPECT_EQ(stats.retention_gaps, 1u);
  auto ids = store_.EventIds();
  EXPECT_EQ(ids.size(), 50u);
  for (const auto& [id, count] : ids) {
    EXPECT_EQ(count, 1) << id;
    EXPECT_NE(id.rfind("lost", 0), 0u) << id;
  }
  auto cp = LoadCheckpoint();
  EXPECT_EQ(cp.shards.at("shardId-0").state, checkpoint::ShardCheckpoint::State::kFinished);
  EXPECT_EQ(cp.shards.at("shardId-2").sequence, kinesis_.shards["shardId-2"].records.back().seq);
}

TEST_F(PipelineTest, RestartAddsOnlyNewRecords) {
  kinesis_.AddShard("shardId-0");
  for (int i = 0; i < 30; ++i) kinesis_.Put("shardId-0", ChangeRecord("a" + std::to_string(i), "t", 1716200000000));
  ASSERT_TRUE(Drain().ok());
  const size_t objects_after_first = store_.objects.size();
  EXPECT_EQ(store_.EventIds().size(), 30u);

  for (int i = 0; i < 20; ++i) kinesis_.Put("shardId-0", ChangeRecord("b" + std::to_string(i), "t", 1716200000000));
  ASSERT_TRUE(Drain().ok());
  auto ids = store_.EventIds();
  EXPECT_EQ(ids.size(), 50u);
  for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
  EXPECT_GT(store_.objects.size(), objects_after_first);

  // Nothing new: a third drain writes nothing.
  const size_t puts = static_cast<size_t>(store_.puts);
  ASSERT_TRUE(Drain().ok());
  EXPECT_EQ(static_cast<size_t>(store_.puts), puts);
}

TEST_F(PipelineTest, CheckpointOfAnotherStreamStops) {
  kinesis_.AddShard("shardId-0");
  ASSERT_TRUE(Drain().ok());
  cfg_.source.stream_name = "other-stream";
  Status st = Drain();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("orders-changes"), std::string::npos);
}

TEST_F(PipelineTest, CorruptCheckpointStops) {
  kinesis_.AddShard("shardId-0");
  kinesis_.Put("shardId-0", ChangeRecord("x", "t", 1716200000000));
  ASSERT_TRUE(fs_.CreateDirs(dir_ + "/state").ok());
  ASSERT_TRUE(fs_.WriteFile(cfg_.checkpoint.path, "{\"format\":\"shardhose-che", true).ok());
  Status st = Drain();
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_TRUE(store_.objects.empty());
  EXPECT_EQ(*fs_.ReadFile(cfg_.checkpoint.path), "{\"format\":\"shardhose-che");
}

TEST_F(PipelineTest, LatestIsPinnedToATimestampInTheCheckpoint) {
  kinesis_.AddShard("shardId-0");
  kinesis_.Put("shardId-0", ChangeRecord("old", "t", 1716200000000));
  cfg_.source.initial_position = config::InitialPosition::kLatest;
  // The fake resolves AT_TIMESTAMP like TRIM_HORIZON, so only check that the
  // start was pinned to a timestamp in the checkpoint.
  ASSERT_TRUE(Drain().ok());
  auto cp = LoadCheckpoint();
  EXPECT_EQ(cp.shards.at("shardId-0").start, checkpoint::ShardCheckpoint::Start::kAtTimestamp);
  // pinned to the (simulated) wall time of the first start
  EXPECT_EQ(cp.shards.at("shardId-0").start_timestamp_ms, 1700000000000);
}

// The daemon was down longer than the stream's retention: the checkpointed
// record and those after it expired. The loss is reported and counted, and
// reading continues from the oldest record still there.
TEST_F(PipelineTest, CheckpointPastTheTrimHorizonIsReportedAndCounted) {
  Counts stats;
  DrainAfterAnOutagePastRetention(&stats);
}

TEST_F(PipelineTest, ExpiredCheckpointOfAnIdleShardIsNotALoss) {
  Counts stats;
  DrainAfterTheCheckpointOfAnIdleShardExpired(&stats);
}

// A crash at the moment of the k-th upload, for every k, before and after the
// object is written: the checkpoint file and the store are captured at that
// instant, restored, and a second run drains from there. Every record must
// end up exactly once, and no key may be written with different bytes.
TEST_F(PipelineTest, CrashAtEveryUploadRecoversExactlyOnce) {
  auto populate = [](FakeKinesis& k) {
    k.AddShard("shardId-0");
    k.AddShard("shardId-1");
    k.AddShard("shardId-2");
    int n = 0;
    for (int i = 0; i < 40; ++i) {
      for (const char* s : {"shardId-0", "shardId-1", "shardId-2"}) {
        // Three hours x two tables: six partitions interleaved on every shard.
        k.Put(s, ChangeRecord("e" + std::to_string(n++), i % 2 ? "orders" : "customers",
                              1716200000000 + (i % 3) * 3600000));
      }
    }
    k.Put("shardId-1", "not json");
    return n;
  };
  cfg_.batch.max_bytes = 1500;
  cfg_.source.poll_threads = 3;
  int total_puts = 0;
  {
    FakeKinesis k;
    const int n = populate(k);
    FakeStore store;
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    Pipeline p(cfg_, DepsOf(&k, &store, &file));
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.Run(true).ok());
    EXPECT_EQ(store.EventIds().size(), static_cast<size_t>(n));
    EXPECT_TRUE(store.rewritten.empty()) << store.rewritten.front();
    total_puts = store.puts;
    ASSERT_GT(total_puts, 10);
  }
  for (int crash_at = 1; crash_at <= total_puts; ++crash_at) {
    for (bool after_put : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "crash at put " << crash_at << (after_put ? " after" : " before")
                                        << " the object is written");
      ASSERT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok());
      FakeKinesis k;
      const int n = populate(k);
      FakeStore store;
      std::string crash_checkpoint;
      std::map<std::string, std::string> crash_objects;
      std::string crash_key;
      store.on_put = [&](int put) {
        if (put != crash_at) return;
        crash_checkpoint = *fs_.ReadFile(cfg_.checkpoint.path);
        crash_objects = store.objects;
      };
      {
        checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
        Pipeline p(cfg_, DepsOf(&k, &store, &file));
        ASSERT_TRUE(p.Start().ok());
        ASSERT_TRUE(p.Run(true).ok());
      }
      if (crash_checkpoint.empty()) continue;  // this run needed fewer uploads
      if (after_put) {
        // The object of the crashing PUT made it; find it as the one key the
        // full run wrote that differs from the captured set... any key not in
        // crash_objects that the first run wrote right after is acceptable:
        // take every object whose key is journaled in the crash checkpoint.
        auto cp = checkpoint::Decode(crash_checkpoint);
        ASSERT_TRUE(cp.ok());
        for (const auto& cut : cp->pending) {
          if (!cut.uploaded && store.objects.count(cut.key)) {
            crash_objects[cut.key] = store.objects[cut.key];
            break;
          }
        }
      }
      // Restart from the crash state.
      FakeStore after;
      RestartFromCrash(k, crash_checkpoint, crash_objects, &after);
      if (HasFatalFailure()) return;
      std::vector<std::string> error_keys;
      auto ids = after.EventIds(&error_keys);
      EXPECT_EQ(ids.size(), static_cast<size_t>(n));
      for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
      EXPECT_EQ(error_keys.size(), 1u);
      EXPECT_TRUE(after.rewritten.empty()) << after.rewritten.front();
      auto cp = LoadCheckpoint();
      for (const auto& cut : cp.pending) EXPECT_TRUE(cut.uploaded) << cut.key;
    }
  }
}

}  // namespace
}  // namespace shardhose::pipeline

namespace shardhose::pipeline {
namespace {

TEST_F(PipelineTest, OneWriterPerCheckpointFile) {
  kinesis_.AddShard("shardId-0");
  checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
  Pipeline first(cfg_, DepsOf(&kinesis_, &store_, &file));
  ASSERT_TRUE(first.Start().ok());
  // Another writer of the same file (as another process has its own).
  checkpoint::CheckpointFile other(&fs_, cfg_.checkpoint.path);
  Pipeline second(cfg_, DepsOf(&kinesis_, &store_, &other));
  Status st = second.Start();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("locked by pid"), std::string::npos) << st.message();
  EXPECT_TRUE(first.Run(true).ok());
}

}  // namespace
}  // namespace shardhose::pipeline

namespace shardhose::pipeline {
namespace {

// The value of one series in a Prometheus exposition, -1 if absent.
double Series(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    ++pos;
  }
  return -1;
}

TEST_F(PipelineTest, MetricsCountWhatHappened) {
  kinesis_.AddShard("shardId-0");
  kinesis_.AddShard("shardId-1");
  for (int i = 0; i < 20; ++i)
    kinesis_.Put("shardId-0", ChangeRecord("o" + std::to_string(i), "orders", 1716200000000));
  for (int i = 0; i < 10; ++i)
    kinesis_.Put("shardId-1", ChangeRecord("c" + std::to_string(i), "customers", 1716200000000));
  kinesis_.Put("shardId-1", "{\"not\":\"a change record\"}");
  kinesis_.throttle_every = 5;
  store_.fail_first = 2;
  metrics::Registry registry;
  checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
  Pipeline p(cfg_, DepsOf(&kinesis_, &store_, &file, &registry));
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Run(true).ok());
  const std::string t = registry.Expose();
  EXPECT_EQ(Series(t, "shardhose_records_in_total{shard=\"shardId-0\"}"), 20) << t;
  EXPECT_EQ(Series(t, "shardhose_records_in_total{shard=\"shardId-1\"}"), 11);
  EXPECT_EQ(Series(t, "shardhose_error_records_total{reason=\"not_change_record\"}"), 1);
  EXPECT_EQ(Series(t, "shardhose_error_records_total{reason=\"not_json\"}"), 0);
  EXPECT_EQ(Series(t, "shardhose_records_out_total{table=\"orders\"}"), 20);
  EXPECT_EQ(Series(t, "shardhose_records_out_total{table=\"customers\"}"), 10);
  EXPECT_EQ(Series(t, "shardhose_records_out_total{table=\"(errors)\"}"), 1);
  EXPECT_EQ(Series(t, "shardhose_objects_out_total{table=\"orders\"}") +
                Series(t, "shardhose_objects_out_total{table=\"customers\"}") +
                Series(t, "shardhose_objects_out_total{table=\"(errors)\"}"),
            static_cast<double>(store_.objects.size()));
  EXPECT_GE(Series(t, "shardhose_retries_total{op=\"get_records\",class=\"throttled\"}"), 1);
  EXPECT_EQ(Series(t, "shardhose_retries_total{op=\"put_object\",class=\"throttled\"}"), 2);
  EXPECT_GE(Series(t, "shardhose_flushes_total{cause=\"drain\"}"), 1);
  EXPECT_GE(Series(t, "shardhose_checkpoint_writes_total"), 1);
  EXPECT_EQ(Series(t, "shardhose_upload_seconds_count"), static_cast<double>(store_.objects.size() + 2));
  EXPECT_EQ(Series(t, "shardhose_shards{state=\"active\"}"), 2);
  EXPECT_EQ(Series(t, "shardhose_buffered_bytes"), 0);
}

}  // namespace
}  // namespace shardhose::pipeline

namespace shardhose::pipeline {
namespace {

// Fails checkpoint writes with ENOSPC while `failing` is set.
class FlakyDisk : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  std::atomic<int> fail_next{0};
  std::atomic<int> failures{0};
  Status WriteFile(const std::string& p, std::string_view d, bool s) override {
    if (fail_next > 0) {
      --fail_next;
      ++failures;
      return Status::IOError("write " + p + ": No space left on device");
    }
    return FileSystemWrapper::WriteFile(p, d, s);
  }
};

// An object store that records every PUT whose key is not journaled in the
// checkpoint file at the moment of the PUT (step 2 of the protocol).
class JournalChecker : public upload::ObjectStore {
 public:
  JournalChecker(FakeStore* inner, FileSystem* fs, std::string path) : inner_(inner), fs_(fs), path_(std::move(path)) {}
  Status Put(const std::string& key, std::string_view body, const upload::ObjectMeta& meta) override {
    Check(key);
    return inner_->Put(key, body, meta);
  }
  void Check(const std::string& key) {
    auto bytes = fs_->ReadFile(path_);
    bool journaled = false;
    if (bytes.ok()) {
      auto cp = checkpoint::Decode(*bytes);
      if (cp.ok()) {
        for (const auto& c : cp->pending) journaled |= c.key == key;
      }
    }
    if (!journaled) {
      std::lock_guard<std::mutex> lock(mu_);
      not_journaled.push_back(key);
    }
  }
  Result<bool> Holds(const std::string& key, std::string_view body) override { return inner_->Holds(key, body); }
  Result<bool> HoldsDigest(const std::string& key, const upload::ObjectDigest& d) override {
    return inner_->HoldsDigest(key, d);
  }
  Result<std::string> CreateMultipart(const std::string& key, const upload::ObjectMeta& meta) override {
    return inner_->CreateMultipart(key, meta);
  }
  Result<std::string> UploadPart(const std::string& key, const std::string& id, int n, std::string_view body) override {
    Check(key);
    return inner_->UploadPart(key, id, n, body);
  }
  Status CompleteMultipart(const std::string& key, const std::string& id,
                           const std::vector<upload::PartReceipt>& parts) override {
    return inner_->CompleteMultipart(key, id, parts);
  }
  Status AbortMultipart(const std::string& key, const std::string& id) override {
    return inner_->AbortMultipart(key, id);
  }
  Result<std::vector<std::string>> ListMultipart(const std::string& key) override { return inner_->ListMultipart(key); }
  std::string Describe() const override { return "journal checker"; }
  std::vector<std::string> not_journaled;

 private:
  FakeStore* inner_;
  FileSystem* fs_;
  std::string path_;
  std::mutex mu_;
};

// While the checkpoint cannot be written (disk full), no batch is uploaded:
// its cut could not be journaled. When the disk recovers everything
// completes, exactly once, and every PUT found its key journaled.
TEST_F(PipelineTest, CheckpointWriteFailuresHoldUploadsBack) {
  kinesis_.AddShard("shardId-0");
  kinesis_.AddShard("shardId-1");
  for (int i = 0; i < 40; ++i) {
    kinesis_.Put(i % 2 ? "shardId-0" : "shardId-1",
                 ChangeRecord("e" + std::to_string(i), "t", 1716200000000 + i * 600000));
  }
  FlakyDisk disk(&fs_);
  JournalChecker checker(&store_, &fs_, cfg_.checkpoint.path);
  checkpoint::CheckpointFile file(&disk, cfg_.checkpoint.path);
  Pipeline p(cfg_, DepsOf(&kinesis_, &checker, &file));
  ASSERT_TRUE(p.Start().ok());  // the initial checkpoint is written
  disk.fail_next = 3;           // then the disk is full for a while
  ASSERT_TRUE(p.Run(true).ok());
  EXPECT_EQ(disk.failures, 3);
  EXPECT_TRUE(checker.not_journaled.empty()) << checker.not_journaled.front();
  auto ids = store_.EventIds();
  EXPECT_EQ(ids.size(), 40u);
  for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(p.GetHealth().stalled, "");  // recovered: not stalled any more
}

TEST_F(PipelineTest, DiskFullAtStartIsAClearError) {
  kinesis_.AddShard("shardId-0");
  FlakyDisk disk(&fs_);
  disk.fail_next = 1;
  checkpoint::CheckpointFile file(&disk, cfg_.checkpoint.path);
  Pipeline p(cfg_, DepsOf(&kinesis_, &store_, &file));
  Status st = p.Start();
  EXPECT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_NE(st.message().find("No space left on device"), std::string::npos);
}

}  // namespace
}  // namespace shardhose::pipeline

// KPL aggregation (decode/kpl.h): sub-records of one Kinesis record go to
// different partitions; exactly-once holds per sub-record through a crash at
// every upload.

namespace shardhose::pipeline {
namespace {

// Every shard gets aggregates of 1..6 change records over six partitions
// (three hours x two tables; sub-records 0 and 2 of an aggregate share a
// partition, so a size flush can split one aggregate's sub-records of one
// partition over two batches), a few plain records, one aggregate with a bad
// MD5 and one holding a sub-record that is not JSON. Returns the number of
// change records (event ids).
int PopulateAggregates(FakeKinesis& k) {
  int n = 0;
  for (const char* s : {"shardId-0", "shardId-1", "shardId-2"}) k.AddShard(s);
  for (int i = 0; i < 24; ++i) {
    for (const char* s : {"shardId-0", "shardId-1", "shardId-2"}) {
      if (i % 5 == 4) {
        k.Put(s, ChangeRecord("e" + std::to_string(n++), "orders", 1716200000000 + (i % 3) * 3600000));
        continue;
      }
      std::vector<std::pair<std::string, std::string>> subs;
      const int count = 1 + (i * 7 + n) % 6;
      for (int j = 0; j < count; ++j) {
        subs.emplace_back("pk" + std::to_string(j % 2),
                          ChangeRecord("e" + std::to_string(n++), j % 2 ? "orders" : "customers",
                                       1716200000000 + ((i + j / 3) % 3) * 3600000));
      }
      k.Put(s, kpltest::AggregateOf(subs));
    }
  }
  std::string bad = kpltest::AggregateOf({{"pk", ChangeRecord("lost", "orders", 1716200000000)}});
  bad.back() ^= 1;
  k.Put("shardId-1", bad);
  k.Put("shardId-2", kpltest::AggregateOf({{"pk", ChangeRecord("e" + std::to_string(n++), "orders", 1716200000000)},
                                           {"pk", "not json"}}));
  return n;
}

TEST_F(PipelineTest, AggregatedRecordsAreSplitIntoChangeRecords) {
  const int n = PopulateAggregates(kinesis_);
  cfg_.batch.max_bytes = 1500;
  ASSERT_TRUE(Drain().ok());
  std::vector<std::string> error_keys;
  auto ids = store_.EventIds(&error_keys);
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
  std::sort(error_keys.begin(), error_keys.end());
  ASSERT_EQ(error_keys.size(), 2u);
  EXPECT_EQ(error_keys[0].rfind("errors/bad_aggregate/", 0), 0u) << error_keys[0];
  EXPECT_EQ(error_keys[1].rfind("errors/not_json/", 0), 0u) << error_keys[1];
  // Keys of batches that start with a sub-record carry its position.
  bool sub_key = false;
  for (const auto& [key, _] : store_.objects) {
    const size_t dot = key.find('.', key.rfind('/'));
    sub_key |= dot != std::string::npos && dot < key.find(".json");
  }
  EXPECT_TRUE(sub_key);
  // The checkpoint ends at whole records.
  auto cp = LoadCheckpoint();
  for (const char* s : {"shardId-0", "shardId-1", "shardId-2"}) {
    EXPECT_EQ(cp.shards.at(s).sequence, kinesis_.shards[s].records.back().seq) << s;
  }
}

TEST_F(PipelineTest, CrashAtEveryUploadRecoversExactlyOnceWithAggregates) {
  cfg_.batch.max_bytes = 1500;
  // Size flushes only: a batch holding some sub-records of an aggregate is
  // sealed and uploaded while others of it still sit in open batches.
  cfg_.batch.max_interval_s = 300;
  cfg_.source.max_records_per_call = 4;
  int total_puts = 0;
  {
    FakeKinesis k;
    const int n = PopulateAggregates(k);
    FakeStore store;
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    Pipeline p(cfg_, DepsOf(&k, &store, &file));
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.Run(true).ok());
    EXPECT_EQ(store.EventIds().size(), static_cast<size_t>(n));
    EXPECT_TRUE(store.rewritten.empty()) << store.rewritten.front();
    total_puts = store.puts;
    ASSERT_GT(total_puts, 10);
  }
  int with_sub_positions = 0;
  for (int crash_at = 1; crash_at <= total_puts; crash_at += 2) {
    for (bool after_put : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "crash at put " << crash_at << (after_put ? " after" : " before")
                                        << " the object is written");
      ASSERT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok());
      FakeKinesis k;
      const int n = PopulateAggregates(k);
      FakeStore store;
      std::string crash_checkpoint;
      std::map<std::string, std::string> crash_objects;
      store.on_put = [&](int put) {
        if (put != crash_at) return;
        crash_checkpoint = *fs_.ReadFile(cfg_.checkpoint.path);
        crash_objects = store.objects;
      };
      {
        checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
        Pipeline p(cfg_, DepsOf(&k, &store, &file));
        ASSERT_TRUE(p.Start().ok());
        ASSERT_TRUE(p.Run(true).ok());
      }
      if (crash_checkpoint.empty()) continue;
      auto cp = checkpoint::Decode(crash_checkpoint);
      ASSERT_TRUE(cp.ok()) << cp.status().ToString();
      bool subs = false;
      for (const auto& cut : cp->pending) {
        for (const auto& [_, r] : cut.ranges) subs |= !SubOfPos(r.first).empty() || !SubOfPos(r.last).empty();
      }
      with_sub_positions += subs;
      for (const auto& [_, sc] : cp->shards) EXPECT_TRUE(SubOfPos(sc.sequence).empty()) << sc.sequence;
      if (after_put) {
        for (const auto& cut : cp->pending) {
          if (!cut.uploaded && store.objects.count(cut.key)) {
            crash_objects[cut.key] = store.objects[cut.key];
            break;
          }
        }
      }
      FakeStore after;
      RestartFromCrash(k, crash_checkpoint, crash_objects, &after);
      if (HasFatalFailure()) return;
      std::vector<std::string> error_keys;
      auto ids = after.EventIds(&error_keys);
      EXPECT_EQ(ids.size(), static_cast<size_t>(n));
      for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
      EXPECT_EQ(error_keys.size(), 2u);
      EXPECT_TRUE(after.rewritten.empty()) << after.rewritten.front();
      auto end = LoadCheckpoint();
      for (const auto& cut : end.pending) EXPECT_TRUE(cut.uploaded) << cut.key;
      for (const char* s : {"shardId-0", "shardId-1", "shardId-2"}) {
        EXPECT_EQ(end.shards.at(s).sequence, k.shards[s].records.back().seq) << s;
      }
    }
  }
  EXPECT_GT(with_sub_positions, 0) << "no crash checkpoint journaled a sub-record position";
}

}  // namespace
}  // namespace shardhose::pipeline

namespace shardhose::pipeline {
namespace {

// Records of `shards` shards, interleaved over two tables and three hours.
int PopulateForParts(FakeKinesis& k, int shards, int per_shard) {
  int n = 0;
  for (int s = 0; s < shards; ++s) k.AddShard("shardId-" + std::to_string(s));
  for (int i = 0; i < per_shard; ++i) {
    for (int s = 0; s < shards; ++s) {
      k.Put("shardId-" + std::to_string(s),
            ChangeRecord("e" + std::to_string(n++), i % 2 ? "orders" : "customers", 1716200000000 + (i % 3) * 3600000));
    }
  }
  return n;
}

// With part_bytes, every (partition, shard) batch is streamed as a multipart
// upload: several parts per object, every record once, no upload left open.
TEST_F(PipelineTest, BigBatchesAreStreamedInParts) {
  for (config::Compression compression : {config::Compression::kGzip, config::Compression::kNone}) {
    SCOPED_TRACE(config::CompressionName(compression));
    FakeKinesis k;
    const int n = PopulateForParts(k, 2, 3000);
    cfg_.output.compression = compression;
    cfg_.batch.max_bytes = 1 << 30;
    cfg_.batch.part_bytes = compression == config::Compression::kGzip ? 100 : 65536;
    cfg_.batch.max_buffered_bytes = 1 << 30;
    ASSERT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok() || true);
    FakeStore store;
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    Pipeline p(cfg_, DepsOf(&k, &store, &file));
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.Run(true).ok());
    auto ids = store.EventIds();
    EXPECT_EQ(ids.size(), static_cast<size_t>(n));
    for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
    // 2 tables x 3 hours x 2 shards, each its own object
    EXPECT_EQ(store.objects.size(), 12u);
    EXPECT_EQ(store.completes, 12);
    EXPECT_GE(store.parts_put, 2 * store.completes);
    EXPECT_TRUE(store.uploads.empty());
    for (const auto& cut : LoadCheckpoint().pending) EXPECT_TRUE(cut.uploaded) << cut.key;
    ASSERT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok());
  }
}

// A crash at any write of a streamed batch (a part, or the completion):
// after a restart every record is in exactly one object, no object is
// written twice with different bytes, and the uploads the crash left open
// are aborted.
TEST_F(PipelineTest, CrashAtEveryPartRecoversExactlyOnce) {
  cfg_.output.compression = config::Compression::kNone;
  cfg_.batch.max_bytes = 4000;
  cfg_.batch.part_bytes = 500;
  cfg_.source.poll_threads = 2;
  int total_writes = 0;
  {
    FakeKinesis k;
    const int n = PopulateForParts(k, 2, 40);
    FakeStore store;
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    Pipeline p(cfg_, DepsOf(&k, &store, &file));
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.Run(true).ok());
    EXPECT_EQ(store.EventIds().size(), static_cast<size_t>(n));
    total_writes = store.puts;
    ASSERT_GE(store.parts_put, 3 * store.completes);
  }
  int aborted = 0;
  for (int crash_at = 1; crash_at <= total_writes; ++crash_at) {
    for (bool after_write : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "crash at write " << crash_at << (after_write ? " after" : " before"));
      ASSERT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok());
      FakeKinesis k;
      const int n = PopulateForParts(k, 2, 40);
      FakeStore store;
      std::string crash_checkpoint;
      std::map<std::string, std::string> crash_objects;
      std::map<std::string, FakeStore::Upload> crash_uploads;
      std::string completing;  // the key whose completion crashed
      store.on_put = [&](int write) {
        if (write != crash_at) return;
        crash_checkpoint = *fs_.ReadFile(cfg_.checkpoint.path);
        crash_objects = store.objects;
        crash_uploads = store.uploads;
        if (store.last_op == "complete") completing = store.last_key;
      };
      {
        checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
        Pipeline p(cfg_, DepsOf(&k, &store, &file));
        ASSERT_TRUE(p.Start().ok());
        ASSERT_TRUE(p.Run(true).ok());
      }
      if (crash_checkpoint.empty()) continue;
      if (after_write) {
        if (completing.empty()) continue;  // a part: no difference a restart could see
        // The crash came after the completion took effect.
        crash_objects[completing] = store.objects[completing];
      }
      FakeStore after;
      after.uploads = crash_uploads;
      RestartFromCrash(k, crash_checkpoint, crash_objects, &after);
      if (HasFatalFailure()) return;
      auto ids = after.EventIds();
      EXPECT_EQ(ids.size(), static_cast<size_t>(n));
      for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
      EXPECT_TRUE(after.rewritten.empty()) << after.rewritten.front();
      EXPECT_TRUE(after.uploads.empty()) << after.uploads.size() << " uploads left open";
      aborted += after.aborts;
      for (const auto& cut : LoadCheckpoint().pending) EXPECT_TRUE(cut.uploaded) << cut.key;
    }
  }
  EXPECT_GT(aborted, 0);
}

}  // namespace
}  // namespace shardhose::pipeline

namespace shardhose::pipeline {
namespace {

// An upload aborted behind the daemon's back (NoSuchUpload) before it held
// a part is simply started again; after, it cannot be completed: the daemon
// stops with an error naming it, the checkpoint stays before its records,
// and the next start delivers them.
TEST_F(PipelineTest, VanishedUploadStopsAndARestartDelivers) {
  cfg_.output.compression = config::Compression::kNone;
  cfg_.batch.max_bytes = 1 << 20;
  cfg_.batch.part_bytes = 2000;
  const int n = PopulateForParts(kinesis_, 1, 60);
  store_.vanish_holding = 0;
  ASSERT_TRUE(Drain().ok());
  EXPECT_EQ(store_.EventIds().size(), static_cast<size_t>(n));
  // again, from the start, with the upload gone after its first part
  ASSERT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok());
  store_.objects.clear();
  store_.vanish_holding = 1;
  Status st = Drain();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("is gone"), std::string::npos) << st.ToString();
  ASSERT_TRUE(Drain().ok());
  auto ids = store_.EventIds();
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
}

}  // namespace
}  // namespace shardhose::pipeline

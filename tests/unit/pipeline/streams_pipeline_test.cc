// The pipeline over a source in DynamoDB Streams' manner (pipeline_fixture.h
// otherwise): no MillisBehindLatest, empty pages before records, and a
// position past the trim horizon refused with TrimmedDataAccessException
// rather than read from the oldest record. The source itself is tested in
// tests/unit/poll/dynamodb_streams_source_test.cc, and against DynamoDB
// Local in tests/e2e/test_dynamodb_streams*.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "common/seqnum.h"
#include "pipeline_fixture.h"
#include "testing/change_records.h"

namespace shardhose::pipeline {
namespace {

using test::ChangeRecord;

// DynamoDB Streams' manner over another source: every page says
// millis_behind -1 (unknown); the first page of every iterator is empty; a
// closed shard's last page names no children (DescribeStream does);
// GetShardIterator AFTER_SEQUENCE_NUMBER of a record that has been trimmed
// answers TrimmedDataAccessException. Every iterator of a shard in
// `all_expired`, TRIM_HORIZON and LATEST included, is refused so too: by
// GetShardIterator, or with `expired_at_get_records` by its first
// GetRecords (DynamoDB Local's way, once every record of a listed shard
// has expired).
class StreamsLike final : public poll::ChangeSource {
 public:
  explicit StreamsLike(poll::ChangeSource* s) : s_(s) {}
  Result<poll::StreamSummary> Describe() override { return s_->Describe(); }
  Result<std::vector<poll::ShardInfo>> ListShards() override { return s_->ListShards(); }
  Result<std::string> GetShardIterator(const std::string& id, const poll::IteratorStart& start) override {
    if (all_expired.contains(id)) {
      if (expired_at_get_records) return "expired:" + id;
      return Trimmed();
    }
    if (start.type == poll::IteratorType::kAfterSequenceNumber) {
      auto oldest = s_->GetShardIterator(id, poll::IteratorStart{});
      if (!oldest.ok()) return oldest;
      poll::RecordsPage page;
      SHARDHOSE_RETURN_IF_ERROR(s_->GetRecords(*oldest, 1, &page));
      if (!page.records.empty() && CompareSeq(page.records.front().sequence_number, start.sequence) > 0) {
        return Trimmed();
      }
    }
    auto it = s_->GetShardIterator(id, start);
    if (!it.ok()) return it;
    return "fresh:" + *it;
  }
  Status GetRecords(const std::string& it, int limit, poll::RecordsPage* page) override {
    if (it.starts_with("expired:")) return Trimmed();
    if (it.starts_with("fresh:")) {
      page->records.clear();
      page->child_shards.clear();
      page->next_iterator = it.substr(6);
      page->data_bytes = 0;
    } else {
      // Holding: the next poll waits (in real time, so the simulated clock
      // does not run on) until released.
      while (records_seen && hold) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      SHARDHOSE_RETURN_IF_ERROR(s_->GetRecords(it, limit, page));
      page->child_shards.clear();  // a closed shard's end names no children
      records_seen = records_seen || !page->records.empty();
      if (arrival_ms) {
        for (auto& r : page->records) r.arrival_ms = arrival_ms;
      }
    }
    page->millis_behind = -1;
    return Status::OK();
  }
  poll::RecordFormat format() const override { return s_->format(); }

  int trimmed_answers = 0;
  std::set<std::string> all_expired;
  bool expired_at_get_records = false;
  int64_t arrival_ms = 0;  // set: every record's ApproximateCreationDateTime
  // Set: once a page has had records, the next GetRecords waits until
  // `hold` is cleared.
  std::atomic<bool> hold{false};
  std::atomic<bool> records_seen{false};

 private:
  Status Trimmed() {
    ++trimmed_answers;
    return Status::InvalidArgument("Trimmed").WithPeer(RetryClass::kNone, "TrimmedDataAccessException");
  }

  poll::ChangeSource* s_;
};

class StreamsPipelineTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    wrap_source_ = [this](poll::ChangeSource* s) {
      auto like = std::make_unique<StreamsLike>(s);
      last_ = like.get();
      return like;
    };
  }
  // The next pipelines' source refuses every iterator of `shard`.
  void Expire(const std::string& shard, bool at_get_records) {
    wrap_source_ = [this, shard, at_get_records](poll::ChangeSource* s) {
      auto like = std::make_unique<StreamsLike>(s);
      like->all_expired = {shard};
      like->expired_at_get_records = at_get_records;
      last_ = like.get();
      return like;
    };
  }
  void ClosedShardWhollyExpired(bool at_get_records);
  void OpenShardWhollyExpired(bool at_get_records);

  StreamsLike* last_ = nullptr;  // the latest pipeline's source
};

// An empty page proves nothing, so a drain ends only once every open
// shard's polls have stayed empty for the quiet period
// (poll::kQuietCaughtUp, 3 s).
TEST_F(StreamsPipelineTest, DrainEndsAfterAQuietPeriod) {
  cfg_.source.idle_poll_interval_ms = 400;
  kinesis_.AddShard("shardId-0");
  kinesis_.AddShard("shardId-1");
  for (int i = 0; i < 30; ++i)
    kinesis_.Put("shardId-" + std::to_string(i % 2), ChangeRecord("e" + std::to_string(i), "orders", 1716200000000));
  checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
  Pipeline p(cfg_, DepsOf(&kinesis_, &store_, &file));
  ASSERT_TRUE(p.Start().ok());
  const MonoTime start = clock_.Now();
  ASSERT_TRUE(p.Run(/*drain=*/true).ok());
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(3)) << "ended before the quiet period";
  EXPECT_LT(clock_.Now() - start, std::chrono::seconds(30));
  EXPECT_EQ(store_.EventIds().size(), 30u);
  // Caught up: the estimated lag is 0, not unknown.
  const Health h = p.GetHealth();
  ASSERT_EQ(h.shard_list.size(), 2u);
  for (const auto& sh : h.shard_list) EXPECT_EQ(sh.millis_behind, 0) << sh.id;
  EXPECT_EQ(h.max_millis_behind, 0);
}

// Behind: the age of the last record read (its ApproximateCreationDateTime),
// as the gauge and the progress line show it.
TEST_F(StreamsPipelineTest, LagIsTheAgeOfTheLastRecordRead) {
  kinesis_.AddShard("shardId-0");
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch()).count();
  kinesis_.Put("shardId-0", ChangeRecord("old", "orders", now_ms - 90000));
  checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
  Pipeline p(cfg_, DepsOf(&kinesis_, &store_, &file));
  last_->arrival_ms = now_ms - 90000;
  last_->hold = true;
  ASSERT_TRUE(p.Start().ok());
  std::thread run([&] { (void)p.Run(/*drain=*/false); });
  int64_t lag = -1;
  for (int i = 0; i < 2000 && lag < 0; ++i) {
    for (const auto& sh : p.GetHealth().shard_list) lag = std::max(lag, sh.millis_behind);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  last_->hold = false;
  p.Stop();
  run.join();
  EXPECT_GE(lag, 90000);
  EXPECT_LT(lag, 100000);
}

// Shards roll over every few hours: the open shard closes and a new one,
// its child, appears in DescribeStream. The child is found when the parent
// ends (a listing then, not only every shard_refresh_s) and read after it;
// twice in a row, while running.
TEST_F(StreamsPipelineTest, RolloverWhileRunningReadsEachChildAfterItsParent) {
  cfg_.source.shard_refresh_s = 3600;
  kinesis_.AddShard("shardId-0");
  int n = 0;
  auto put = [&](const std::string& shard, int count) {
    for (int i = 0; i < count; ++i)
      kinesis_.Put(shard, ChangeRecord("e" + std::to_string(n++), "orders", 1716200000000));
  };
  put("shardId-0", 20);
  checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
  Pipeline p(cfg_, DepsOf(&kinesis_, &store_, &file));
  ASSERT_TRUE(p.Start().ok());
  std::thread run([&] { (void)p.Run(/*drain=*/false); });
  auto read_all = [&] {
    for (int i = 0; i < 20000; ++i) {
      if (store_.EventIds().size() == static_cast<size_t>(n)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  };
  EXPECT_TRUE(read_all());
  for (const char* next : {"shardId-1", "shardId-2"}) {
    const std::string parent = next == std::string("shardId-1") ? "shardId-0" : "shardId-1";
    kinesis_.AddShard(next, parent);
    kinesis_.Close(parent, {next});
    put(next, 20);
    EXPECT_TRUE(read_all()) << next;
  }
  p.Stop();
  run.join();
  auto ids = store_.EventIds();
  EXPECT_EQ(ids.size(), 60u);
  for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
  // Each child read only after its parent was read to the end.
  for (const auto& [parent, child] : {std::pair{"shardId-0", "shardId-1"}, std::pair{"shardId-1", "shardId-2"}}) {
    size_t last_parent = 0, first_child = SIZE_MAX;
    for (size_t i = 0; i < kinesis_.calls.size(); ++i) {
      if (kinesis_.calls[i].starts_with(std::string("GetRecords ") + parent + " ")) last_parent = i;
      if (kinesis_.calls[i].starts_with(std::string("GetRecords ") + child + " ") && first_child == SIZE_MAX) {
        first_child = i;
      }
    }
    EXPECT_LT(last_parent, first_child) << child;
  }
  auto cp = LoadCheckpoint();
  EXPECT_EQ(cp.shards.at("shardId-0").state, checkpoint::ShardCheckpoint::State::kFinished);
  EXPECT_EQ(cp.shards.at("shardId-1").state, checkpoint::ShardCheckpoint::State::kFinished);
  EXPECT_EQ(cp.shards.at("shardId-2").parent, "shardId-1");
}

// The daemon was down past the 24 h retention: GetShardIterator refuses the
// checkpoint (the TRIM_HORIZON probe saw only an empty page). The loss is
// reported and counted once, and reading continues from the oldest record.
TEST_F(StreamsPipelineTest, TrimmedCheckpointIsReportedAndReadingGoesOnFromTheOldest) {
  Counts stats;
  DrainAfterAnOutagePastRetention(&stats);
  EXPECT_EQ(last_->trimmed_answers, 1);
  // The checkpoint moved on: the next start is not refused.
  ASSERT_TRUE(Drain(&stats).ok());
  EXPECT_EQ(last_->trimmed_answers, 0);
  EXPECT_EQ(stats.retention_gaps, 0u);
}

// Refused too, but the shard was caught up after the trim horizon: nothing
// can have been lost, and nothing is counted.
TEST_F(StreamsPipelineTest, TrimmedCheckpointOfAnIdleShardIsNotALoss) {
  Counts stats;
  DrainAfterTheCheckpointOfAnIdleShardExpired(&stats);
  EXPECT_EQ(last_->trimmed_answers, 1);
}

// The daemon was down past the retention, and the checkpointed shard, now
// closed, holds nothing readable any more: every iterator of it,
// TRIM_HORIZON included, is refused with TrimmedDataAccessException. The
// loss is reported once, the shard ends (finished), and its child is read.
void StreamsPipelineTest::ClosedShardWhollyExpired(bool at_get_records) {
  kinesis_.AddShard("shardId-0");
  PutRecords("shardId-0", "a", 10);
  ASSERT_TRUE(Drain().ok());
  MarkCaughtUpLongAgo("shardId-0");
  PutRecords("shardId-0", "b", 10);
  kinesis_.AddShard("shardId-1", "shardId-0");
  kinesis_.Close("shardId-0", {"shardId-1"});
  PutRecords("shardId-1", "c", 5);
  Expire("shardId-0", at_get_records);
  Counts stats;
  ASSERT_TRUE(Drain(&stats).ok());
  EXPECT_EQ(stats.retention_gaps, 1u);
  EXPECT_GE(last_->trimmed_answers, 1);
  auto ids = store_.EventIds();
  EXPECT_EQ(ids.size(), 15u);  // a0..a9, then the child's c0..c4
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ids.count("c" + std::to_string(i)), 1u);
  auto cp = LoadCheckpoint();
  EXPECT_EQ(cp.shards.at("shardId-0").state, checkpoint::ShardCheckpoint::State::kFinished);
  // Finished: the next start does not ask for the shard again.
  ASSERT_TRUE(Drain(&stats).ok());
  EXPECT_EQ(last_->trimmed_answers, 0);
  EXPECT_EQ(stats.retention_gaps, 0u);
}

TEST_F(StreamsPipelineTest, AClosedShardWhollyExpiredEndsAndItsChildIsRead) { ClosedShardWhollyExpired(false); }
TEST_F(StreamsPipelineTest, AClosedShardWhollyExpiredAtGetRecordsEndsAndItsChildIsRead) {
  ClosedShardWhollyExpired(true);
}

// An open shard whose every iterator is refused at the trim horizon (every
// record so far expired) counts as an empty poll: the loss is reported
// once, and a drain ends after the quiet period.
void StreamsPipelineTest::OpenShardWhollyExpired(bool at_get_records) {
  cfg_.source.idle_poll_interval_ms = 400;
  kinesis_.AddShard("shardId-0");
  PutRecords("shardId-0", "a", 10);
  ASSERT_TRUE(Drain().ok());
  MarkCaughtUpLongAgo("shardId-0");
  Expire("shardId-0", at_get_records);
  Counts stats;
  const MonoTime start = clock_.Now();
  ASSERT_TRUE(Drain(&stats).ok());
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(3));
  EXPECT_EQ(stats.retention_gaps, 1u);
  EXPECT_GE(last_->trimmed_answers, 2);  // asked again, reported once
  EXPECT_EQ(store_.EventIds().size(), 10u);
}

TEST_F(StreamsPipelineTest, AnOpenShardWhollyExpiredIsCaughtUpAfterTheQuietPeriod) { OpenShardWhollyExpired(false); }
TEST_F(StreamsPipelineTest, AnOpenShardWhollyExpiredAtGetRecordsIsCaughtUpAfterTheQuietPeriod) {
  OpenShardWhollyExpired(true);
}

}  // namespace
}  // namespace shardhose::pipeline

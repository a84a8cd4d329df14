// Read health (pipeline/health.h): a shard that cannot be read stalls, its
// lag grows and Health says why; the start retries with its reason, fails
// fast on what retrying cannot fix, and --drain gives up instead of hanging.
// An in-memory Kinesis (testing/fake_kinesis.h) whose endpoint can be "cut"
// (FakeKinesis::SetFailure), and a simulated clock that auto-advances while
// every pipeline thread waits, so a 60 s stall takes no real time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "checkpoint/checkpoint_file.h"
#include "pipeline/pipeline.h"
#include "poll/kinesis_source.h"
#include "testing/change_records.h"
#include "testing/fake_kinesis.h"
#include "testing/fake_store.h"
#include "testing/mem_fs.h"

namespace shardhose::pipeline {
namespace {

using test::ChangeRecord;

Status Unreachable() {
  return Status::Unavailable("connect to 127.0.0.1:4567 failed: Connection refused").WithPeer(RetryClass::kNetwork, "");
}

// The value of the one sample `series` (name plus labels, as exposed).
double Sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// Waits (in real time, at most 20 s) until `done` holds.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

class PipelineHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetAutoAdvance(true);
    cfg_.source.stream_name = "orders-changes";
    cfg_.source.poll_interval_ms = 1;
    cfg_.source.idle_poll_interval_ms = 5;
    cfg_.source.poll_threads = 2;
    cfg_.batch.max_bytes = 2000;
    cfg_.batch.max_interval_s = 1;
    cfg_.output.bucket = "lake";
    cfg_.checkpoint.path = "/state/checkpoint.json";
    cfg_.shutdown.grace_period_s = 20;
    kinesis_.AddShard("shardId-0");
    kinesis_.AddShard("shardId-1");
    for (int i = 0; i < 20; ++i)
      kinesis_.Put(i % 2 ? "shardId-1" : "shardId-0", ChangeRecord("e" + std::to_string(i), "t", 1716200000000));
  }

  std::unique_ptr<Pipeline> NewPipeline() {
    source_ = poll::NewKinesisSource(&kinesis_, poll::StreamRef{cfg_.source.stream_name, ""});
    file_ = std::make_unique<checkpoint::CheckpointFile>(&fs_, cfg_.checkpoint.path);
    registry_ = std::make_unique<metrics::Registry>();
    return std::make_unique<Pipeline>(cfg_, Deps{source_.get(), &store_, file_.get(), &clock_, registry_.get()});
  }

  config::Config cfg_;
  SimulatedClock clock_;
  test::MemFileSystem fs_;
  test::FakeKinesis kinesis_;
  test::FakeStore store_;
  std::unique_ptr<metrics::Registry> registry_;  // one per pipeline
  std::unique_ptr<poll::ChangeSource> source_;
  std::unique_ptr<checkpoint::CheckpointFile> file_;
};

TEST_F(PipelineHealthTest, KinesisCutMidRunStallsTheShardsAndTheirLagGrows) {
  auto p = NewPipeline();
  ASSERT_TRUE(p->Start().ok());
  Status run_status;
  std::thread run([&] { run_status = p->Run(/*drain=*/false); });

  // Healthy: everything read, caught up, not stalled.
  ASSERT_TRUE(WaitFor([&] {
    Health h = p->GetHealth();
    return h.totals.records_in == 20 && h.max_millis_behind == 0;
  }));
  Health h = p->GetHealth();
  EXPECT_EQ(h.stalled, "");
  for (const auto& sh : h.shard_list) {
    EXPECT_FALSE(sh.stalled) << sh.id;
    ASSERT_TRUE(sh.last_read.has_value()) << sh.id;
  }
  std::string text = registry_->Expose();
  const double last_read = Sample(text, "shardhose_shard_last_read_timestamp_seconds{shard=\"shardId-0\"}");
  EXPECT_GE(last_read, 1700000000.0);
  EXPECT_EQ(Sample(text, "shardhose_behind_latest_seconds{shard=\"shardId-0\"}"), 0.0);

  // The endpoint is cut: after source.stall_after_s (60 s) both shards stall.
  kinesis_.SetFailure(Unreachable());
  ASSERT_TRUE(WaitFor([&] { return !p->GetHealth().stalled.empty(); }));
  h = p->GetHealth();
  EXPECT_EQ(h.stalled.rfind("shard shardId-", 0), 0u) << h.stalled;
  EXPECT_NE(h.stalled.find(": no successful read for "), std::string::npos) << h.stalled;
  EXPECT_NE(h.stalled.find("failed: Unavailable: connect to 127.0.0.1:4567 failed"), std::string::npos) << h.stalled;
  EXPECT_GE(h.max_millis_behind, 60000);
  EXPECT_TRUE(h.alive);
  // The lag keeps growing with the clock, and the gauges follow.
  ASSERT_TRUE(WaitFor([&] { return p->GetHealth().max_millis_behind >= 90000; }));
  ASSERT_TRUE(WaitFor([&] { return p->GetHealth().stalled.find("(and 1 more shards)") != std::string::npos; }));
  text = registry_->Expose();
  EXPECT_GE(Sample(text, "shardhose_behind_latest_seconds{shard=\"shardId-0\"}"), 90.0);
  EXPECT_GE(Sample(text, "shardhose_behind_latest_seconds{shard=\"shardId-1\"}"), 60.0);
  // The last successful read stays where it was.
  EXPECT_EQ(Sample(text, "shardhose_shard_last_read_timestamp_seconds{shard=\"shardId-0\"}"),
            Sample(registry_->Expose(), "shardhose_shard_last_read_timestamp_seconds{shard=\"shardId-0\"}"));
  EXPECT_LE(Sample(text, "shardhose_shard_last_read_timestamp_seconds{shard=\"shardId-0\"}"),
            std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count() - 60);

  // Back: the next successful read clears the stall and the lag.
  kinesis_.Put("shardId-0", ChangeRecord("late", "t", 1716200000000));
  kinesis_.SetFailure(Status::OK());
  ASSERT_TRUE(WaitFor([&] {
    Health now = p->GetHealth();
    return now.stalled.empty() && now.max_millis_behind == 0 && now.totals.records_in == 21;
  }));
  text = registry_->Expose();
  EXPECT_EQ(Sample(text, "shardhose_behind_latest_seconds{shard=\"shardId-0\"}"), 0.0);
  EXPECT_GT(Sample(text, "shardhose_shard_last_read_timestamp_seconds{shard=\"shardId-0\"}"), last_read);

  p->Stop();
  run.join();
  EXPECT_TRUE(run_status.ok()) << run_status.ToString();
  EXPECT_EQ(store_.EventIds().size(), 21u);
}

TEST_F(PipelineHealthTest, StallBoundIsConfigurable) {
  cfg_.source.stall_after_s = 5;
  auto p = NewPipeline();
  ASSERT_TRUE(p->Start().ok());
  std::thread run([&] { p->Run(false).IgnoreError(); });
  ASSERT_TRUE(WaitFor([&] { return p->GetHealth().totals.records_in == 20; }));
  const MonoTime cut = clock_.Now();
  kinesis_.SetFailure(Unreachable());
  ASSERT_TRUE(WaitFor([&] { return !p->GetHealth().stalled.empty(); }));
  const auto waited = clock_.Now() - cut;
  EXPECT_GE(waited, std::chrono::seconds(5));
  EXPECT_LT(waited, std::chrono::seconds(60));
  p->Stop();
  run.join();
}

TEST_F(PipelineHealthTest, DrainGivesUpWhenKinesisStaysUnreachable) {
  cfg_.source.drain_give_up_after_s = 120;
  auto p = NewPipeline();
  ASSERT_TRUE(p->Start(/*drain=*/true).ok());
  kinesis_.SetFailure(Unreachable());
  const MonoTime start = clock_.Now();
  Status st = p->Run(/*drain=*/true);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("giving up the drain: shard shardId-"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("source.drain_give_up_after_s"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("Connection refused"), std::string::npos) << st.ToString();
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(120));
  EXPECT_LT(clock_.Now() - start, std::chrono::seconds(200));
}

TEST_F(PipelineHealthTest, DrainDoesNotGiveUpOnReadsPausedByAFullBuffer) {
  // S3 failing: the buffer fills, polling pauses -- no read fails, so the
  // drain's read give-up does not apply (failing uploads are judged apart).
  cfg_.source.drain_give_up_after_s = 30;
  cfg_.batch.max_bytes = 300;
  cfg_.batch.max_buffered_bytes = 300;
  cfg_.batch.max_interval_s = 0;
  for (int i = 20; i < 200; ++i)
    kinesis_.Put(i % 2 ? "shardId-1" : "shardId-0", ChangeRecord("e" + std::to_string(i), "t", 1716200000000));
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    store_.fail_first = 1000000;
  }
  auto p = NewPipeline();
  ASSERT_TRUE(p->Start(true).ok());
  const MonoTime start = clock_.Now();
  Status st;
  std::thread run([&] { st = p->Run(true); });
  ASSERT_TRUE(WaitFor([&] {
    return p->GetHealth().stalled.rfind("uploads failing", 0) == 0 && clock_.Now() - start > std::chrono::seconds(120);
  }));
  {
    std::lock_guard<std::mutex> lock(store_.mu);
    store_.fail_first = 0;
  }
  run.join();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(store_.EventIds().size(), 200u);
}

TEST_F(PipelineHealthTest, DrainWithoutAGiveUpKeepsRetrying) {
  cfg_.source.drain_give_up_after_s = 0;
  auto p = NewPipeline();
  ASSERT_TRUE(p->Start(true).ok());
  kinesis_.SetFailure(Unreachable());
  Status st;
  std::thread run([&] { st = p->Run(true); });
  ASSERT_TRUE(WaitFor([&] { return p->GetHealth().max_millis_behind > 3600 * 1000; }));  // an hour, still trying
  kinesis_.SetFailure(Status::OK());
  run.join();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(store_.EventIds().size(), 20u);
}

TEST_F(PipelineHealthTest, StartRetriesAnUnreachableStreamAndSaysWhy) {
  kinesis_.SetFailure(Unreachable());
  auto p = NewPipeline();
  Status st;
  std::thread start([&] { st = p->Start(); });
  ASSERT_TRUE(WaitFor([&] { return !p->GetHealth().stalled.empty(); }));
  Health h = p->GetHealth();
  EXPECT_FALSE(h.started);
  EXPECT_EQ(h.stalled.rfind("DescribeStreamSummary failing", 0), 0u) << h.stalled;
  EXPECT_NE(h.stalled.find("Connection refused"), std::string::npos) << h.stalled;
  // It keeps trying (without --drain, forever) and says for how long.
  ASSERT_TRUE(WaitFor([&] { return p->GetHealth().stalled.find(" for ") != std::string::npos; }));
  kinesis_.SetFailure(Status::OK());
  start.join();
  EXPECT_TRUE(st.ok()) << st.ToString();
  h = p->GetHealth();
  EXPECT_TRUE(h.started);
  EXPECT_EQ(h.stalled, "");
}

TEST_F(PipelineHealthTest, StartInDrainGivesUpAnUnreachableStream) {
  cfg_.source.drain_give_up_after_s = 30;
  kinesis_.SetFailure(Unreachable());
  auto p = NewPipeline();
  const MonoTime start = clock_.Now();
  Status st = p->Start(/*drain=*/true);
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  EXPECT_NE(st.message().find("DescribeStreamSummary has failed for"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("source.drain_give_up_after_s = 30"), std::string::npos) << st.ToString();
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(30));
  EXPECT_LT(clock_.Now() - start, std::chrono::seconds(60));
}

TEST_F(PipelineHealthTest, StartFailsFastOnWhatRetryingCannotFix) {
  struct Case {
    Status failure;
    StatusCode code;
    std::string says;
  };
  const Case cases[] = {
      {Status::NotFound("DescribeStreamSummary: HTTP 400 ResourceNotFoundException: Stream orders-changes not found")
           .WithPeer(RetryClass::kClientError, "ResourceNotFoundException"),
       StatusCode::kNotFound, "check source.stream_name"},
      {Status::PermissionDenied("DescribeStreamSummary: HTTP 400 AccessDeniedException: not authorized")
           .WithPeer(RetryClass::kClientError, "AccessDeniedException"),
       StatusCode::kPermissionDenied, "kinesis:GetRecords"},
      {Status::PermissionDenied("DescribeStreamSummary: HTTP 400 UnrecognizedClientException: invalid token")
           .WithPeer(RetryClass::kClientError, "UnrecognizedClientException"),
       StatusCode::kPermissionDenied, "AWS does not know the access key"},
      {Status::PermissionDenied("DescribeStreamSummary: HTTP 400 InvalidSignatureException: does not match")
           .WithPeer(RetryClass::kClientError, "InvalidSignatureException"),
       StatusCode::kPermissionDenied, "secret access key does not match"},
  };
  for (const Case& c : cases) {
    kinesis_.SetFailure(c.failure);
    auto p = NewPipeline();
    const MonoTime start = clock_.Now();
    Status st = p->Start();
    EXPECT_EQ(st.code(), c.code) << st.ToString();
    EXPECT_NE(st.message().find(c.failure.peer_code()), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find(c.says), std::string::npos) << st.ToString();
    EXPECT_EQ(clock_.Now(), start);  // not retried
    EXPECT_FALSE(p->GetHealth().started);
  }
}

}  // namespace
}  // namespace shardhose::pipeline

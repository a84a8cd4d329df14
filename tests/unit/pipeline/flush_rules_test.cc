// Pipeline::SetFlushRules (SIGHUP): a running pipeline takes new flush
// limits, and applies them to the batches already open. An in-memory
// stream and store, simulated time (as pipeline_test.cc).
#include <gtest/gtest.h>

#include <chrono>
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

// Real time a broken pipeline may take before the test gives up.
constexpr auto kPatience = std::chrono::seconds(20);

// The sum of every sample of `name` in a Prometheus exposition.
uint64_t Sum(const std::string& text, const std::string& name) {
  uint64_t sum = 0;
  size_t at = 0;
  while ((at = text.find("\n" + name, at)) != std::string::npos) {
    at += name.size() + 1;
    if (text[at] != ' ' && text[at] != '{') continue;
    const size_t sp = text.find(' ', text[at] == '{' ? text.find('}', at) : at);
    sum += std::stoull(text.substr(sp + 1, text.find('\n', sp) - sp - 1));
  }
  return sum;
}

class FlushRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetAutoAdvance(true);
    cfg_.source.stream_name = "orders-changes";
    cfg_.source.poll_interval_ms = 1;
    cfg_.source.idle_poll_interval_ms = 5;
    cfg_.source.poll_threads = 1;
    cfg_.batch.max_bytes = 100 << 20;
    cfg_.batch.max_interval_s = 86400;  // nothing is flushed by age in this test's life
    cfg_.output.bucket = "lake";
    cfg_.checkpoint.path = "/p/state/checkpoint.json";
    kinesis_.AddShard("shardId-0");
    source_ = poll::NewKinesisSource(&kinesis_, poll::StreamRef{cfg_.source.stream_name, ""});
  }

  // Waits (in real time) until `done` holds.
  template <typename F>
  bool Eventually(F done) {
    const auto give_up = std::chrono::steady_clock::now() + kPatience;
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  size_t Objects() {
    std::lock_guard<std::mutex> lock(store_.mu);
    return store_.objects.size();
  }

  config::Config cfg_;
  SimulatedClock clock_;
  test::MemFileSystem fs_;
  test::FakeKinesis kinesis_;
  test::FakeStore store_;
  std::unique_ptr<poll::ChangeSource> source_;
};

TEST_F(FlushRulesTest, NewLimitsApplyToOpenBatchesAndLaterOnes) {
  for (int i = 0; i < 30; ++i)
    kinesis_.Put("shardId-0", ChangeRecord("a" + std::to_string(i), "orders", 1716200000000));
  checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
  metrics::Registry registry;
  Pipeline p(cfg_, Deps{source_.get(), &store_, &file, &clock_, &registry});
  ASSERT_TRUE(p.Start().ok());
  Status run_status;
  std::thread run([&] { run_status = p.Run(/*drain=*/false); });

  // Read, held in one open batch: nothing is due under the old rule.
  ASSERT_TRUE(Eventually([&] { return Sum(registry.Expose(), "shardhose_records_in_total") == 30; }));
  EXPECT_EQ(Objects(), 0u);

  // At most 10 records: the open batch of 30 is sealed at once, by count.
  config::BatchConfig batch = cfg_.batch;
  batch.max_records = 10;
  p.SetFlushRules(batch);
  ASSERT_TRUE(Eventually([&] { return Objects() == 1; }));
  const std::string text = registry.Expose();
  EXPECT_EQ(Sum(text, "shardhose_flushes_total{cause=\"records\"}"), 1u) << text;

  // Later records: batches of 10 (the rule stays), 25 records -> 2 objects
  // now, 5 left open; then an age of 1 s flushes those too.
  for (int i = 0; i < 25; ++i)
    kinesis_.Put("shardId-0", ChangeRecord("b" + std::to_string(i), "orders", 1716200000000));
  ASSERT_TRUE(Eventually([&] { return Objects() == 3; }));
  batch.max_interval_s = 1;
  p.SetFlushRules(batch);
  ASSERT_TRUE(Eventually([&] { return Objects() == 4; }));
  EXPECT_EQ(Sum(registry.Expose(), "shardhose_flushes_total{cause=\"age\"}"), 1u);

  p.Stop();
  run.join();
  EXPECT_TRUE(run_status.ok()) << run_status.ToString();
  EXPECT_EQ(Sum(registry.Expose(), "shardhose_records_out_total"), 55u);
}

}  // namespace
}  // namespace shardhose::pipeline

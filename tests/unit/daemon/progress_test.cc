// The progress line and summary (daemon/progress.h): the formatter on fixed
// health snapshots, the interval rule, and the reporter's thread with a
// short interval, captured from spdlog.
#include "progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

namespace shardhose::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

pipeline::Health Running(uint64_t records_in, uint64_t bytes_in, uint64_t objects_out, uint64_t bytes_out,
                         int64_t lag_ms) {
  pipeline::Health h;
  h.started = true;
  h.alive = true;
  h.max_millis_behind = lag_ms;
  h.buffered_bytes = 3200000;
  h.totals.records_in = records_in;
  h.totals.bytes_in = bytes_in;
  h.totals.records_out = records_in;
  h.totals.objects_out = objects_out;
  h.totals.bytes_out = bytes_out;
  return h;
}

TEST(ProgressTest, IntervalDefaultsToTheTerminal) {
  EXPECT_EQ(ResolveProgressInterval(-1, true), std::chrono::seconds(10));
  EXPECT_EQ(ResolveProgressInterval(-1, false), std::chrono::seconds(60));
  EXPECT_EQ(ResolveProgressInterval(0, true), std::chrono::seconds(0));
  EXPECT_EQ(ResolveProgressInterval(5, false), std::chrono::seconds(5));
}

TEST(ProgressTest, Durations) {
  EXPECT_EQ(FormatDuration(0), "0 s");
  EXPECT_EQ(FormatDuration(41.4), "41 s");
  EXPECT_EQ(FormatDuration(125), "2m05s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(-3), "0 s");
}

TEST(ProgressTest, LineHasRatesTotalsLagAndBuffer) {
  pipeline::Health prev = Running(1000, 1000000, 33, 17540000, 20000);
  pipeline::Health now = Running(19500, 15200000, 37, 19640000, 12300);
  EXPECT_EQ(FormatProgress(now, prev.totals, prev.max_millis_behind, 10, /*drain=*/false),
            "progress: in 1850 records/s 1.42 MB/s | out +4 objects +2.10 MB (total 37, 19.64 MB) | lag 12.3 s | "
            "buffered 3.20 MB");
}

TEST(ProgressTest, DrainHasAnEtaFromHowFastTheLagFalls) {
  pipeline::Health prev = Running(0, 0, 0, 0, 20000);
  pipeline::Health now = Running(100, 1000, 0, 0, 12000);  // 8 s of lag gone in 10 s: 12 s left = 15 s
  EXPECT_THAT(FormatProgress(now, prev.totals, 20000, 10, true), HasSubstr("| drain ETA 15 s"));
  EXPECT_THAT(FormatProgress(now, prev.totals, 12000, 10, true), HasSubstr("| drain ETA ?"));  // not falling
  EXPECT_THAT(FormatProgress(now, prev.totals, -1, 10, true), HasSubstr("| drain ETA ?"));
  now.max_millis_behind = 0;
  EXPECT_THAT(FormatProgress(now, prev.totals, 20000, 10, true), HasSubstr("| drain: caught up"));
  EXPECT_THAT(FormatProgress(now, prev.totals, 20000, 10, false), ::testing::Not(HasSubstr("drain")));
}

TEST(ProgressTest, UnknownLagStallsAndStarting) {
  pipeline::Health now = Running(0, 0, 0, 0, -1);
  now.stalled = "shard shardId-1: no successful read for 61 s: GetRecords failed:\nreset";
  const std::string line = FormatProgress(now, now.totals, -1, 10, false);
  EXPECT_THAT(line, HasSubstr("| lag ? |"));
  EXPECT_THAT(line, HasSubstr("| STALLED: shard shardId-1: no successful read for 61 s: GetRecords failed: reset"));
  pipeline::Health starting;
  EXPECT_EQ(FormatProgress(starting, {}, -1, 10, false), "progress: starting");
  starting.stalled = "DescribeStreamSummary failing for 12 s: Unavailable: refused";
  EXPECT_EQ(FormatProgress(starting, {}, -1, 10, false),
            "progress: starting: DescribeStreamSummary failing for 12 s: Unavailable: refused");
}

TEST(ProgressTest, Summary) {
  pipeline::Health h = Running(231250, 177500000, 41, 21800000, 0);
  EXPECT_EQ(FormatSummary(h.totals, 125, true),
            "done in 2m05s: 231250 records (177.50 MB) in, 41 objects (21.80 MB) out, 1850 records/s");
  EXPECT_THAT(FormatSummary(h.totals, 125, false), StartsWith("stopped after 2m05s: "));
  EXPECT_THAT(FormatSummary({}, 0, true), HasSubstr("0 records/s"));
}

class LogCapture {
 public:
  LogCapture() : old_(spdlog::default_logger()) {
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(old_); }
  std::vector<std::string> lines() { return sink_->last_formatted(); }
  size_t Count(std::string_view part) {
    size_t n = 0;
    for (const auto& l : lines()) n += l.find(part) != std::string::npos;
    return n;
  }

 private:
  std::shared_ptr<spdlog::logger> old_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

TEST(ProgressTest, ReporterLogsEveryIntervalUntilOffAndThenASummary) {
  LogCapture capture;
  std::atomic<uint64_t> records{0};
  ProgressReporter reporter(
      [&] {
        records += 100;
        return Running(records, records * 10, 1, 1000, 0);
      },
      /*drain=*/false);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(capture.Count("progress:"), 0u);  // no interval yet
  reporter.SetInterval(std::chrono::milliseconds(20));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (capture.Count("progress: in ") < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(capture.Count("progress: in "), 3u);
  reporter.SetInterval(std::chrono::milliseconds(0));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const size_t when_off = capture.Count("progress: in ");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(capture.Count("progress: in "), when_off);
  reporter.Finish(true);
  EXPECT_EQ(capture.Count("done in "), 1u);
  EXPECT_THAT(capture.lines().back(), HasSubstr("objects (0.00 MB) out"));
}

}  // namespace
}  // namespace shardhose::daemon

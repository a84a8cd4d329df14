// SIGHUP reloads (daemon/reload.h): which changes apply live and which need
// a restart, problems logged one per line with their key, and a Reloader
// reading a changed file (without a pipeline: the flush rule's part is
// pipeline_flush_rules_test's).
#include "reload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "command_fixture.h"
#include "common/logging.h"

namespace shardhose::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Keys(const std::vector<config::KeyChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(c.key);
  return out;
}

config::Config Base() {
  config::Config c;
  c.source.stream_name = "orders";
  c.output.bucket = "lake";
  return c;
}

TEST(PlanReload, LevelAndFlushRulesApplyLiveEverythingElseNeedsARestart) {
  const config::Config running = Base();
  config::Config next = running;
  next.log.level = "debug";
  next.batch.max_interval_s = 5;
  next.batch.max_records = 100;
  next.batch.max_bytes = 1 << 20;
  next.output.bucket = "other";
  next.source.poll_threads = 8;
  next.log.format = "json";
  ReloadPlan plan = PlanReload(running, next, /*log_level_fixed=*/false);
  EXPECT_THAT(Keys(plan.live),
              ElementsAre("batch.max_bytes", "batch.max_interval_s", "batch.max_records", "log.level"));
  EXPECT_THAT(Keys(plan.restart), ElementsAre("source.poll_threads", "output.bucket", "log.format"));
  EXPECT_TRUE(plan.overridden.empty());
  // In effect: the live changes only.
  EXPECT_EQ(plan.effective.log.level, "debug");
  EXPECT_EQ(plan.effective.batch.max_interval_s, 5);
  EXPECT_EQ(plan.effective.batch.max_records, 100);
  EXPECT_EQ(plan.effective.batch.max_bytes, 1 << 20);
  EXPECT_EQ(plan.effective.output.bucket, "lake");
  EXPECT_EQ(plan.effective.source.poll_threads, 4);
  EXPECT_EQ(plan.effective.log.format, "text");
  // A second reload of the same file: the restart keys are named again.
  ReloadPlan again = PlanReload(plan.effective, next, false);
  EXPECT_TRUE(again.live.empty());
  EXPECT_EQ(again.restart.size(), 3u);
}

TEST(PlanReload, TheCommandLineLevelWins) {
  config::Config next = Base();
  next.log.level = "debug";
  ReloadPlan plan = PlanReload(Base(), next, /*log_level_fixed=*/true);
  EXPECT_TRUE(plan.live.empty());
  EXPECT_THAT(Keys(plan.overridden), ElementsAre("log.level"));
  EXPECT_EQ(plan.effective.log.level, "info");
}

TEST(PlanReload, MaxBytesPastTheRunningBufferCapNeedsARestart) {
  config::Config next = Base();
  next.batch.max_buffered_bytes = 8ll << 30;
  next.batch.max_bytes = 2ll << 30;  // valid with the new cap, not with the running one (1 GiB)
  ReloadPlan plan = PlanReload(Base(), next, false);
  EXPECT_TRUE(plan.live.empty());
  EXPECT_THAT(Keys(plan.restart), ElementsAre("batch.max_bytes", "batch.max_buffered_bytes"));
  EXPECT_EQ(plan.effective.batch.max_bytes, Base().batch.max_bytes);
}

TEST(PlanReload, AProgressIntervalReachesTheHooks) {
  config::Config next = Base();
  next.log.progress_interval_s = 5;
  ReloadPlan plan = PlanReload(Base(), next, false);
  EXPECT_THAT(Keys(plan.live), ElementsAre("log.progress_interval_s"));
  EXPECT_TRUE(plan.restart.empty());
  EXPECT_EQ(plan.effective.log.progress_interval_s, 5);
}

TEST(IsLiveKey, NamesTheLiveKeys) {
  for (const char* key :
       {"log.level", "batch.max_bytes", "batch.max_interval_s", "batch.max_records", "log.progress_interval_s"}) {
    EXPECT_TRUE(IsLiveKey(key)) << key;
  }
  EXPECT_FALSE(IsLiveKey("output.bucket"));
  EXPECT_FALSE(IsLiveKey("batch.max_buffered_bytes"));
}

class ReloaderTest : public CommandTest {
 protected:
  void SetUp() override {
    CommandTest::SetUp();
    InitLogging(static_cast<int>(spdlog::level::info), LogFormat::kJson);
  }
  void TearDown() override {
    InitLogging(static_cast<int>(spdlog::level::info), LogFormat::kText);
    CommandTest::TearDown();
  }
  // Reload() with its log lines (JSON, stdout) in out_.
  bool Reload(Reloader& r) {
    bool ok = false;
    Run([&] {
      ok = r.Reload();
      return 0;
    });
    return ok;
  }
};

TEST_F(ReloaderTest, AppliesTheLevelNamesRestartKeysAndCallsTheHooks) {
  auto cfg = LoadConfig(options_);
  ASSERT_TRUE(cfg.has_value());
  Reloader reloader(options_, *cfg, /*pipeline=*/nullptr);
  std::vector<int64_t> seen;
  reloader.OnReload([&](const config::Config& c) { seen.push_back(c.batch.max_interval_s); });

  ASSERT_TRUE(Reload(reloader));
  EXPECT_THAT(out_, HasSubstr("\"msg\":\"configuration unchanged\""));

  WriteConfig("[log]\nlevel = \"debug\"\n[batch]\nmax_interval_s = 7\n[shutdown]\ngrace_period_s = 9\n");
  ASSERT_TRUE(Reload(reloader));
  EXPECT_EQ(CurrentLogLevel(), static_cast<int>(spdlog::level::debug));
  EXPECT_THAT(out_, HasSubstr("\"msg\":\"configuration change applied\",\"key\":\"batch.max_interval_s\","
                              "\"from\":\"300\",\"to\":\"7\""));
  EXPECT_THAT(out_, HasSubstr("\"key\":\"log.level\",\"from\":\"\\\"info\\\"\",\"to\":\"\\\"debug\\\"\""));
  EXPECT_THAT(out_, HasSubstr("\"level\":\"warning\",\"msg\":\"configuration change needs a restart; the running "
                              "value stays\",\"key\":\"shutdown.grace_period_s\",\"from\":\"25\",\"to\":\"9\""));
  EXPECT_THAT(out_, HasSubstr("\"applied\":\"batch.max_interval_s,log.level\",\"needs_restart\":\"shutdown."
                              "grace_period_s\""));
  EXPECT_THAT(seen, ElementsAre(300, 7));

  // Invalid: logged with its key, nothing changes, the hooks are not called.
  WriteConfig("[log]\nlevel = \"loud\"\n[batch]\nmax_interval_s = 1\n");
  EXPECT_FALSE(Reload(reloader));
  EXPECT_THAT(out_, HasSubstr("\"level\":\"error\",\"msg\":\"invalid configuration on reload\",\"key\":\"log.level\""));
  EXPECT_THAT(out_, HasSubstr("still running on the previous one"));
  EXPECT_EQ(CurrentLogLevel(), static_cast<int>(spdlog::level::debug));
  EXPECT_THAT(seen, ElementsAre(300, 7));

  // The file unreadable: the same.
  options_.config_path = dir_ + "/gone.toml";
  Reloader gone(options_, *cfg, nullptr);
  EXPECT_FALSE(Reload(gone));
  EXPECT_THAT(out_, HasSubstr("\"msg\":\"invalid configuration on reload\",\"problem\":\"config file: "));
}

TEST_F(ReloaderTest, ACommandLineLevelIsKept) {
  options_.log_level = "warn";
  auto cfg = LoadConfig(options_);
  ASSERT_TRUE(cfg.has_value());
  SetLogLevel(static_cast<int>(spdlog::level::warn));
  Reloader reloader(options_, *cfg, nullptr);
  WriteConfig("[log]\nlevel = \"debug\"\n");
  ASSERT_TRUE(Reload(reloader));
  EXPECT_EQ(CurrentLogLevel(), static_cast<int>(spdlog::level::warn));
  EXPECT_THAT(out_, HasSubstr("\"key\":\"log.level\""));
  EXPECT_THAT(out_, HasSubstr("\"in_effect\":\"warn\""));
}

TEST_F(ReloaderTest, TheCommandLinesOverrideIsNoChange) {
  // `load --then-stream` starts the stream at the export time, over the
  // file's initial_position: a reload of the same file changes nothing.
  auto cfg = LoadConfig(options_);
  ASSERT_TRUE(cfg.has_value());
  auto over = [](config::Config* c) {
    c->source.initial_position = config::InitialPosition::kAtTimestamp;
    c->source.initial_timestamp_ms = 1716200000000;
    c->source.initial_timestamp = "2024-05-20T10:13:20.000Z";
  };
  over(&*cfg);
  Reloader reloader(options_, *cfg, nullptr);
  reloader.SetOverride(over);
  ASSERT_TRUE(Reload(reloader));
  EXPECT_THAT(out_, HasSubstr("\"msg\":\"configuration unchanged\""));
  EXPECT_THAT(out_, Not(HasSubstr("initial_")));
}

}  // namespace
}  // namespace shardhose::daemon

#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace shardhose::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --- values ------------------------------------------------------------------

TEST(MetricsTest, CounterCounts) {
  Registry r;
  Counter& c = r.AddCounter("c_total", "help").Get();
  EXPECT_EQ(c.value(), 0u);
  c.Inc();
  c.Inc(41);
  EXPECT_EQ(c.value(), 42u);
}

TEST(MetricsTest, GaugeSetsAndAdds) {
  Registry r;
  Gauge& g = r.AddGauge("g", "help").Get();
  EXPECT_EQ(g.value(), 0.0);
  g.Set(2.5);
  g.Add(-1);
  EXPECT_EQ(g.value(), 1.5);
}

TEST(MetricsTest, HistogramBucketsAreInclusiveAndCumulative) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 100.0}) h.Observe(v);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum(), 108.0);
  EXPECT_THAT(h.CumulativeCounts(), ElementsAre(2, 4, 5, 6));  // le=1, 2, 5, +Inf
}

TEST(MetricsTest, HistogramIgnoresNanAndDropsATrailingInf) {
  Histogram h({1, std::numeric_limits<double>::infinity()});
  EXPECT_THAT(h.bounds(), ElementsAre(1.0));
  h.Observe(std::nan(""));
  h.Observe(-std::numeric_limits<double>::infinity());
  h.Observe(std::numeric_limits<double>::infinity());
  EXPECT_THAT(h.CumulativeCounts(), ElementsAre(1, 2));
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_THAT(ExponentialBuckets(0.5, 2, 4), ElementsAre(0.5, 1, 2, 4));
  EXPECT_THAT(LinearBuckets(1, 0.5, 3), ElementsAre(1, 1.5, 2));
}

// --- labels ------------------------------------------------------------------

TEST(MetricsTest, OneChildPerLabelSet) {
  Registry r;
  auto& f = r.AddCounter("records_total", "help", {"shard", "table"});
  Counter& a = f.With({"s1", "orders"});
  Counter& b = f.With({"s1", "users"});
  EXPECT_NE(&a, &b);
  EXPECT_EQ(&a, &f.With({"s1", "orders"}));
  a.Inc(3);
  b.Inc(5);
  EXPECT_EQ(f.With({"s1", "orders"}).value(), 3u);
  EXPECT_EQ(f.With({"s1", "users"}).value(), 5u);
  EXPECT_EQ(f.name(), "records_total");
  EXPECT_THAT(f.label_names(), ElementsAre("shard", "table"));
}

TEST(MetricsTest, ChildrenDoNotMoveWhenMoreAreAdded) {
  Registry r;
  auto& f = r.AddGauge("g", "help", {"k"});
  Gauge* first = &f.With({"a"});
  for (int i = 0; i < 1000; ++i) f.With({std::to_string(i)}).Set(i);
  EXPECT_EQ(first, &f.With({"a"}));
}

// --- concurrency ----------------------------------------------------------------

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  auto& counters = r.AddCounter("c_total", "help", {"k"});
  auto& gauge = r.AddGauge("g", "help").Get();
  auto& hist = r.AddHistogram("h_seconds", "help", {}, {0.5, 1.5}).Get();
  constexpr int kThreads = 4;
  constexpr int kIters = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& mine = counters.With({"t" + std::to_string(t)});
      for (int i = 0; i < kIters; ++i) {
        counters.With({"shared"}).Inc();
        mine.Inc(2);
        gauge.Add(1);
        hist.Observe(i % 2);                  // 0 -> le 0.5, 1 -> le 1.5
        if (i % 1000 == 0) (void)r.Expose();  // scrapes race with updates
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counters.With({"shared"}).value(), uint64_t{kThreads} * kIters);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counters.With({"t" + std::to_string(t)}).value(), 2u * kIters);
  }
  EXPECT_EQ(gauge.value(), double{kThreads} * kIters);
  EXPECT_EQ(hist.count(), uint64_t{kThreads} * kIters);
  EXPECT_DOUBLE_EQ(hist.sum(), double{kThreads} * kIters / 2);
  EXPECT_THAT(hist.CumulativeCounts(), ElementsAre(kThreads * kIters / 2, kThreads * kIters, kThreads * kIters));
}

// --- exposition ------------------------------------------------------------------

TEST(MetricsTest, EmptyRegistryExposesNothing) { EXPECT_EQ(Registry().Expose(), ""); }

TEST(MetricsTest, ExactExposition) {
  Registry r;
  auto& in = r.AddCounter("shardhose_records_in_total", "Records read from Kinesis.", {"shard"});
  auto& buffered = r.AddGauge("shardhose_buffered_bytes", "Bytes buffered.");
  auto& up = r.AddHistogram("shardhose_upload_seconds", "Upload attempt duration.", {}, {0.1, 1, 2.5});
  auto& causes = r.AddCounter("shardhose_flushes_total", "Batches sealed.", {"cause"});
  r.AddGauge("shardhose_behind_latest_seconds", "Lag.", {"shard"});  // no children yet
  in.With({"shardId-000000000001"}).Inc(7);
  in.With({"shardId-000000000000"}).Inc(3);
  buffered.Get().Set(1048576);
  up.Get().Observe(0.05);
  up.Get().Observe(0.1);
  up.Get().Observe(3);
  causes.With({"size"});
  causes.With({"age"}).Inc();

  EXPECT_EQ(r.Expose(),
            "# HELP shardhose_records_in_total Records read from Kinesis.\n"
            "# TYPE shardhose_records_in_total counter\n"
            "shardhose_records_in_total{shard=\"shardId-000000000000\"} 3\n"
            "shardhose_records_in_total{shard=\"shardId-000000000001\"} 7\n"
            "# HELP shardhose_buffered_bytes Bytes buffered.\n"
            "# TYPE shardhose_buffered_bytes gauge\n"
            "shardhose_buffered_bytes 1048576\n"
            "# HELP shardhose_upload_seconds Upload attempt duration.\n"
            "# TYPE shardhose_upload_seconds histogram\n"
            "shardhose_upload_seconds_bucket{le=\"0.1\"} 2\n"
            "shardhose_upload_seconds_bucket{le=\"1\"} 2\n"
            "shardhose_upload_seconds_bucket{le=\"2.5\"} 2\n"
            "shardhose_upload_seconds_bucket{le=\"+Inf\"} 3\n"
            "shardhose_upload_seconds_sum 3.15\n"
            "shardhose_upload_seconds_count 3\n"
            "# HELP shardhose_flushes_total Batches sealed.\n"
            "# TYPE shardhose_flushes_total counter\n"
            "shardhose_flushes_total{cause=\"age\"} 1\n"
            "shardhose_flushes_total{cause=\"size\"} 0\n"
            "# HELP shardhose_behind_latest_seconds Lag.\n"
            "# TYPE shardhose_behind_latest_seconds gauge\n");
}

TEST(MetricsTest, LabelledHistogramPutsLeLast) {
  Registry r;
  auto& h = r.AddHistogram("op_seconds", "h", {"op", "class"}, {1});
  h.With({"put", "ok"}).Observe(2);
  EXPECT_EQ(r.Expose(),
            "# HELP op_seconds h\n"
            "# TYPE op_seconds histogram\n"
            "op_seconds_bucket{op=\"put\",class=\"ok\",le=\"1\"} 0\n"
            "op_seconds_bucket{op=\"put\",class=\"ok\",le=\"+Inf\"} 1\n"
            "op_seconds_sum{op=\"put\",class=\"ok\"} 2\n"
            "op_seconds_count{op=\"put\",class=\"ok\"} 1\n");
}

TEST(MetricsTest, Escaping) {
  Registry r;
  auto& f = r.AddCounter("e_total", "a \\ back\\slash and a\nnewline, \"quotes\" kept", {"v"});
  f.With({"q\"b\\n\nx"}).Inc();
  EXPECT_EQ(r.Expose(),
            "# HELP e_total a \\\\ back\\\\slash and a\\nnewline, \"quotes\" kept\n"
            "# TYPE e_total counter\n"
            "e_total{v=\"q\\\"b\\\\n\\nx\"} 1\n");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeHelp("\"x\""), "\"x\"");
}

TEST(MetricsTest, FormatValue) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-1.5), "-1.5");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(MetricsTest, OnExposeHooksRunAtEveryScrape) {
  Registry r;
  Gauge& age = r.AddGauge("age_seconds", "h").Get();
  int calls = 0;
  r.OnExpose([&] { age.Set(++calls * 10); });
  EXPECT_THAT(r.Expose(), HasSubstr("\nage_seconds 10\n"));
  EXPECT_THAT(r.Expose(), HasSubstr("\nage_seconds 20\n"));
  EXPECT_EQ(calls, 2);
}

// --- programming errors abort ------------------------------------------------------

TEST(MetricsDeathTest, BadDeclarationsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(Registry().AddCounter("1bad", "h"), "bad metric name \"1bad\"");
  EXPECT_DEATH(Registry().AddCounter("a-b", "h"), "bad metric name");
  EXPECT_DEATH(Registry().AddCounter("ok_total", "h", {"bad-label"}), "bad label name");
  EXPECT_DEATH(Registry().AddCounter("ok_total", "h", {"__reserved"}), "bad label name");
  EXPECT_DEATH(Registry().AddCounter("ok_total", "h", {"a", "a"}), "duplicate label name");
  EXPECT_DEATH(Registry().AddHistogram("h_seconds", "h", {"le"}, {1}), "may not have a label \"le\"");
  EXPECT_DEATH(Registry().AddHistogram("h_seconds", "h", {}, {2, 1}), "strictly increasing");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("x_total", "h");
        r.AddGauge("x_total", "h");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddHistogram("lat", "h", {}, {1});
        r.AddGauge("lat_sum", "h");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("y_total", "h", {"a", "b"}).With({"only-one"});
      },
      "got 1 label values for 2 labels");
}

// --- promtool ------------------------------------------------------------------------

// Runs `promtool check metrics` on `text`; returns its exit status and output
// or nullopt when promtool is not installed.
struct PromtoolResult {
  int status;
  std::string output;
};
std::optional<PromtoolResult> Promtool(const std::string& text) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return std::nullopt;
  const std::string path = ::testing::TempDir() + "/metrics_test_" + std::to_string(::getpid()) + ".prom";
  std::ofstream(path) << text;
  const std::string cmd = "promtool check metrics < '" + path + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return PromtoolResult{-1, "popen failed"};
  std::string out;
  char buf[512];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int st = ::pclose(p);
  std::remove(path.c_str());
  return PromtoolResult{WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// Every metric of lib/metrics/names.md, with children (and awkward label
// values), as the daemon will expose them.
std::string NamesMdExposition() {
  Registry r;
  auto& records_in = r.AddCounter("shardhose_records_in_total", "Kinesis records read.", {"shard"});
  auto& bytes_in = r.AddCounter("shardhose_bytes_in_total", "Kinesis record data bytes read.", {"shard"});
  auto& records_out = r.AddCounter("shardhose_records_out_total", "Lines in durable objects.", {"table"});
  auto& objects_out = r.AddCounter("shardhose_objects_out_total", "Durable objects written.", {"table"});
  auto& bytes_out = r.AddCounter("shardhose_bytes_out_total", "Bytes of durable objects.", {"table"});
  auto& flushes = r.AddCounter("shardhose_flushes_total", "Batches sealed, by cause.", {"cause"});
  auto& upload =
      r.AddHistogram("shardhose_upload_seconds", "Upload attempt duration.", {}, ExponentialBuckets(0.005, 2, 16));
  auto& errors = r.AddCounter("shardhose_errors_total", "Failed remote calls.", {"op", "class"});
  auto& retries = r.AddCounter("shardhose_retries_total", "Failed remote calls retried.", {"op", "class"});
  auto& behind = r.AddGauge("shardhose_behind_latest_seconds", "MillisBehindLatest / 1000.", {"shard"});
  auto& oldest = r.AddGauge("shardhose_oldest_buffered_record_age_seconds", "Oldest buffered line age.");
  auto& buffered = r.AddGauge("shardhose_buffered_bytes", "Bytes in open and in-flight batches.");
  auto& cp_age = r.AddGauge("shardhose_checkpoint_age_seconds", "Since the last checkpoint write.");
  auto& error_records = r.AddCounter("shardhose_error_records_total", "Records under error_prefix.", {"reason"});
  auto& build = r.AddGauge("shardhose_build_info", "Always 1.", {"version"});
  auto& shards = r.AddGauge("shardhose_shards", "Shards per state.", {"state"});
  auto& open = r.AddGauge("shardhose_open_batches", "Open batches.");
  auto& cp_writes = r.AddCounter("shardhose_checkpoint_writes_total", "Checkpoint files written.");
  auto& skipped = r.AddCounter("shardhose_records_skipped_total", "Records already durable.");
  auto& gaps = r.AddCounter("shardhose_retention_gaps_total", "Checkpoints past the trim horizon.", {"shard"});
  auto& last_read = r.AddGauge("shardhose_shard_last_read_timestamp_seconds", "Last successful read.", {"shard"});
  r.AddFloatCounter("process_cpu_seconds_total", "CPU seconds.").Get().Set(1.25);
  r.AddGauge("process_resident_memory_bytes", "RSS.").Get().Set(5e7);
  r.AddGauge("process_virtual_memory_bytes", "VSZ.").Get().Set(5e8);
  r.AddGauge("process_open_fds", "Open fds.").Get().Set(12);
  r.AddGauge("process_max_fds", "Max fds.").Get().Set(1024);
  r.AddGauge("process_start_time_seconds", "Start.").Get().Set(1.7e9);

  for (int s = 0; s < 4; ++s) {
    const std::string shard = "shardId-00000000000" + std::to_string(s);
    records_in.With({shard}).Inc(1000 + s);
    bytes_in.With({shard}).Inc(123456789);
    behind.With({shard}).Set(s * 0.25);
    last_read.With({shard}).Set(1.7e9 + s);
  }
  for (const char* table : {"orders", "users", "(errors)", "weird \"t\\a\nble\""}) {
    records_out.With({table}).Inc(10);
    objects_out.With({table}).Inc(1);
    bytes_out.With({table}).Inc(4096);
  }
  for (const char* cause : {"size", "records", "age", "pressure", "shutdown", "drain", "replay"}) {
    flushes.With({cause});
  }
  for (double v : {0.001, 0.02, 0.3, 4.0, 500.0}) upload.Get().Observe(v);
  for (const char* op : {"get_records", "put_object", "checkpoint_write"}) {
    for (const char* cls : {"throttled", "server_error", "client_error", "network"}) {
      errors.With({op, cls}).Inc(2);
      retries.With({op, cls}).Inc(1);
    }
  }
  oldest.Get().Set(12.5);
  buffered.Get().Set(3.5e9);
  cp_age.Get().Set(std::numeric_limits<double>::infinity());  // never written yet
  for (const char* reason : {"bad_base64", "not_json", "not_change_record", "bad_attribute"}) {
    error_records.With({reason}).Inc();
  }
  build.With({"0.1.0"}).Set(1);
  shards.With({"active"}).Set(3);
  shards.With({"finished"}).Set(1);
  open.Get().Set(17);
  cp_writes.Get().Inc(9);
  skipped.Get();
  gaps.With({"shardId-000000000002"}).Inc();
  return r.Expose();
}

TEST(MetricsTest, PromtoolAcceptsTheDaemonsMetrics) {
  const std::string text = NamesMdExposition();
  auto res = Promtool(text);
  if (!res) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  EXPECT_EQ(res->status, 0) << res->output << "\n" << text;
  EXPECT_EQ(res->output, "") << text;
}

TEST(MetricsTest, PromtoolCheckReallyFails) {
  // The check above is only worth something if promtool rejects bad input.
  Registry r;
  r.AddCounter("shardhose_bad_count", "no _total suffix").Get().Inc();
  auto res = Promtool(r.Expose());
  if (!res) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  EXPECT_NE(res->status, 0) << res->output;
  EXPECT_THAT(res->output, HasSubstr("_total"));
}

TEST(MetricsTest, NamesMdListsEveryMetricTheTestDeclares) {
  std::ifstream in(std::string(SHARDHOSE_SOURCE_DIR) + "/lib/metrics/names.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  ASSERT_FALSE(doc.empty());
  std::istringstream lines(NamesMdExposition());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const std::string name = line.substr(7, line.find(' ', 7) - 7);
    EXPECT_THAT(doc, HasSubstr("| `" + name + "` |")) << name;
  }
}

}  // namespace
}  // namespace shardhose::metrics

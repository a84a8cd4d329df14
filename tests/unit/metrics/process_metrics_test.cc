// Process metrics (metrics/process_metrics.h): the /proc parsers on fixed
// text, the collector on a fake /proc directory, and on the real one.
#include "metrics/process_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

namespace shardhose::metrics {
namespace {

using ::testing::HasSubstr;

// A /proc/<pid>/stat line whose comm holds spaces and parentheses:
// utime 250, stime 150 ticks; starttime 12345 ticks; vsize 2000000; rss 300 pages.
constexpr char kStat[] =
    "4242 (shard hose) (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 150 0 0 20 0 7 0 12345 2000000 300 "
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

// The value of the sample `name` (no labels).
double Sample(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return NAN;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(ProcessMetricsTest, ParsesProcStat) {
  auto p = ParseProcStat(kStat, 100, 4096, 1700000000);
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(p->cpu_seconds, 4.0);
  EXPECT_DOUBLE_EQ(p->virtual_bytes, 2000000);
  EXPECT_DOUBLE_EQ(p->resident_bytes, 300.0 * 4096);
  EXPECT_DOUBLE_EQ(p->start_time_seconds, 1700000000 + 123.45);
  EXPECT_FALSE(ParseProcStat("4242 (x) S 1 2 3", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("no parenthesis", 100, 4096, 0).has_value());
}

TEST(ProcessMetricsTest, ParsesBootTimeAndLimits) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000.0);
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\n").has_value());
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1024                 524288               files     \n";
  EXPECT_EQ(ParseMaxOpenFiles(limits), 1024.0);
  EXPECT_TRUE(std::isinf(*ParseMaxOpenFiles("Max open files            unlimited            unlimited  files\n")));
  EXPECT_FALSE(ParseMaxOpenFiles("Max cpu time 1 2 seconds\n").has_value());
}

TEST(ProcessMetricsTest, CollectsFromAProcDirectory) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("process_metrics_test." + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "self" / "fd");
  for (int i = 0; i < 3; ++i) std::ofstream(dir / "self" / "fd" / std::to_string(i)) << "";
  std::ofstream(dir / "self" / "stat") << kStat;
  std::ofstream(dir / "self" / "limits")
      << "Max open files            4096                 4096                 files\n";
  std::ofstream(dir / "stat") << "btime 1700000000\n";

  Registry r;
  AddProcessMetrics(r, dir.string());
  const std::string text = r.Expose();
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(Sample(text, "process_cpu_seconds_total"), 400 / ticks);
  EXPECT_DOUBLE_EQ(Sample(text, "process_resident_memory_bytes"), 300.0 * static_cast<double>(::sysconf(_SC_PAGESIZE)));
  EXPECT_DOUBLE_EQ(Sample(text, "process_virtual_memory_bytes"), 2000000);
  EXPECT_DOUBLE_EQ(Sample(text, "process_open_fds"), 3);
  EXPECT_DOUBLE_EQ(Sample(text, "process_max_fds"), 4096);
  EXPECT_DOUBLE_EQ(Sample(text, "process_start_time_seconds"), 1700000000 + 12345 / ticks);
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE process_open_fds gauge\n"));
  std::filesystem::remove_all(dir);
}

TEST(ProcessMetricsTest, CollectsFromThisProcess) {
  Registry r;
  AddProcessMetrics(r);
  const std::string text = r.Expose();
  EXPECT_GT(Sample(text, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(Sample(text, "process_virtual_memory_bytes"), Sample(text, "process_resident_memory_bytes"));
  EXPECT_GE(Sample(text, "process_open_fds"), 3);  // stdin, stdout, stderr
  EXPECT_GE(Sample(text, "process_max_fds"), Sample(text, "process_open_fds"));
  EXPECT_GE(Sample(text, "process_cpu_seconds_total"), 0);
  const double start = Sample(text, "process_start_time_seconds");
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 3600);  // this test started less than an hour ago
}

}  // namespace
}  // namespace shardhose::metrics

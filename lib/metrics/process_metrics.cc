// Process metrics from /proc (metrics/process_metrics.h).
//
// /proc/<pid>/stat: "pid (comm) state ppid ..." -- the fields after the
// last ')' are numbered from 3 (state); utime is field 14, stime 15 (clock
// ticks), starttime 22 (ticks after boot), vsize 23 (bytes), rss 24 (pages).
#include "metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

namespace shardhose::metrics {
namespace {

std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<double> ToNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Entries of a directory but . and ..; -1 if it cannot be read.
int CountEntries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name(e->d_name);
    if (name != "." && name != "..") ++n;
  }
  ::closedir(d);
  return n;
}

}  // namespace

std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second, double page_size,
                                          double boot_time) {
  const size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  const std::vector<std::string_view> f = Fields(stat.substr(paren + 1));
  // f[0] is field 3 (state): field N is f[N - 3].
  if (f.size() < 22) return std::nullopt;
  auto utime = ToNumber(f[11]), stime = ToNumber(f[12]), start = ToNumber(f[19]), vsize = ToNumber(f[20]),
       rss = ToNumber(f[21]);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  ProcessStats p;
  p.cpu_seconds = (*utime + *stime) / ticks_per_second;
  p.virtual_bytes = *vsize;
  p.resident_bytes = *rss * page_size;
  p.start_time_seconds = boot_time + *start / ticks_per_second;
  return p;
}

std::optional<double> ParseBootTime(std::string_view proc_stat) {
  size_t at = 0;
  while (at < proc_stat.size()) {
    size_t eol = proc_stat.find('\n', at);
    if (eol == std::string_view::npos) eol = proc_stat.size();
    const std::vector<std::string_view> f = Fields(proc_stat.substr(at, eol - at));
    if (f.size() == 2 && f[0] == "btime") return ToNumber(f[1]);
    at = eol + 1;
  }
  return std::nullopt;
}

std::optional<double> ParseMaxOpenFiles(std::string_view limits) {
  const size_t at = limits.find("Max open files");
  if (at == std::string_view::npos) return std::nullopt;
  size_t eol = limits.find('\n', at);
  if (eol == std::string_view::npos) eol = limits.size();
  const std::vector<std::string_view> f = Fields(limits.substr(at, eol - at));
  // "Max" "open" "files" <soft> <hard> "files"
  if (f.size() < 5) return std::nullopt;
  if (f[3] == "unlimited") return std::numeric_limits<double>::infinity();
  return ToNumber(f[3]);
}

void AddProcessMetrics(Registry& registry, std::string proc) {
  auto& cpu = registry.AddFloatCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  auto& resident = registry.AddGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  auto& virt = registry.AddGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  auto& open_fds = registry.AddGauge("process_open_fds", "Number of open file descriptors.");
  auto& max_fds = registry.AddGauge("process_max_fds", "Maximum number of open file descriptors.");
  auto& start =
      registry.AddGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  registry.OnExpose([=, &cpu, &resident, &virt, &open_fds, &max_fds, &start] {
    std::optional<double> boot;
    if (auto s = ReadAll(proc + "/stat")) boot = ParseBootTime(*s);
    if (auto s = ReadAll(proc + "/self/stat")) {
      if (auto p = ParseProcStat(*s, ticks, page, boot.value_or(0))) {
        cpu.Get().Set(p->cpu_seconds);
        resident.Get().Set(p->resident_bytes);
        virt.Get().Set(p->virtual_bytes);
        if (boot) start.Get().Set(p->start_time_seconds);
      }
    }
    if (const int n = CountEntries(proc + "/self/fd"); n >= 0) open_fds.Get().Set(n);
    if (auto s = ReadAll(proc + "/self/limits")) {
      if (auto m = ParseMaxOpenFiles(*s)) max_fds.Get().Set(*m);
    }
  });
}

}  // namespace shardhose::metrics

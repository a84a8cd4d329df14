// File: metrics/process_metrics.h
//
// The standard process metrics, named and typed as the Prometheus client
// libraries define them (client_golang's process collector), read from
// Linux's /proc at every scrape:
//
//   process_cpu_seconds_total      counter  user + system CPU time, s   /proc/self/stat utime+stime
//   process_resident_memory_bytes  gauge    resident set size           /proc/self/stat rss x page size
//   process_virtual_memory_bytes   gauge    virtual memory size         /proc/self/stat vsize
//   process_open_fds               gauge    open file descriptors       entries of /proc/self/fd
//   process_max_fds                gauge    the soft RLIMIT_NOFILE      /proc/self/limits "Max open files"
//   process_start_time_seconds     gauge    start, unix s               /proc/stat btime + stat starttime
//
// A file that cannot be read or parsed leaves its gauges at their last
// value (0 before the first read); nothing is logged (a scrape must not
// spam). Thread-safety: as the registry (the hook runs inside Expose()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "metrics/metrics.h"

namespace shardhose::metrics {

// What the collector reads, one /proc snapshot.
struct ProcessStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // unix time
};

// Parses the text of /proc/<pid>/stat (the command name in parentheses may
// hold spaces and parentheses) with the system's clock ticks per second,
// page size and boot time (btime of /proc/stat, unix s). nullopt if
// malformed.
std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second, double page_size,
                                          double boot_time);
// The "btime" line of /proc/stat; nullopt if missing.
std::optional<double> ParseBootTime(std::string_view proc_stat);
// The soft limit of "Max open files" in /proc/<pid>/limits ("unlimited" =
// +Inf); nullopt if missing.
std::optional<double> ParseMaxOpenFiles(std::string_view limits);

// Registers the six metrics above in `registry` and an OnExpose hook that
// reads `proc` ("/proc" in the daemon; a test directory holding self/stat,
// self/fd/, self/limits and stat in tests). REQUIRES: called once per
// registry.
void AddProcessMetrics(Registry& registry, std::string proc = "/proc");

}  // namespace shardhose::metrics

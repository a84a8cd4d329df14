// File: daemon/progress.h
//
// Progress a person can watch: while `run` works, one info line every
// log.progress_interval_s (-1 = 10 s when stderr is a terminal, 60 s
// otherwise; 0 = off), and one summary line at the end. Computed only from
// pipeline::Health (its state and metric totals), e.g.
//
//   progress: in 1850 records/s 1.42 MB/s | out +4 objects +2.10 MB (total 37, 19.64 MB) | lag 12.3 s |
//             buffered 3.20 MB | drain ETA 41 s
//   progress: starting: DescribeStreamSummary failing for 12 s: Unavailable: ...
//   done in 2m05s: 231250 records (177.50 MB) in, 41 objects (21.80 MB) out, 1850 records/s
//
// The line goes through spdlog at info level, so it shows in the
// foreground, in the journal and in container logs alike, and not at
// warn or above. Rates are over the last interval. "lag" is the largest
// MillisBehindLatest of the active shards (estimated while a shard cannot
// be read: pipeline/health.h); a stall is named at the end of the line.
// The drain ETA is the lag divided by how fast it fell over the interval
// ("ETA ?" while it does not fall).
//
// Thread-safety: SetInterval() from any thread (a SIGHUP reload may call
// it); the rest from the thread that owns the reporter.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "pipeline/health.h"

namespace shardhose::daemon {

// log.progress_interval_s as an interval: -1 = 10 s on a terminal, 60 s
// otherwise; 0 = off.
std::chrono::milliseconds ResolveProgressInterval(int64_t configured_s, bool stderr_is_terminal);

// One progress line from the health now and the totals and lag
// `elapsed_s` earlier (prev_lag_ms -1 = unknown).
std::string FormatProgress(const pipeline::Health& now, const pipeline::Health::Totals& prev, int64_t prev_lag_ms,
                           double elapsed_s, bool drain);
// The end-of-run line.
std::string FormatSummary(const pipeline::Health::Totals& totals, double elapsed_s, bool ok);
// "41 s", "2m05s", "1h02m".
std::string FormatDuration(double seconds);

class ProgressReporter {
 public:
  using HealthSource = std::function<pipeline::Health()>;

  // Reports nothing until SetInterval() with a positive interval.
  // REQUIRES: whatever `health` uses outlives the reporter.
  ProgressReporter(HealthSource health, bool drain);
  ~ProgressReporter();  // stops the thread (no summary: see Finish)
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // 0 = off. Takes effect at once (the next line is one interval away).
  void SetInterval(std::chrono::milliseconds interval);

  // Stops the lines and logs the summary (at info when `ok`, else warn).
  void Finish(bool ok);

 private:
  void Loop();

  const HealthSource health_;
  const bool drain_;
  const std::chrono::steady_clock::time_point started_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::milliseconds interval_{0};  // guarded by mu_
  uint64_t generation_ = 0;                // guarded by mu_: bumped by SetInterval()
  bool quit_ = false;                      // guarded by mu_
  std::thread thread_;
};

}  // namespace shardhose::daemon

// The progress line and the end-of-run summary (daemon/progress.h).
//
// One thread waits on cv_ for the interval; SetInterval() wakes it so a new
// interval counts from the change. Each line compares the totals with the
// previous line's (or, for the first, with the totals when the interval
// began).
#include "progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

namespace shardhose::daemon {
namespace {

constexpr double kMB = 1e6;

std::string Megabytes(double bytes) { return fmt::format("{:.2f} MB", bytes / kMB); }

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

std::chrono::milliseconds ResolveProgressInterval(int64_t configured_s, bool stderr_is_terminal) {
  if (configured_s < 0) return std::chrono::seconds(stderr_is_terminal ? 10 : 60);
  return std::chrono::seconds(configured_s);
}

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

std::string FormatProgress(const pipeline::Health& now, const pipeline::Health::Totals& prev, int64_t prev_lag_ms,
                           double elapsed_s, bool drain) {
  if (!now.started && !now.stopping) {
    return "progress: starting" + (now.stalled.empty() ? std::string() : ": " + OneLine(now.stalled));
  }
  const double dt = elapsed_s > 0 ? elapsed_s : 1;
  const auto& t = now.totals;
  std::string line =
      fmt::format("progress: in {:.0f} records/s {:.2f} MB/s | out +{} objects +{} (total {}, {}) | lag ",
                  static_cast<double>(t.records_in - prev.records_in) / dt,
                  static_cast<double>(t.bytes_in - prev.bytes_in) / dt / kMB, t.objects_out - prev.objects_out,
                  Megabytes(static_cast<double>(t.bytes_out - prev.bytes_out)), t.objects_out,
                  Megabytes(static_cast<double>(t.bytes_out)));
  line += now.max_millis_behind < 0 ? "?" : fmt::format("{:.1f} s", static_cast<double>(now.max_millis_behind) / 1000);
  line += " | buffered " + Megabytes(static_cast<double>(now.buffered_bytes));
  if (drain) {
    if (now.max_millis_behind == 0) {
      line += " | drain: caught up";
    } else if (now.max_millis_behind > 0 && prev_lag_ms > now.max_millis_behind) {
      // Lag falls at (prev - now) ms per dt seconds of work.
      const double per_s = static_cast<double>(prev_lag_ms - now.max_millis_behind) / dt;
      line += " | drain ETA " + FormatDuration(static_cast<double>(now.max_millis_behind) / per_s);
    } else {
      line += " | drain ETA ?";
    }
  }
  if (!now.stalled.empty()) line += " | STALLED: " + OneLine(now.stalled);
  return line;
}

std::string FormatSummary(const pipeline::Health::Totals& t, double elapsed_s, bool ok) {
  return fmt::format(
      "{} {}: {} records ({}) in, {} objects ({}) out, {:.0f} records/s", ok ? "done in" : "stopped after",
      FormatDuration(elapsed_s), t.records_in, Megabytes(static_cast<double>(t.bytes_in)), t.objects_out,
      Megabytes(static_cast<double>(t.bytes_out)), elapsed_s > 0 ? static_cast<double>(t.records_in) / elapsed_s : 0.0);
}

ProgressReporter::ProgressReporter(HealthSource health, bool drain)
    : health_(std::move(health)), drain_(drain), started_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { Loop(); });
}

ProgressReporter::~ProgressReporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressReporter::SetInterval(std::chrono::milliseconds interval) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    interval_ = interval;
    ++generation_;
  }
  cv_.notify_all();
}

void ProgressReporter::Finish(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const std::string line = FormatSummary(health_().totals, elapsed, ok);
  if (ok) {
    spdlog::info("{}", line);
  } else {
    spdlog::warn("{}", line);
  }
}

void ProgressReporter::Loop() {
  using Steady = std::chrono::steady_clock;
  std::unique_lock<std::mutex> lock(mu_);
  while (!quit_) {
    if (interval_.count() <= 0) {
      cv_.wait(lock, [&] { return quit_ || interval_.count() > 0; });
      continue;
    }
    // One interval of this generation: a SetInterval() starts over.
    const uint64_t gen = generation_;
    const auto interval = interval_;
    lock.unlock();
    pipeline::Health before = health_();
    auto since = Steady::now();
    lock.lock();
    while (!quit_ && generation_ == gen) {
      if (cv_.wait_until(lock, since + interval, [&] { return quit_ || generation_ != gen; })) break;
      lock.unlock();
      pipeline::Health now = health_();
      const auto at = Steady::now();
      spdlog::info("{}", FormatProgress(now, before.totals, before.max_millis_behind,
                                        std::chrono::duration<double>(at - since).count(), drain_));
      before = std::move(now);
      since = at;
      lock.lock();
    }
  }
}

}  // namespace shardhose::daemon

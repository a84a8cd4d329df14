// File: common/clock.h
//
// Time is injected. Every decision that depends on time (flush by age,
// backoff, rate limits, checkpoint age) reads it from a Clock so that tests
// drive it with SimulatedClock instead of sleeping.
//
//   Now()      - monotonic time, for deadlines and ages.
//   WallNow()  - wall-clock time, for timestamps written to the outside
//                world (log lines, checkpoint written_at, arrival_time).
//
// Thread-safety: all methods of both implementations are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>

namespace shardhose {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;
  virtual WallTime WallNow() const = 0;

  // The process-wide real clock. Never null, never destroyed.
  static Clock* Real();
};

// A clock that moves only when the test calls Advance(). Starts at an
// arbitrary monotonic origin and at `wall_start` for wall time.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(WallTime wall_start = WallTime(std::chrono::seconds(1700000000)))
      : wall_start_(wall_start) {}
  MonoTime Now() const override { return MonoTime(elapsed()); }
  WallTime WallNow() const override {
    return wall_start_ + std::chrono::duration_cast<WallTime::duration>(elapsed());
  }
  void Advance(std::chrono::nanoseconds d) { elapsed_ns_ += d.count(); }

 private:
  std::chrono::nanoseconds elapsed() const { return std::chrono::nanoseconds(elapsed_ns_.load()); }
  WallTime wall_start_;
  std::atomic<long long> elapsed_ns_{0};
};

}  // namespace shardhose

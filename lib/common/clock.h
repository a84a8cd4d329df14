// File: common/clock.h
//
// Time is injected. Every decision that depends on time (flush by age,
// backoff, rate limits, checkpoint age) reads it from a Clock, and every
// wait for "a state change, or a deadline" waits through one, so that
// tests drive time with SimulatedClock instead of sleeping.
//
//   Now()       - monotonic time, for deadlines and ages.
//   WallNow()   - wall-clock time, for timestamps written to the outside
//                 world (log lines, checkpoint written_at, arrival_time).
//   WaitUntil() - blocks on a CondVar (common/mutex.h) until it is
//                 notified or Now() reaches the deadline; Wait() has no
//                 deadline. Either may also return early (spuriously): the
//                 caller re-checks its condition in a loop.
//
// SimulatedClock moves only when told to: by Advance(), or, with
// auto-advance on, by itself whenever every thread taking part (a
// ClockParticipant) is blocked in Wait/WaitUntil on it -- then it jumps to
// the earliest deadline among them and wakes those waiters. That is
// discrete-event simulation: a pipeline under test whose threads all wait
// for a 300 s age flush sees 300 s pass at once, and nothing ever sleeps.
// A thread blocked on anything else (a mutex, a join, I/O) counts as
// running, so time never jumps while one of them still has work to do.
//
// Thread-safety: all methods of both implementations are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "common/mutex.h"

namespace shardhose {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;
  virtual WallTime WallNow() const = 0;

  // REQUIRES: the caller holds *mu, the mutex the notifiers of *cv change
  // the awaited state under. *mu is released while blocked and held again
  // on return.
  virtual void WaitUntil(CondVar* cv, Mutex* mu, MonoTime deadline) REQUIRES(mu) = 0;
  void Wait(CondVar* cv, Mutex* mu) REQUIRES(mu) { WaitUntil(cv, mu, MonoTime::max()); }
  void WaitFor(CondVar* cv, Mutex* mu, std::chrono::nanoseconds d) REQUIRES(mu) {
    WaitUntil(cv, mu, Now() + std::chrono::duration_cast<MonoTime::duration>(d));
  }
  // Blocks the calling thread for `d` of this clock's time (a simulated
  // clock advances instead of the thread sleeping).
  void SleepFor(std::chrono::nanoseconds d) {
    Mutex mu;
    CondVar cv;
    MutexLock lock(&mu);
    WaitFor(&cv, &mu, d);
  }

  // The calling thread takes part in (stops taking part in) the simulation
  // of a SimulatedClock with auto-advance; see ClockParticipant and
  // StartParticipant. No-ops on the real clock.
  virtual void Join() {}
  virtual void Leave() {}
  // Counts a thread about to be started as taking part, before it runs;
  // the thread then calls Adopt() (the count is its) and, at its end,
  // Leave().
  virtual void Reserve() {}
  virtual void Adopt() {}

  // The process-wide real clock. Never null, never destroyed.
  static Clock* Real();
};

// The calling thread takes part in `clock`'s simulation for its scope: the
// clock does not auto-advance while this thread runs. A thread takes part
// in at most one clock at a time; nested scopes on the same clock count
// once.
class ClockParticipant {
 public:
  explicit ClockParticipant(Clock* clock) : clock_(clock) { clock_->Join(); }
  ~ClockParticipant() { clock_->Leave(); }
  ClockParticipant(const ClockParticipant&) = delete;
  ClockParticipant& operator=(const ClockParticipant&) = delete;

 private:
  Clock* clock_;
};

// Starts a thread running `f` that takes part in `clock`'s simulation from
// before it is scheduled until `f` returns, so that time cannot jump while
// the thread has not started yet (its work would be skipped over).
template <typename F>
std::thread StartParticipant(Clock* clock, F f) {
  clock->Reserve();
  return std::thread([clock, f = std::move(f)]() mutable {
    clock->Adopt();
    f();
    clock->Leave();
  });
}

// A clock that moves only when the test calls Advance() or, after
// SetAutoAdvance(true), when every participant waits on it (see above).
// Starts at an arbitrary monotonic origin and at `wall_start` for wall
// time.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(WallTime wall_start = WallTime(std::chrono::seconds(1700000000)));
  ~SimulatedClock() override;

  MonoTime Now() const override { return MonoTime(elapsed()); }
  WallTime WallNow() const override { return wall_start_ + std::chrono::duration_cast<WallTime::duration>(elapsed()); }
  // Moves time forward by d and wakes the waiters whose deadline passed.
  void Advance(std::chrono::nanoseconds d);
  void SetAutoAdvance(bool on);

  void WaitUntil(CondVar* cv, Mutex* mu, MonoTime deadline) override REQUIRES(mu);
  void Join() override;
  void Leave() override;
  void Reserve() override;
  void Adopt() override;

  struct State;  // waiters and participants; common/clock.cc

 private:
  std::chrono::nanoseconds elapsed() const { return std::chrono::nanoseconds(elapsed_ns_.load()); }
  WallTime wall_start_;
  std::atomic<long long> elapsed_ns_{0};
  std::unique_ptr<State> state_;
};

}  // namespace shardhose

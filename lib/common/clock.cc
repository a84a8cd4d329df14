// The real clock, and SimulatedClock's waiters.
//
// Every waiter on a SimulatedClock is registered, under one process-wide
// mutex (g_mu), by the CondVar it waits on and by its clock, BEFORE it lets
// go of its own mutex. A notifier changes the awaited state under that
// same mutex and only then notifies, so it always finds the waiter
// registered: no wakeup is lost. The waiter then blocks on a condition
// variable of its own under g_mu until it is marked woken -- by
// CondVar::NotifyAll(), by Advance(), or by the auto-advance that its own
// registration (or a participant leaving) set off.
#include "common/clock.h"

#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace shardhose {
namespace {

class RealClock final : public Clock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void WaitUntil(CondVar* cv, Mutex* mu, MonoTime deadline) override REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    mu->ReleasedByWait();
    if (deadline == MonoTime::max()) {
      cv->native().wait(lock);
    } else {
      cv->native().wait_until(lock, deadline);
    }
    mu->TakenByWait();
    lock.release();  // still held: the caller's
  }
};

struct Waiter {
  const CondVar* cv = nullptr;
  SimulatedClock::State* clock = nullptr;
  MonoTime deadline{};
  bool participant = false;
  bool woken = false;
  std::condition_variable wake;  // waited on under g_mu
};

std::mutex& g_mu() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
// Waiters by the CondVar they wait on. Guarded by g_mu.
std::unordered_multimap<const CondVar*, Waiter*>& g_by_cv() {
  static auto* m = new std::unordered_multimap<const CondVar*, Waiter*>();
  return *m;
}
// How many waiters g_by_cv holds: CondVar::NotifyAll's fast path.
std::atomic<int> g_waiters{0};

thread_local SimulatedClock* t_clock = nullptr;  // the clock this thread takes part in
thread_local int t_depth = 0;

}  // namespace

// Guarded by g_mu.
struct SimulatedClock::State {
  SimulatedClock* clock = nullptr;
  std::vector<Waiter*> waiters;
  int participants = 0;
  int waiting = 0;  // participants blocked in a wait, not woken yet
  bool auto_advance = false;

  void Wake(Waiter* w) {
    if (w->woken) return;
    w->woken = true;
    if (w->participant) --waiting;
    w->wake.notify_one();
  }
  void WakeDue() {
    const MonoTime now = clock->Now();
    for (Waiter* w : waiters) {
      if (w->deadline <= now) Wake(w);
    }
  }
  // If every participant waits, time jumps to the earliest deadline.
  void MaybeAdvance() {
    if (!auto_advance || participants == 0 || waiting < participants) return;
    MonoTime earliest = MonoTime::max();
    for (Waiter* w : waiters) {
      if (!w->woken && w->deadline < earliest) earliest = w->deadline;
    }
    if (earliest == MonoTime::max()) return;  // only a notification can help
    const long long to = earliest.time_since_epoch().count();
    if (to > clock->elapsed_ns_.load()) clock->elapsed_ns_.store(to);
    WakeDue();
  }
};

void CondVar::NotifyAll() {
  cv_.notify_all();
  if (g_waiters.load() == 0) return;
  std::lock_guard<std::mutex> lock(g_mu());
  auto [begin, end] = g_by_cv().equal_range(this);
  for (auto it = begin; it != end; ++it) it->second->clock->Wake(it->second);
}

Clock* Clock::Real() {
  static RealClock* clock = new RealClock();
  return clock;
}

SimulatedClock::SimulatedClock(WallTime wall_start) : wall_start_(wall_start), state_(std::make_unique<State>()) {
  state_->clock = this;
}

SimulatedClock::~SimulatedClock() = default;

void SimulatedClock::Advance(std::chrono::nanoseconds d) {
  std::lock_guard<std::mutex> lock(g_mu());
  elapsed_ns_ += d.count();
  state_->WakeDue();
}

void SimulatedClock::SetAutoAdvance(bool on) {
  std::lock_guard<std::mutex> lock(g_mu());
  state_->auto_advance = on;
  state_->MaybeAdvance();
}

void SimulatedClock::Join() {
  if (t_clock == this) {
    ++t_depth;
    return;
  }
  t_clock = this;
  t_depth = 1;
  std::lock_guard<std::mutex> lock(g_mu());
  ++state_->participants;
}

void SimulatedClock::Reserve() {
  std::lock_guard<std::mutex> lock(g_mu());
  ++state_->participants;
}

void SimulatedClock::Adopt() {
  t_clock = this;
  t_depth = 1;
}

void SimulatedClock::Leave() {
  if (t_clock != this || --t_depth > 0) return;
  t_clock = nullptr;
  std::lock_guard<std::mutex> lock(g_mu());
  --state_->participants;
  state_->MaybeAdvance();
}

void SimulatedClock::WaitUntil(CondVar* cv, Mutex* mu, MonoTime deadline) {
  if (deadline <= Now()) return;
  Waiter w;
  w.cv = cv;
  w.clock = state_.get();
  w.deadline = deadline;
  w.participant = t_clock == this;
  {
    std::lock_guard<std::mutex> lock(g_mu());
    state_->waiters.push_back(&w);
    g_by_cv().emplace(cv, &w);
    ++g_waiters;
    if (w.participant) ++state_->waiting;
    state_->MaybeAdvance();
  }
  mu->Unlock();
  {
    std::unique_lock<std::mutex> lock(g_mu());
    w.wake.wait(lock, [&] { return w.woken; });
    std::erase(state_->waiters, &w);
    auto [begin, end] = g_by_cv().equal_range(cv);
    for (auto it = begin; it != end; ++it) {
      if (it->second == &w) {
        g_by_cv().erase(it);
        break;
      }
    }
    --g_waiters;
  }
  mu->Lock();
}

}  // namespace shardhose

// SimulatedClock: waits on simulated time, auto-advance when every
// participant waits, and no lost wakeups.
#include "common/clock.h"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

namespace shardhose {
namespace {

using std::chrono::seconds;

TEST(SimulatedClock, AdvanceWakesWaitersWhoseDeadlinePassed) {
  SimulatedClock clock;
  Mutex mu;
  CondVar cv;
  const MonoTime deadline = clock.Now() + seconds(10);
  bool woke = false;
  std::thread waiter([&] {
    MutexLock lock(&mu);
    while (clock.Now() < deadline) clock.WaitUntil(&cv, &mu, deadline);
    woke = true;
  });
  clock.Advance(seconds(5));  // not yet
  clock.Advance(seconds(5));  // now
  waiter.join();
  EXPECT_TRUE(woke);
}

TEST(SimulatedClock, NotifyWakesAWaiterWithoutMovingTime) {
  SimulatedClock clock;
  Mutex mu;
  CondVar cv;
  bool ready = false;
  std::thread waiter([&] {
    MutexLock lock(&mu);
    while (!ready) clock.Wait(&cv, &mu);
  });
  {
    MutexLock lock(&mu);
    ready = true;
    cv.NotifyAll();
  }
  waiter.join();
  EXPECT_EQ(clock.Now(), MonoTime{});
}

// Two participants, each waiting for a different deadline: time jumps to
// the earlier one first, then to the later one, and each wakes at its own.
TEST(SimulatedClock, AutoAdvanceJumpsToTheEarliestDeadlineWhenAllWait) {
  SimulatedClock clock;
  clock.SetAutoAdvance(true);
  Mutex mu;
  CondVar cv;
  std::vector<MonoTime> woke_at(2);
  std::latch both_take_part(2);
  auto sleeper = [&](int i, seconds d) {
    ClockParticipant p(&clock);
    both_take_part.arrive_and_wait();
    MutexLock lock(&mu);
    const MonoTime until = clock.Now() + d;
    while (clock.Now() < until) clock.WaitUntil(&cv, &mu, until);
    woke_at[static_cast<size_t>(i)] = clock.Now();
  };
  std::thread a(sleeper, 0, seconds(300));
  std::thread b(sleeper, 1, seconds(60));
  a.join();
  b.join();
  EXPECT_EQ(woke_at[1], MonoTime{} + seconds(60));
  EXPECT_EQ(woke_at[0], MonoTime{} + seconds(300));
}

// A participant that is running (not waiting) holds time still.
TEST(SimulatedClock, ARunningParticipantHoldsTimeStill) {
  SimulatedClock clock;
  clock.SetAutoAdvance(true);
  Mutex mu;
  CondVar cv;
  std::thread sleeper;
  {
    ClockParticipant me(&clock);  // this thread runs until it waits
    sleeper = std::thread([&] {
      ClockParticipant p(&clock);
      MutexLock lock(&mu);
      const MonoTime until = clock.Now() + seconds(60);
      while (clock.Now() < until) clock.WaitUntil(&cv, &mu, until);
    });
    // The sleeper waits, this thread does not: time must not move (over
    // many yields: that the sleeper is blocked cannot be observed).
    for (int i = 0; i < 1000; ++i) std::this_thread::yield();
    EXPECT_EQ(clock.Now(), MonoTime{});
    MutexLock lock(&mu);
    clock.WaitFor(&cv, &mu, seconds(1));  // both wait: time jumps to this deadline
    EXPECT_EQ(clock.Now(), MonoTime{} + seconds(1));
  }
  // This thread no longer takes part: the sleeper alone waits, time jumps.
  sleeper.join();
  EXPECT_GE(clock.Now(), MonoTime{} + seconds(60));
}

TEST(RealClock, WaitUntilReturnsAtTheDeadline) {
  Clock* clock = Clock::Real();
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  const MonoTime deadline = clock->Now() + std::chrono::milliseconds(5);
  while (clock->Now() < deadline) clock->WaitUntil(&cv, &mu, deadline);
  EXPECT_GE(clock->Now(), deadline);
}

}  // namespace
}  // namespace shardhose

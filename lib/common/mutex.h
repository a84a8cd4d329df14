// File: common/mutex.h
//
// A mutex and a condition variable that clang's thread-safety analysis
// understands (common/thread_annotations.h), after leveldb's port::Mutex
// and abseil's Mutex. They are std::mutex and std::condition_variable
// underneath; what they add is the annotations, and a condition variable
// whose timed waits are measured on a Clock (common/clock.h), so that code
// under test waits on simulated time.
//
//   Mutex mu_;
//   CondVar cv_;
//   bool ready_ GUARDED_BY(mu_) = false;
//
//   MutexLock lock(&mu_);
//   while (!ready_) clock->WaitUntil(&cv_, &mu_, deadline);
//
// Thread-safety: as std::mutex / std::condition_variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/thread_annotations.h"

namespace shardhose {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() {
    mu_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  void Unlock() RELEASE() {
    owner_.store(std::thread::id(), std::memory_order_relaxed);
    mu_.unlock();
  }
  // Tells the analysis that the caller holds this mutex, where it cannot
  // see it (a callback; another object's name for the same mutex), and
  // checks that it does: aborts if the calling thread does not hold it.
  void AssertHeld() const ASSERT_CAPABILITY(this);

  // For Clock implementations that wait on native(): the mutex is let go
  // and taken back behind Lock()/Unlock()'s back.
  std::mutex& native() { return mu_; }
  void ReleasedByWait() { owner_.store(std::thread::id(), std::memory_order_relaxed); }
  void TakenByWait() { owner_.store(std::this_thread::get_id(), std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::atomic<std::thread::id> owner_{};
};

// Holds a Mutex for its scope; Unlock()/Lock() let go of it and take it
// back in between (e.g. around a network call).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    held_ = false;
    mu_->Unlock();
  }
  void Lock() ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* mu_;
  bool held_ = true;
};

// Releases a held Mutex for its scope and takes it back at the end:
//   MutexUnlock unlocked(&mu_);  // network call here
class SCOPED_CAPABILITY MutexUnlock {
 public:
  explicit MutexUnlock(Mutex* mu) RELEASE(mu) : mu_(mu) { mu_->Unlock(); }
  ~MutexUnlock() RELEASE() { mu_->Lock(); }  // (clang: releasing the scope takes mu back)
  MutexUnlock(const MutexUnlock&) = delete;
  MutexUnlock& operator=(const MutexUnlock&) = delete;

 private:
  Mutex* mu_;
};

// A condition variable. Waiting goes through a Clock (Clock::Wait,
// Clock::WaitUntil), which decides how long "until" is; notifying is
// here. NotifyAll() wakes every waiter, whichever clock it waits on (it is
// defined in clock.cc, beside the simulated clock's waiters).
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void NotifyAll();

  std::condition_variable& native() { return cv_; }

 private:
  std::condition_variable cv_;
};

}  // namespace shardhose

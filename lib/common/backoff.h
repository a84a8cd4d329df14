// File: common/backoff.h
//
// The one retry-delay policy: exponential backoff with "full jitter"
// (delay = random(0, min(cap, base * 2^attempt))), as AWS recommends, with a
// floor so that a retry never spins. Throttling uses a larger base.
//
// Backoff does not sleep; callers wait on their own condition variable or
// scheduler so that shutdown can interrupt the wait.
//
// Thread-safety: a Backoff is a value owned by one retry loop; not shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "common/status.h"

namespace shardhose {

struct BackoffPolicy {
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{20000};
  std::chrono::milliseconds floor{10};
  std::chrono::milliseconds throttled_base{500};  // used for RetryClass::kThrottled
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}, uint64_t seed = std::random_device{}()) : policy_(policy), rng_(seed) {}

  // The delay before the next attempt after a failure of class `cls`.
  // Each call counts one more failed attempt.
  std::chrono::milliseconds Next(RetryClass cls = RetryClass::kServerError);

  // Call after a success: the next failure starts from the base again.
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace shardhose

#include "common/backoff.h"

#include <algorithm>

namespace shardhose {

std::chrono::milliseconds Backoff::Next(RetryClass cls) {
  const auto base = cls == RetryClass::kThrottled ? policy_.throttled_base : policy_.base;
  const int shift = std::min(attempt_, 20);
  ++attempt_;
  long long ceiling = base.count() << shift;
  ceiling = std::min<long long>(ceiling, policy_.cap.count());
  ceiling = std::max<long long>(ceiling, policy_.floor.count());
  std::uniform_int_distribution<long long> dist(policy_.floor.count(), ceiling);
  return std::chrono::milliseconds(dist(rng_));
}

}  // namespace shardhose

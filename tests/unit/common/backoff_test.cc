#include "common/backoff.h"

#include <gtest/gtest.h>

namespace shardhose {
namespace {

TEST(Backoff, GrowsAndIsCapped) {
  BackoffPolicy p{.base = std::chrono::milliseconds(100),
                  .cap = std::chrono::milliseconds(1000),
                  .floor = std::chrono::milliseconds(10),
                  .throttled_base = std::chrono::milliseconds(500)};
  Backoff b(p, 42);
  for (int i = 0; i < 50; ++i) {
    auto d = b.Next();
    EXPECT_GE(d.count(), 10);
    EXPECT_LE(d.count(), 1000);
  }
  EXPECT_EQ(b.attempts(), 50);
  b.Reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_LE(b.Next().count(), 100);  // first attempt: at most base
}

TEST(Backoff, ThrottledUsesLargerBase) {
  BackoffPolicy p;
  p.cap = std::chrono::milliseconds(100000);
  long long max_plain = 0, max_throttled = 0;
  for (int seed = 0; seed < 200; ++seed) {
    Backoff a(p, seed), t(p, seed);
    max_plain = std::max<long long>(max_plain, a.Next(RetryClass::kServerError).count());
    max_throttled = std::max<long long>(max_throttled, t.Next(RetryClass::kThrottled).count());
  }
  EXPECT_LE(max_plain, p.base.count());
  EXPECT_GT(max_throttled, p.base.count());
}

}  // namespace
}  // namespace shardhose

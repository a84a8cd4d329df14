#include "batch/flush_policy.h"

#include <gtest/gtest.h>

namespace shardhose::batch {
namespace {

using std::chrono::seconds;

TEST(FlushPolicy, EmptyBatchIsNeverDue) {
  SimulatedClock clock;
  FlushLimits l{.max_bytes = 10, .max_interval = Millis(0), .max_records = 1};
  EXPECT_EQ(DueCause(BatchStats{}, l, clock.Now()), FlushCause::kNone);
  EXPECT_FALSE(MustCutBefore(BatchStats{}, 1000, l));  // an oversize line opens its own batch
}

TEST(FlushPolicy, SizeIsCheckedBeforeTheAppend) {
  FlushLimits l{.max_bytes = 100, .max_interval = seconds(300), .max_records = 0};
  BatchStats s{.bytes = 90, .records = 3, .oldest = {}};
  EXPECT_FALSE(MustCutBefore(s, 10, l));  // exactly full is allowed
  EXPECT_TRUE(MustCutBefore(s, 11, l));
}

TEST(FlushPolicy, AgeWithoutSleeping) {
  SimulatedClock clock;
  FlushLimits l{.max_bytes = 1 << 20, .max_interval = seconds(300), .max_records = 0};
  BatchStats s{.bytes = 10, .records = 1, .oldest = clock.Now()};
  clock.Advance(seconds(299));
  EXPECT_EQ(DueCause(s, l, clock.Now()), FlushCause::kNone);
  clock.Advance(seconds(1));
  EXPECT_EQ(DueCause(s, l, clock.Now()), FlushCause::kAge);
}

TEST(FlushPolicy, ZeroIntervalFlushesAtOnce) {
  SimulatedClock clock;
  FlushLimits l{.max_bytes = 1 << 20, .max_interval = Millis(0), .max_records = 0};
  BatchStats s{.bytes = 10, .records = 1, .oldest = clock.Now()};
  EXPECT_EQ(DueCause(s, l, clock.Now()), FlushCause::kAge);
}

TEST(FlushPolicy, RecordsAndFullSize) {
  SimulatedClock clock;
  FlushLimits l{.max_bytes = 100, .max_interval = seconds(300), .max_records = 5};
  EXPECT_EQ(DueCause({.bytes = 50, .records = 5, .oldest = clock.Now()}, l, clock.Now()), FlushCause::kRecords);
  EXPECT_EQ(DueCause({.bytes = 100, .records = 2, .oldest = clock.Now()}, l, clock.Now()), FlushCause::kSize);
  EXPECT_EQ(DueCause({.bytes = 500, .records = 1, .oldest = clock.Now()}, l, clock.Now()), FlushCause::kSize);
  l.max_records = 0;  // unlimited
  EXPECT_EQ(DueCause({.bytes = 50, .records = 1000000, .oldest = clock.Now()}, l, clock.Now()), FlushCause::kNone);
}

}  // namespace
}  // namespace shardhose::batch

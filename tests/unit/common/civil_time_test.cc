#include "common/civil_time.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace shardhose {
namespace {

static_assert(DaysFromCivil(1970, 1, 1) == 0);
static_assert(CivilFromDays(-1) == CivilDate{1969, 12, 31});
static_assert(IsoWeekOf(DaysFromCivil(2021, 1, 3)) == IsoWeek{2020, 53});

TEST(CivilTime, KnownDays) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 2, 29), 19782);
  EXPECT_EQ(DaysFromCivil(0, 3, 1), -719468);
  EXPECT_EQ(DaysFromCivil(9999, 12, 31), 2932896);
  EXPECT_EQ(DaysFromCivil(-1, 12, 31), -719529);
  EXPECT_EQ(CivilFromDays(19782), (CivilDate{2024, 2, 29}));
  EXPECT_EQ(CivilFromDays(2932896), (CivilDate{9999, 12, 31}));
  EXPECT_EQ(CivilFromDays(-719529), (CivilDate{-1, 12, 31}));
  EXPECT_EQ(CivilFromDays(-719528), (CivilDate{0, 1, 1}));
}

TEST(CivilTime, EveryDayRoundTripsAndFollowsTheDayBefore) {
  // Years -2000 .. 12000: every day, each the successor of the one before.
  const int64_t first = DaysFromCivil(-2000, 1, 1);
  const int64_t last = DaysFromCivil(12000, 12, 31);
  CivilDate prev = CivilFromDays(first - 1);
  ASSERT_EQ(prev, (CivilDate{-2001, 12, 31}));
  for (int64_t d = first; d <= last; ++d) {
    const CivilDate c = CivilFromDays(d);
    ASSERT_EQ(DaysFromCivil(c.year, c.month, c.day), d) << c.year << "-" << c.month << "-" << c.day;
    if (prev.day < DaysInMonth(prev.year, prev.month)) {
      ASSERT_EQ(c, (CivilDate{prev.year, prev.month, prev.day + 1}));
    } else if (prev.month < 12) {
      ASSERT_EQ(c, (CivilDate{prev.year, prev.month + 1, 1}));
    } else {
      ASSERT_EQ(c, (CivilDate{prev.year + 1, 1, 1}));
    }
    prev = c;
  }
}

TEST(CivilTime, LeapYearsAndMonthLengths) {
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_TRUE(IsLeapYear(0));
  EXPECT_TRUE(IsLeapYear(-4));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_FALSE(IsLeapYear(-100));
  EXPECT_EQ(DaysInMonth(2024, 2), 29u);
  EXPECT_EQ(DaysInMonth(2023, 2), 28u);
  EXPECT_EQ(DaysInMonth(1900, 2), 28u);
  EXPECT_EQ(DaysInMonth(2023, 1), 31u);
  EXPECT_EQ(DaysInMonth(2023, 4), 30u);
  EXPECT_EQ(DaysInMonth(2023, 12), 31u);
}

TEST(CivilTime, IsoWeekdayAndWeek) {
  EXPECT_EQ(IsoWeekday(0), 4u);                          // 1970-01-01, a Thursday
  EXPECT_EQ(IsoWeekday(-1), 3u);                         // 1969-12-31
  EXPECT_EQ(IsoWeekday(DaysFromCivil(2024, 1, 1)), 1u);  // Monday
  EXPECT_EQ(IsoWeekday(DaysFromCivil(2024, 1, 7)), 7u);  // Sunday
  EXPECT_EQ(IsoWeekOf(DaysFromCivil(2020, 12, 31)), (IsoWeek{2020, 53}));
  EXPECT_EQ(IsoWeekOf(DaysFromCivil(2021, 1, 3)), (IsoWeek{2020, 53}));
  EXPECT_EQ(IsoWeekOf(DaysFromCivil(2021, 1, 4)), (IsoWeek{2021, 1}));
  EXPECT_EQ(IsoWeekOf(DaysFromCivil(2008, 12, 29)), (IsoWeek{2009, 1}));
  EXPECT_EQ(IsoWeekOf(DaysFromCivil(2024, 12, 30)), (IsoWeek{2025, 1}));
  EXPECT_EQ(IsoWeekOf(DaysFromCivil(1969, 12, 29)), (IsoWeek{1970, 1}));
  EXPECT_EQ(IsoWeekOf(DaysFromCivil(1969, 12, 28)), (IsoWeek{1969, 52}));
}

// Every day from 1900 to 2200 against the C library in UTC (gmtime_r and
// strftime's %G/%V/%u).
TEST(CivilTime, MatchesTheCLibrary) {
  for (int64_t d = DaysFromCivil(1900, 1, 1); d <= DaysFromCivil(2200, 12, 31); ++d) {
    const time_t t = static_cast<time_t>(d * 86400);
    struct tm tm {};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    const CivilDate c = CivilFromDays(d);
    ASSERT_EQ(c.year, tm.tm_year + 1900) << d;
    ASSERT_EQ(c.month, static_cast<unsigned>(tm.tm_mon + 1)) << d;
    ASSERT_EQ(c.day, static_cast<unsigned>(tm.tm_mday)) << d;
    ASSERT_EQ(d - DaysFromCivil(c.year, 1, 1), tm.tm_yday) << d;
    char buf[32];
    ASSERT_GT(std::strftime(buf, sizeof buf, "%G %V %u", &tm), 0u);
    const IsoWeek w = IsoWeekOf(d);
    char mine[32];
    std::snprintf(mine, sizeof mine, "%lld %02u %u", static_cast<long long>(w.year), w.week, IsoWeekday(d));
    ASSERT_EQ(std::string(mine), std::string(buf)) << d;
  }
}

}  // namespace
}  // namespace shardhose

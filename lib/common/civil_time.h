// File: common/civil_time.h
//
// Civil dates in the proleptic Gregorian calendar (UTC: no time zones, no
// locale, no libc) and their day numbers, days since 1970-01-01: the
// conversions both ways, leap years and month lengths, and the ISO 8601
// weekday and week date. The one place shardhose does calendar arithmetic:
// RFC 3339 timestamps in the configuration (config/rfc3339.h), the event
// times the decoder writes (decode/json_text.h) and the times in partition
// keys (partition/template.h).
//
// The conversions are Howard Hinnant's days_from_civil / civil_from_days
// (http://howardhinnant.github.io/date_algorithms.html). They are exact for
// every year in [-10^15, 10^15] and every day number in [-2^60, 2^60];
// dates before 1970 have negative day numbers (1969-12-31 is -1), and year
// 0 is 1 BC (a leap year).
//
// Everything is constexpr and inline: the decoder calls CivilFromDays once
// per record.
//
// REQUIRES (where a month or day is taken): 1 <= month <= 12,
// 1 <= day <= DaysInMonth(year, month). Nothing is checked.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace shardhose {

struct CivilDate {
  int64_t year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31

  constexpr bool operator==(const CivilDate&) const = default;
};

// The day number (days since 1970-01-01) of a date.
constexpr int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);                        // [0, 399]
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                          // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The date of a day number.
constexpr CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);                // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                     // [0, 11]
  CivilDate d;
  d.day = doy - (153 * mp + 2) / 5 + 1;
  d.month = mp < 10 ? mp + 3 : mp - 9;
  d.year = static_cast<int64_t>(yoe) + era * 400 + (d.month <= 2);
  return d;
}

constexpr bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// 28..31.
constexpr unsigned DaysInMonth(int64_t year, unsigned month) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// The ISO 8601 weekday of a day number: Monday = 1 ... Sunday = 7.
constexpr unsigned IsoWeekday(int64_t days) {
  return static_cast<unsigned>(((days + 3) % 7 + 7) % 7) + 1;  // 1970-01-01 was a Thursday
}

// The day number of the Monday that starts week 1 of ISO week-based year
// `year` (the week holding January 4th).
constexpr int64_t IsoWeekOneMonday(int64_t year) {
  const int64_t jan4 = DaysFromCivil(year, 1, 4);
  return jan4 - (IsoWeekday(jan4) - 1);
}

// The ISO 8601 week date of a day number, without the weekday: the
// week-based year (%G; it differs from the calendar year in the first and
// last days of some years: 2021-01-03 is in 2020's week 53) and the week
// (%V, 1..53).
struct IsoWeek {
  int64_t year = 1970;
  unsigned week = 1;

  constexpr bool operator==(const IsoWeek&) const = default;
};

// `year` is CivilFromDays(days).year, which the caller usually has already.
constexpr IsoWeek IsoWeekOf(int64_t days, int64_t year) {
  IsoWeek w;
  w.year = year;
  if (days < IsoWeekOneMonday(year)) {
    w.year = year - 1;
  } else if (days >= IsoWeekOneMonday(year + 1)) {
    w.year = year + 1;
  }
  w.week = static_cast<unsigned>((days - IsoWeekOneMonday(w.year)) / 7 + 1);
  return w;
}

constexpr IsoWeek IsoWeekOf(int64_t days) { return IsoWeekOf(days, CivilFromDays(days).year); }

}  // namespace shardhose

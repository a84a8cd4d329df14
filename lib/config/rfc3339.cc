#include "config/rfc3339.h"

#include <string>

#include "common/civil_time.h"

namespace shardhose::config {
namespace {

// Reads exactly `n` digits at *pos.
bool Digits(std::string_view s, size_t* pos, int n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

Result<int64_t> ParseRfc3339Millis(std::string_view s) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("not an RFC 3339 timestamp (" + std::string(why) +
                                   "; e.g. 2024-05-01T00:00:00Z), got \"" + std::string(s) + "\"");
  };
  size_t p = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(s, &p, 4, &year) || !Expect(s, &p, '-') || !Digits(s, &p, 2, &month) || !Expect(s, &p, '-') ||
      !Digits(s, &p, 2, &day)) {
    return bad("expected YYYY-MM-DD");
  }
  if (p >= s.size() || (s[p] != 'T' && s[p] != 't' && s[p] != ' ')) {
    return bad("expected 'T' and a time after the date");
  }
  ++p;
  if (!Digits(s, &p, 2, &hour) || !Expect(s, &p, ':') || !Digits(s, &p, 2, &minute) || !Expect(s, &p, ':') ||
      !Digits(s, &p, 2, &second)) {
    return bad("expected hh:mm:ss");
  }
  int millis = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    int scale = 100;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      millis += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
    if (p == start) return bad("expected digits after '.'");
  }
  int offset_min = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int oh, om;
    if (!Digits(s, &p, 2, &oh) || !Expect(s, &p, ':') || !Digits(s, &p, 2, &om) || oh > 23 || om > 59) {
      return bad("bad UTC offset, expected +hh:mm");
    }
    offset_min = sign * (oh * 60 + om);
  } else {
    return bad("a UTC offset ('Z' or +hh:mm) is required");
  }
  if (p != s.size()) return bad("unexpected text after the offset");
  if (month < 1 || month > 12) return bad("month out of range");
  if (day < 1 || day > static_cast<int>(DaysInMonth(year, static_cast<unsigned>(month)))) {
    return bad("day out of range");
  }
  if (hour > 23 || minute > 59 || second > 60) return bad("time out of range");
  if (second == 60) {  // leap second: the last instant of the minute
    second = 59;
    millis = 999;
  }
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return secs * 1000 + millis;
}

}  // namespace shardhose::config

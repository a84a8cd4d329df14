// File: common/seqnum.h
//
// Kinesis sequence numbers are decimal strings of up to 128 digits with no
// leading zeros; they order numerically, which for such strings is: shorter
// is smaller, equal lengths compare lexicographically. Never convert them to
// an integer type.
#pragma once

#include <string_view>

namespace shardhose {

// <0, 0, >0 as a is numerically less than, equal to, greater than b.
inline int CompareSeq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// True if s is a plausible sequence number: 1..128 decimal digits.
inline bool IsValidSeq(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace shardhose

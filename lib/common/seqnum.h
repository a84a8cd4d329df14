// File: common/seqnum.h
//
// Kinesis sequence numbers are decimal strings of up to 128 digits with no
// leading zeros; they order numerically, which for such strings is: shorter
// is smaller, equal lengths compare lexicographically. Never convert them to
// an integer type.
//
// Positions. A KPL-aggregated Kinesis record (decode/kpl.h) carries several
// change records under one sequence number; each is addressed by its
// sub-sequence number (its index in the aggregate, from 0). A *position*
// names one change record of a shard:
//   pos := seq              a plain record
//        | seq '.' sub      sub-record `sub` of an aggregated record; sub is
//                           1..20 decimal digits without leading zeros
// Positions order by (seq, sub), a plain "seq" before any "seq.sub" (one
// Kinesis record is either plain or aggregated, so they never meet in one
// shard). Every sequence number is a position, so a checkpoint or cut
// written before aggregation was supported reads unchanged.
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

// The sequence number of a position ("123.4" -> "123", "123" -> "123").
inline std::string_view SeqOfPos(std::string_view pos) {
  const size_t dot = pos.find('.');
  return dot == std::string_view::npos ? pos : pos.substr(0, dot);
}

// The sub-sequence part of a position ("" for a plain record).
inline std::string_view SubOfPos(std::string_view pos) {
  const size_t dot = pos.find('.');
  return dot == std::string_view::npos ? std::string_view() : pos.substr(dot + 1);
}

// <0, 0, >0 as position a orders before, equal to, after b.
inline int ComparePos(std::string_view a, std::string_view b) {
  if (int c = CompareSeq(SeqOfPos(a), SeqOfPos(b)); c != 0) return c;
  const std::string_view sa = SubOfPos(a), sb = SubOfPos(b);
  const bool ha = a.size() != SeqOfPos(a).size(), hb = b.size() != SeqOfPos(b).size();
  if (ha != hb) return ha ? 1 : -1;
  return CompareSeq(sa, sb);
}

// True if s is a valid position (grammar above).
inline bool IsValidPos(std::string_view s) {
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos) return IsValidSeq(s);
  const std::string_view sub = s.substr(dot + 1);
  if (!IsValidSeq(s.substr(0, dot)) || !IsValidSeq(sub) || sub.size() > 20) return false;
  return sub.size() == 1 || sub[0] != '0';
}

}  // namespace shardhose

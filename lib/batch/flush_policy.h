// File: batch/flush_policy.h
//
// When an open batch must be flushed: Firehose's rule, size OR age,
// whichever comes first, plus a record count. A pure function of (batch
// state, limits, now) — no clock is read here, so the rule is unit-tested
// with plain time points and no sleeping.
//
//   size    - adding the next line would take the batch past max_bytes
//             (checked BEFORE the append: the batch is cut and the line
//             opens the next one). A single line larger than max_bytes is
//             appended to an empty batch and flushed at once: it becomes an
//             object of its own.
//   records - the batch holds max_records lines (0 = unlimited).
//   age     - its oldest line is max_interval old. max_interval = 0 means
//             "flush after every poll".
//   pressure/shutdown/drain - decided by the caller, not by this rule.
//   replay  - a batch re-formed from the journal after a crash is complete.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/clock.h"

namespace shardhose::batch {

enum class FlushCause { kNone, kSize, kRecords, kAge, kPressure, kShutdown, kDrain, kReplay };
std::string_view FlushCauseName(FlushCause cause);  // "size", "age", ...

struct FlushLimits {
  uint64_t max_bytes = 128ull << 20;
  Millis max_interval{300000};
  uint64_t max_records = 0;  // 0 = unlimited
};

struct BatchStats {
  uint64_t bytes = 0;  // uncompressed, including '\n's
  uint64_t records = 0;
  MonoTime oldest{};  // when the first line was appended; meaningless if records == 0
};

// True if the batch must be cut before appending a line of `line_bytes`.
inline bool MustCutBefore(const BatchStats& s, uint64_t line_bytes, const FlushLimits& l) {
  return s.records > 0 && s.bytes + line_bytes > l.max_bytes;
}

// The reason to flush the batch now, or kNone. Size is reported when the
// batch is exactly full (bytes >= max_bytes), e.g. after an oversize line.
inline FlushCause DueCause(const BatchStats& s, const FlushLimits& l, MonoTime now) {
  if (s.records == 0) return FlushCause::kNone;
  if (s.bytes >= l.max_bytes) return FlushCause::kSize;
  if (l.max_records != 0 && s.records >= l.max_records) return FlushCause::kRecords;
  if (now - s.oldest >= l.max_interval) return FlushCause::kAge;
  return FlushCause::kNone;
}

}  // namespace shardhose::batch

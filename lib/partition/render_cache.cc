#include "partition/render_cache.h"

#include <algorithm>

namespace shardhose::partition {
namespace {

constexpr int64_t kDay = 86400;

// The seconds within which a strftime conversion renders alike: %S a
// second, %M a minute, %H an hour, every other (%d %e %j %u %m %Y %y %G
// %V) a UTC day or longer -- a day is safe for all of those.
int64_t UnitOf(char conv) {
  switch (conv) {
    case 'S':
      return 1;
    case 'M':
      return 60;
    case 'H':
      return 3600;
    default:
      return kDay;
  }
}

// [*lo, *hi): the window of `unit` that holds v; empty for a time far
// outside any calendar (it is rendered afresh every time).
void Window(int64_t v, int64_t unit, int64_t* lo, int64_t* hi) {
  constexpr int64_t kFar = int64_t{1} << 62;
  if (v <= -kFar || v >= kFar) {
    *lo = *hi = 0;
    return;
  }
  int64_t q = v / unit;
  if (v % unit != 0 && v < 0) --q;
  *lo = q * unit;
  *hi = *lo + unit;
}

}  // namespace

RenderCache::RenderCache(const KeyTemplate* tmpl) : tmpl_(tmpl) {
  for (const KeyTemplate::Part& p : tmpl->Parts()) {
    if (p.name == "table") reads_.table = true;
    if (p.name == "event_name") reads_.event_name = true;
    if (p.name == "stream") reads_.stream = true;
    if (p.name == "shard_id") reads_.shard_id = true;
    if (p.name == "error") reads_.error = true;
    if (p.name == "event_time" || p.name == "arrival_time") {
      int64_t unit = kDay;
      for (const auto& [conv, lit] : p.time_format) {
        if (conv != 0) unit = std::min(unit, UnitOf(conv));
      }
      if (p.name == "event_time") {
        const int64_t us = unit * 1000000;
        reads_.event_unit_us = reads_.event_unit_us == 0 ? us : std::min(reads_.event_unit_us, us);
      } else {
        const int64_t ms = unit * 1000;
        reads_.arrival_unit_ms = reads_.arrival_unit_ms == 0 ? ms : std::min(reads_.arrival_unit_ms, ms);
      }
    }
  }
}

bool RenderCache::Same(const PartitionFields& f) const {
  if (!valid_) return false;
  if (reads_.table && f.table != table_) return false;
  if (reads_.event_name && f.event_name != event_name_) return false;
  if (reads_.stream && f.stream != stream_) return false;
  if (reads_.shard_id && f.shard_id != shard_id_) return false;
  if (reads_.error && f.error != error_) return false;
  if (reads_.event_unit_us != 0 && (f.event_time_us < event_lo_ || f.event_time_us >= event_hi_)) return false;
  if (reads_.arrival_unit_ms != 0 && (f.arrival_time_ms < arrival_lo_ || f.arrival_time_ms >= arrival_hi_)) {
    return false;
  }
  return true;
}

void RenderCache::Remember(const PartitionFields& f) {
  if (reads_.table) table_.assign(f.table);
  if (reads_.event_name) event_name_.assign(f.event_name);
  if (reads_.stream) stream_.assign(f.stream);
  if (reads_.shard_id) shard_id_.assign(f.shard_id);
  if (reads_.error) error_.assign(f.error);
  if (reads_.event_unit_us != 0) Window(f.event_time_us, reads_.event_unit_us, &event_lo_, &event_hi_);
  if (reads_.arrival_unit_ms != 0) Window(f.arrival_time_ms, reads_.arrival_unit_ms, &arrival_lo_, &arrival_hi_);
  valid_ = true;
}

const std::string& RenderCache::Render(const PartitionFields& f) {
  if (Same(f)) return out_;
  out_.clear();
  tmpl_->Render(f, &out_);
  Remember(f);
  return out_;
}

}  // namespace shardhose::partition

// File: partition/render_cache.h
//
// A KeyTemplate's rendering for a stream of records, reused while nothing
// the template reads has changed: Render() gives exactly the bytes
// KeyTemplate::Render would (tests/unit/partition/render_cache_test.cc
// renders both over random fields), but a record whose fields the
// template renders alike -- the same table, event name, stream, shard and
// error where the template names them, and times within the same second,
// minute, hour or UTC day, after the finest conversion its formats use --
// costs a few comparisons instead of a rendering.
//
// Consecutive records of a shard mostly share their partition (event time
// moves slowly), which is what makes this pay.
//
// Thread-safety: one cache per thread; the template must outlive it.
#pragma once

#include <cstdint>
#include <string>

#include "partition/template.h"

namespace shardhose::partition {

class RenderCache {
 public:
  explicit RenderCache(const KeyTemplate* tmpl);

  // The rendered prefix for `fields`; valid until the next call.
  const std::string& Render(const PartitionFields& fields);

 private:
  // What the template reads, from KeyTemplate::Parts().
  struct Reads {
    bool table = false, event_name = false, stream = false, shard_id = false, error = false;
    int64_t event_unit_us = 0;    // event_time: the window it renders alike; 0 = not read
    int64_t arrival_unit_ms = 0;  // arrival_time: likewise, in ms
  };

  bool Same(const PartitionFields& f) const;
  void Remember(const PartitionFields& f);

  const KeyTemplate* tmpl_;
  Reads reads_;
  bool valid_ = false;
  std::string table_, event_name_, stream_, shard_id_, error_;
  int64_t event_lo_ = 0, event_hi_ = 0;      // [lo, hi) in us
  int64_t arrival_lo_ = 0, arrival_hi_ = 0;  // [lo, hi) in ms
  std::string out_;
};

}  // namespace shardhose::partition

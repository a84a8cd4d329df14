// File: poll/shard_set.h
//
// The shards of one stream, their lineage, and where each is in its life:
//
//   waiting ──(every parent exhausted)──> active ──(closed shard read to its
//   end)──> exhausted ──(all its records durable)──> finished
//
// With a lease table (coordination.mode = "dynamodb") a shard may also be
// released: its lease is another worker's, so it is not read here (and a
// released parent does not hold its children back: the lease table only
// hands out a child once its parents are finished). A released shard
// becomes waiting again through Put() when its lease comes back.
//
// A child shard starts only after every parent (ParentShardId and, after a
// merge, AdjacentParentShardId) is exhausted, so the changes to one item are
// read in order across resharding. A parent that is not listed any more
// (past the stream's retention) counts as exhausted.
//
// The set also schedules polling: each active shard has a due time; Next()
// hands out the due shard with the earliest due time that no poller holds,
// and Release() puts it back with its next due time. A shard is held by at
// most one poller at a time, so records of one shard are processed in
// order. Ties go to the smallest shard id.
//
// Scheduling is a min-heap of (due, id) with lazy invalidation: Activate(),
// Put(kActive) and Release() push an entry; an entry that is not the
// shard's latest, or whose shard is no longer active and unheld, is dropped
// when it reaches the top. Next() and Release() are O(log n) amortised, so
// thousands of shards cost little per poll. The heap is rebuilt when stale
// entries outnumber the shards.
// REQUIRES: a shard becomes active only through Activate() or Put(), its
// due time changes only through Release(), and `held` is set only by
// Next() and cleared only by Release() (entries() is for reading; Find()
// may change the other fields, e.g. state to kExhausted/kFinished).
//
// Thread-safety: not thread-safe; the pipeline holds its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "poll/kinesis_client.h"

namespace shardhose::poll {

enum class ShardState { kWaiting, kActive, kExhausted, kFinished, kReleased };
std::string_view ShardStateName(ShardState s);

struct ShardEntry {
  ShardInfo info;
  ShardState state = ShardState::kWaiting;
  IteratorStart start;        // where to (re)start when there is no iterator
  std::string iterator;       // "" = acquire one from `start`
  std::string last_read_seq;  // last sequence number read in this process
  MonoTime due{};             // earliest next poll
  bool held = false;          // a poller is working on it
  // The last poll was empty with MillisBehindLatest 0; for a source without
  // MillisBehindLatest (DynamoDB Streams: -1), polls have been empty for
  // kQuietCaughtUp (poll/change_source.h).
  bool caught_up = false;
  std::optional<MonoTime> empty_since;  // first of the current run of empty polls
  // From the last poll, -1 = unknown. A source without MillisBehindLatest:
  // an estimate (pipeline/reader.cc): the age of the last record read, 0
  // once caught up.
  int64_t millis_behind = -1;
  bool retention_checked = false;  // resumed position compared with the trim horizon
  // The resumed position was past the trim horizon (reported): read from
  // TRIM_HORIZON until a record is read.
  bool past_trim_horizon = false;
  int64_t caught_up_ms = 0;  // wall time the shard was last fully read and durable
  // Read health (the pipeline's reader sets these; health judges a stall):
  // since when the shard has gone without a successful read -- its last
  // successful GetRecords, or its first attempt in this process (MonoTime{}
  // = not tried yet) -- the wall time of that last successful read (unset
  // until one), and the last failure since it ("" = none).
  MonoTime unread_since{};
  std::optional<WallTime> last_read;
  std::string last_error;
  Backoff backoff;
  bool dropping = false;  // being released: Next() does not hand it out
  uint64_t queued = 0;    // ShardSet's own: the shard's current heap entry
};

class ShardSet {
 public:
  ShardSet() = default;
  ShardSet(const ShardSet&) = delete;  // the heap points into shards_
  ShardSet& operator=(const ShardSet&) = delete;

  // Adds shards not known yet with the start position `start`. Returns the
  // ids added. Known shards keep their state; their info is refreshed
  // (e.g. an ending sequence number appears when a shard closes).
  std::vector<std::string> Merge(const std::vector<ShardInfo>& listed, const IteratorStart& start);

  // Adds (or updates) one shard with explicit state, e.g. from a checkpoint.
  // A released shard put back starts afresh: nothing of what was read of
  // it before it was released is kept.
  ShardEntry& Put(const ShardInfo& info, ShardState state, const IteratorStart& start);

  // Lease mode: the shard is no longer this worker's. REQUIRES: not held
  // (set `dropping` and wait for the poller's Release() first).
  void Forget(const std::string& id);

  // Moves waiting shards whose parents are all exhausted/finished (or
  // unknown) to active, due at `now`. Returns the ids activated.
  std::vector<std::string> Activate(MonoTime now);

  // The active, unheld shard with the earliest due time <= now, marked
  // held; or nullopt and *next_due set to the earliest due time of any
  // active unheld shard (MonoTime::max() if none).
  std::optional<std::string> Next(MonoTime now, MonoTime* next_due);
  void Release(const std::string& id, MonoTime due);

  ShardEntry* Find(const std::string& id);
  const ShardEntry* Find(const std::string& id) const;
  const std::map<std::string, ShardEntry>& entries() const { return shards_; }

  // `listed` is a complete ListShards answer. Only closed shards leave the
  // listing, once they are past the stream's retention; one that is still
  // waiting or active (read too slowly, e.g. while uploads were failing for
  // that long) will never be readable: its unread records have expired. Such
  // shards become exhausted, so their children can start, and their ids are
  // returned for the caller to report the loss. Open shards (which includes
  // children learned from ChildShards since the listing) and exhausted or
  // finished shards are never affected; an empty listing changes nothing.
  std::vector<std::string> ExpireUnlisted(const std::vector<ShardInfo>& listed);

  // Drain is complete when every shard is exhausted/finished/released, or
  // active and caught up (and none is held or waiting).
  bool AllCaughtUp() const;

 private:
  struct Queued {
    MonoTime due;
    const std::string* id;  // key of a shards_ node: map nodes never move
    ShardEntry* entry;
    uint64_t seq;
    bool operator>(const Queued& o) const { return due != o.due ? due > o.due : *id > *o.id; }
  };
  bool ParentDone(const std::string& parent) const;
  void Schedule(const std::string& id, ShardEntry& e);
  void Compact();

  std::map<std::string, ShardEntry> shards_;  // never erased from: Queued points into it
  std::priority_queue<Queued, std::vector<Queued>, std::greater<Queued>> queue_;
  uint64_t next_seq_ = 0;
};

}  // namespace shardhose::poll

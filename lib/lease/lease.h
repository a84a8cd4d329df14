// File: lease/lease.h
//
// A lease: the right of one worker to read one shard and to write that
// shard's progress, kept as one item of the lease table (lease_table.h).
// The item is KCL-compatible (KCL 2.x/3.x DynamoDBLeaseSerializer names and
// meanings), so a table left by a KCL application can be adopted and
// KCL-aware tooling can read ours:
//
//   leaseKey                      S   the shard id (hash key)
//   leaseOwner                    S   worker id; ABSENT when released, and
//                                     once finished (coordinator.h, step 6)
//   leaseCounter                  N   changes only when the lease moves
//                                     (taken, stolen, released): every write
//                                     by an owner is conditional on it, so a
//                                     worker whose lease moved can write nothing
//   checkpoint                    S   last sequence number durably written,
//                                     or a sentinel: TRIM_HORIZON, LATEST,
//                                     AT_TIMESTAMP (nothing read yet), SHARD_END
//                                     (closed shard finished: every record durable)
//   checkpointSubSequenceNumber   N   0 (KPL sub-records: the cut journal holds them)
//   ownerSwitchesSinceCheckpoint  N   moves since the checkpoint last advanced
//   parentShardId                 SS  ParentShardId and AdjacentParentShardId
//   childShardIds                 SS  set once the shard is read to its end
//   startingHashKey, endingHashKey S  the shard's hash key range
//
// shardhose's own attributes (KCL ignores unknown attributes):
//   shStartMs      N  with checkpoint AT_TIMESTAMP: where reading starts
//                     (LATEST is pinned to a timestamp when the lease is made)
//   shCaughtUpMs   N  epoch ms the shard was last seen read and durable to its tip
//   shJournal      S  the shard's cut journal: its pending cuts, as the JSON
//                     array of checkpoint.h's CUT (one range each: in this mode
//                     an object holds one shard's records)
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace shardhose::lease {

inline constexpr const char* kTrimHorizon = "TRIM_HORIZON";
inline constexpr const char* kLatest = "LATEST";
inline constexpr const char* kAtTimestamp = "AT_TIMESTAMP";
inline constexpr const char* kShardEnd = "SHARD_END";

struct Lease {
  std::string key;    // shard id
  std::string owner;  // "" = released (no leaseOwner attribute)
  int64_t counter = 0;
  std::string checkpoint = kTrimHorizon;
  int64_t checkpoint_sub = 0;
  int64_t owner_switches = 0;
  std::vector<std::string> parents;   // sorted
  std::vector<std::string> children;  // sorted
  std::string starting_hash_key;
  std::string ending_hash_key;
  // shardhose's own
  int64_t start_ms = 0;
  int64_t caught_up_ms = 0;
  std::vector<checkpoint::PendingCut> journal;

  bool finished() const { return checkpoint == kShardEnd; }
  bool operator==(const Lease&) const = default;
};

// Sets `l`'s checkpoint (and shStartMs for AT_TIMESTAMP) from a shard's
// position: SHARD_END once finished, else the durable sequence, else where
// its run starts. Everything else of `l` is left as it is.
inline void SetCheckpoint(const checkpoint::ShardCheckpoint& sc, Lease* l) {
  if (sc.state == checkpoint::ShardCheckpoint::State::kFinished) {
    l->checkpoint = kShardEnd;
  } else if (!sc.sequence.empty()) {
    l->checkpoint = sc.sequence;
  } else if (sc.start == checkpoint::ShardCheckpoint::Start::kAtTimestamp) {
    l->checkpoint = kAtTimestamp;
    l->start_ms = sc.start_timestamp_ms;
  } else {
    l->checkpoint = kTrimHorizon;
  }
}

}  // namespace shardhose::lease

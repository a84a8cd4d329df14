// File: lease/lease_item.h
//
// A Lease (lease.h) <-> its DynamoDB item, KCL-compatible: the attribute
// names and types of KCL 2.x/3.x's DynamoDBLeaseSerializer, plus
// shardhose's own (sh*). The lease table implementations (the DynamoDB one
// and tests' fake) store exactly what LeaseToItem makes and read back with
// LeaseFromItem.
//
// Writing (LeaseToItem) -- always:
//   leaseKey S, leaseCounter N, checkpoint S, checkpointSubSequenceNumber N,
//   ownerSwitchesSinceCheckpoint N
// and only when there is something to say (absent otherwise, as KCL does):
//   leaseOwner S          owner != ""        (released = no attribute)
//   parentShardId SS      parents non-empty  (DynamoDB refuses empty sets)
//   childShardIds SS      children non-empty
//   startingHashKey S, endingHashKey S      both non-empty (KCL reads the
//                                            range only when both are set)
//   shStartMs N           start_ms != 0
//   shCaughtUpMs N        caught_up_ms != 0
//   shJournal S           journal non-empty: checkpoint::EncodeCuts
// So LeaseFromItem(LeaseToItem(l)) == l for every Lease whose parents and
// children are sorted and unique.
//
// Reading (LeaseFromItem):
//   - required: leaseKey (non-empty S), leaseCounter (N, int64 >= 0),
//     checkpoint (S: a sequence number, common/seqnum.h IsValidSeq, or one
//     of the sentinels TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END, stored
//     as those strings, as KCL's ExtendedSequenceNumber does);
//   - absent optional attributes take the Lease defaults: no leaseOwner =
//     released (""), no number = 0, no set = empty, no shJournal = empty;
//   - a KCL-written AT_TIMESTAMP has no shStartMs (KCL keeps the timestamp
//     in its config, not in the lease): start_ms 0 means "the configured
//     initial timestamp"; a KCL-written LATEST is kept as LATEST (shardhose
//     itself pins LATEST to AT_TIMESTAMP + shStartMs when it makes a lease);
//   - every other attribute is ignored (KCL's pendingCheckpoint,
//     pendingCheckpointSubSequenceNumber, pendingCheckpointState,
//     throughputKBps, checkpointOwner, entityType, leaseTableVersion, ...);
//   - an attribute above present with the wrong type or a bad value (an
//     empty leaseOwner, a checkpoint that is neither a number nor a
//     sentinel, an shJournal that does not decode, a negative counter) is
//     kCorruption naming the lease and the attribute:
//       "lease shardId-000000000001: attribute shJournal: cuts[0]: ..."
//   - an item of another KCL 3.x entity kept in the lease table
//     (entityType present and not "LEASE": leader lock, worker metrics,
//     migration state) is not a lease: IsLeaseItem() is false, and
//     LeaseFromItem is kInvalidArgument. List() implementations skip such
//     items.
//
// Thread-safety: pure functions.
#pragma once

#include "aws/dynamodb_item.h"
#include "common/status.h"
#include "lease/lease.h"

namespace shardhose::lease {

// Attribute names, for the table implementations' key and condition
// expressions.
namespace attr {
inline constexpr const char* kLeaseKey = "leaseKey";
inline constexpr const char* kLeaseOwner = "leaseOwner";
inline constexpr const char* kLeaseCounter = "leaseCounter";
inline constexpr const char* kCheckpoint = "checkpoint";
inline constexpr const char* kCheckpointSub = "checkpointSubSequenceNumber";
inline constexpr const char* kOwnerSwitches = "ownerSwitchesSinceCheckpoint";
inline constexpr const char* kParentShardId = "parentShardId";
inline constexpr const char* kChildShardIds = "childShardIds";
inline constexpr const char* kStartingHashKey = "startingHashKey";
inline constexpr const char* kEndingHashKey = "endingHashKey";
inline constexpr const char* kStartMs = "shStartMs";
inline constexpr const char* kCaughtUpMs = "shCaughtUpMs";
inline constexpr const char* kJournal = "shJournal";
// KCL 3.x: what kind of item this is; absent or "LEASE" for a lease.
inline constexpr const char* kEntityType = "entityType";
inline constexpr const char* kEntityTypeLease = "LEASE";
}  // namespace attr

aws::Item LeaseToItem(const Lease& lease);
Result<Lease> LeaseFromItem(const aws::Item& item);

// False for KCL 3.x's non-lease items (entityType present, not "LEASE").
bool IsLeaseItem(const aws::Item& item);

// A checkpoint value a lease may hold: a sequence number or a sentinel.
bool IsValidCheckpoint(const std::string& checkpoint);

}  // namespace shardhose::lease

// File: lease/dynamodb_lease_table.h
//
// The LeaseTable (lease/lease_table.h, whose contract this follows) kept in
// DynamoDB through aws/dynamodb.h: the lease table `<table>` (hash key
// leaseKey, items as lease/lease_item.h maps them) and the workers table
// `<table>-workers` (hash key workerId).
//
// The writes, each ONE conditional request (#c = leaseCounter,
// #o = leaseOwner):
//   Create    PutItem, if attribute_not_exists(leaseKey)
//   Transfer  UpdateItem SET #c = #c + 1, #o = :new (REMOVE #o for a
//             release), ownerSwitchesSinceCheckpoint + 1 when it moves from
//             one worker to another (as KCL counts: a release, or taking a
//             released lease, is no owner switch), if #c = :seen AND
//             #o = :owner (attribute_not_exists(#o) when seen.owner is "");
//             ReturnValues ALL_NEW is the lease returned
//   Update    UpdateItem SET (or REMOVE, when the lease has no value for
//             them) checkpoint, checkpointSubSequenceNumber,
//             ownerSwitchesSinceCheckpoint, childShardIds, shStartMs,
//             shCaughtUpMs, shJournal, as lease_item.h maps `lease`, if
//             #c = :seen AND #o = :owner (the lease's counter and owner;
//             a lease without owner is refused without a request).
//             ownerSwitchesSinceCheckpoint is written 0 when the checkpoint
//             differs from the one stored: the table remembers, per lease,
//             the counter and checkpoint it last read or wrote (Create,
//             Get, List, Transfer, Update), which is the stored one while
//             the counter is unchanged (only its owner writes, fenced by
//             it); for a lease it never saw at that counter, the value is
//             written as given
//   Delete    DeleteItem, if #c = :seen
//   Heartbeat PutItem {workerId, beat, leases, writtenMs}, unconditional
// Reads are strongly consistent; List and ListWorkers follow
// LastEvaluatedKey, one attempt per page (a failed page fails the call).
// List skips the items of KCL 3.x's other entities (IsLeaseItem).
// A failed condition is kFailedPrecondition with peer code
// "ConditionalCheckFailedException" (aws/dynamodb.h); an item that does not
// map to a lease is kCorruption naming its key.
//
// Ensure(create) is the one call that waits: it describes both tables,
// creates the missing ones (PAY_PER_REQUEST) when `create`, and polls
// DescribeTable every `ensure_poll` until both are ACTIVE, for at most
// `ensure_timeout` (then kUnavailable naming the table and its status).
// A missing table when !create is kNotFound naming it.
//
// Thread-safety: every method may be called concurrently (the client is
// thread-safe; the remembered checkpoints are under one mutex, never held
// across a request).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "aws/dynamodb.h"
#include "common/clock.h"
#include "lease/lease_table.h"

namespace shardhose::lease {

struct DynamoDbLeaseTableOptions {
  std::string table;  // the lease table; the workers table is table + "-workers"
  std::chrono::milliseconds ensure_timeout{60000};
  std::chrono::milliseconds ensure_poll{1000};
  int scan_limit = 0;  // Scan Limit per page; 0 = DynamoDB's (1 MB pages)
};

// The workers table's name for a lease table.
std::string WorkersTableName(const std::string& table);

// REQUIRES: client and clock outlive the table.
std::unique_ptr<LeaseTable> NewDynamoDbLeaseTable(DynamoDbLeaseTableOptions options, aws::DynamoDbClient* client,
                                                  Clock* clock);

}  // namespace shardhose::lease

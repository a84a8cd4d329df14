// File: lease/lease_table.h
//
// The lease table and its workers table, as the coordinator (coordinator.h)
// uses them. Every call makes ONE attempt and never sleeps; failures are
// classified at the edge (aws/retry_class.h) and the caller retries.
//
// Tables:
//   <table>          one item per shard (lease.h), hash key leaseKey (S)
//   <table>-workers  one item per worker, hash key workerId (S): its
//                    heartbeat. Liveness costs one write per worker per
//                    heartbeat whatever the number of shards.
//
// Fencing (what exactly-once across lease moves rests on):
//   - Transfer() changes the owner and increments leaseCounter, conditional
//     on the counter AND owner the caller saw;
//   - Update() writes the owner's progress (checkpoint, journal, ...)
//     conditional on leaseOwner == lease.owner AND leaseCounter ==
//     lease.counter, and leaves the counter alone.
//   So once a lease has moved, its former owner can write nothing to it.
//   A failed condition is kFailedPrecondition with peer code
//   "ConditionalCheckFailedException".
//
// Implementations:
//   NewDynamoDbLeaseTable - lease/dynamodb_lease_table.h, over aws/dynamodb.h
//   FakeLeaseTable        - tests/unit/testing/fake_lease_table.h, in memory
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "lease/lease.h"

namespace shardhose::lease {

struct WorkerBeat {
  std::string worker_id;
  int64_t beat = 0;        // increases with every heartbeat
  int64_t leases = 0;      // how many leases it held at that heartbeat
  int64_t written_ms = 0;  // its wall clock at the heartbeat (informational:
                           // liveness is judged by `beat` changing, never by clocks)
};

class LeaseTable {
 public:
  virtual ~LeaseTable() = default;

  // Creates both tables (PAY_PER_REQUEST) when `create` and they are
  // missing, and waits (bounded) until they are ACTIVE. kNotFound naming the
  // table when it is missing and !create.
  virtual Status Ensure(bool create) = 0;
  // A human name for messages: "dynamodb table orders-leases (us-east-1)".
  virtual std::string Describe() const = 0;

  // Every lease (strongly consistent; every page).
  virtual Result<std::vector<Lease>> List() = 0;
  // One lease, strongly consistent; nullopt if there is none.
  virtual Result<std::optional<Lease>> Get(const std::string& key) = 0;
  // A new lease item; kFailedPrecondition if one exists for the key.
  virtual Status Create(const Lease& lease) = 0;
  // Moves `seen` to `new_owner` ("" = release: leaseOwner removed):
  // conditional on the counter and owner in `seen`; counter + 1, and
  // ownerSwitchesSinceCheckpoint + 1 when the owner changes to another
  // worker. Returns the lease as now stored.
  virtual Result<Lease> Transfer(const Lease& seen, const std::string& new_owner) = 0;
  // The owner's progress: checkpoint, checkpointSubSequenceNumber,
  // ownerSwitchesSinceCheckpoint (0 when the checkpoint changed), start_ms,
  // caught_up_ms, journal, children. Conditional on owner and counter.
  virtual Status Update(const Lease& lease) = 0;
  // Removes a lease item (a shard past retention that is finished).
  // Conditional on the counter.
  virtual Status Delete(const Lease& seen) = 0;

  // The workers table.
  virtual Status Heartbeat(const WorkerBeat& beat) = 0;
  virtual Result<std::vector<WorkerBeat>> ListWorkers() = 0;
  virtual Status RemoveWorker(const std::string& worker_id) = 0;
};

}  // namespace shardhose::lease

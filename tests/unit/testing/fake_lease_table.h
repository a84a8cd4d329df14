// File: testing/fake_lease_table.h
//
// FakeLeaseTable: an in-memory lease::LeaseTable (lease/lease_table.h)
// with DynamoDB's conditional-write semantics, exactly as the contract
// states them, for unit tests of the lease logic.
//
// What it emulates:
//   - items are stored as aws::Item through lease/lease_item.h (so what a
//     test reads back went through the serializer; PutItem lets a test
//     plant any item, e.g. one a KCL application wrote);
//   - Create: refused if the key exists; Transfer: conditional on the
//     counter AND owner in `seen` (owner "" = no leaseOwner attribute),
//     counter + 1, ownerSwitchesSinceCheckpoint + 1 when the owner changes
//     to another worker (not on a release, not from no owner), leaseOwner
//     removed when the new owner is ""; Update: conditional on owner and
//     counter, writes the progress fields only (checkpoint,
//     checkpointSubSequenceNumber, ownerSwitchesSinceCheckpoint (0 when
//     the checkpoint changed), start_ms, caught_up_ms, journal, children);
//     Delete: conditional on the counter. A refused condition is
//     kFailedPrecondition with peer code "ConditionalCheckFailedException"
//     (class kClientError), as the DynamoDB implementation answers;
//   - the workers table: Heartbeat replaces the row; RemoveWorker is OK if
//     there is none.
// Every call is atomic (one mutex), so concurrent callers see a
// linearizable table.
//
// Interleaving and fault injection: Connect(who) returns a handle (a
// LeaseTable forwarding to this table) whose calls carry `who`. Before a
// call is applied, `hook` (if set) is called WITHOUT the table's mutex held
// with (who, op, key): a test runs another worker's step there (the call
// then applies to the table as that step left it), and a non-OK return is
// answered instead of applying the call. FailNext(op, status) answers the
// next call of `op` (from anyone) with `status` without applying it.
//
// What it counts: calls per op (applied or not), for cost checks.
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aws/dynamodb_item.h"
#include "common/mutex.h"
#include "lease/lease_table.h"

namespace shardhose::testing {

class FakeLeaseTable final : public lease::LeaseTable {
 public:
  enum class Op { kList, kGet, kCreate, kTransfer, kUpdate, kDelete, kHeartbeat, kListWorkers, kRemoveWorker };
  using Hook = std::function<Status(const std::string& who, Op op, const std::string& key)>;

  FakeLeaseTable() = default;

  // A handle whose calls carry `who` to the hook. Must not outlive *this.
  std::unique_ptr<lease::LeaseTable> Connect(std::string who);

  void set_hook(Hook hook);
  void FailNext(Op op, Status status);
  int64_t calls(Op op) const;
  int64_t writes() const;  // Create + Transfer + Update + Delete + Heartbeat + RemoveWorker calls

  // Back to empty: no items, workers, hook, injected failures or counts.
  void Clear();

  // Direct access for tests: no conditions, no hook.
  void PutItem(const aws::Item& item);
  void PutLease(const lease::Lease& lease);
  std::optional<lease::Lease> Peek(const std::string& key) const;
  std::vector<lease::Lease> Leases() const;  // by key
  std::vector<lease::WorkerBeat> Workers() const;

  // lease::LeaseTable
  Status Ensure(bool) override { return Status::OK(); }
  std::string Describe() const override { return "fake lease table"; }
  Result<std::vector<lease::Lease>> List() override { return ListAs(""); }
  Result<std::optional<lease::Lease>> Get(const std::string& key) override { return GetAs("", key); }
  Status Create(const lease::Lease& lease) override { return CreateAs("", lease); }
  Result<lease::Lease> Transfer(const lease::Lease& seen, const std::string& new_owner) override {
    return TransferAs("", seen, new_owner);
  }
  Status Update(const lease::Lease& lease) override { return UpdateAs("", lease); }
  Status Delete(const lease::Lease& seen) override { return DeleteAs("", seen); }
  Status Heartbeat(const lease::WorkerBeat& beat) override { return HeartbeatAs("", beat); }
  Result<std::vector<lease::WorkerBeat>> ListWorkers() override { return ListWorkersAs(""); }
  Status RemoveWorker(const std::string& worker_id) override { return RemoveWorkerAs("", worker_id); }

  // The same, as `who`.
  Result<std::vector<lease::Lease>> ListAs(const std::string& who);
  Result<std::optional<lease::Lease>> GetAs(const std::string& who, const std::string& key);
  Status CreateAs(const std::string& who, const lease::Lease& lease);
  Result<lease::Lease> TransferAs(const std::string& who, const lease::Lease& seen, const std::string& new_owner);
  Status UpdateAs(const std::string& who, const lease::Lease& lease);
  Status DeleteAs(const std::string& who, const lease::Lease& seen);
  Status HeartbeatAs(const std::string& who, const lease::WorkerBeat& beat);
  Result<std::vector<lease::WorkerBeat>> ListWorkersAs(const std::string& who);
  Status RemoveWorkerAs(const std::string& who, const std::string& worker_id);

 private:
  // The hook and injected failures; OK = apply the call.
  Status Before(const std::string& who, Op op, const std::string& key);
  Result<lease::Lease> LoadLocked(const std::string& key) const REQUIRES(mu_);

  mutable Mutex mu_;
  Hook hook_ GUARDED_BY(mu_);
  std::map<Op, std::vector<Status>> fail_next_ GUARDED_BY(mu_);
  std::map<Op, int64_t> calls_ GUARDED_BY(mu_);
  std::map<std::string, aws::Item> items_ GUARDED_BY(mu_);
  std::map<std::string, lease::WorkerBeat> workers_ GUARDED_BY(mu_);
};

// "ConditionalCheckFailedException", as the DynamoDB implementation reports it.
Status ConditionFailed(const std::string& what);

}  // namespace shardhose::testing

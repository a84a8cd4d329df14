// File: lease/lease_store.h
//
// Lease mode's CheckpointStore (checkpoint/checkpoint_store.h): the
// pipeline's checkpoint written shard by shard into the leases this worker
// holds (lease.h), and the conversion of a lease into the shard the
// pipeline is handed when the lease is taken (pipeline.h, LeasedShard).
//
// Save(cp) writes, for each shard of `cp` whose progress changed since this
// store last wrote it, one LeaseTable::Update conditional on the owner and
// counter the coordinator holds (coordinator.h) -- the fence of issue 11:
//   checkpoint      the durable sequence; SHARD_END once the shard is
//                   finished; else where it starts (TRIM_HORIZON, or
//                   AT_TIMESTAMP with shStartMs)
//   shJournal       the cuts of `cp` that hold records of the shard (in this
//                   mode every cut holds one shard)
//   shCaughtUpMs    as in the checkpoint, but alone (nothing else of the
//                   shard changed) only once it moved kCaughtUpRefreshMs:
//                   the pipeline refreshes it every minute for every idle
//                   shard, which would cost a write per shard per minute
//                   (43,200 a month, ~$0.027 at on-demand prices). It
//                   tells an idle shard from expired records after the
//                   stream's retention (24 h or more), so an hour is fine
//                   grained enough.
// The reading a shard's progress belongs to: the worker hands each lease
// to the pipeline with its counter (Handed, before Pipeline::AddShard) and
// takes it back (Dropped, after Pipeline::DropShard). Save writes a handed
// shard only while the coordinator holds its lease with that very counter.
// Between the coordinator re-taking a lease (a steal back, a take back
// after a restart: a new counter) and the worker dropping and re-adding the
// shard, the pipeline still holds the earlier reading's position and cuts;
// written into the new lease they would let a stale cut upload records the
// lease's other owner in between read too. Such a shard fails the Save
// like one not held.
// A shard whose lease is not held (lost, given up) or whose Update is
// refused makes Save fail (kAborted naming it; a refusal is reported to the
// coordinator as lost): a journal that is not durable in the lease must not
// let an upload start. Every other shard is still written; the pipeline
// retries, and once the shard is dropped the next Save succeeds. A
// finished shard is written once (SHARD_END) and never again.
//
// Acquire() is a no-op (the leases are the lock) and Load() is nullopt:
// each shard's position comes with its lease (ToLeasedShard).
//
// Thread-safety: Save is called by one thread at a time (the pipeline's
// checkpointer); the coordinator's methods it calls are thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "checkpoint/checkpoint_store.h"
#include "lease/coordinator.h"
#include "lease/lease_table.h"
#include "pipeline/pipeline.h"

namespace shardhose::lease {

// See shCaughtUpMs above.
inline constexpr int64_t kCaughtUpRefreshMs = 3600 * 1000;

class LeaseStore : public checkpoint::CheckpointStore {
 public:
  // REQUIRES: table and coordinator outlive the store.
  LeaseStore(LeaseTable* table, Coordinator* coordinator) : table_(table), coordinator_(coordinator) {}

  Status Acquire() override { return Status::OK(); }
  Result<std::optional<checkpoint::Checkpoint>> Load() override { return std::optional<checkpoint::Checkpoint>(); }
  Status Save(const checkpoint::Checkpoint& cp) override;
  std::string Describe() const override { return table_->Describe(); }

  // See above. Thread-safe.
  void Handed(const std::string& shard, int64_t counter);
  void Dropped(const std::string& shard);

 private:
  LeaseTable* const table_;
  Coordinator* const coordinator_;
  std::mutex mu_;
  std::map<std::string, Lease> written_;   // shard -> the lease as this store last wrote it
  std::map<std::string, int64_t> handed_;  // shard -> the counter its reading was handed with
};

// The lease as the pipeline reads its shard: position (a sequence number
// checkpoint, or the start a sentinel says: TRIM_HORIZON; AT_TIMESTAMP with
// shStartMs, or with `default_start_ms` when a KCL table has none; LATEST,
// which KCL resolves at read time, pinned to `now_ms`), finished at
// SHARD_END, and its journal.
pipeline::LeasedShard ToLeasedShard(const Lease& lease, int64_t default_start_ms, int64_t now_ms);

}  // namespace shardhose::lease

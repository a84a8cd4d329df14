// File: pipeline/recovery.h
//
// Recovery at start: everything between "the process starts" and "the
// first shard is read".
//
//   1. the checkpoint store is taken (one writer) and loaded: a corrupt
//      checkpoint stops the daemon (kCorruption), one of another stream too
//      (kFailedPrecondition) -- never a silent restart from either end;
//   2. the stream is described and its shards listed, retried until Stop
//      (with --drain, until source.drain_give_up_after_s has passed:
//      kUnavailable). While it retries, Health::stalled says why (Shared::
//      start_problem). An error retrying cannot fix (the stream not found,
//      access denied, an unknown access key, a bad signature) returns at
//      once, its message naming the AWS code and what to do;
//   3. the journal of the last run is loaded: its cuts not yet uploaded are
//      re-formed from the same records under the same keys
//      (checkpoint/journal.h), and multipart uploads a crash left open for
//      those keys are aborted (best effort; a lifecycle rule is the
//      backstop);
//   4. every shard gets its start: after its durable position, or where
//      source.initial_position says on a first start (LATEST pinned to a
//      timestamp), children of a reshard from their beginning; shards the
//      checkpoint knows that are gone from the stream are reported as
//      losses unless they were finished;
//   5. the initial checkpoint is written, with those starts.
// In lease mode (Shared::leased) only step 2's Describe runs: each shard
// comes later with its lease, its position and its cuts
// (Pipeline::AddShard, lease_shards.cc).
#pragma once

#include "checkpoint/checkpoint_store.h"
#include "pipeline/batcher.h"
#include "pipeline/checkpointer.h"
#include "pipeline/reader.h"
#include "pipeline/shared.h"
#include "poll/change_source.h"
#include "upload/object_store.h"

namespace shardhose::pipeline {

// A crash (or, in lease mode, a lost lease) can leave multipart uploads in
// progress for the keys of journaled cuts about to be re-formed: aborts
// them (best effort; a bucket lifecycle rule is the backstop).
void AbortOrphanedUploads(upload::ObjectStore* objects, const std::vector<std::string>& keys);

class Recovery {
 public:
  // REQUIRES: every argument outlives the call to Run().
  Recovery(Shared& s, poll::ChangeSource* source, checkpoint::CheckpointStore* store, upload::ObjectStore* objects,
           Checkpointer& checkpointer, Batcher& batcher, ShardReader& reader)
      : s_(s),
        source_(source),
        store_(store),
        objects_(objects),
        checkpointer_(checkpointer),
        batcher_(batcher),
        reader_(reader) {}

  Status Run() EXCLUDES(s_.mu);

 private:
  // Calls `call` until it succeeds, fails for good, or Stop() is called.
  template <typename F>
  auto Retry(std::string_view what, F call) -> decltype(call());
  void SeedShards(const std::optional<checkpoint::Checkpoint>& cp, const std::vector<poll::ShardInfo>& listed)
      REQUIRES(s_.mu);

  Shared& s_;
  poll::ChangeSource* const source_;
  checkpoint::CheckpointStore* const store_;
  upload::ObjectStore* const objects_;
  Checkpointer& checkpointer_;
  Batcher& batcher_;
  ShardReader& reader_;
};

}  // namespace shardhose::pipeline

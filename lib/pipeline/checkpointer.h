// File: pipeline/checkpointer.h
//
// Writes the checkpoint (checkpoint/checkpoint_store.h): a snapshot of every
// shard's durable position and state and of the cut journal, taken under
// the shared mutex and written without it, one writer at a time. A
// snapshot equal to what the store holds is not written again.
//
// Journal versions: the journal counts its changes; once a snapshot taken
// at version V is saved, journal_written() >= V -- what an upload waits
// for before it starts (checkpoint/journal.h, step 2).
//
// On the way, shards whose records are all durable after their end move
// from exhausted to finished, and uploaded cuts whose records will never be
// read again are pruned from the journal.
//
// Threads: every method is called with the shared mutex held; Write()
// lets go of it during the store's Save().
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_store.h"
#include "pipeline/shared.h"

namespace shardhose::pipeline {

class Checkpointer {
 public:
  // The shared mutex (shared.h), as the thread-safety analysis names it
  // for this room.
  Mutex& mu() const RETURN_CAPABILITY(s_.mu) { return s_.mu; }

  // REQUIRES: s and store outlive the checkpointer.
  Checkpointer(Shared& s, checkpoint::CheckpointStore* store) : s_(s), store_(store) {}

  // At start: what the store held (nullopt: nothing), for the stream
  // `name` / `arn`. The next write is its generation + 1.
  void Begin(const std::optional<checkpoint::Checkpoint>& loaded, const std::string& name, const std::string& arn)
      REQUIRES(s_.mu);

  // The first write, before anything is read: records the resolved start
  // positions (LATEST becomes a timestamp), so a restart starts from the
  // same place.
  Status WriteInitial() REQUIRES(s_.mu);
  // Writes the checkpoint as of now unless unchanged. False if the store
  // failed (the error is kept for health; the checkpoint stays dirty).
  bool Write() REQUIRES(s_.mu);
  // Writes it if anything marked it dirty.
  void MaybeWrite() REQUIRES(s_.mu) {
    if (s_.checkpoint_dirty) (void)Write();
  }

  uint64_t journal_written() const REQUIRES(s_.mu) { return journal_written_; }
  // The store's last failure ("" while writes succeed), and when it was
  // last written.
  const std::string& error() const REQUIRES(s_.mu) { return error_; }
  std::optional<WallTime> last_written() const REQUIRES(s_.mu) { return last_written_; }

 private:
  checkpoint::Checkpoint Snapshot() REQUIRES(s_.mu);

  Shared& s_;
  checkpoint::CheckpointStore* const store_;
  checkpoint::Checkpoint last_ GUARDED_BY(s_.mu);  // what the store holds
  uint64_t journal_written_ GUARDED_BY(s_.mu) = 0;
  bool writing_ GUARDED_BY(s_.mu) = false;  // one writer at a time
  std::string error_ GUARDED_BY(s_.mu);
  std::optional<WallTime> last_written_ GUARDED_BY(s_.mu);
};

}  // namespace shardhose::pipeline

// File: checkpoint/checkpoint_store.h
//
// Where the pipeline keeps its progress: per shard how far the stream is
// durably written, and the journal of batch cuts (journal.h) -- one
// Checkpoint value (checkpoint.h). The pipeline reads it once at start and
// replaces it as it goes; everything else about exactly-once rests on
// Save() being atomic and durable.
//
// Implementations:
//   CheckpointFile (checkpoint_file.h) - one local file, replaced
//                                        atomically, locked against a
//                                        second process.
// (A DynamoDB lease table, shared by several processes, is the next one.)
//
// Contract:
//   Acquire()  makes this process the checkpoint's only writer until the
//              store is destroyed; kFailedPrecondition if another holds it.
//   Load()     nullopt on a first start; kCorruption if what is stored does
//              not decode (the pipeline then stops: it never silently
//              restarts from TRIM_HORIZON or LATEST); kIOError if it cannot
//              be read.
//   Save()     all or nothing: afterwards the store holds `cp` or, on
//              failure, still the previous value (either is valid).
//
// Thread-safety: not thread-safe; the pipeline's checkpointer calls one
// method at a time.
#pragma once

#include <optional>
#include <string>

#include "checkpoint/checkpoint.h"
#include "common/status.h"

namespace shardhose::checkpoint {

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  virtual Status Acquire() = 0;
  virtual Result<std::optional<Checkpoint>> Load() = 0;
  virtual Status Save(const Checkpoint& cp) = 0;
  // Where it is, for messages: "/var/lib/shardhose/checkpoint.json".
  virtual std::string Describe() const = 0;
};

}  // namespace shardhose::checkpoint

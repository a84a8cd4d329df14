// File: batch/sealed_batch.h
//
// A batch closed to further lines (or one part of a batch streamed in
// parts), on its way to the object store, and Finish(), which turns its
// shards' runs into the object's bytes.
//
// Sealing happens under the pipeline's lock and moves no bytes: the sealed
// batch takes over its runs (shard_run.h) as they are. Finish() -- the last
// of the "compress" stage -- ends each run's last chunk and puts the runs
// together, shards in id order, into one gzip member with a combined CRC (or
// concatenates the lines): it runs in an uploader thread, outside any lock.
// A part cut off a run (ReadyPart) is finished already.
//
// Thread-safety: a value, used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batch/flush_policy.h"
#include "batch/shard_run.h"
#include "common/clock.h"

namespace shardhose::batch {

struct ShardSpan {
  std::string first_seq;
  std::string last_seq;
  uint64_t records = 0;
};

struct SealedBatch {
  uint64_t id = 0;               // unique within the process
  std::string partition;         // rendered prefix
  std::string key;               // object key, once decided (pipeline)
  bool replay = false;           // re-formed from a journaled cut (pipeline)
  std::string tag;               // see BatchBuffer::Place()
  uint64_t journal_version = 0;  // checkpoint version that must be durable first
  // The object (or part): a gzip member, or the lines. Empty until
  // Finish() for a batch sealed with its runs.
  std::string body;
  // 0: body is the whole object. k >= 1: body is the object's k-th part;
  // last_part says whether the batch is sealed with it. For a part, shards
  // spans the object so far (first line of the batch to last of the part).
  int part = 0;
  bool last_part = true;
  uint64_t bytes = 0;    // uncompressed bytes of the lines (of this part)
  uint64_t records = 0;  // (of this part)
  FlushCause cause = FlushCause::kNone;
  MonoTime oldest{};
  std::map<std::string, ShardSpan> shards;  // shard id -> span, sorted
  // Bytes held when sealed (runs, or the part's body): what the memory cap
  // counts for it until it is durable. Fixed; Finish() does not change it.
  uint64_t held = 0;

  // Until Finish(): the runs, in shard id order, and how to close them.
  std::vector<std::unique_ptr<ShardRun>> runs;
  bool gzip = false;
  bool header = false;       // the member starts here (no part before)
  uint64_t total_bytes = 0;  // uncompressed bytes of the whole object, for the trailer
};

// Makes b->body the bytes to upload, from its runs (no-op once done).
void Finish(SealedBatch* b);

}  // namespace shardhose::batch

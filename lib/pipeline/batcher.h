// File: pipeline/batcher.h
//
// Sealing and naming batches: the decoded lines of a page go into their
// partition's open batch (batch/batch_buffer.h); sealed batches get their
// object key, their cut is journaled, and they go to the uploader.
//
// Every line read again after a crash is routed by the journal
// (checkpoint/journal.h): already durable (skipped), part of a journaled
// batch to re-form (into the replay buffer, keyed by the cut's key, sealed
// once every shard of the cut has been read past its range), or new.
//
// Object keys depend only on which records a batch holds (see ObjectKey),
// so writing the same records again replaces the same object.
//
// Threads: Add() is called by the reader of a shard, the Seal*() methods by
// the main loop, all with the shared mutex held; Add() lets go of it while
// the lines' bytes are appended and compressed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "batch/batch_buffer.h"
#include "compress/compress.h"
#include "pipeline/shared.h"
#include "pipeline/uploader.h"

namespace shardhose::pipeline {

// One decoded change record on its way into a batch.
struct Line {
  std::string partition;    // rendered prefix (the record's, or the error prefix)
  std::string table;        // metrics tag; "(errors)" for an error line
  std::string text;         // the line, ending in '\n'
  std::string pos;          // common/seqnum.h position: "seq", or "seq.sub" for a KPL sub-record
  bool ends_record = true;  // the last line of its Kinesis record
  bool error = false;
};

// The flush rule's limits in a configuration.
batch::FlushLimits FlushLimitsOf(const config::BatchConfig& batch);

// The object key of a sealed batch: its partition, then a name that depends
// only on which records it holds (stream, the lowest shard and its first
// position, and a hash of every shard's range). A batch streamed in parts
// has one shard and is named before its end is known: by where it starts.
std::string ObjectKey(const batch::SealedBatch& b, std::string_view stream, compress::Codec codec, bool parts);

class Batcher {
 public:
  // The shared mutex (shared.h), as the thread-safety analysis names it
  // for this room.
  Mutex& mu() const RETURN_CAPABILITY(s_.mu) { return s_.mu; }

  // REQUIRES: s and uploader outlive the batcher.
  Batcher(Shared& s, Uploader& uploader);

  // Recovery: a batch of several shards cannot be streamed in parts (one
  // shard's run would have to end first), so when a loaded cut has several
  // shards the re-formed batches are formed whole.
  void FormReplaysWhole() REQUIRES(s_.mu);

  // The lines of one page of `shard`, in order. Lets go of the mutex while
  // their bytes are appended (and compressed); `lines` must not change
  // meanwhile.
  void Add(const std::string& shard, const std::vector<Line>& lines, MonoTime now) REQUIRES(s_.mu);

  // Seals the re-formed batches whose every shard has been read past the
  // cut's range.
  void SealCompleteReplays() REQUIRES(s_.mu);
  // The flush rule's age limit (and max_interval_s = 0: every poll).
  void SealDue(MonoTime now) REQUIRES(s_.mu);
  // Memory pressure: the largest open batches until they hold `target`.
  void SealLargest(uint64_t target) REQUIRES(s_.mu);
  // Lease mode, the lease of `shard` gone: its open and re-formed batches
  // are discarded (nothing of them was journaled; the shard's next owner
  // reads their records again), `cut_keys` being its cuts the journal just
  // forgot. REQUIRES: no poller holds the shard.
  void DropShard(const std::string& shard, const std::vector<std::string>& cut_keys) REQUIRES(s_.mu);
  // Shutdown and drain: every open batch.
  void SealAll(batch::FlushCause cause) REQUIRES(s_.mu);
  // SIGHUP: the flush rule's limits from now on, for the open batches too:
  // those the new limits make due are sealed at once (re-formed batches
  // keep theirs: they are sealed when their cut is complete).
  void SetFlushLimits(const batch::FlushLimits& limits, MonoTime now) REQUIRES(s_.mu);

  uint64_t open_bytes() const REQUIRES(s_.mu) { return buffer_.open_bytes() + replay_.open_bytes(); }
  size_t open_batches() const REQUIRES(s_.mu) { return buffer_.open_batches(); }
  std::optional<MonoTime> OldestLine() const REQUIRES(s_.mu) { return buffer_.OldestLine(); }

 private:
  // Names, journals and queues for upload what a buffer handed back;
  // `replayed` came from the replay buffer.
  void Enqueue(std::vector<batch::SealedBatch>& sealed, bool replayed) REQUIRES(s_.mu);

  Shared& s_;
  Uploader& uploader_;
  const compress::Codec codec_;
  batch::BatchBuffer buffer_ GUARDED_BY(s_.mu);
  // Batches re-formed from journaled cuts after a crash, keyed by cut key.
  // Held the same way as buffer_, so a re-formed batch has the same bytes.
  batch::BatchBuffer replay_ GUARDED_BY(s_.mu);
  std::set<std::string> replays_sealed_ GUARDED_BY(s_.mu);
  std::map<uint64_t, std::string> part_keys_ GUARDED_BY(s_.mu);  // batch id -> key, while streamed in parts
};

}  // namespace shardhose::pipeline

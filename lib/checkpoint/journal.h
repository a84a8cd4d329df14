// File: checkpoint/journal.h
//
// The journal of batch cuts: what makes output exactly-once across crashes.
//
// A *cut* names the records of one batch: its partition, and per shard the
// first and last position of its records (common/seqnum.h: a sequence
// number, or "seq.sub" for a sub-record of a KPL-aggregated record,
// decode/kpl.h; positions order by (seq, sub)). Because there is only ever
// one open batch per partition, the cut determines the batch's content
// exactly: every record of those shards, between first and last, whose
// partition renders to the cut's partition. Batch bodies are canonical
// (batch/batch_buffer.h), so the same cut always gives the same bytes, and
// the object key is derived from the cut, so it gives the same key.
//
// Protocol (pipeline/batcher.cc and pipeline/uploader.cc follow it):
//   1. seal:    a sealed batch's cut is added (uploaded = false);
//   2. journal: the checkpoint holding the cut is written BEFORE the upload
//               starts;
//   3. upload:  PUT under the cut's key; then the cut is marked uploaded
//               and the shards' durable sequence numbers advance;
//   4. prune:   an uploaded cut is dropped once every one of its ranges is at
//               or below its shard's durable sequence (its records will never
//               be read again; a range ending at "seq.sub" is below durable
//               sequence d when seq <= d, because the durable sequence only
//               passes an aggregated record once all of its sub-records are
//               durable, checkpoint/shard_progress.h).
// After a crash the daemon resumes each shard after its durable sequence and
// routes every record it reads again (every sub-record, by its position,
// for an aggregated one) through Match():
//   - in an uploaded cut of its partition -> kSkip: it is already durable;
//   - in a pending cut of its partition   -> kReplay: it joins the re-formed
//     batch of that cut, which is uploaded under the same key once every
//     shard of the cut has been read past its range (if the object exists
//     already, because the crash came after the PUT, it is not written again);
//   - otherwise                            -> kNew: an ordinary open batch (it
//     was in no batch that reached the journal, so no object holds it).
// Every record therefore ends up in exactly one object.
//
// A batch uploaded in parts (a multipart upload, batch/batch_buffer.h
// "Parts") is journaled part by part: its cut is added with the first
// part's range and Extend()ed with each later part, always before that part
// is uploaded. A crash in between leaves a cut ending at the last journaled
// part: after the restart it is re-formed from exactly those lines (and
// completed as an object of its own); the records after it were in no
// journaled part, so they are kNew. The upload the crash left behind never
// completes (nothing is visible until then), and is aborted at start.
//
// Only loaded cuts can match in Match(): a record is never read twice within
// one run -- except in lease mode, where a shard whose lease comes back is
// read again from its lease's position; its cuts are then loaded afresh
// (Load) after DropShard() forgot them.
//
// Thread-safety: not thread-safe; the pipeline holds its mutex.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace shardhose::checkpoint {

class Journal {
 public:
  enum class Route { kNew, kSkip, kReplay };

  // Loads the cuts of the checkpoint a run starts from, or (lease mode) of
  // a shard whose lease this worker just took. REQUIRES: no cut of those
  // shards is in the journal.
  void Load(const std::vector<PendingCut>& cuts);
  // Lease mode: forgets every cut holding records of `shard` (its lease is
  // gone); returns their keys.
  std::vector<std::string> DropShard(const std::string& shard);
  // Whether a cut is journaled under `key`.
  bool Has(const std::string& key) const { return cuts_.count(key) > 0; }

  // Where the record at position `pos` read again goes; for kReplay, *key
  // is the cut's key.
  Route Match(std::string_view partition, std::string_view shard, std::string_view pos, std::string* key) const;

  // Loaded, not yet uploaded cuts (the batches to re-form), by key.
  const std::map<std::string, PendingCut>& replays() const { return replays_; }

  // Step 1: a new cut. Returns the journal version that must be durable in
  // the checkpoint file before the batch is uploaded.
  uint64_t Add(PendingCut cut);
  // A later part of the cut under `key` (not yet uploaded): its range of
  // `shard` now ends at `last`. Returns the version that must be durable
  // before that part is uploaded. REQUIRES: the cut exists and has `shard`.
  uint64_t Extend(const std::string& key, const std::string& shard, const std::string& last);
  // Step 3. No-op for unknown keys.
  void MarkUploaded(const std::string& key);
  // Step 4: drops uploaded cuts that are entirely at or below the durable
  // sequence of their shards. Returns true if any was dropped.
  bool Prune(const std::function<const std::string&(const std::string&)>& durable_seq);

  // Every cut to persist, in a deterministic order (by key).
  std::vector<PendingCut> Entries() const;
  // Increases on every change; a checkpoint written with version V holds
  // every cut added up to V.
  uint64_t version() const { return version_; }
  size_t size() const { return cuts_.size(); }

 private:
  static bool InRange(const PendingCut& cut, std::string_view shard, std::string_view pos);

  std::map<std::string, PendingCut> cuts_;     // every cut, by key
  std::map<std::string, PendingCut> replays_;  // loaded + not uploaded, by key
  // Loaded cuts by partition, for Match().
  std::multimap<std::string, std::string, std::less<>> loaded_by_partition_;
  uint64_t version_ = 0;
};

}  // namespace shardhose::checkpoint

// File: checkpoint/shard_progress.h
//
// Which records of each shard are durable, so that the checkpoint never
// passes one that is not.
//
// Records of a shard are read in sequence order and scattered over many
// open batches (one per partition):
//
//   shard A:  [b7: 100..140] [b9: 141..141] [b7: 142..180]   durable: 99
//
// When batch b9 becomes durable nothing moves (b7 still holds 100..140);
// when b7 becomes durable every record is and the shard's durable sequence
// becomes 180. The durable sequence of a shard is the last record of its
// longest fully-durable prefix: with many open partitions, the point just
// before the lowest record still in a batch that is not durable.
//
// So all that is kept, per shard, is the batches holding its records that
// are not durable yet, in the order of their first record of the shard,
// each with the last whole record read before that first record:
//
//   shard A:  b7 (before: 99), b9 (before: 140)   last read: 180
//
// The durable sequence is the `before` of the first of them, or the last
// record read when there is none. Memory is one entry per open batch (per
// shard), however many records the batches hold -- what lets a batch grow
// to many GiB (batch/batch_buffer.h, "Parts").
//
// KPL aggregation: the unit appended is a change record at a position
// (common/seqnum.h: "seq" or "seq.sub"). The sub-records of one aggregated
// Kinesis record may go to different batches, but the durable sequence
// (what the checkpoint resumes AFTER) is always a whole Kinesis record: it
// passes an aggregated record only once all of its sub-records are durable
// (the caller marks the last unit of each Kinesis record, `ends_record`).
// Until then it stays at the record before, and the sub-records read again
// after a restart are routed by the journal (journal.h).
//
// Thread-safety: not thread-safe; the pipeline holds its mutex.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace shardhose::checkpoint {

class ShardProgress {
 public:
  // Starts tracking `shard` whose records up to `durable_seq` are durable
  // ("" = none). No-op if already tracked.
  void Track(const std::string& shard, std::string durable_seq);
  // Lease mode: forgets `shard` (its lease is gone). Later OnDurable()
  // calls for its batches change nothing; Track() starts it afresh.
  void Untrack(const std::string& shard) { shards_.erase(shard); }

  // Records that the change record at position `pos` of `shard` was
  // appended to `batch_id`; `ends_record`: it is the last (or only) change
  // record of its Kinesis record.
  // REQUIRES: calls for one shard come in position order.
  void OnAppended(const std::string& shard, std::string_view pos, uint64_t batch_id, bool ends_record = true);

  // Records that the change record at `pos` of `shard`, read again after a
  // restart, is durable already (it is in an uploaded cut of the journal).
  void OnSkipped(const std::string& shard, std::string_view pos, bool ends_record = true);

  // Records that `batch_id`, holding records of `shards`, is durable.
  // Returns true if any shard's durable sequence moved.
  bool OnDurable(uint64_t batch_id, const std::vector<std::string>& shards);

  // Last durable sequence of `shard` ("" if none or unknown): a whole
  // Kinesis record, never a position with a sub-sequence.
  const std::string& DurableSeq(const std::string& shard) const;
  // True if every record of `shard` read so far is durable.
  bool AllDurable(const std::string& shard) const;
  // Batches holding records that are not durable yet, summed over shards
  // (a batch counts once per shard it holds records of).
  uint64_t pending_batches() const;

 private:
  struct Pending {
    uint64_t batch_id;
    std::string before;  // last whole Kinesis record read before the batch's first record here
  };
  struct Shard {
    std::string durable;
    std::string last_whole;      // the last whole Kinesis record read ("" = none yet)
    std::list<Pending> pending;  // in the order of their first record of this shard
    std::unordered_map<uint64_t, std::list<Pending>::iterator> by_batch;
  };
  // The durable sequence of `s` as of now; returns true if it moved.
  static bool Advance(Shard& s);
  std::unordered_map<std::string, Shard> shards_;
};

}  // namespace shardhose::checkpoint

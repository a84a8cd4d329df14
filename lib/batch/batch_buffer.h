// File: batch/batch_buffer.h
//
// The newline-framing batch buffer: one open batch per rendered partition
// (the S3 key prefix), each a run of complete lines ending in '\n'. Lines
// are appended in the order given; a batch is sealed (closed to further
// lines and handed back for upload, sealed_batch.h) by the flush rule in
// flush_policy.h, by memory pressure, or on demand.
//
// Every sealed batch carries, per shard, the first and last position of
// its lines: what the object key and the checkpoint are derived from.
//
// A sealed body is canonical: its lines are grouped by shard (shards in
// id order), each shard's lines in the order appended (sequence order).
// So the same records always give the same bytes, however the pollers of
// different shards interleaved: a batch re-formed after a crash is
// byte-identical to the one it replaces.
//
// Held compressed (BodyEncoding::gzip): each shard's lines in an open batch
// are a ShardRun (shard_run.h), compressed in chunks as it grows; only the
// chunk being filled (and the few KiB of history before it) is held
// uncompressed.
//
// Three steps per line, so that no byte is compressed or copied under the
// pipeline's lock (the bookkeeping is; the bytes are not):
//   1. Place()   (locked)   decides the batch: cuts the open batch first if
//                           the line would overflow it, opens one, counts
//                           the line, and returns where it goes (a run);
//   2. run->Append(line)    (unlocked) by the thread that holds the line's
//                           shard: compresses chunks, cuts parts;
//   3. Written() (locked)   takes the run's new parts, and settles a seal
//                           that had to wait for this line.
// A batch sealed (by any rule) while some of its placed lines are not
// written yet is taken out of the open batches at once -- new lines of the
// partition open a new batch -- but handed back by the Written() of its last
// line. So a run is never appended to once its batch is handed back.
// Append() does the three steps in one call (tests, benchmarks).
//
// Parts (BodyEncoding::part_bytes > 0, for objects bigger than is wise to
// hold: the pipeline streams them as a multipart upload): a run cuts its
// finished chunks off as a part whenever they reach part_bytes (shard_run.h),
// and Written() hands each back as SealedBatch::part = 1, 2, ... while the
// batch stays open; sealing then hands back the last part (the rest, the
// final block and the trailer). The parts put together are byte for byte
// the body the batch would have had unsplit, and where they split depends
// only on the shard's lines. REQUIRES: with part_bytes, every batch holds
// one shard (BodyEncoding::per_shard, or re-formed cuts of one shard each).
//
// Memory: open_bytes() is what the open batches (and those waiting for
// their last lines) hold; the caller enforces the global cap (SealLargest)
// and counts sealed batches (SealedBatch::held) until they are durable.
//
// Thread-safety: not thread-safe; the pipeline holds its lock around every
// method. A Placement's run is the one thing used outside it (step 2).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "batch/flush_policy.h"
#include "batch/sealed_batch.h"
#include "batch/shard_run.h"
#include "common/clock.h"

namespace shardhose::batch {

class BatchBuffer {
 private:
  struct Open;
  struct Slot;
  // Looked up by string_view: placing a line allocates nothing.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using OpenMap = std::unordered_map<std::string, std::unique_ptr<Open>, KeyHash, std::equal_to<>>;

 public:
  // Where a placed line goes: its batch, and the run to append it to.
  struct Placement {
    uint64_t batch_id = 0;
    ShardRun* run = nullptr;
    bool opened = false;  // the line opened its batch

   private:
    friend class BatchBuffer;
    Open* batch_ = nullptr;
    Slot* slot_ = nullptr;
  };

  // Batch ids start at `first_id` (two buffers feeding one ShardProgress
  // must not share ids).
  // REQUIRES: encoding.level is a valid chunk level when encoding.gzip.
  explicit BatchBuffer(FlushLimits limits, uint64_t first_id = 1, BodyEncoding encoding = {});
  ~BatchBuffer();
  BatchBuffer(BatchBuffer&&) noexcept;
  BatchBuffer& operator=(BatchBuffer&&) noexcept;

  // Step 1: a line of `line_bytes` (counting its '\n') read from `shard` at
  // `pos` goes to the partition's open batch, opened if needed. Batches
  // sealed as a consequence (the open batch was full before the line, or
  // the line fills it) are appended to *sealed when no line of theirs is
  // still being written (see above). `tag` labels the batch for metrics
  // (the table); a batch whose lines carry different tags is "(mixed)".
  // REQUIRES: steps 2 and 3 follow for every placement, in the order the
  // lines of a shard were placed, by one thread per shard at a time.
  Placement Place(std::string_view partition, std::string_view shard, std::string_view pos, uint64_t line_bytes,
                  MonoTime now, std::vector<SealedBatch>* sealed, std::string_view tag = {});

  // Step 3, after the line was appended to placement.run.
  void Written(const Placement& placement, std::vector<SealedBatch>* sealed);

  // The three steps at once.
  uint64_t Append(std::string_view partition, std::string_view line, std::string_view shard, std::string_view pos,
                  MonoTime now, std::vector<SealedBatch>* sealed, std::string_view tag = {});

  // Seals every batch whose DueCause(now) is not kNone.
  void SealDue(MonoTime now, std::vector<SealedBatch>* sealed);
  // Seals the open batch of `partition`; false if there is none. REQUIRES:
  // not per_shard.
  bool SealPartition(std::string_view partition, FlushCause cause, std::vector<SealedBatch>* sealed);
  // Seals every open batch holding lines of `shard` (lease mode: its lease
  // is gone, and the caller discards them). REQUIRES: per_shard, and no
  // line of `shard` placed and not yet written.
  void SealShard(std::string_view shard, FlushCause cause, std::vector<SealedBatch>* sealed);
  // Seals every open batch with the given cause.
  void SealAll(FlushCause cause, std::vector<SealedBatch>* sealed);
  // Seals the largest open batches (cause kPressure) until the open ones
  // hold at most `target_bytes`.
  void SealLargest(uint64_t target_bytes, std::vector<SealedBatch>* sealed);

  // Bytes held by open batches and by sealed ones waiting for their last lines.
  uint64_t open_bytes() const { return open_bytes_ + closing_bytes_; }
  size_t open_batches() const { return open_.size(); }
  // The time the oldest line still in an open batch was appended.
  std::optional<MonoTime> OldestLine() const;
  const FlushLimits& limits() const { return limits_; }
  // New limits for every batch, open ones included: the next Place(),
  // Written() and SealDue() judge by them (a batch already past a smaller
  // max_bytes or max_records is sealed by the next SealDue). Lines already
  // placed are not moved.
  void SetLimits(const FlushLimits& limits) { limits_ = limits; }

 private:
  // open_'s key: the partition, or with per_shard the partition and shard
  // (in key_, valid until the next call).
  std::string_view OpenKey(std::string_view partition, std::string_view shard);
  // Closes the open batch `it` points to: hands it back now, or once its
  // last placed line is written.
  void Seal(OpenMap::iterator it, FlushCause cause, std::vector<SealedBatch>* sealed);
  SealedBatch HandBack(Open& b);
  // What a batch and its parts share: id, partition, tag, spans.
  SealedBatch Piece(const Open& b) const;

  FlushLimits limits_;
  BodyEncoding encoding_;
  OpenMap open_;
  // OpenKey's buffer.
  std::string key_;
  // The open batch and slot the last Place() put a line in, and their key
  // and shard: the next line of the same partition and shard (most lines,
  // in a stream read in time order) skips both lookups. Cleared by Seal().
  Open* last_open_ = nullptr;
  Slot* last_slot_ = nullptr;
  std::string last_key_, last_shard_;
  std::unordered_map<uint64_t, std::unique_ptr<Open>> closing_;  // sealed, lines pending; by id
  uint64_t open_bytes_ = 0;
  uint64_t closing_bytes_ = 0;
  uint64_t next_id_;
};

}  // namespace shardhose::batch

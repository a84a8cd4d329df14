// File: batch/batch_buffer.h
//
// The newline-framing batch buffer: one open batch per rendered partition
// (the S3 key prefix), each a run of complete lines ending in '\n'. Lines
// are appended in the order given; a batch is sealed (closed to further
// lines and handed back to the caller for upload) by the flush rule in
// flush_policy.h, by memory pressure, or on demand.
//
// Every sealed batch carries, per shard, the first and last sequence number
// of its lines: what the object key and the checkpoint are derived from.
//
// A sealed body is canonical: its lines are grouped by shard (shards in
// id order), each shard's lines in the order appended (sequence order).
// So the same records always give the same bytes, however the pollers of
// different shards interleaved: a batch re-formed after a crash is
// byte-identical to the one it replaces.
//
// Held compressed (BodyEncoding::gzip): each shard's run of lines in an
// open batch is compressed as it grows, in independent chunks of about
// chunk_bytes (compress/gzip_chunks.h); only the chunk being filled is held
// uncompressed. A chunk ends after the line that takes it to chunk_bytes,
// so chunk boundaries, and with them the bytes, depend only on the shard's
// lines. Sealing finishes the last chunks and puts the runs together into
// one gzip member: SealedBatch::body is the object, ready to upload. With
// gzip off, body is the lines themselves.
//
// Parts (BodyEncoding::part_bytes > 0, for objects bigger than is wise to
// hold: the pipeline streams them as a multipart upload): a batch holding
// the lines of a single shard hands back its finished chunks as a part
// (SealedBatch::part = 1, 2, ...; the first starts with the gzip header)
// whenever they reach part_bytes, and stays open; sealing then hands back
// the last part (the rest, the final block and the trailer). The parts put
// together are byte for byte the body the batch would have had unsplit:
// chunk boundaries do not move, and a part always ends at a chunk
// boundary, after a whole line. So where a part ends is decided by the
// shard's lines alone, and a batch re-formed from the same lines splits the
// same way. Only a single shard's run can be streamed (bodies are grouped
// by shard); with BodyEncoding::per_shard every (partition, shard) has its
// own batch, so every batch can be. Without gzip a part is the lines so far
// once they reach part_bytes.
//
// Memory: open_bytes() is what the open batches hold (compressed chunks
// plus uncompressed tails); the caller enforces the global cap
// (SealLargest) and counts sealed batches until they are durable.
//
// Thread-safety: not thread-safe; the pipeline holds one mutex around it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "batch/flush_policy.h"
#include "common/clock.h"

namespace shardhose::batch {

struct ShardSpan {
  std::string first_seq;
  std::string last_seq;
  uint64_t records = 0;
};

// How open batches hold their lines.
struct BodyEncoding {
  bool gzip = false;
  int level = 1;                       // compress/gzip_chunks.h levels
  size_t chunk_bytes = 64 * 1024;      // uncompressed bytes per chunk
  uint64_t part_bytes = 0;             // hand back parts of this many body bytes; 0 = never
  bool per_shard = false;              // one open batch per (partition, shard)
};

struct SealedBatch {
  uint64_t id = 0;                           // unique within the process
  std::string partition;                     // rendered prefix
  std::string key;                           // object key, once decided (pipeline)
  bool replay = false;                       // re-formed from a journaled cut (pipeline)
  std::string tag;                           // see Append()
  uint64_t journal_version = 0;              // checkpoint version that must be durable first
  std::string body;                          // the object (or part): gzip member, or the lines
  // 0: body is the whole object. k >= 1: body is the object's k-th part;
  // last_part says whether the batch is sealed with it. For a part, shards
  // spans the object so far (first line of the batch to last of the part).
  int part = 0;
  bool last_part = true;
  uint64_t bytes = 0;                        // uncompressed bytes of the lines (of this part)
  uint64_t records = 0;                      // (of this part)
  FlushCause cause = FlushCause::kNone;
  MonoTime oldest{};
  std::map<std::string, ShardSpan> shards;   // shard id -> span, sorted
};

class BatchBuffer {
 public:
  // Batch ids start at `first_id` (two buffers feeding one ShardProgress
  // must not share ids).
  // REQUIRES: encoding.level is a valid chunk level when encoding.gzip.
  explicit BatchBuffer(FlushLimits limits, uint64_t first_id = 1, BodyEncoding encoding = {})
      : limits_(limits), encoding_(encoding), next_id_(first_id) {}

  // Appends `line` (which must end in '\n') read from `shard` at `seq` to
  // the partition's open batch, opening one if needed. Batches sealed as a
  // consequence (the open batch was full before the line; or the line
  // filled it) are appended to *sealed. Returns the id of the batch that
  // received the line.
  // `tag` labels the batch for metrics (the table); a batch whose lines
  // carry different tags is tagged "(mixed)".
  uint64_t Append(std::string_view partition, std::string_view line, std::string_view shard,
                  std::string_view seq, MonoTime now, std::vector<SealedBatch>* sealed,
                  std::string_view tag = {});

  // Seals every batch whose DueCause(now) is not kNone.
  void SealDue(MonoTime now, std::vector<SealedBatch>* sealed);
  // Seals the open batch of `partition`, if there is one. REQUIRES: not
  // per_shard.
  std::optional<SealedBatch> SealPartition(std::string_view partition, FlushCause cause);
  // Seals every open batch with the given cause.
  void SealAll(FlushCause cause, std::vector<SealedBatch>* sealed);
  // Seals the largest open batches (cause kPressure) until open_bytes() is
  // at most `target_bytes`.
  void SealLargest(uint64_t target_bytes, std::vector<SealedBatch>* sealed);

  uint64_t open_bytes() const { return open_bytes_; }
  size_t open_batches() const { return open_.size(); }
  // The time the oldest line still in an open batch was appended.
  std::optional<MonoTime> OldestLine() const;
  const FlushLimits& limits() const { return limits_; }

 private:
  struct Part {
    ShardSpan span;
    std::string body;   // gzip: finished chunks; otherwise the lines
    std::string tail;   // gzip: lines not compressed yet
    uint32_t crc = 0;   // gzip: CRC-32 of the lines in body
    uint64_t raw = 0;   // gzip: uncompressed size of the lines in body
  };
  struct Open {
    uint64_t id;
    BatchStats stats;
    std::map<std::string, Part, std::less<>> parts;  // by shard id
    std::string tag;
    std::string partition;
    uint64_t held = 0;  // bytes held: bodies + tails
    int parts_out = 0;  // parts handed back so far
    uint64_t records_out = 0, bytes_out = 0;  // lines in those parts
  };
  using OpenMap = std::unordered_map<std::string, Open>;
  // open_'s key: the partition, or with per_shard the partition and shard.
  std::string OpenKey(std::string_view partition, std::string_view shard) const;
  SealedBatch Seal(OpenMap::iterator it, FlushCause cause);
  // The finished chunks of a single-shard batch as its next part.
  SealedBatch TakePart(Open& b);
  // What Seal() and TakePart() share: id, partition, tag, spans.
  SealedBatch Piece(const Open& b) const;
  // Compresses part.tail into part.body; keeps open_bytes_ in step.
  void FinishChunk(Part& part);

  FlushLimits limits_;
  BodyEncoding encoding_;
  std::string scratch_;  // FinishChunk's compressor output
  OpenMap open_;
  uint64_t open_bytes_ = 0;
  uint64_t next_id_;
};

}  // namespace shardhose::batch

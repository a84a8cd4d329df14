// File: batch/shard_run.h
//
// One shard's run of lines in one open batch, held compressed as it grows
// (batch_buffer.h "Held compressed"): lines are appended in the shard's
// order and, with gzip, compressed in chunks (compress/gzip_chunks.h), each
// chunk after the first with the run's last bytes before it as its history.
// The run holds its tail uncompressed: the next chunk's history, then its
// lines; a chunk ends after the line that takes the tail to chunk_bytes, so
// chunk boundaries and histories -- and with them the bytes -- depend only
// on the run's lines.
//
// held() is the memory the run holds: its finished chunks, parts not taken,
// and its tail's buffer as far as it was ever written -- the tail shrinks to
// the history at each chunk, but the pages it filled stay resident, and with
// thousands of open runs that is most of the memory (bench/README.md,
// "Chunk history").
//
// Parts (BodyEncoding::part_bytes > 0): whenever the finished chunks reach
// part_bytes, they are cut off as a ReadyPart (the first starts with the
// gzip header) and the run goes on. A part always ends at a chunk
// boundary, after a whole line, so where parts split depends only on the
// lines too. Without gzip a part is the lines so far once they reach
// part_bytes.
//
// Ownership and threads: a run is written (Append, Finish) by one thread at
// a time, OUTSIDE the pipeline's lock -- the poller that holds the run's
// shard (poll/shard_set.h hands a shard to one poller at a time), then,
// once the batch is sealed and nobody appends any more, the uploader that
// finishes it (sealed_batch.h). BatchBuffer hands runs out and takes them
// back under the lock and guarantees the two never overlap; the run itself
// takes no lock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "batch/byte_chain.h"

namespace shardhose::batch {

// How open batches hold their lines.
struct BodyEncoding {
  bool gzip = false;
  int level = 1;  // compress/gzip_chunks.h levels
  // The uncompressed tail a run holds at most (history included; plus up to
  // a line): every open (partition, shard) holds one, so 128 KiB would cost
  // +300 MiB of peak RSS draining 1,000 shards (bench/README.md, "Chunk size").
  size_t chunk_bytes = 64 * 1024;
  // Each chunk after a run's first is compressed with the run's last
  // history_bytes (at most chunk_bytes / 2) as its preset dictionary, so the
  // lines at a chunk's start compress as they would in one shot: objects
  // 1.0 % bigger than one-shot igzip instead of 8.0 % (bench/README.md,
  // "Chunk history"; 2 to 8 KiB all do as well). 0: independent chunks.
  size_t history_bytes = 4 * 1024;
  uint64_t part_bytes = 0;  // cut parts of this many body bytes; 0 = never
  bool per_shard = false;   // one open batch per (partition, shard)

  // The history a chunk is given: history_bytes, at most half a chunk (so
  // that every chunk takes at least half a chunk of new lines).
  size_t history() const { return std::min(history_bytes, chunk_bytes / 2); }
};

// A part cut off a run: its body and the lines it ends with.
struct ReadyPart {
  std::string body;      // gzip: header (first part only) + chunks; else the lines
  std::string last_pos;  // position of the part's last line
  uint64_t records = 0;  // lines in the part
  uint64_t bytes = 0;    // their uncompressed bytes
};

class ShardRun {
 public:
  // REQUIRES: encoding.level is a valid chunk level when encoding.gzip.
  explicit ShardRun(const BodyEncoding& encoding) : encoding_(encoding) {}
  ShardRun(const ShardRun&) = delete;
  ShardRun& operator=(const ShardRun&) = delete;

  // Appends `line` (ending in '\n') read at position `pos`.
  void Append(std::string_view line, std::string_view pos);

  // The parts cut since the last call, in order (part_bytes only).
  std::vector<ReadyPart> TakeParts();
  bool has_parts() const { return !ready_.empty(); }

  // Bytes held (see above).
  uint64_t held() const { return held_; }

  // Ends the last chunk and frees the tail. Then body() is the run's
  // finished chunks since the last part (raw deflate, or the lines),
  // crc()/raw() cover every line of the run (parts included), for the
  // member's trailer.
  void Finish();
  ByteChain& body() { return body_; }
  uint32_t crc() const { return crc_; }
  uint64_t raw() const { return raw_; }

 private:
  void FinishChunk();
  void MaybeCutPart();

  BodyEncoding encoding_;
  ByteChain body_;    // gzip: finished chunks; otherwise the lines
  std::string tail_;  // gzip: history_ bytes already compressed, then lines not compressed yet
  size_t history_ = 0;
  size_t tail_written_ = 0;  // the most bytes tail_ ever held (counted in held_)
  uint32_t crc_ = 0;         // gzip: CRC-32 of the lines in finished chunks
  uint64_t raw_ = 0;         // gzip: their uncompressed size
  uint64_t held_ = 0;
  // Lines in body_ since the last part: what a part cut now would hold.
  std::string body_last_pos_;
  uint64_t body_records_ = 0, body_bytes_ = 0;
  // Lines in tail_ (gzip), moving to body_ when the chunk finishes.
  std::string tail_last_pos_;
  uint64_t tail_records_ = 0, tail_bytes_ = 0;
  int parts_cut_ = 0;
  std::vector<ReadyPart> ready_;
};

}  // namespace shardhose::batch

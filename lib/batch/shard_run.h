// File: batch/shard_run.h
//
// One shard's run of lines in one open batch, held compressed as it grows
// (batch_buffer.h "Held compressed"): lines are appended in the shard's
// order and, with gzip, compressed in independent chunks of about
// chunk_bytes (compress/gzip_chunks.h). A chunk ends after the line that
// takes it to chunk_bytes, so chunk boundaries -- and with them the bytes --
// depend only on the run's lines.
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
  // Uncompressed bytes per chunk. 128 KiB would make objects 1.9 % bigger
  // than one-shot igzip instead of 5.3 %, but every open (partition, shard)
  // holds up to a chunk uncompressed: +300 MiB of peak RSS draining 1,000
  // shards (bench/README.md, "Chunk size").
  size_t chunk_bytes = 64 * 1024;
  uint64_t part_bytes = 0;  // cut parts of this many body bytes; 0 = never
  bool per_shard = false;   // one open batch per (partition, shard)
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

  // Bytes held: finished chunks, parts not taken, the uncompressed tail.
  uint64_t held() const { return held_; }

  // Ends the last chunk. Then body() is the run's finished chunks since the
  // last part (raw deflate, or the lines), crc()/raw() cover every line of
  // the run (parts included), for the member's trailer.
  void Finish();
  ByteChain& body() { return body_; }
  uint32_t crc() const { return crc_; }
  uint64_t raw() const { return raw_; }

 private:
  void FinishChunk();
  void MaybeCutPart();

  BodyEncoding encoding_;
  ByteChain body_;    // gzip: finished chunks; otherwise the lines
  std::string tail_;  // gzip: lines not compressed yet
  uint32_t crc_ = 0;  // gzip: CRC-32 of the lines in finished chunks
  uint64_t raw_ = 0;  // gzip: their uncompressed size
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

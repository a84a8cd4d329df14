#include "pipeline/batcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "aws/sigv4.h"
#include "common/kill_point.h"
#include "common/seqnum.h"

namespace shardhose::pipeline {
namespace {

using batch::FlushCause;
using batch::SealedBatch;

// Open batches are held gzip'd as they grow, unless compression is "none".
batch::BodyEncoding Encoding(const config::Config& cfg) {
  batch::BodyEncoding e;
  e.gzip = cfg.output.compression != config::Compression::kNone;
  e.level = static_cast<int>(cfg.output.compression_level);
  e.part_bytes = static_cast<uint64_t>(cfg.batch.part_bytes);
  // Lease mode: an object holds one shard's records, so that its cut lives
  // in that shard's lease alone.
  e.per_shard = e.part_bytes > 0 || cfg.coordination.mode == config::CoordinationMode::kDynamoDb;
  return e;
}

// A re-formed batch is sealed when its cut is complete, never by a limit.
batch::FlushLimits ReplayLimits() { return batch::FlushLimits{~0ull, std::chrono::hours(24 * 365 * 100), 0}; }
constexpr uint64_t kReplayIds = uint64_t{1} << 62;

// Re-formed batches are keyed by their cut (whatever its shards), and split
// into parts as they were the first time.
batch::BodyEncoding ReplayEncoding(const config::Config& cfg) {
  batch::BodyEncoding e = Encoding(cfg);
  e.per_shard = false;
  return e;
}

}  // namespace

batch::FlushLimits FlushLimitsOf(const config::BatchConfig& batch) {
  return batch::FlushLimits{static_cast<uint64_t>(batch.max_bytes), Millis(batch.max_interval_s * 1000),
                            static_cast<uint64_t>(batch.max_records)};
}

std::string ObjectKey(const SealedBatch& b, std::string_view stream, compress::Codec codec, bool parts) {
  std::string ranges;
  for (const auto& [shard, span] : b.shards) {
    ranges += parts ? fmt::format("{}:{}-;", shard, span.first_seq)
                    : fmt::format("{}:{}-{};", shard, span.first_seq, span.last_seq);
  }
  const auto& [first_shard, first_span] = *b.shards.begin();
  std::string_view shard_short = first_shard;
  if (shard_short.rfind("shardId-", 0) == 0) shard_short.remove_prefix(8);
  return fmt::format("{}{}-{}-{}-{}{}", b.partition, stream, shard_short, first_span.first_seq,
                     aws::HexSha256(ranges).substr(0, 12), compress::ObjectSuffix(codec));
}

Batcher::Batcher(Shared& s, Uploader& uploader)
    : s_(s),
      uploader_(uploader),
      codec_(s.cfg.output.compression == config::Compression::kNone ? compress::Codec::kNone : compress::Codec::kGzip),
      buffer_(FlushLimitsOf(s.cfg.batch), 1, Encoding(s.cfg)),
      replay_(ReplayLimits(), kReplayIds, ReplayEncoding(s.cfg)) {}

void Batcher::FormReplaysWhole() {
  batch::BodyEncoding whole = ReplayEncoding(s_.cfg);
  whole.part_bytes = 0;
  replay_ = batch::BatchBuffer(ReplayLimits(), kReplayIds, whole);
}

void Batcher::Add(const std::string& shard, const std::vector<Line>& lines, MonoTime now) {
  // 1. Route and place every line (bookkeeping only).
  struct Placed {
    batch::BatchBuffer::Placement at;  // at.run == nullptr: skipped (durable already)
    bool replay = false;
  };
  std::vector<Placed> placed(lines.size());
  std::vector<SealedBatch> sealed, replayed;
  std::string cut_key;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    switch (s_.journal.Match(l.partition, shard, l.pos, &cut_key)) {
      case checkpoint::Journal::Route::kSkip:  // durable already
        s_.progress.OnSkipped(shard, l.pos, l.ends_record);
        s_.m.records_skipped.Get().Inc();
        break;
      case checkpoint::Journal::Route::kReplay:  // re-forms a journaled batch
        placed[i] = {replay_.Place(cut_key, shard, l.pos, l.text.size(), now, &replayed, l.table), true};
        s_.progress.OnAppended(shard, l.pos, placed[i].at.batch_id, l.ends_record);
        break;
      case checkpoint::Journal::Route::kNew:
        placed[i] = {buffer_.Place(l.partition, shard, l.pos, l.text.size(), now, &sealed, l.table), false};
        s_.progress.OnAppended(shard, l.pos, placed[i].at.batch_id, l.ends_record);
        if (placed[i].at.opened) spdlog::debug("batch opened for {}", l.partition);
        break;
    }
  }
  // 2. The bytes, without the lock: this thread alone holds the shard, so
  // it alone appends to these runs, and their batches are not handed back
  // until step 3.
  {
    MutexUnlock unlocked(&s_.mu);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (placed[i].at.run) placed[i].at.run->Append(lines[i].text, lines[i].pos);
    }
  }
  // 3. Settle: parts cut, seals that waited for these lines.
  for (const Placed& p : placed) {
    if (!p.at.run) continue;
    if (p.replay) {
      replay_.Written(p.at, &replayed);
    } else {
      buffer_.Written(p.at, &sealed);
    }
  }
  buffer_.SealDue(now, &sealed);  // max_interval_s = 0 flushes after every poll
  SHARDHOSE_KILL_POINT("poll.after_batch");
  Enqueue(replayed, true);  // parts of big re-formed batches
  Enqueue(sealed, false);
}

void Batcher::SealCompleteReplays() {
  if (s_.journal.replays().empty()) return;
  std::vector<SealedBatch> sealed;
  for (const auto& [key, cut] : s_.journal.replays()) {
    if (replays_sealed_.count(key)) continue;
    bool complete = true;
    for (const auto& [shard, range] : cut.ranges) {
      const poll::ShardEntry* e = s_.shards.Find(shard);
      const bool passed = !e || e->state == poll::ShardState::kExhausted || e->state == poll::ShardState::kFinished ||
                          (!e->last_read_seq.empty() && CompareSeq(e->last_read_seq, SeqOfPos(range.last)) >= 0);
      if (!passed) {
        complete = false;
        break;
      }
    }
    if (!complete) continue;
    replays_sealed_.insert(key);
    if (!replay_.SealPartition(key, FlushCause::kReplay, &sealed)) {
      spdlog::warn(
          "journaled batch {} could not be re-formed: none of its records could be read again "
          "(past the stream's retention?)",
          key);
    }
  }
  Enqueue(sealed, true);
}

void Batcher::DropShard(const std::string& shard, const std::vector<std::string>& cut_keys) {
  std::vector<SealedBatch> dropped;
  buffer_.SealShard(shard, FlushCause::kShutdown, &dropped);
  for (const std::string& key : cut_keys) {
    replay_.SealPartition(key, FlushCause::kReplay, &dropped);
    replays_sealed_.erase(key);
  }
  for (const SealedBatch& b : dropped) part_keys_.erase(b.id);
  std::erase_if(part_keys_, [&](const auto& entry) {
    return std::find(cut_keys.begin(), cut_keys.end(), entry.second) != cut_keys.end();
  });
  if (!dropped.empty()) {
    spdlog::debug("shard {}: {} open batch(es) dropped with its lease; their records are read again by its next owner",
                  shard, dropped.size());
  }
}

void Batcher::SealDue(MonoTime now) {
  std::vector<SealedBatch> sealed;
  buffer_.SealDue(now, &sealed);
  Enqueue(sealed, false);
}

void Batcher::SealLargest(uint64_t target) {
  std::vector<SealedBatch> sealed;
  buffer_.SealLargest(target, &sealed);
  Enqueue(sealed, false);
}

void Batcher::SealAll(FlushCause cause) {
  std::vector<SealedBatch> sealed;
  buffer_.SealAll(cause, &sealed);
  Enqueue(sealed, false);
}

void Batcher::SetFlushLimits(const batch::FlushLimits& limits, MonoTime now) {
  buffer_.SetLimits(limits);
  SealDue(now);
}

void Batcher::Enqueue(std::vector<SealedBatch>& sealed, bool replayed) {
  uploader_.mu().AssertHeld();
  for (SealedBatch& b : sealed) {
    if (b.last_part) s_.m.flushes.With({batch::FlushCauseName(b.cause)}).Inc();
    if (replayed) {
      // Its partition in the replay buffer is the cut's key; it was
      // journaled by the run that formed it first.
      b.key = b.partition;
      b.partition = s_.journal.replays().at(b.key).partition;
      b.replay = true;
    } else if (b.part <= 1) {  // a whole batch, or the first part of one
      b.key = ObjectKey(b, s_.stream_name, codec_, s_.cfg.batch.part_bytes > 0);
      checkpoint::PendingCut cut;
      cut.partition = b.partition;
      cut.key = b.key;
      for (const auto& [shard, span] : b.shards) cut.ranges[shard] = {span.first_seq, span.last_seq};
      b.journal_version = s_.journal.Add(std::move(cut));
      if (b.part == 1) part_keys_[b.id] = b.key;
      s_.checkpoint_dirty = true;
    } else {  // a later part: the cut now reaches its end
      b.key = part_keys_.at(b.id);
      const auto& [shard, span] = *b.shards.begin();
      b.journal_version = s_.journal.Extend(b.key, shard, span.last_seq);
      if (b.last_part) part_keys_.erase(b.id);
      s_.checkpoint_dirty = true;
    }
    if (b.part == 0) {
      spdlog::debug("flush {} ({}): {} records, {} bytes", b.partition, batch::FlushCauseName(b.cause), b.records,
                    b.bytes);
    } else {
      spdlog::debug("{} {} part {}: {} records, {} bytes", b.last_part ? "flush" : "stream", b.partition, b.part,
                    b.records, b.bytes);
    }
    uploader_.Enqueue(std::move(b));
  }
}

}  // namespace shardhose::pipeline

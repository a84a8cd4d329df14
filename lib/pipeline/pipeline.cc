// The life of a record, top to bottom: Start() sets the stage, then poller
// threads (PollLoop -> PollShard -> Ingest) turn Kinesis pages into lines in
// open batches, uploader threads (UploadLoop -> Upload) make sealed batches
// durable, and the main thread (Run) seals batches by age and pressure,
// refreshes the shard list and writes the checkpoint.
//
// Exactly-once: every sealed batch's cut goes into the journal and the
// checkpoint holding it is written before the batch is uploaded; after a
// crash, records read again are routed by the journal (skip / re-form the
// same batch / new batch). checkpoint/journal.h has the protocol and the
// argument.
//
// Lock order: there is one mutex, mu. Network calls, decoding, compression
// and checkpoint file writes happen outside it; it is held only to move
// records into batches and to update shard, progress and journal state.

#include "pipeline/pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <set>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "aws/sigv4.h"
#include "batch/batch_buffer.h"
#include "checkpoint/journal.h"
#include "checkpoint/shard_progress.h"
#include "common/kill_point.h"
#include "common/seqnum.h"
#include "common/backoff.h"
#include "compress/compress.h"
#include "decode/change_record.h"
#include "decode/kpl.h"
#include "partition/template.h"
#include "upload/multipart.h"
#include "pipeline/pipeline_metrics.h"
#include "poll/shard_set.h"

namespace shardhose::pipeline {
namespace {

using batch::FlushCause;
using batch::SealedBatch;
using poll::IteratorStart;
using poll::IteratorType;
using poll::ShardState;

constexpr Millis kTick{100};

std::string Rfc3339(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return decode::FormatIsoMillis(ms * 1000);
}

int64_t EpochMs(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Open batches are held gzip'd as they grow, unless compression is "none".
batch::BodyEncoding Encoding(const config::Config& cfg) {
  batch::BodyEncoding e;
  e.gzip = cfg.output.compression != config::Compression::kNone;
  e.level = static_cast<int>(cfg.output.compression_level);
  e.part_bytes = static_cast<uint64_t>(cfg.batch.part_bytes);
  e.per_shard = e.part_bytes > 0;
  return e;
}

// The object key of a sealed batch: its partition, then a name that depends
// only on which records it holds (stream, the lowest shard and its first
// position -- "seq", or "seq.sub" for a KPL sub-record -- and a hash of
// every shard's range), so that writing the same records again replaces the
// same object instead of adding a copy. A batch streamed in parts has one
// shard and is named before its end is known: by where it starts.
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

}  // namespace

struct Pipeline::Impl {
  static batch::FlushLimits ReplayLimits() {
    return batch::FlushLimits{~0ull, std::chrono::hours(24 * 365 * 100), 0};
  }
  static constexpr uint64_t kReplayIds = uint64_t{1} << 62;
  // Re-formed batches are keyed by their cut (whatever its shards), and
  // split into parts as they were the first time.
  static batch::BodyEncoding ReplayEncoding(const config::Config& cfg) {
    batch::BodyEncoding e = Encoding(cfg);
    e.per_shard = false;
    return e;
  }

  Impl(config::Config c, Deps d)
      : cfg(std::move(c)),
        deps(d),
        own_registry(d.registry ? nullptr : std::make_unique<metrics::Registry>()),
        m(d.registry ? *d.registry : *own_registry),
        codec(cfg.output.compression == config::Compression::kNone ? compress::Codec::kNone : compress::Codec::kGzip),
        format(cfg.output.format == config::OutputFormat::kRaw ? decode::OutputFormat::kRaw
                                          : decode::OutputFormat::kUnmarshalled),
        buffer(batch::FlushLimits{static_cast<uint64_t>(cfg.batch.max_bytes),
                                  Millis(cfg.batch.max_interval_s * 1000),
                                  static_cast<uint64_t>(cfg.batch.max_records)},
               1, Encoding(cfg)),
        replay_buffer(ReplayLimits(), kReplayIds, ReplayEncoding(cfg)) {
    stream.name = cfg.source.stream_name;
    stream.arn = cfg.source.stream_arn;
  }

  // ---- configuration and collaborators (immutable after Start) ----
  config::Config cfg;
  Deps deps;
  std::unique_ptr<metrics::Registry> own_registry;
  PipelineMetrics m;
  compress::Codec codec;
  decode::OutputFormat format;
  poll::StreamRef stream;
  std::string stream_name;  // display name, used in keys and error lines
  int64_t retention_ms = 24 * 3600 * 1000;  // the stream's retention period
  std::optional<partition::KeyTemplate> record_prefix;
  std::optional<partition::KeyTemplate> error_prefix;
  Stats stats;
  std::unique_ptr<FileLock> checkpoint_lock;  // held from Start() until destruction

  // ---- state below is protected by mu ----
  std::mutex mu;
  std::condition_variable cv;          // any state change the loops wait for
  poll::ShardSet shards;               // GUARDED_BY(mu)
  batch::BatchBuffer buffer;           // GUARDED_BY(mu)
  checkpoint::ShardProgress progress;  // GUARDED_BY(mu)
  checkpoint::Journal journal;         // GUARDED_BY(mu)
  // Batches re-formed from journaled cuts after a crash, keyed by cut key.
  // Held the same way as `buffer`, so a re-formed batch has the same bytes.
  batch::BatchBuffer replay_buffer;  // GUARDED_BY(mu)
  std::set<std::string> replays_sealed;  // GUARDED_BY(mu)
  // Batches being streamed in parts: the key of each (by batch id), and the
  // upload of each (by key; node-stable, used by one uploader at a time).
  struct Streaming {
    Streaming(const std::string& key, upload::ObjectMeta meta) : object(key, std::move(meta)) {}
    upload::MultipartObject object;
    uint64_t records = 0;  // in the parts uploaded
    bool failed = false;   // a part was given up on: the object can never be completed
  };
  std::map<uint64_t, std::string> part_keys;  // GUARDED_BY(mu)
  std::map<std::string, Streaming> streams;   // GUARDED_BY(mu)
  std::set<std::string> uploading;  // keys an uploader holds; GUARDED_BY(mu)
  uint64_t journal_written = 0;        // journal version durable in the file; GUARDED_BY(mu)
  bool checkpoint_writer_busy = false;  // GUARDED_BY(mu)
  std::deque<SealedBatch> upload_queue;  // GUARDED_BY(mu)
  uint64_t in_flight_uploads = 0;      // GUARDED_BY(mu)
  uint64_t sealed_bytes = 0;           // sealed, not yet durable; GUARDED_BY(mu)
  uint64_t polls_in_flight = 0;        // GUARDED_BY(mu)
  bool stop_polling = false;           // GUARDED_BY(mu)
  bool stop_uploading = false;         // GUARDED_BY(mu)
  bool abandon_uploads = false;        // deadline passed; GUARDED_BY(mu)
  bool checkpoint_dirty = false;       // GUARDED_BY(mu)
  bool refresh_shards = false;         // GUARDED_BY(mu)
  checkpoint::Checkpoint last_checkpoint;  // what the file holds; GUARDED_BY(mu)
  std::atomic<bool> stop_requested{false};

  Health GetHealth();
  void UpdateGauges();

  // ---- health, for GetHealth(); protected by mu ----
  bool started = false;                         // GUARDED_BY(mu)
  bool stopping = false;                        // GUARDED_BY(mu)
  MonoTime last_tick{};                         // main loop heartbeat; GUARDED_BY(mu)
  std::vector<MonoTime> poller_busy_since;      // MonoTime{} = idle; GUARDED_BY(mu)
  std::vector<MonoTime> uploader_busy_since;    // GUARDED_BY(mu)
  std::optional<MonoTime> upload_failing_since;  // GUARDED_BY(mu)
  std::string upload_error;                     // GUARDED_BY(mu)
  std::string fatal;                            // why the pipeline stopped itself; GUARDED_BY(mu)
  std::string checkpoint_error;                 // GUARDED_BY(mu)
  std::optional<WallTime> last_upload;          // GUARDED_BY(mu)
  std::optional<WallTime> last_checkpoint_time;  // GUARDED_BY(mu)

  // ---------------------------------------------------------------- start
  Status Start() {
    auto rp = partition::KeyTemplate::Parse(cfg.output.prefix, partition::TemplateKind::kRecord);
    if (!rp.ok()) return rp.status().WithContext("output.prefix");
    auto ep = partition::KeyTemplate::Parse(cfg.output.error_prefix, partition::TemplateKind::kError);
    if (!ep.ok()) return ep.status().WithContext("output.error_prefix");
    record_prefix = std::move(rp).value();
    error_prefix = std::move(ep).value();

    auto file_lock = deps.checkpoint->Lock();
    if (!file_lock.ok()) return file_lock.status();
    checkpoint_lock = std::move(file_lock).value();
    auto loaded = deps.checkpoint->Load();
    if (!loaded.ok()) return loaded.status();
    std::optional<checkpoint::Checkpoint> cp = std::move(loaded).value();

    auto summary = Retry("DescribeStreamSummary", [&] { return deps.kinesis->DescribeStreamSummary(stream); });
    if (!summary.ok()) return summary.status();
    stream_name = summary->name.empty() ? cfg.StreamDisplayName() : summary->name;
    if (summary->retention_hours > 0) retention_ms = summary->retention_hours * 3600 * 1000;
    if (cp) {
      const bool name_differs = !cp->stream_name.empty() && cp->stream_name != stream_name;
      const bool arn_differs = !cp->stream_arn.empty() && !summary->arn.empty() && cp->stream_arn != summary->arn;
      if (name_differs || arn_differs) {
        return Status::FailedPrecondition(fmt::format(
            "checkpoint {} belongs to stream '{}' ({}), not to '{}' ({}); point checkpoint.path "
            "elsewhere or remove the file deliberately",
            deps.checkpoint->path(), cp->stream_name, cp->stream_arn, stream_name, summary->arn));
      }
    }
    auto listed = Retry("ListShards", [&] { return deps.kinesis->ListShards(stream); });
    if (!listed.ok()) return listed.status();

    std::lock_guard<std::mutex> lock(mu);
    last_checkpoint.stream_name = stream_name;
    last_checkpoint.stream_arn = summary->arn;
    if (cp) {
      last_checkpoint.generation = cp->generation;
      journal.Load(cp->pending);
      if (!journal.replays().empty()) {
        spdlog::info("{} batch(es) were being uploaded when the last run stopped; they will be re-formed "
                     "from the same records under the same keys", journal.replays().size());
      }
      // A batch of several shards cannot be streamed in parts (one shard's
      // run would have to end first): one from a run with part_bytes = 0 is
      // re-formed whole.
      for (const auto& [key, cut] : journal.replays()) {
        if (cut.ranges.size() > 1 && cfg.batch.part_bytes > 0) {
          batch::BodyEncoding whole = ReplayEncoding(cfg);
          whole.part_bytes = 0;
          replay_buffer = batch::BatchBuffer(ReplayLimits(), kReplayIds, whole);
          break;
        }
      }
    }
    AbortOrphanedUploads();
    SeedShards(cp, listed.value());
    shards.Activate(deps.clock->Now());
    // Record the resolved start positions (LATEST becomes a timestamp) before
    // reading anything, so a restart starts from the same place.
    checkpoint::Checkpoint snapshot = Snapshot();
    Status st = deps.checkpoint->Save(snapshot);
    if (!st.ok()) return st.WithContext("writing the initial checkpoint");
    last_checkpoint = std::move(snapshot);
    journal_written = journal.version();
    size_t active = 0, waiting = 0, finished = 0;
    for (const auto& [_, e] : shards.entries()) {
      active += e.state == ShardState::kActive;
      waiting += e.state == ShardState::kWaiting;
      finished += e.state == ShardState::kFinished;
    }
    started = true;
    last_tick = deps.clock->Now();
    spdlog::info("stream {} ({}): {} shards, {} active, {} waiting for parents, {} finished; checkpoint {}",
                 stream_name, summary->arn, shards.entries().size(), active, waiting, finished,
                 cp ? "loaded from " + deps.checkpoint->path() : "new at " + deps.checkpoint->path());
    return Status::OK();
  }

  // A crash during a multipart upload leaves it in progress: its parts are
  // invisible, but S3 keeps (and bills) them. Their batches are about to be
  // re-formed and uploaded afresh, so every upload in progress for the key
  // of a batch to re-form is aborted. Best effort: a store that cannot list
  // or abort (s3rver) is said once; a bucket lifecycle rule
  // (AbortIncompleteMultipartUpload) is the backstop. REQUIRES: mu held.
  void AbortOrphanedUploads() {
    for (const auto& [key, cut] : journal.replays()) {
      if (cut.ranges.size() != 1) continue;  // never streamed in parts: one shard per such batch
      auto ids = deps.store->ListMultipart(key);
      if (!ids.ok()) {
        if (ids.status().code() == StatusCode::kFailedPrecondition) {
          spdlog::info("{}: cannot look for multipart uploads left by the last run ({}); a bucket lifecycle "
                       "rule AbortIncompleteMultipartUpload removes any",
                       deps.store->Describe(), ids.status().ToString());
          return;
        }
        spdlog::warn("listing multipart uploads of {} failed ({}); any left by the last run stay until a "
                     "lifecycle rule removes them", key, ids.status().ToString());
        continue;
      }
      for (const std::string& id : *ids) {
        Status st = deps.store->AbortMultipart(key, id);
        if (st.ok()) {
          spdlog::info("aborted multipart upload {} of {}, left by the last run", id, key);
        } else {
          spdlog::warn("aborting multipart upload {} of {} failed ({})", id, key, st.ToString());
        }
      }
    }
  }

  // Decides where every shard starts. REQUIRES: mu held.
  void SeedShards(const std::optional<checkpoint::Checkpoint>& cp, const std::vector<poll::ShardInfo>& listed) {
    std::map<std::string, poll::ShardInfo> by_id;
    for (const auto& s : listed) by_id[s.id] = s;

    if (cp) {
      for (const auto& [id, sc] : cp->shards) {
        poll::ShardInfo info;
        auto it = by_id.find(id);
        if (it != by_id.end()) {
          info = it->second;
        } else {
          if (sc.state != checkpoint::ShardCheckpoint::State::kFinished) {
            spdlog::error("shard {} is in the checkpoint (durable up to '{}') but no longer in the stream: "
                          "its remaining records, if it had any, expired unread and are LOST",
                          id, sc.sequence.empty() ? "nothing" : sc.sequence);
            stats.retention_gaps++;
            m.retention_gaps.With({id}).Inc();
          }
          continue;  // trimmed: forget it
        }
        info.parent = sc.parent.empty() ? info.parent : sc.parent;
        info.adjacent_parent = sc.adjacent_parent.empty() ? info.adjacent_parent : sc.adjacent_parent;
        IteratorStart start;
        start.type = sc.start == checkpoint::ShardCheckpoint::Start::kAtTimestamp ? IteratorType::kAtTimestamp
                                                                                 : IteratorType::kTrimHorizon;
        start.timestamp_ms = sc.start_timestamp_ms;
        const bool finished = sc.state == checkpoint::ShardCheckpoint::State::kFinished;
        shards.Put(info, finished ? ShardState::kFinished : ShardState::kWaiting, start).caught_up_ms =
            sc.caught_up_ms;
        progress.Track(id, sc.sequence);
      }
    }

    // Shards the checkpoint does not know. On a first start they begin at
    // source.initial_position; once a checkpoint exists, any new shard is a
    // child from a reshard and is read from its beginning.
    const int64_t now_ms = EpochMs(deps.clock->WallNow());
    for (const auto& s : listed) {
      if (shards.Find(s.id)) continue;
      IteratorStart start;
      ShardState state = ShardState::kWaiting;
      if (!cp) {
        const auto& pos = cfg.source.initial_position;
        if (pos == config::InitialPosition::kLatest) {
          // LATEST is pinned to a timestamp now, so that a restart before the
          // first record does not skip what arrived in between.
          start.type = IteratorType::kAtTimestamp;
          start.timestamp_ms = now_ms;
          if (s.closed()) state = ShardState::kFinished;  // nothing new will arrive
        } else if (pos == config::InitialPosition::kAtTimestamp) {
          start.type = IteratorType::kAtTimestamp;
          start.timestamp_ms = cfg.source.initial_timestamp_ms;
        }
      }
      shards.Put(s, state, start);
      progress.Track(s.id, "");
    }
  }

  template <typename F>
  auto Retry(std::string_view what, F call) -> decltype(call()) {
    Backoff backoff;
    for (;;) {
      auto r = call();
      if (r.ok() || !r.status().IsRetryable() || stop_requested.load()) return r;
      auto delay = backoff.Next(r.status().retry_class());
      spdlog::warn("{} failed ({}), retrying in {} ms", what, r.status().ToString(), delay.count());
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, delay, [&] { return stop_requested.load(); });
    }
  }

  // ----------------------------------------------------------------- poll
  void PollLoop(size_t index) {
    decode::Decoder decoder(format, stream_name);
    decode::KplSplitter splitter;
    poll::RecordsPage page;
    std::vector<Line> lines;
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      if (stop_polling) break;
      // Backpressure: wait while the buffer is at its cap.
      if (BufferedBytes() >= static_cast<uint64_t>(cfg.batch.max_buffered_bytes)) {
        cv.wait_for(lock, kTick);
        continue;
      }
      MonoTime next_due;
      auto id = shards.Next(deps.clock->Now(), &next_due);
      if (!id) {
        auto wait = std::min<MonoTime::duration>(next_due - deps.clock->Now(), kTick);
        cv.wait_for(lock, std::max<MonoTime::duration>(wait, Millis(1)));
        continue;
      }
      ++polls_in_flight;
      poller_busy_since[index] = deps.clock->Now();
      lock.unlock();
      MonoTime due = PollShard(*id, decoder, splitter, page, lines);
      lock.lock();
      poller_busy_since[index] = MonoTime{};
      --polls_in_flight;
      shards.Release(*id, due);
      cv.notify_all();
    }
  }

  struct Line {
    std::string partition;
    std::string table;
    std::string text;
    std::string pos;          // common/seqnum.h position: "seq", or "seq.sub" for a KPL sub-record
    bool ends_record = true;  // the last line of its Kinesis record
    bool error = false;
  };

  // One GetRecords call on one shard, and its records into batches.
  // Returns when the shard is next due. Called without mu.
  MonoTime PollShard(const std::string& id, decode::Decoder& decoder, decode::KplSplitter& splitter,
                     poll::RecordsPage& page, std::vector<Line>& lines) {
    std::string iterator;
    IteratorStart start;
    bool check_retention = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      poll::ShardEntry* e = shards.Find(id);
      iterator = e->iterator;
      start = e->start;
      const std::string& resume = !e->last_read_seq.empty() ? e->last_read_seq : progress.DurableSeq(id);
      if (!resume.empty()) start = IteratorStart{IteratorType::kAfterSequenceNumber, resume, 0};
      check_retention = !e->retention_checked && e->last_read_seq.empty() && !resume.empty();
    }
    if (iterator.empty() && check_retention) {
      Status st = CheckRetention(id, start.sequence, &start);
      if (!st.ok()) return Failed(id, "GetRecords (trim horizon check)", st);
    }
    if (iterator.empty()) {
      auto it = deps.kinesis->GetShardIterator(stream, id, start);
      if (!it.ok()) return Failed(id, "GetShardIterator", it.status());
      iterator = std::move(it).value();
    }
    Status st = deps.kinesis->GetRecords(stream, iterator, static_cast<int>(cfg.source.max_records_per_call), &page);
    if (!st.ok()) {
      if (st.peer_code() == "ExpiredIteratorException") {
        spdlog::debug("shard {}: iterator expired, acquiring a new one", id);
        std::lock_guard<std::mutex> lock(mu);
        shards.Find(id)->iterator.clear();
        return deps.clock->Now();
      }
      return Failed(id, "GetRecords", st);
    }

    // decode + partition, outside the lock; a KPL aggregate (decode/kpl.h)
    // becomes one line per sub-record
    size_t n = 0;
    decode::DecodedRecord rec;
    std::vector<decode::KplUnit> units;
    uint64_t errors = 0;
    for (const auto& r : page.records) {
      splitter.Split(r, &units);
      for (const decode::KplUnit& u : units) {
        if (u.error.empty()) {
          decoder.Decode(u.view, id, &rec);
        } else {
          decoder.WriteErrorLine(decode::kBadAggregate, u.error, u.view, id, &rec);
        }
        if (n == lines.size()) lines.emplace_back();
        Line& l = lines[n++];
        l.pos.assign(u.position);
        l.ends_record = u.ends_record;
        l.error = !rec.ok;
        l.partition.clear();
        partition::PartitionFields f{rec.table, rec.event_name, stream_name, id, rec.error, rec.event_time_us, r.arrival_ms};
        (rec.ok ? *record_prefix : *error_prefix).Render(f, &l.partition);
        l.text.swap(rec.line);
        l.table = rec.ok ? rec.table : "(errors)";
        if (!rec.ok) {
          ++errors;
          m.error_records.With({rec.error}).Inc();
        }
      }
    }
    lines.resize(n);
    m.records_in.With({id}).Inc(page.records.size());
    m.bytes_in.With({id}).Inc(page.data_bytes / 4 * 3);
    stats.records_in += page.records.size();
    stats.bytes_in += page.data_bytes / 4 * 3;
    stats.error_records += errors;
    spdlog::debug("shard {}: {} records, {} errors, {} ms behind", id, page.records.size(), errors,
                  page.millis_behind);

    // batch, under the lock
    const MonoTime now = deps.clock->Now();
    std::vector<SealedBatch> sealed, replayed;
    std::lock_guard<std::mutex> lock(mu);
    std::string cut_key;
    for (const Line& l : lines) {
      switch (journal.Match(l.partition, id, l.pos, &cut_key)) {
        case checkpoint::Journal::Route::kSkip:  // durable already
          progress.OnSkipped(id, l.pos, l.ends_record);
          stats.records_skipped++;
          m.records_skipped.Get().Inc();
          break;
        case checkpoint::Journal::Route::kReplay:  // re-forms a journaled batch
          progress.OnAppended(id, l.pos, replay_buffer.Append(cut_key, l.text, id, l.pos, now, &replayed, l.table),
                              l.ends_record);
          break;
        case checkpoint::Journal::Route::kNew: {
          const size_t open_before = buffer.open_batches();
          const size_t sealed_before = sealed.size();
          progress.OnAppended(id, l.pos, buffer.Append(l.partition, l.text, id, l.pos, now, &sealed, l.table),
                              l.ends_record);
          if (buffer.open_batches() > open_before || sealed.size() > sealed_before) {
            spdlog::debug("batch opened for {}", l.partition);
          }
          break;
        }
      }
    }
    buffer.SealDue(now, &sealed);  // max_interval_s = 0 flushes after every poll
    SHARDHOSE_KILL_POINT("poll.after_batch");
    poll::ShardEntry* e = shards.Find(id);
    if (!page.records.empty()) e->last_read_seq.assign(page.records.back().sequence_number);
    e->iterator = page.next_iterator;
    e->millis_behind = page.millis_behind;
    e->caught_up = page.records.empty() && page.millis_behind == 0;
    if (e->caught_up && progress.AllDurable(id)) {
      // Remembered (coarsely, to spare checkpoint writes) so that a restart
      // after the retention period can tell an idle shard from lost records.
      const int64_t now_ms = EpochMs(deps.clock->WallNow());
      if (now_ms - e->caught_up_ms >= 60000) {
        e->caught_up_ms = now_ms;
        checkpoint_dirty = true;
      }
    }
    e->backoff.Reset();
    if (page.next_iterator.empty()) {
      e->state = ShardState::kExhausted;
      spdlog::info("shard {} is closed and fully read{}", id,
                   page.child_shards.empty() ? "" : fmt::format("; {} child shard(s)", page.child_shards.size()));
      shards.Merge(page.child_shards, IteratorStart{});
      for (const auto& c : page.child_shards) progress.Track(c.id, "");
      for (const auto& a : shards.Activate(now)) spdlog::info("shard {} starts: its parents are read", a);
      refresh_shards = true;  // learn the children's full details
      checkpoint_dirty = true;
    }
    for (SealedBatch& b : replayed) AdoptReplay(b);  // parts of big re-formed batches
    Enqueue(std::move(replayed));
    Enqueue(std::move(sealed));
    SealCompleteReplays();
    return now + Millis(page.records.empty() ? cfg.source.idle_poll_interval_ms : cfg.source.poll_interval_ms);
  }

  // A shard resumed from a checkpoint: if the stream's retention has passed
  // the checkpoint, the records in between expired unread. Say so loudly,
  // count it, and continue from the oldest record still available (never
  // silently). Called without mu.
  Status CheckRetention(const std::string& id, const std::string& durable, IteratorStart* start) {
    auto it = deps.kinesis->GetShardIterator(stream, id, IteratorStart{IteratorType::kTrimHorizon, "", 0});
    if (!it.ok()) return it.status();
    poll::RecordsPage probe;
    SHARDHOSE_RETURN_IF_ERROR(deps.kinesis->GetRecords(stream, *it, 1, &probe));
    std::lock_guard<std::mutex> lock(mu);
    poll::ShardEntry* e = shards.Find(id);
    e->retention_checked = true;
    if (probe.records.empty()) return Status::OK();
    const std::string oldest(probe.records.front().sequence_number);
    if (CompareSeq(oldest, durable) <= 0) return Status::OK();  // the checkpoint is still readable
    *start = IteratorStart{IteratorType::kAtSequenceNumber, oldest, 0};
    // The checkpointed record itself has expired. Records after it were lost
    // only if they arrived after the shard was last seen caught up and before
    // the trim horizon.
    const int64_t horizon_ms = EpochMs(deps.clock->WallNow()) - retention_ms;
    if (e->caught_up_ms >= horizon_ms) {
      spdlog::info("shard {}: the checkpointed record {} has expired, but the shard was caught up at {} (after the "
                   "trim horizon): nothing was lost; continuing from the oldest record {}",
                   id, durable, decode::FormatIsoMillis(e->caught_up_ms * 1000), oldest);
      return Status::OK();
    }
    stats.retention_gaps++;
    m.retention_gaps.With({id}).Inc();
    spdlog::error("shard {}: the checkpoint (durable through {}) is older than the stream's trim horizon. Every "
                  "record that arrived between {} and {} expired unread and is LOST (Kinesis cannot say how "
                  "many there were). Continuing from the oldest available record {}.",
                  id, durable, e->caught_up_ms ? decode::FormatIsoMillis(e->caught_up_ms * 1000) : "the checkpoint",
                  decode::FormatIsoMillis(horizon_ms * 1000), oldest);
    return Status::OK();
  }

  MonoTime Failed(const std::string& id, std::string_view op, const Status& st) {
    stats.poll_errors++;
    m.CountFailure(op == "GetShardIterator" ? "get_shard_iterator" : "get_records", MetricClass(st), true);
    std::lock_guard<std::mutex> lock(mu);
    poll::ShardEntry* e = shards.Find(id);
    auto delay = e->backoff.Next(st.retry_class());
    if (st.IsRetryable()) {
      spdlog::warn("shard {}: {} failed ({}), retrying in {} ms", id, op, st.ToString(), delay.count());
    } else {
      spdlog::error("shard {}: {} failed ({}), retrying in {} ms", id, op, st.ToString(), delay.count());
    }
    e->iterator.clear();
    // Gone from the stream (a closed shard past retention)? Relist now.
    if (st.peer_code() == "ResourceNotFoundException") refresh_shards = true;
    return deps.clock->Now() + delay;
  }

  // Seals the re-formed batches whose every shard has been read past the
  // cut's range. REQUIRES: mu held.
  void SealCompleteReplays() {
    if (journal.replays().empty()) return;
    std::vector<SealedBatch> sealed;
    for (const auto& [key, cut] : journal.replays()) {
      if (replays_sealed.count(key)) continue;
      bool complete = true;
      for (const auto& [shard, range] : cut.ranges) {
        const poll::ShardEntry* e = shards.Find(shard);
        const bool passed = !e || e->state == ShardState::kExhausted || e->state == ShardState::kFinished ||
                            (!e->last_read_seq.empty() && CompareSeq(e->last_read_seq, SeqOfPos(range.last)) >= 0);
        if (!passed) {
          complete = false;
          break;
        }
      }
      if (!complete) continue;
      replays_sealed.insert(key);
      auto b = replay_buffer.SealPartition(key, FlushCause::kReplay);
      if (!b) {
        spdlog::warn("journaled batch {} could not be re-formed: none of its records could be read again "
                     "(past the stream's retention?)", key);
        continue;
      }
      AdoptReplay(*b);
      sealed.push_back(std::move(*b));
    }
    Enqueue(std::move(sealed));
  }

  // A batch (or part) of replay_buffer, whose partition is the cut's key,
  // takes the cut's key and partition. REQUIRES: mu held.
  void AdoptReplay(SealedBatch& b) {
    b.key = b.partition;
    b.partition = journal.replays().at(b.key).partition;
    b.replay = true;
  }

  static std::string_view MetricClass(const Status& st) {
    return st.retry_class() == RetryClass::kNone ? std::string_view("io") : RetryClassName(st.retry_class());
  }

  // REQUIRES: mu held.
  uint64_t BufferedBytes() const { return buffer.open_bytes() + replay_buffer.open_bytes() + sealed_bytes; }

  // Journals and queues sealed batches for upload. REQUIRES: mu held.
  void Enqueue(std::vector<SealedBatch>&& sealed) {
    for (auto& b : sealed) {
      if (b.last_part) m.flushes.With({batch::FlushCauseName(b.cause)}).Inc();
      if (b.replay) {
        // journaled by the run that formed it first
      } else if (b.part <= 1) {  // a whole batch, or the first part of one
        b.key = ObjectKey(b, stream_name, codec, cfg.batch.part_bytes > 0);
        checkpoint::PendingCut cut;
        cut.partition = b.partition;
        cut.key = b.key;
        for (const auto& [shard, span] : b.shards) cut.ranges[shard] = {span.first_seq, span.last_seq};
        b.journal_version = journal.Add(std::move(cut));
        if (b.part == 1) part_keys[b.id] = b.key;
        checkpoint_dirty = true;
      } else {  // a later part: the cut now reaches its end
        b.key = part_keys.at(b.id);
        const auto& [shard, span] = *b.shards.begin();
        b.journal_version = journal.Extend(b.key, shard, span.last_seq);
        if (b.last_part) part_keys.erase(b.id);
        checkpoint_dirty = true;
      }
      if (b.part == 0) {
        spdlog::debug("flush {} ({}): {} records, {} bytes ({} bytes to upload)", b.partition,
                      batch::FlushCauseName(b.cause), b.records, b.bytes, b.body.size());
      } else {
        spdlog::debug("{} {} part {}: {} records, {} bytes ({} bytes to upload)", b.last_part ? "flush" : "stream",
                      b.partition, b.part, b.records, b.bytes, b.body.size());
      }
      sealed_bytes += b.body.size();
      upload_queue.push_back(std::move(b));
    }
    if (!sealed.empty()) cv.notify_all();
  }

  // --------------------------------------------------------------- upload
  // The parts of one object go up one at a time, in order: an uploader
  // takes the first queued batch whose key no other uploader holds.
  void UploadLoop(size_t index) {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      auto next = upload_queue.end();
      cv.wait(lock, [&] {
        next = std::find_if(upload_queue.begin(), upload_queue.end(),
                            [&](const SealedBatch& q) { return !uploading.count(q.key); });
        return next != upload_queue.end() || (stop_uploading && upload_queue.empty());
      });
      if (next == upload_queue.end()) break;  // stop_uploading and nothing left
      SealedBatch b = std::move(*next);
      upload_queue.erase(next);
      uploading.insert(b.key);
      ++in_flight_uploads;
      uploader_busy_since[index] = deps.clock->Now();
      // Step 2 of the journal protocol: the cut is in the checkpoint file
      // before the upload starts.
      bool durable = false;
      if (EnsureJournaled(lock, b.journal_version)) {
        lock.unlock();
        SHARDHOSE_KILL_POINT("upload.after_journal");
        durable = b.part == 0 ? Upload(b) : UploadPart(b);
        if (durable) SHARDHOSE_KILL_POINT(b.last_part ? "upload.after_put" : "upload.after_part");
        lock.lock();
      }
      --in_flight_uploads;
      uploading.erase(b.key);
      uploader_busy_since[index] = MonoTime{};
      if (!durable && b.part > 0) {
        // Its later parts must not be uploaded in its place: the object
        // is given up, its records stay before the checkpoint.
        auto it = streams.find(b.key);
        if (it != streams.end()) it->second.failed = true;
      }
      if (durable) {
        upload_failing_since.reset();
        upload_error.clear();
        sealed_bytes -= b.body.size();
      }
      if (durable && b.last_part) {
        last_upload = deps.clock->WallNow();
        std::vector<std::string> ids;
        for (const auto& [shard, _] : b.shards) ids.push_back(shard);
        journal.MarkUploaded(b.key);
        progress.OnDurable(b.id, ids);
        checkpoint_dirty = true;
      }
      cv.notify_all();
    }
  }

  // Calls `attempt` until it succeeds (true) or the shutdown deadline
  // abandons the upload (false), backing off between attempts and keeping
  // the health state. Called without mu.
  bool Retry(const std::string& key, uint64_t records, const std::function<Status()>& attempt) {
    Backoff backoff;
    for (;;) {
      Status st = attempt();
      if (st.ok()) return true;
      stats.upload_retries++;
      auto delay = backoff.Next(st.retry_class());
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!upload_failing_since) upload_failing_since = deps.clock->Now();
        upload_error = st.ToString();
      }
      if (st.IsRetryable()) {
        spdlog::warn("upload {} failed ({}), retrying in {} ms", key, st.ToString(), delay.count());
      } else {
        spdlog::error("upload {} failed ({}); will keep retrying in {} ms until it succeeds or shutdown gives up",
                      key, st.ToString(), delay.count());
      }
      std::unique_lock<std::mutex> lock(mu);
      if (cv.wait_for(lock, delay, [&] { return abandon_uploads; })) {
        spdlog::error("giving up on {} ({} records) at the shutdown deadline; its records stay before the "
                      "checkpoint and will be read again on the next start", key, records);
        return false;
      }
    }
  }

  // Uploads one whole batch (its body is the object, compressed as it was
  // buffered), retrying until it is durable or the shutdown deadline
  // abandons it. Called without mu; b.body is not changed.
  bool Upload(const SealedBatch& b) {
    const std::string& key = b.key;
    const std::string& body = b.body;
    upload::ObjectMeta meta = Meta();
    const MonoTime started = deps.clock->Now();
    bool check_exists = b.replay;
    bool found = false;
    const bool ok = Retry(key, b.records, [&]() -> Status {
      if (check_exists) {
        // A re-formed batch whose original upload had completed before the
        // crash: the object is there, with exactly these bytes.
        auto exists = deps.store->Holds(key, body);
        if (!exists.ok()) {
          m.CountFailure("head_object", MetricClass(exists.status()), true);
          return exists.status();
        }
        check_exists = false;
        if (*exists) return (found = true, Status::OK());
      }
      const MonoTime attempt = deps.clock->Now();
      Status st = deps.store->Put(key, body, meta);
      m.upload_seconds.Get().Observe(std::chrono::duration<double>(deps.clock->Now() - attempt).count());
      if (!st.ok()) m.CountFailure("put_object", MetricClass(st), true);
      return st;
    });
    if (!ok) return false;
    if (found) {
      spdlog::info("{} was uploaded before the restart; not writing it again", key);
      stats.replays_found++;
      return true;
    }
    CountUploaded(b, b.records, body.size(), started);
    return true;
  }

  // Uploads one part of a batch streamed as a multipart upload (starting
  // the upload with the first part) and, with the last, completes it: only
  // then is it durable (true). For an intermediate part, true = the part is
  // stored. Called without mu.
  bool UploadPart(const SealedBatch& b) {
    const std::string& key = b.key;
    Streaming* stream;
    {
      std::lock_guard<std::mutex> lock(mu);
      stream = &streams.try_emplace(key, key, Meta()).first->second;
      if (stream->failed) return false;
    }
    upload::MultipartObject* mp = &stream->object;
    const MonoTime started = deps.clock->Now();
    // A part can be empty only as the last of an uncompressed batch whose
    // size limit fell on a part boundary.
    if (!b.body.empty() || mp->parts() == 0) {
      bool vanished = false;
      const bool ok = Retry(key, b.records, [&]() -> Status {
        const MonoTime attempt = deps.clock->Now();
        Status st = mp->AddPart(deps.store, b.body);
        m.upload_seconds.Get().Observe(std::chrono::duration<double>(deps.clock->Now() - attempt).count());
        if (!st.ok()) m.CountFailure("upload_part", MetricClass(st), true);
        if (st.IsNotFound() && mp->parts() > 0) return (vanished = true, Status::OK());
        return st;
      });
      if (vanished) {
        // Aborted behind our back (a lifecycle rule?): the parts sent are
        // gone, and only a restart can read their records again.
        Fatal(fmt::format("the multipart upload of {} is gone (NoSuchUpload; aborted outside shardhose?) with "
                          "{} part(s) sent; stopping so that the next start re-forms it from the stream",
                          key, mp->parts()));
        return false;
      }
      if (!ok) return false;
    }
    stream->records += b.records;
    if (!b.last_part) {
      spdlog::debug("uploaded part {} of {} ({} bytes)", mp->parts(), key, b.body.size());
      return true;
    }
    bool check_exists = b.replay;
    bool found = false;
    const bool ok = Retry(key, b.records, [&]() -> Status {
      if (check_exists) {
        auto exists = deps.store->HoldsDigest(key, mp->digest());
        if (!exists.ok()) {
          m.CountFailure("head_object", MetricClass(exists.status()), true);
          return exists.status();
        }
        check_exists = false;
        if (*exists) return (found = true, Status::OK());
      }
      Status st = mp->Complete(deps.store);
      if (!st.ok()) {
        m.CountFailure("complete_multipart", MetricClass(st), true);
        // The answer to a completion that took effect may have been lost:
        // the upload is then gone, and a retry fails for good.
        check_exists = true;
      }
      return st;
    });
    if (!ok) return false;
    const uint64_t size = mp->digest().size;
    if (found && mp->parts() > 0 && !b.replay) {
      spdlog::info("{} is complete (the answer to an earlier attempt was lost)", key);
      CountUploaded(b, stream->records, size, started);
    } else if (found) {
      spdlog::info("{} was uploaded before the restart; not writing it again", key);
      stats.replays_found++;
      Status st = mp->Abort(deps.store);
      if (!st.ok()) spdlog::warn("aborting the second upload of {} failed ({})", key, st.ToString());
    } else {
      CountUploaded(b, stream->records, size, started);
    }
    std::lock_guard<std::mutex> lock(mu);
    streams.erase(key);
    return true;
  }

  // Stops the daemon with `why` as Run()'s error. Called without mu.
  void Fatal(std::string why) {
    spdlog::error("{}", why);
    std::lock_guard<std::mutex> lock(mu);
    if (fatal.empty()) fatal = std::move(why);
    stop_requested = true;
    cv.notify_all();
  }

  upload::ObjectMeta Meta() const {
    upload::ObjectMeta meta;
    meta.content_encoding = std::string(compress::ContentEncoding(codec));
    return meta;
  }

  void CountUploaded(const SealedBatch& b, uint64_t records, uint64_t size, MonoTime started) {
    stats.objects_out++;
    stats.records_out += records;
    stats.bytes_out += size;
    m.objects_out.With({b.tag}).Inc();
    m.records_out.With({b.tag}).Inc(records);
    m.bytes_out.With({b.tag}).Inc(size);
    spdlog::debug("uploaded {} ({} records, {} bytes, {} ms)", b.key, records, size,
                  std::chrono::duration_cast<Millis>(deps.clock->Now() - started).count());
  }

  // ----------------------------------------------------------- checkpoint
  // The checkpoint as of now. REQUIRES: mu held.
  checkpoint::Checkpoint Snapshot() {
    checkpoint::Checkpoint cp;
    cp.stream_name = last_checkpoint.stream_name;
    cp.stream_arn = last_checkpoint.stream_arn;
    cp.generation = last_checkpoint.generation + 1;
    cp.written_at = Rfc3339(deps.clock->WallNow());
    journal.Prune([this](const std::string& shard) -> const std::string& { return progress.DurableSeq(shard); });
    cp.pending = journal.Entries();
    for (auto& [id, e] : shards.entries()) {
      checkpoint::ShardCheckpoint sc;
      if (e.state == ShardState::kExhausted && progress.AllDurable(id)) {
        shards.Find(id)->state = ShardState::kFinished;
      }
      sc.state = e.state == ShardState::kFinished ? checkpoint::ShardCheckpoint::State::kFinished
                                                  : checkpoint::ShardCheckpoint::State::kOpen;
      sc.sequence = progress.DurableSeq(id);
      sc.start = e.start.type == IteratorType::kAtTimestamp ? checkpoint::ShardCheckpoint::Start::kAtTimestamp
                                                            : checkpoint::ShardCheckpoint::Start::kTrimHorizon;
      sc.start_timestamp_ms = e.start.type == IteratorType::kAtTimestamp ? e.start.timestamp_ms : 0;
      sc.parent = e.info.parent;
      sc.adjacent_parent = e.info.adjacent_parent;
      sc.caught_up_ms = e.caught_up_ms;
      cp.shards.emplace(id, std::move(sc));
    }
    return cp;
  }

  // Writes the checkpoint as of now, unless it would be unchanged. One
  // writer at a time. REQUIRES: lock holds mu; it is released around the
  // file write. Returns false if the write failed (it is retried later).
  bool WriteCheckpoint(std::unique_lock<std::mutex>& lock) {
    cv.wait(lock, [&] { return !checkpoint_writer_busy; });
    checkpoint_dirty = false;
    checkpoint::Checkpoint cp = Snapshot();
    const uint64_t version = journal.version();
    if (cp.shards == last_checkpoint.shards && cp.pending == last_checkpoint.pending) {
      journal_written = std::max(journal_written, version);
      return true;
    }
    checkpoint_writer_busy = true;
    lock.unlock();
    SHARDHOSE_KILL_POINT("checkpoint.before_write");
    Status st = deps.checkpoint->Save(cp);
    lock.lock();
    checkpoint_writer_busy = false;
    cv.notify_all();
    if (!st.ok()) {
      spdlog::error("writing checkpoint failed, will retry: {}", st.ToString());
      checkpoint_error = st.ToString();
      checkpoint_dirty = true;
      m.CountFailure("checkpoint_write", "io", true);
      return false;
    }
    checkpoint_error.clear();
    last_checkpoint_time = deps.clock->WallNow();
    stats.checkpoints_written++;
    m.checkpoint_writes.Get().Inc();
    spdlog::debug("checkpoint generation {} written ({} journaled batches)", cp.generation, cp.pending.size());
    journal_written = std::max(journal_written, version);
    last_checkpoint = std::move(cp);
    return true;
  }

  void MaybeWriteCheckpoint(std::unique_lock<std::mutex>& lock) {
    if (checkpoint_dirty) (void)WriteCheckpoint(lock);
  }

  // Blocks until the checkpoint file holds journal version `version`,
  // writing it if needed. False if uploads are abandoned first.
  // REQUIRES: lock holds mu.
  bool EnsureJournaled(std::unique_lock<std::mutex>& lock, uint64_t version) {
    while (journal_written < version) {
      if (abandon_uploads) return false;
      if (!WriteCheckpoint(lock)) cv.wait_for(lock, std::chrono::seconds(1), [&] { return abandon_uploads; });
    }
    return true;
  }

  // ------------------------------------------------------------------ run
  Status Run(bool drain) {
    std::vector<std::thread> pollers, uploaders;
    {
      std::lock_guard<std::mutex> lock(mu);
      poller_busy_since.assign(static_cast<size_t>(cfg.source.poll_threads), MonoTime{});
      uploader_busy_since.assign(static_cast<size_t>(cfg.output.upload_threads), MonoTime{});
    }
    for (size_t i = 0; i < poller_busy_since.size(); ++i) pollers.emplace_back([this, i] { PollLoop(i); });
    for (size_t i = 0; i < uploader_busy_since.size(); ++i) uploaders.emplace_back([this, i] { UploadLoop(i); });

    MonoTime next_refresh = deps.clock->Now() + std::chrono::seconds(cfg.source.shard_refresh_s);
    std::optional<MonoTime> capped_since;
    MonoTime last_cap_warning{};
    const uint64_t cap = static_cast<uint64_t>(cfg.batch.max_buffered_bytes);
    bool drained = false;
    {
      std::unique_lock<std::mutex> lock(mu);
      for (;;) {
        cv.wait_for(lock, kTick);
        if (stop_requested.load()) break;
        const MonoTime now = deps.clock->Now();
        last_tick = now;
        std::vector<SealedBatch> sealed;
        buffer.SealDue(now, &sealed);
        if (BufferedBytes() >= cap) {
          // Said once when it starts, then every 30 s while it lasts.
          if (!capped_since || now - last_cap_warning >= std::chrono::seconds(30)) {
            spdlog::warn("buffer at its cap ({} bytes open, {} bytes uploading{}): flushing the largest batches "
                         "early, polling paused until uploads catch up",
                         buffer.open_bytes(), sealed_bytes,
                         upload_error.empty() ? "" : "; uploads failing: " + upload_error);
            last_cap_warning = now;
          }
          if (!capped_since) capped_since = now;
          buffer.SealLargest(cap / 4, &sealed);
        } else if (capped_since) {
          spdlog::info("buffer below its cap again after {} s; polling resumes",
                       std::chrono::duration_cast<std::chrono::seconds>(now - *capped_since).count());
          capped_since.reset();
        }
        Enqueue(std::move(sealed));
        MaybeWriteCheckpoint(lock);
        if (refresh_shards || now >= next_refresh) {
          refresh_shards = false;
          next_refresh = now + std::chrono::seconds(cfg.source.shard_refresh_s);
          lock.unlock();
          auto listed = deps.kinesis->ListShards(stream);
          lock.lock();
          if (listed.ok()) {
            for (const auto& id : shards.Merge(listed.value(), IteratorStart{})) {
              progress.Track(id, "");
              spdlog::info("new shard {}", id);
              checkpoint_dirty = true;
            }
            for (const auto& id : shards.ExpireUnlisted(listed.value())) {
              spdlog::error("shard {} was closed and has left the stream (past its retention) before it was read "
                            "to its end: its remaining records expired unread and are LOST; its children start now",
                            id);
              stats.retention_gaps++;
              m.retention_gaps.With({id}).Inc();
              checkpoint_dirty = true;
            }
            shards.Activate(deps.clock->Now());
          } else {
            spdlog::warn("ListShards failed ({}), will retry", listed.status().ToString());
          }
        }
        if (drain && polls_in_flight == 0 && shards.AllCaughtUp() && !refresh_shards) {
          drained = true;
          break;
        }
      }
    }
    if (drained) spdlog::info("every shard is caught up; flushing");
    return Shutdown(drain && drained, pollers, uploaders);
  }

  Status Shutdown(bool drained, std::vector<std::thread>& pollers, std::vector<std::thread>& uploaders) {
    const MonoTime deadline = deps.clock->Now() + std::chrono::seconds(cfg.shutdown.grace_period_s);
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
      stop_polling = true;
      cv.notify_all();
    }
    for (auto& t : pollers) t.join();

    std::unique_lock<std::mutex> lock(mu);
    std::vector<SealedBatch> sealed;
    buffer.SealAll(drained ? FlushCause::kDrain : FlushCause::kShutdown, &sealed);
    Enqueue(std::move(sealed));
    while (!upload_queue.empty() || in_flight_uploads > 0) {
      last_tick = deps.clock->Now();
      MaybeWriteCheckpoint(lock);
      if (deps.clock->Now() >= deadline) break;
      cv.wait_for(lock, kTick);
    }
    const uint64_t left = upload_queue.size() + in_flight_uploads;
    abandon_uploads = true;
    stop_uploading = true;
    upload_queue.clear();
    cv.notify_all();
    lock.unlock();
    for (auto& t : uploaders) t.join();
    lock.lock();
    // Shards whose last poll was at the tip and whose records are now all
    // durable were caught up as of now.
    const int64_t now_ms = EpochMs(deps.clock->WallNow());
    for (const auto& [id, e] : shards.entries()) {
      if (e.caught_up && progress.AllDurable(id)) shards.Find(id)->caught_up_ms = now_ms;
    }
    checkpoint_dirty = true;
    MaybeWriteCheckpoint(lock);
    const bool checkpoint_ok = !checkpoint_dirty;
    spdlog::info("stopped: {} records in ({} to the error prefix), {} objects / {} records / {} bytes out, "
                 "{} upload retries, {} poll errors",
                 stats.records_in.load(), stats.error_records.load(), stats.objects_out.load(),
                 stats.records_out.load(), stats.bytes_out.load(), stats.upload_retries.load(),
                 stats.poll_errors.load());
    if (!fatal.empty()) return Status::FailedPrecondition(fatal);
    if (left > 0) {
      return Status::Unavailable(fmt::format(
          "shutdown deadline ({} s) passed with {} batch(es) not uploaded; the checkpoint covers only "
          "durable records, which will be read again on the next start",
          cfg.shutdown.grace_period_s, left));
    }
    if (!checkpoint_ok) return Status::IOError("the final checkpoint could not be written");
    return Status::OK();
  }
};

Health Pipeline::GetHealth() const { return impl_->GetHealth(); }

Health Pipeline::Impl::GetHealth() {
  Impl& p = *this;
  std::lock_guard<std::mutex> lock(p.mu);
  Health h;
  const MonoTime now = p.deps.clock->Now();
  h.started = p.started;
  h.stopping = p.stopping || p.stop_requested.load();
  // Liveness: the main loop ticks every 100 ms; a poll or upload call is
  // bounded by its HTTP timeout (plus signing, decoding and compressing).
  const auto poll_limit = std::chrono::seconds(60) + std::chrono::milliseconds(30000);
  const auto upload_limit = std::chrono::seconds(p.cfg.output.upload_timeout_s) + std::chrono::seconds(60);
  bool alive = p.started && now - p.last_tick < std::chrono::seconds(5);
  for (MonoTime t : p.poller_busy_since) alive = alive && (t == MonoTime{} || now - t < poll_limit);
  for (MonoTime t : p.uploader_busy_since) alive = alive && (t == MonoTime{} || now - t < upload_limit);
  h.alive = alive;
  if (p.upload_failing_since && now - *p.upload_failing_since >= std::chrono::seconds(10)) {
    h.stalled = fmt::format("uploads failing for {} s: {}",
                            std::chrono::duration_cast<std::chrono::seconds>(now - *p.upload_failing_since).count(),
                            p.upload_error);
  } else if (!p.checkpoint_error.empty()) {
    h.stalled = "checkpoint write failing: " + p.checkpoint_error;
  } else if (p.BufferedBytes() >= static_cast<uint64_t>(p.cfg.batch.max_buffered_bytes)) {
    h.stalled = fmt::format("buffer at its cap ({} bytes): polling paused until uploads catch up",
                            p.cfg.batch.max_buffered_bytes);
  }
  for (const auto& [id, e] : p.shards.entries()) {
    h.shards++;
    h.shards_active += e.state == ShardState::kActive;
    h.shards_finished += e.state == ShardState::kFinished || e.state == ShardState::kExhausted;
    if (e.state == ShardState::kActive) h.max_millis_behind = std::max(h.max_millis_behind, e.millis_behind);
    h.shard_list.push_back({id, std::string(poll::ShardStateName(e.state)), p.progress.DurableSeq(id), e.millis_behind});
  }
  h.buffered_bytes = p.BufferedBytes();
  h.open_batches = p.buffer.open_batches();
  h.last_upload = p.last_upload;
  h.last_checkpoint = p.last_checkpoint_time;
  if (auto oldest = p.buffer.OldestLine()) {
    h.oldest_buffered_age_s = std::chrono::duration<double>(now - *oldest).count();
  }
  return h;
}

// The gauges, at every scrape.
void Pipeline::Impl::UpdateGauges() {
  Health h = GetHealth();
  const WallTime now = deps.clock->WallNow();
  for (const auto& s : h.shard_list) {
    if (s.millis_behind >= 0) m.behind_latest_seconds.With({s.id}).Set(static_cast<double>(s.millis_behind) / 1000.0);
  }
  std::map<std::string, int> by_state;
  for (std::string_view st : {"waiting", "active", "exhausted", "finished"}) by_state[std::string(st)] = 0;
  for (const auto& s : h.shard_list) by_state[s.state]++;
  for (const auto& [state, n] : by_state) m.shards.With({state}).Set(n);
  m.oldest_buffered_age_seconds.Get().Set(h.oldest_buffered_age_s);
  m.buffered_bytes.Get().Set(static_cast<double>(h.buffered_bytes));
  m.open_batches.Get().Set(static_cast<double>(h.open_batches));
  m.checkpoint_age_seconds.Get().Set(
      h.last_checkpoint ? std::chrono::duration<double>(now - *h.last_checkpoint).count() : 0.0);
}

std::string Health::Summary(WallTime now) const {
  std::string s = fmt::format("{} shards ({} active)", shards, shards_active);
  if (max_millis_behind >= 0) s += fmt::format(", {:.1f} s behind", static_cast<double>(max_millis_behind) / 1000.0);
  s += fmt::format(", {:.1f} MiB buffered", static_cast<double>(buffered_bytes) / (1 << 20));
  if (last_upload) {
    s += fmt::format(", last upload {} s ago", std::chrono::duration_cast<std::chrono::seconds>(now - *last_upload).count());
  } else {
    s += ", no upload yet";
  }
  if (!stalled.empty()) s += "; STALLED: " + stalled;
  return s;
}

Pipeline::Pipeline(config::Config config, Deps deps)
    : impl_(std::make_unique<Impl>(std::move(config), deps)) {
  Impl* impl = impl_.get();
  (deps.registry ? *deps.registry : *impl->own_registry).OnExpose([impl] { impl->UpdateGauges(); });
}
Pipeline::~Pipeline() = default;
Status Pipeline::Start() { return impl_->Start(); }
Status Pipeline::Run(bool drain) { return impl_->Run(drain); }
void Pipeline::Stop() {
  impl_->stop_requested = true;
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cv.notify_all();
}
const Stats& Pipeline::stats() const { return impl_->stats; }

}  // namespace shardhose::pipeline

// File: pipeline/reader.h
//
// Reading shards: source.poll_threads poller threads take due shards from
// the ShardSet (poll/shard_set.h: one poller per shard at a time, parents
// before children), read one page from the ChangeSource (poll/change_source.h),
// decode each record into a line (decode/; a KPL aggregate becomes one line
// per sub-record), render its partition (partition/), and hand the page's
// lines to the Batcher. Decoding and rendering run without the shared
// mutex; so do the network calls.
//
// Each shard resumes after its last record read in this process or, at
// first, after its durable position; a resumed position past the stream's
// trim horizon is reported as a loss (never silently), found by a
// TRIM_HORIZON read at the shard's first poll or, DynamoDB Streams, by
// GetShardIterator's TrimmedDataAccessException; reading continues from
// the oldest record.
// Failures back off per shard; an expired (or, DynamoDB Streams, trimmed)
// iterator is simply renewed. Each shard's entry
// keeps since when it has gone without a successful read and the last
// failure since then (poll::ShardEntry::unread_since, last_error), from
// which health.cc tells a stalled shard and estimates its lag. A closed shard read to
// its end becomes exhausted and its children start.
//
// Backpressure: a poller waits while the buffered bytes (open batches plus
// sealed ones not yet durable) are at batch.max_buffered_bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "decode/change_record.h"
#include "decode/kpl.h"
#include "partition/render_cache.h"
#include "partition/template.h"
#include "pipeline/batcher.h"
#include "pipeline/shared.h"
#include "poll/change_source.h"

namespace shardhose::pipeline {

class ShardReader {
 public:
  // The shared mutex (shared.h), as the thread-safety analysis names it
  // for this room.
  Mutex& mu() const RETURN_CAPABILITY(s_.mu) { return s_.mu; }

  // `buffered` is what counts against batch.max_buffered_bytes, called with
  // the mutex held. REQUIRES: every argument outlives the reader.
  ShardReader(Shared& s, poll::ChangeSource* source, Batcher& batcher, std::function<uint64_t()> buffered);

  // The partition templates; kInvalidArgument naming the key.
  Status Init();

  void Start(size_t threads) EXCLUDES(s_.mu);
  // Stops taking shards, and joins the pollers once their pages are in.
  void Stop() EXCLUDES(s_.mu);
  // No page being read or batched.
  bool Idle() const REQUIRES(s_.mu) { return polls_in_flight_ == 0; }
  // Per poller: since when it has been in one poll (MonoTime{} = idle).
  const std::vector<MonoTime>& busy_since() const REQUIRES(s_.mu) { return busy_since_; }

  int64_t retention_ms() const { return retention_ms_; }
  void set_retention_ms(int64_t ms) { retention_ms_ = ms; }

 private:
  // What one poller thread reuses from poll to poll.
  struct Scratch {
    decode::Decoder decoder;
    decode::KplSplitter splitter;
    poll::RecordsPage page;
    std::vector<Line> lines;
    partition::RenderCache record_prefix;  // of record_prefix_ / error_prefix_
    partition::RenderCache error_prefix;
  };

  void Loop(size_t index) EXCLUDES(s_.mu);
  // One GetRecords on one shard, its records into batches. Returns when
  // the shard is next due.
  MonoTime PollShard(const std::string& id, Scratch& scratch) EXCLUDES(s_.mu);
  // A shard resumed from a checkpoint: compares its position with the
  // trim horizon, and says so loudly if records expired unread.
  Status CheckRetention(const std::string& id, const std::string& durable, poll::IteratorStart* start) EXCLUDES(s_.mu);
  // Says that shard `id`'s position `durable` has expired: a loss (logged
  // as an error and counted in retention_gaps) unless the shard was caught
  // up after the trim horizon. `from` is where reading continues.
  void ReportExpired(const std::string& id, const std::string& durable, const std::string& from) REQUIRES(s_.mu);
  // DynamoDB Streams answered TrimmedDataAccessException to an iterator
  // from `start` (GetShardIterator, or that iterator's first GetRecords).
  // From a sequence number: the position expired (reported once, see
  // ReportExpired), reading goes on from TRIM_HORIZON. At the trim horizon
  // (or LATEST): NothingReadable. Returns when to poll the shard next.
  MonoTime Trimmed(const std::string& id, const poll::IteratorStart& start) EXCLUDES(s_.mu);
  // Every record of the shard has expired. Reports the loss of what
  // followed the shard's position (once; no position, nothing to report);
  // a closed shard then ends (its children start), an open one counts as
  // an empty poll. Returns when to poll the shard next.
  MonoTime NothingReadable(const std::string& id) EXCLUDES(s_.mu);
  // The shard is read to its end: exhausted (checkpointed as finished once
  // durable); outside lease mode its `children` are tracked and activated.
  void Ended(const std::string& id, const std::vector<poll::ShardInfo>& children, MonoTime now) REQUIRES(s_.mu);
  // Counts and logs a failed call; returns when to try the shard again.
  MonoTime Failed(const std::string& id, std::string_view op, const Status& st) EXCLUDES(s_.mu);
  // scratch.page's records as scratch.lines (decode + partition), without
  // the lock.
  void Decode(const std::string& id, Scratch& scratch);

  Shared& s_;
  poll::ChangeSource* const source_;
  Batcher& batcher_;
  const std::function<uint64_t()> buffered_;
  std::optional<partition::KeyTemplate> record_prefix_;  // set by Init()
  std::optional<partition::KeyTemplate> error_prefix_;
  int64_t retention_ms_ = 24 * 3600 * 1000;  // set at start, then read-only

  std::vector<std::thread> threads_;
  bool stop_ GUARDED_BY(s_.mu) = false;
  uint64_t polls_in_flight_ GUARDED_BY(s_.mu) = 0;
  std::vector<MonoTime> busy_since_ GUARDED_BY(s_.mu);
};

}  // namespace shardhose::pipeline

#include "pipeline/reader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/logging.h"
#include "common/seqnum.h"

namespace shardhose::pipeline {
namespace {

using poll::IteratorStart;
using poll::IteratorType;
using poll::ShardState;

constexpr Millis kTick{100};
using poll::kQuietCaughtUp;

int64_t EpochMs(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Without MillisBehindLatest: the age of the page's last record (its
// ApproximateCreationDateTime: whole seconds, so up to a second more), 0
// once caught up, else what it was.
int64_t EstimateBehind(const poll::RecordsPage& page, bool caught_up, int64_t before, int64_t now_ms) {
  if (caught_up) return 0;
  if (page.records.empty() || page.records.back().arrival_ms <= 0) return before;
  return std::max<int64_t>(0, now_ms - page.records.back().arrival_ms);
}

// DynamoDB Streams: the position asked for is older than the trim horizon.
bool IsTrimmed(const Status& st) { return st.peer_code() == "TrimmedDataAccessException"; }

std::string_view MetricClass(const Status& st) {
  return st.retry_class() == RetryClass::kNone ? std::string_view("io") : RetryClassName(st.retry_class());
}

}  // namespace

ShardReader::ShardReader(Shared& s, poll::ChangeSource* source, Batcher& batcher, std::function<uint64_t()> buffered)
    : s_(s), source_(source), batcher_(batcher), buffered_(std::move(buffered)) {}

Status ShardReader::Init() {
  auto rp = partition::KeyTemplate::Parse(s_.cfg.output.prefix, partition::TemplateKind::kRecord);
  if (!rp.ok()) return rp.status().WithContext("output.prefix");
  auto ep = partition::KeyTemplate::Parse(s_.cfg.output.error_prefix, partition::TemplateKind::kError);
  if (!ep.ok()) return ep.status().WithContext("output.error_prefix");
  record_prefix_ = std::move(rp).value();
  error_prefix_ = std::move(ep).value();
  return Status::OK();
}

void ShardReader::Start(size_t threads) {
  {
    MutexLock lock(&s_.mu);
    busy_since_.assign(threads, MonoTime{});
  }
  for (size_t i = 0; i < threads; ++i) threads_.push_back(StartParticipant(s_.clock, [this, i] { Loop(i); }));
}

void ShardReader::Stop() {
  {
    MutexLock lock(&s_.mu);
    stop_ = true;
    s_.cv.NotifyAll();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ShardReader::Loop(size_t index) {
  // A DynamoDB stream's records are JSON and name no table: the stream's
  // name is its table's (poll/dynamodb_streams_source.h).
  const bool streams = source_->format() == poll::RecordFormat::kDynamoDbStreams;
  Scratch scratch{
      decode::Decoder(s_.cfg.output.format == config::OutputFormat::kRaw ? decode::OutputFormat::kRaw
                                                                         : decode::OutputFormat::kUnmarshalled,
                      s_.stream_name, streams ? decode::InputFormat::kStreamsRecord : decode::InputFormat::kKinesisData,
                      s_.stream_name),
      decode::KplSplitter(/*aggregation=*/!streams),
      {},
      {},
      partition::RenderCache(&*record_prefix_),
      partition::RenderCache(&*error_prefix_)};
  MutexLock lock(&s_.mu);
  while (!stop_) {
    // Backpressure: wait while the buffer is at its cap.
    if (buffered_() >= static_cast<uint64_t>(s_.cfg.batch.max_buffered_bytes)) {
      s_.clock->WaitFor(&s_.cv, &s_.mu, kTick);
      continue;
    }
    MonoTime next_due;
    auto id = s_.shards.Next(s_.clock->Now(), &next_due);
    if (!id) {
      const MonoTime now = s_.clock->Now();
      s_.clock->WaitUntil(&s_.cv, &s_.mu, std::clamp(next_due, now + Millis(1), now + kTick));
      continue;
    }
    ++polls_in_flight_;
    busy_since_[index] = s_.clock->Now();
    MonoTime due;
    {
      MutexUnlock unlocked(&s_.mu);
      due = PollShard(*id, scratch);
    }
    busy_since_[index] = MonoTime{};
    --polls_in_flight_;
    s_.shards.Release(*id, due);
    s_.cv.NotifyAll();
  }
}

MonoTime ShardReader::PollShard(const std::string& id, Scratch& scratch) {
  poll::RecordsPage& page = scratch.page;
  std::string iterator;
  IteratorStart start;
  bool check_retention = false;
  {
    MutexLock lock(&s_.mu);
    poll::ShardEntry* e = s_.shards.Find(id);
    if (e->unread_since == MonoTime{}) e->unread_since = s_.clock->Now();  // first attempt
    iterator = e->iterator;
    start = e->start;
    const std::string& resume = !e->last_read_seq.empty() ? e->last_read_seq : s_.progress.DurableSeq(id);
    if (e->past_trim_horizon) {
      start = IteratorStart{IteratorType::kTrimHorizon, "", 0};
    } else if (!resume.empty()) {
      start = IteratorStart{IteratorType::kAfterSequenceNumber, resume, 0};
    }
    check_retention = !e->retention_checked && e->last_read_seq.empty() && !resume.empty();
  }
  if (iterator.empty() && check_retention) {
    Status st = CheckRetention(id, start.sequence, &start);
    if (IsTrimmed(st)) return NothingReadable(id);
    if (!st.ok()) return Failed(id, "GetRecords (trim horizon check)", st);
  }
  // DynamoDB Streams answers TrimmedDataAccessException where Kinesis
  // starts at the oldest record: to GetShardIterator, or (DynamoDB Local)
  // to the first GetRecords of the iterator.
  const bool fresh = iterator.empty();
  if (fresh) {
    auto it = source_->GetShardIterator(id, start);
    if (!it.ok() && IsTrimmed(it.status())) return Trimmed(id, start);
    if (!it.ok()) return Failed(id, "GetShardIterator", it.status());
    iterator = std::move(it).value();
  }
  Status st = source_->GetRecords(iterator, static_cast<int>(s_.cfg.source.max_records_per_call), &page);
  if (!st.ok()) {
    if (fresh && IsTrimmed(st)) return Trimmed(id, start);
    // An iterator past its time, or (DynamoDB Streams) whose record was
    // trimmed before it was used: a new one, from the position.
    if (st.peer_code() == "ExpiredIteratorException" || IsTrimmed(st)) {
      spdlog::debug("shard {}: iterator {}, acquiring a new one", id,
                    st.peer_code() == "ExpiredIteratorException" ? "expired" : "trimmed");
      MutexLock lock(&s_.mu);
      s_.shards.Find(id)->iterator.clear();
      return s_.clock->Now();
    }
    return Failed(id, "GetRecords", st);
  }
  Decode(id, scratch);

  const MonoTime now = s_.clock->Now();
  MutexLock lock(&s_.mu);
  batcher_.mu().AssertHeld();
  batcher_.Add(id, scratch.lines, now);  // lets go of the lock while the bytes are appended
  poll::ShardEntry* e = s_.shards.Find(id);
  if (!page.records.empty()) {
    e->last_read_seq.assign(page.records.back().sequence_number);
    e->past_trim_horizon = false;
  }
  e->iterator = page.next_iterator;
  e->millis_behind = page.millis_behind;
  e->unread_since = now;
  e->last_read = s_.clock->WallNow();
  e->last_error.clear();
  if (!page.records.empty()) {
    e->empty_since.reset();
  } else if (!e->empty_since) {
    e->empty_since = now;
  }
  // Without MillisBehindLatest (DynamoDB Streams), an empty answer is no
  // proof: the API may answer empty pages before a part that holds records.
  // Caught up is polls that stay empty for a quiet period.
  e->caught_up = page.records.empty() &&
                 (page.millis_behind == 0 || (page.millis_behind < 0 && now - *e->empty_since >= kQuietCaughtUp));
  if (page.millis_behind < 0) {
    e->millis_behind = EstimateBehind(page, e->caught_up, e->millis_behind, EpochMs(s_.clock->WallNow()));
  }
  if (e->caught_up && s_.progress.AllDurable(id)) {
    // Remembered (coarsely, to spare checkpoint writes) so that a restart
    // after the retention period can tell an idle shard from lost records.
    const int64_t now_ms = EpochMs(s_.clock->WallNow());
    if (now_ms - e->caught_up_ms >= 60000) {
      e->caught_up_ms = now_ms;
      s_.checkpoint_dirty = true;
    }
  }
  e->backoff.Reset();
  if (page.next_iterator.empty()) {
    LogInfo(fmt::format("shard {} is closed and fully read{}", id,
                        page.child_shards.empty() ? "" : fmt::format("; {} child shard(s)", page.child_shards.size())),
            {{"shard", id}, {"children", page.child_shards.size()}});
    Ended(id, page.child_shards, now);
  }
  batcher_.SealCompleteReplays();
  return now + Millis(page.records.empty() ? s_.cfg.source.idle_poll_interval_ms : s_.cfg.source.poll_interval_ms);
}

void ShardReader::Ended(const std::string& id, const std::vector<poll::ShardInfo>& children, MonoTime now) {
  s_.shards.Find(id)->state = ShardState::kExhausted;
  if (!s_.leased) {  // lease mode: children are leases of their own
    s_.shards.Merge(children, IteratorStart{});
    for (const auto& c : children) s_.progress.Track(c.id, "");
    for (const auto& a : s_.shards.Activate(now)) {
      LogInfo(fmt::format("shard {} starts: its parents are read", a), {{"shard", a}});
    }
    s_.refresh_shards = true;  // learn the children's full details
  }
  s_.checkpoint_dirty = true;
}

MonoTime ShardReader::Trimmed(const std::string& id, const IteratorStart& start) {
  if (start.type != IteratorType::kAfterSequenceNumber && start.type != IteratorType::kAtSequenceNumber) {
    return NothingReadable(id);
  }
  // The position is older than the trim horizon: on from TRIM_HORIZON.
  // (CheckRetention's probe reported it already when it chose an
  // AT_SEQUENCE_NUMBER; DynamoDB Streams may answer that probe with an
  // empty page, as it may any first page.)
  MutexLock lock(&s_.mu);
  poll::ShardEntry* e = s_.shards.Find(id);
  if (start.type == IteratorType::kAfterSequenceNumber && !e->past_trim_horizon) {
    ReportExpired(id, start.sequence, "the oldest available record");
  }
  e->past_trim_horizon = true;
  e->iterator.clear();
  return s_.clock->Now();
}

MonoTime ShardReader::NothingReadable(const std::string& id) {
  const MonoTime now = s_.clock->Now();
  MutexLock lock(&s_.mu);
  poll::ShardEntry* e = s_.shards.Find(id);
  const std::string durable = !e->last_read_seq.empty() ? e->last_read_seq : s_.progress.DurableSeq(id);
  if (!durable.empty() && !e->past_trim_horizon) {
    ReportExpired(id, durable,
                  e->info.closed() ? "its child shards (every record of this closed shard has expired)"
                                   : "the records written from now on (every record in the shard has expired)");
  }
  e->past_trim_horizon = true;
  e->retention_checked = true;
  e->iterator.clear();
  e->unread_since = now;
  e->last_error.clear();
  e->backoff.Reset();
  if (e->info.closed()) {
    // Closed and empty for good: its children (found by the next listing,
    // the API names none here) are read next.
    LogInfo(fmt::format("shard {} is closed and every record in it has expired: nothing left to read", id),
            {{"shard", id}});
    Ended(id, {}, now);
    return now;
  }
  // Open, yet nothing in it readable: as an empty page. Records written
  // from now on are read from TRIM_HORIZON.
  if (!e->empty_since) e->empty_since = now;
  e->caught_up = now - *e->empty_since >= kQuietCaughtUp;
  e->millis_behind = e->caught_up ? 0 : e->millis_behind;
  return now + Millis(s_.cfg.source.idle_poll_interval_ms);
}

void ShardReader::Decode(const std::string& id, Scratch& scratch) {
  const poll::RecordsPage& page = scratch.page;
  std::vector<Line>& lines = scratch.lines;
  size_t n = 0;
  uint64_t errors = 0;
  decode::DecodedRecord rec;
  std::vector<decode::KplUnit> units;
  const bool streams = source_->format() == poll::RecordFormat::kDynamoDbStreams;
  for (const auto& r : page.records) {
    scratch.splitter.Split(r, &units);
    for (const decode::KplUnit& u : units) {
      if (u.error.empty()) {
        scratch.decoder.Decode(u.view, id, &rec);
      } else {
        scratch.decoder.WriteErrorLine(decode::kBadAggregate, u.error, u.view, id, &rec);
      }
      if (n == lines.size()) lines.emplace_back();
      Line& l = lines[n++];
      l.pos.assign(u.position);
      l.ends_record = u.ends_record;
      l.error = !rec.ok;
      partition::PartitionFields f{rec.table, rec.event_name,    s_.stream_name, id,
                                   rec.error, rec.event_time_us, r.arrival_ms};
      l.partition.assign((rec.ok ? scratch.record_prefix : scratch.error_prefix).Render(f));
      l.text.swap(rec.line);
      l.table = rec.ok ? rec.table : "(errors)";
      if (!rec.ok) {
        ++errors;
        s_.m.error_records.With({rec.error}).Inc();
      }
    }
  }
  lines.resize(n);
  s_.m.records_in.With({id}).Inc(page.records.size());
  s_.m.bytes_in.With({id}).Inc(streams ? page.data_bytes : page.data_bytes / 4 * 3);
  spdlog::debug("shard {}: {} records, {} errors, {} ms behind", id, page.records.size(), errors, page.millis_behind);
}

Status ShardReader::CheckRetention(const std::string& id, const std::string& durable, IteratorStart* start) {
  auto it = source_->GetShardIterator(id, IteratorStart{IteratorType::kTrimHorizon, "", 0});
  if (!it.ok()) return it.status();
  poll::RecordsPage probe;
  SHARDHOSE_RETURN_IF_ERROR(source_->GetRecords(*it, 1, &probe));
  MutexLock lock(&s_.mu);
  poll::ShardEntry* e = s_.shards.Find(id);
  e->retention_checked = true;
  if (probe.records.empty()) return Status::OK();
  const std::string oldest(probe.records.front().sequence_number);
  if (CompareSeq(oldest, durable) <= 0) return Status::OK();  // the checkpoint is still readable
  *start = IteratorStart{IteratorType::kAtSequenceNumber, oldest, 0};
  ReportExpired(id, durable, "the oldest available record " + oldest);
  return Status::OK();
}

void ShardReader::ReportExpired(const std::string& id, const std::string& durable, const std::string& from) {
  const poll::ShardEntry* e = s_.shards.Find(id);
  // The resumed record itself has expired. Records after it were lost only
  // if they arrived after the shard was last seen caught up and before the
  // trim horizon.
  const int64_t horizon_ms = EpochMs(s_.clock->WallNow()) - retention_ms_;
  if (e->caught_up_ms >= horizon_ms) {
    spdlog::info(
        "shard {}: the checkpointed record {} has expired, but the shard was caught up at {} (after the "
        "trim horizon): nothing was lost; continuing from {}",
        id, durable, decode::FormatIsoMillis(e->caught_up_ms * 1000), from);
    return;
  }
  s_.m.retention_gaps.With({id}).Inc();
  spdlog::error(
      "shard {}: the checkpoint (durable through {}) is older than the stream's trim horizon. Every "
      "record that arrived between {} and {} expired unread and is LOST (the stream cannot say how "
      "many there were). Continuing from {}.",
      id, durable, e->caught_up_ms ? decode::FormatIsoMillis(e->caught_up_ms * 1000) : "the checkpoint",
      decode::FormatIsoMillis(horizon_ms * 1000), from);
}

MonoTime ShardReader::Failed(const std::string& id, std::string_view op, const Status& st) {
  s_.m.CountFailure(op == "GetShardIterator" ? "get_shard_iterator" : "get_records", MetricClass(st), true);
  MutexLock lock(&s_.mu);
  poll::ShardEntry* e = s_.shards.Find(id);
  auto delay = e->backoff.Next(st.retry_class());
  LogWithFields(st.IsRetryable() ? spdlog::level::warn : spdlog::level::err, "poll failed, backing off",
                {{"shard", id},
                 {"op", op},
                 {"aws_code", st.peer_code()},
                 {"cause", ShortCause(st)},
                 {"retry_in_ms", static_cast<int64_t>(delay.count())}});
  e->iterator.clear();
  e->last_error = fmt::format("{} failed: {}", op, st.ToString());
  // Gone from the stream (a closed shard past retention)? Relist now.
  if (st.peer_code() == "ResourceNotFoundException") s_.refresh_shards = true;
  return s_.clock->Now() + delay;
}

}  // namespace shardhose::pipeline

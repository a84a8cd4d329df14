#include "pipeline/recovery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

#include "common/backoff.h"
#include "common/logging.h"

namespace shardhose::pipeline {
namespace {

using poll::IteratorStart;
using poll::IteratorType;
using poll::ShardState;

int64_t EpochMs(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// What a person can do about a failure at start that retrying cannot fix,
// by the AWS error code; "" if there is nothing specific to say.
std::string StartHint(const Status& st) {
  const std::string& code = st.peer_code();
  if (code == "ResourceNotFoundException") {
    return "the stream does not exist for these credentials in this region: check source.stream_name (or "
           "stream_arn), source.region and source.endpoint_url";
  }
  if (code.starts_with("AccessDenied")) {
    return "the credentials may not read the stream: allow kinesis:DescribeStreamSummary, kinesis:ListShards, "
           "kinesis:GetShardIterator and kinesis:GetRecords on it (with consumer = \"efo\" also "
           "kinesis:RegisterStreamConsumer, kinesis:DescribeStreamConsumer and kinesis:SubscribeToShard)";
  }
  if (code == "UnrecognizedClientException" || code == "InvalidClientTokenId") {
    return "AWS does not know the access key: check AWS_ACCESS_KEY_ID / AWS_PROFILE / the role, and that "
           "source.region and source.endpoint_url belong to the key's account";
  }
  if (code == "InvalidSignatureException" || code == "SignatureDoesNotMatch" ||
      code == "IncompleteSignatureException") {
    return "the request signature was rejected: the secret access key does not match the access key id "
           "(or something between shardhose and the endpoint rewrites requests)";
  }
  if (st.code() == StatusCode::kPermissionDenied) {
    return "the credentials were refused: check them and the IAM policy for the stream";
  }
  return "";
}

}  // namespace

template <typename F>
auto Recovery::Retry(std::string_view what, F call) -> decltype(call()) {
  Backoff backoff;
  std::optional<MonoTime> failing_since;
  const auto give_up = std::chrono::seconds(s_.cfg.source.drain_give_up_after_s);
  for (;;) {
    auto r = call();
    if (r.ok() || !r.status().IsRetryable() || s_.stop_requested.load()) {
      MutexLock lock(&s_.mu);
      s_.start_problem.clear();
      if (!r.ok() && !r.status().IsRetryable()) {
        const std::string hint = StartHint(r.status());
        if (!hint.empty()) return Status(r.status().code(), r.status().message() + "; " + hint);
      }
      return r;
    }
    const MonoTime now = s_.clock->Now();
    if (!failing_since) failing_since = now;
    const auto failing_s = std::chrono::duration_cast<std::chrono::seconds>(now - *failing_since).count();
    if (s_.drain && give_up.count() > 0 && now - *failing_since >= give_up) {
      return Status::Unavailable(
          fmt::format("{} has failed for {} s, giving up (run --drain, "
                      "source.drain_give_up_after_s = {}): {}",
                      what, failing_s, give_up.count(), r.status().ToString()));
    }
    auto delay = backoff.Next(r.status().retry_class());
    LogWarn(fmt::format("{} failed, retrying", what), {{"aws_code", r.status().peer_code()},
                                                       {"cause", ShortCause(r.status())},
                                                       {"retry_in_ms", static_cast<int64_t>(delay.count())}});
    MutexLock lock(&s_.mu);
    s_.start_problem =
        fmt::format("{} failing{}: {}", what, failing_s > 0 ? fmt::format(" for {} s", failing_s) : std::string(),
                    r.status().ToString());
    MonoTime until = s_.clock->Now() + delay;
    if (s_.drain && give_up.count() > 0) until = std::min(until, *failing_since + give_up);  // give up on time
    while (!s_.stop_requested.load() && s_.clock->Now() < until) s_.clock->WaitUntil(&s_.cv, &s_.mu, until);
  }
}

Status Recovery::Run() {
  // 1. The checkpoint.
  SHARDHOSE_RETURN_IF_ERROR(store_->Acquire());
  std::optional<checkpoint::Checkpoint> cp;
  if (!s_.leased) {  // lease mode: each shard's position comes with its lease (Pipeline::AddShard)
    auto loaded = store_->Load();
    if (!loaded.ok()) return loaded.status();
    cp = std::move(loaded).value();
  }

  // 2. The stream.
  auto summary = Retry("DescribeStreamSummary", [&] { return source_->Describe(); });
  if (!summary.ok()) return summary.status();
  s_.stream_name = summary->name.empty() ? s_.cfg.StreamDisplayName() : summary->name;
  if (summary->retention_hours > 0) reader_.set_retention_ms(summary->retention_hours * 3600 * 1000);
  if (cp) {
    const bool name_differs = !cp->stream_name.empty() && cp->stream_name != s_.stream_name;
    const bool arn_differs = !cp->stream_arn.empty() && !summary->arn.empty() && cp->stream_arn != summary->arn;
    if (name_differs || arn_differs) {
      // A table's stream disabled and enabled again is a new stream of the
      // same table: say so, and how to go on.
      const bool new_table_stream = source_->format() == poll::RecordFormat::kDynamoDbStreams && !name_differs;
      return Status::FailedPrecondition(fmt::format(
          "checkpoint {} belongs to stream '{}' ({}), not to '{}' ({}); point checkpoint.path "
          "elsewhere or remove the file deliberately{}",
          store_->Describe(), cp->stream_name, cp->stream_arn, s_.stream_name, summary->arn,
          new_table_stream
              ? fmt::format(". The table's stream was disabled and enabled again: `shardhose checkpoint reset` "
                            "moves this checkpoint aside (the next start reads the new stream from "
                            "source.initial_position); to read what is left of the old stream first (24 hours), "
                            "run with source.stream_arn = \"{}\" until drained",
                            cp->stream_arn)
              : ""));
    }
  }
  if (s_.leased) {
    MutexLock lock(&s_.mu);
    checkpointer_.mu().AssertHeld();
    checkpointer_.Begin(std::nullopt, s_.stream_name, summary->arn);
    spdlog::info("stream {} ({}): reading the shards whose leases this worker holds", s_.stream_name, summary->arn);
    return Status::OK();
  }
  auto listed = Retry("ListShards", [&] { return source_->ListShards(); });
  if (!listed.ok()) return listed.status();

  // 3. The journal of the last run.
  std::vector<std::string> streamed_keys;  // cuts that may have been streamed in parts
  {
    MutexLock lock(&s_.mu);
    checkpointer_.mu().AssertHeld();
    batcher_.mu().AssertHeld();
    checkpointer_.Begin(cp, s_.stream_name, summary->arn);
    if (cp) {
      s_.journal.Load(cp->pending);
      if (!s_.journal.replays().empty()) {
        spdlog::info(
            "{} batch(es) were being uploaded when the last run stopped; they will be re-formed "
            "from the same records under the same keys",
            s_.journal.replays().size());
      }
      bool several_shards = false;
      for (const auto& [key, cut] : s_.journal.replays()) {
        if (cut.ranges.size() == 1) {
          streamed_keys.push_back(key);  // only one shard's batch is ever streamed in parts
        } else {
          several_shards = true;
        }
      }
      // A cut of several shards from a run with part_bytes = 0 is re-formed whole.
      if (several_shards && s_.cfg.batch.part_bytes > 0) batcher_.FormReplaysWhole();
    }
  }
  AbortOrphanedUploads(objects_, streamed_keys);

  // 4. Where every shard starts; 5. the initial checkpoint.
  MutexLock lock(&s_.mu);
  checkpointer_.mu().AssertHeld();
  SeedShards(cp, listed.value());
  s_.shards.Activate(s_.clock->Now());
  SHARDHOSE_RETURN_IF_ERROR(checkpointer_.WriteInitial());
  size_t active = 0, waiting = 0, finished = 0;
  for (const auto& [_, e] : s_.shards.entries()) {
    active += e.state == ShardState::kActive;
    waiting += e.state == ShardState::kWaiting;
    finished += e.state == ShardState::kFinished;
  }
  spdlog::info("stream {} ({}): {} shards, {} active, {} waiting for parents, {} finished; checkpoint {}",
               s_.stream_name, summary->arn, s_.shards.entries().size(), active, waiting, finished,
               cp ? "loaded from " + store_->Describe() : "new at " + store_->Describe());
  return Status::OK();
}

// A crash during a multipart upload leaves it in progress: its parts are
// invisible, but S3 keeps (and bills) them. Their batches are about to be
// re-formed and uploaded afresh, so every upload in progress for the key
// of a batch to re-form is aborted. Best effort: a store that cannot list
// or abort (s3rver) is said once.
void AbortOrphanedUploads(upload::ObjectStore* objects, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    auto ids = objects->ListMultipart(key);
    if (!ids.ok()) {
      if (ids.status().code() == StatusCode::kFailedPrecondition) {
        spdlog::info(
            "{}: cannot look for multipart uploads left by the last run ({}); a bucket lifecycle "
            "rule AbortIncompleteMultipartUpload removes any",
            objects->Describe(), ids.status().ToString());
        return;
      }
      spdlog::warn(
          "listing multipart uploads of {} failed ({}); any left by the last run stay until a "
          "lifecycle rule removes them",
          key, ids.status().ToString());
      continue;
    }
    for (const std::string& id : *ids) {
      Status st = objects->AbortMultipart(key, id);
      if (st.ok()) {
        spdlog::info("aborted multipart upload {} of {}, left by the last run", id, key);
      } else {
        spdlog::warn("aborting multipart upload {} of {} failed ({})", id, key, st.ToString());
      }
    }
  }
}

void Recovery::SeedShards(const std::optional<checkpoint::Checkpoint>& cp, const std::vector<poll::ShardInfo>& listed) {
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
          spdlog::error(
              "shard {} is in the checkpoint (durable up to '{}') but no longer in the stream: "
              "its remaining records, if it had any, expired unread and are LOST",
              id, sc.sequence.empty() ? "nothing" : sc.sequence);
          s_.m.retention_gaps.With({id}).Inc();
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
      s_.shards.Put(info, finished ? ShardState::kFinished : ShardState::kWaiting, start).caught_up_ms =
          sc.caught_up_ms;
      s_.progress.Track(id, sc.sequence);
    }
  }

  // Shards the checkpoint does not know. On a first start they begin at
  // source.initial_position; once a checkpoint exists, any new shard is a
  // child from a reshard and is read from its beginning.
  const int64_t now_ms = EpochMs(s_.clock->WallNow());
  for (const auto& s : listed) {
    if (s_.shards.Find(s.id)) continue;
    IteratorStart start;
    ShardState state = ShardState::kWaiting;
    if (!cp) {
      const auto& pos = s_.cfg.source.initial_position;
      if (pos == config::InitialPosition::kLatest) {
        // LATEST is pinned to a timestamp now, so that a restart before the
        // first record does not skip what arrived in between.
        start.type = IteratorType::kAtTimestamp;
        start.timestamp_ms = now_ms;
        if (s.closed()) state = ShardState::kFinished;  // nothing new will arrive
      } else if (pos == config::InitialPosition::kAtTimestamp) {
        start.type = IteratorType::kAtTimestamp;
        start.timestamp_ms = s_.cfg.source.initial_timestamp_ms;
      }
    }
    s_.shards.Put(s, state, start);
    s_.progress.Track(s.id, "");
  }
}

}  // namespace shardhose::pipeline

#include "pipeline/uploader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/backoff.h"
#include "common/kill_point.h"
#include "common/logging.h"

namespace shardhose::pipeline {
namespace {

upload::ObjectMeta Meta(const config::Config& cfg) {
  upload::ObjectMeta meta;
  meta.content_encoding = std::string(compress::ContentEncoding(
      cfg.output.compression == config::Compression::kNone ? compress::Codec::kNone : compress::Codec::kGzip));
  return meta;
}

std::string_view MetricClass(const Status& st) {
  return st.retry_class() == RetryClass::kNone ? std::string_view("io") : RetryClassName(st.retry_class());
}

double Seconds(MonoTime::duration d) { return std::chrono::duration<double>(d).count(); }

// The S3 operation a store error names first ("PutObject s3://..."), or "".
std::string_view OperationOf(const Status& st) {
  std::string_view m = st.message();
  const size_t end = m.find_first_of(" :");
  m = m.substr(0, end);
  for (char c : m) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return {};
  }
  return m;
}

}  // namespace

Uploader::Uploader(Shared& s, upload::ObjectStore* store, Checkpointer& checkpointer)
    : s_(s), store_(store), checkpointer_(checkpointer), meta_(Meta(s.cfg)) {}

std::string StaticPrefix(const std::string& prefix_template) {
  return prefix_template.substr(0, prefix_template.find('{'));
}

bool Uploader::ConditionalWrites() const { return s_.cfg.output.conditional_writes == config::ConditionalWrites::kOn; }

std::string PermanentErrorHint(const Status& st, const config::Config& cfg) {
  const std::string& code = st.peer_code();
  const std::string objects = "arn:aws:s3:::" + cfg.output.bucket + "/" + StaticPrefix(cfg.output.prefix) + "*";
  if (code == "NoSuchBucket") return "create bucket " + cfg.output.bucket + " or fix output.bucket/output.region";
  if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidClientTokenId") {
    return "the AWS credentials are wrong: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile or role";
  }
  if (code.starts_with("KMS") || code == "KMS.AccessDeniedException") {
    return "grant kms:GenerateDataKey and kms:Decrypt on the key of output.sse_kms_key_id";
  }
  if (code.starts_with("AccessDenied") || st.code() == StatusCode::kPermissionDenied) {
    return "grant s3:PutObject and s3:AbortMultipartUpload on " + objects + " (deploy/iam-policy.json)";
  }
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    return "output.region is not the bucket's region";
  }
  return "check the output configuration and the IAM policy (README, IAM)";
}

void Uploader::Enqueue(batch::SealedBatch b) {
  sealed_bytes_ += b.held;
  queue_.push_back(std::move(b));
  s_.cv.NotifyAll();
}

void Uploader::Start(size_t threads) {
  {
    MutexLock lock(&s_.mu);
    state_.busy_since.assign(threads, MonoTime{});
  }
  for (size_t i = 0; i < threads; ++i) threads_.push_back(StartParticipant(s_.clock, [this, i] { Loop(i); }));
}

void Uploader::Stop(bool abandon) {
  {
    MutexLock lock(&s_.mu);
    stop_ = true;
    if (abandon) {
      abandon_ = true;
      for (const auto& b : queue_) sealed_bytes_ -= b.held;
      queue_.clear();
    }
    s_.cv.NotifyAll();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Uploader::Loop(size_t index) {
  MutexLock lock(&s_.mu);
  for (;;) {
    auto next = queue_.begin();
    while (next != queue_.end() && holding_.count(next->key)) ++next;
    if (next == queue_.end()) {
      if (stop_ && queue_.empty()) break;
      s_.clock->Wait(&s_.cv, &s_.mu);
      continue;
    }
    batch::SealedBatch b = std::move(*next);
    queue_.erase(next);
    holding_.insert(b.key);
    ++in_flight_;
    state_.busy_since[index] = s_.clock->Now();
    // Step 2 of the journal protocol: the cut is in the checkpoint before
    // the upload starts.
    bool durable = false;
    // Lease mode: a batch of a shard whose lease went meanwhile (its cut
    // forgotten by Pipeline::DropShard) is not uploaded: its next owner
    // reads its records again.
    const bool wanted = EnsureJournaled(b.journal_version) && s_.journal.Has(b.key);
    if (wanted) {
      MutexUnlock unlocked(&s_.mu);
      SHARDHOSE_KILL_POINT("upload.after_journal");
      batch::Finish(&b);
      durable = Deliver(b);
      if (durable) SHARDHOSE_KILL_POINT(b.last_part ? "upload.after_put" : "upload.after_part");
    }
    --in_flight_;
    holding_.erase(b.key);
    state_.busy_since[index] = MonoTime{};
    sealed_bytes_ -= b.held;
    if (!durable && b.part > 0) {
      // Its later parts must not be uploaded in its place: the object is
      // given up, its records stay before the checkpoint.
      auto it = streams_.find(b.key);
      if (it != streams_.end()) it->second.failed = true;
    }
    if (durable) {
      state_.failing_since.reset();
      state_.error.clear();
      state_.permanent_since.reset();
      state_.permanent_code.clear();
    }
    if (durable && b.last_part) {
      state_.last_upload = s_.clock->WallNow();
      std::vector<std::string> ids;
      for (const auto& [shard, _] : b.shards) ids.push_back(shard);
      s_.journal.MarkUploaded(b.key);
      s_.progress.OnDurable(b.id, ids);
      s_.checkpoint_dirty = true;
    }
    s_.cv.NotifyAll();
  }
}

bool Uploader::EnsureJournaled(uint64_t version) {
  checkpointer_.mu().AssertHeld();
  while (checkpointer_.journal_written() < version) {
    if (abandon_) return false;
    if (!checkpointer_.Write()) s_.clock->WaitFor(&s_.cv, &s_.mu, std::chrono::seconds(1));
  }
  return true;
}

bool Uploader::Deliver(const batch::SealedBatch& b) { return b.part == 0 ? PutWhole(b) : PutPart(b); }

bool Uploader::Retry(const std::string& key, uint64_t records, const std::function<Status()>& attempt) {
  Backoff backoff;
  for (int attempts = 1;; ++attempts) {
    Status st = attempt();
    if (st.ok()) return true;
    auto delay = backoff.Next(st.retry_class());
    // One short line: the key once, the AWS code, the cause without the
    // key or URL (common/logging.h); for an error retrying cannot fix, what
    // to do about it.
    LogWithFields(st.IsRetryable() ? spdlog::level::warn : spdlog::level::err,
                  st.IsRetryable() ? "upload failed, retrying" : "upload failed, retrying cannot fix this",
                  {{"key", key},
                   {"op", OperationOf(st)},
                   {"attempt", attempts},
                   {"aws_code", st.peer_code()},
                   {"cause", ShortCause(st, key)},
                   {"hint", st.IsRetryable() ? std::string() : PermanentErrorHint(st, s_.cfg)},
                   {"retry_in_ms", static_cast<int64_t>(delay.count())}});
    MutexLock lock(&s_.mu);
    if (!state_.failing_since) state_.failing_since = s_.clock->Now();
    state_.error = st.ToString();
    if (st.IsRetryable()) {
      state_.permanent_since.reset();
      state_.permanent_code.clear();
    } else {
      if (!state_.permanent_since) state_.permanent_since = s_.clock->Now();
      state_.permanent_code = st.peer_code().empty() ? std::string(StatusCodeName(st.code())) : st.peer_code();
    }
    const MonoTime until = s_.clock->Now() + delay;
    while (!abandon_ && s_.clock->Now() < until) s_.clock->WaitUntil(&s_.cv, &s_.mu, until);
    if (abandon_) {
      LogError(
          "giving up on an upload at the shutdown deadline; its records stay before the checkpoint and will be "
          "read again on the next start",
          {{"key", key}, {"records", records}, {"attempts", attempts}});
      return false;
    }
  }
}

Result<bool> Uploader::AlreadyThere(const std::string& key, const upload::ObjectDigest& digest) {
  auto there = store_->HoldsDigest(key, digest);
  if (!there.ok()) s_.m.CountFailure("head_object", MetricClass(there.status()), true);
  return there;
}

Result<bool> Uploader::CheckBeforeReplay(const std::string& key, const upload::ObjectDigest& digest) {
  auto there = AlreadyThere(key, digest);
  if (there.ok() || there.status().IsRetryable()) return there;
  // S3 answers a HEAD of a missing key with 403 when the role lacks
  // s3:ListBucket: "unknown". Writing the object again is safe (the same
  // cut re-formed gives the same bytes, and a PUT replaces), so that is
  // what happens; retrying the HEAD never could.
  spdlog::warn("cannot tell whether {} was uploaded before the restart ({}); writing it again", key,
               there.status().ToString());
  return false;
}

bool Uploader::PutWhole(const batch::SealedBatch& b) {
  const MonoTime started = s_.clock->Now();
  // A re-formed batch whose original upload may have completed before the
  // crash: with conditional writes the PUT itself says so (412); without,
  // a HEAD checks for exactly these bytes first.
  const bool conditional = b.replay && ConditionalWrites();
  bool check = b.replay && !conditional;
  bool found = false;
  const bool ok = Retry(b.key, b.records, [&]() -> Status {
    if (check) {
      auto there = CheckBeforeReplay(b.key, upload::ObjectDigest{b.body.size(), upload::Md5(b.body), {}});
      if (!there.ok()) return there.status();
      check = false;
      if (*there) return (found = true, Status::OK());
    }
    upload::ObjectMeta meta = meta_;
    meta.if_absent = conditional;
    const MonoTime attempt = s_.clock->Now();
    Status st = store_->Put(b.key, b.body, meta);
    s_.m.upload_seconds.Get().Observe(Seconds(s_.clock->Now() - attempt));
    if (upload::IsAlreadyWritten(st)) {
      auto written = AlreadyWrittenIsOurs(b.key, upload::ObjectDigest{b.body.size(), upload::Md5(b.body), {}});
      if (!written.ok()) return written.status();
      if (*written) return (found = true, Status::OK());
      st = store_->Put(b.key, b.body, meta_);
    }
    if (!st.ok()) s_.m.CountFailure("put_object", MetricClass(st), true);
    return st;
  });
  if (!ok) return false;
  if (found) {
    LogInfo("object was uploaded before the restart; not writing it again", {{"key", b.key}});
    return true;
  }
  CountUploaded(b, b.records, b.body.size(), started);
  return true;
}

Result<bool> Uploader::AlreadyWrittenIsOurs(const std::string& key, const upload::ObjectDigest& digest) {
  // 412: an object is under the key this cut names. Confirm it holds our
  // bytes where a HEAD can tell; if it cannot (403 without s3:ListBucket),
  // the key is the cut's own and 412 is the answer.
  auto there = AlreadyThere(key, digest);
  if (!there.ok()) {
    if (there.status().IsRetryable()) return there.status();
    return true;
  }
  if (!*there) {
    spdlog::warn("{} is there but holds other bytes than the batch re-formed for it; replacing it", key);
  }
  return *there;
}

bool Uploader::PutPart(const batch::SealedBatch& b) {
  Streaming* stream;
  {
    MutexLock lock(&s_.mu);
    stream = &streams_.try_emplace(b.key, b.key, meta_).first->second;
    if (stream->failed) return false;
  }
  upload::MultipartObject* mp = &stream->object;
  const MonoTime started = s_.clock->Now();
  // A part can be empty only as the last of an uncompressed batch whose
  // size limit fell on a part boundary.
  if (!b.body.empty() || mp->parts() == 0) {
    bool vanished = false;
    const bool ok = Retry(b.key, b.records, [&]() -> Status {
      const MonoTime attempt = s_.clock->Now();
      Status st = mp->AddPart(store_, b.body);
      s_.m.upload_seconds.Get().Observe(Seconds(s_.clock->Now() - attempt));
      if (!st.ok()) s_.m.CountFailure("upload_part", MetricClass(st), true);
      if (st.IsNotFound() && mp->parts() > 0) return (vanished = true, Status::OK());
      return st;
    });
    if (vanished) {
      // Aborted behind our back (a lifecycle rule?): the parts sent are
      // gone, and only a restart can read their records again.
      s_.Fatal(
          fmt::format("the multipart upload of {} is gone (NoSuchUpload; aborted outside shardhose?) with {} "
                      "part(s) sent; stopping so that the next start re-forms it from the stream",
                      b.key, mp->parts()));
      return false;
    }
    if (!ok) return false;
  }
  stream->records += b.records;
  if (!b.last_part) {
    spdlog::debug("uploaded part {} of {} ({} bytes)", mp->parts(), b.key, b.body.size());
    return true;
  }
  bool conditional = b.replay && ConditionalWrites();
  bool check = b.replay && !conditional;
  bool found = false;
  const bool ok = Retry(b.key, b.records, [&]() -> Status {
    if (check) {
      auto there = CheckBeforeReplay(b.key, mp->digest());
      if (!there.ok()) return there.status();
      check = false;
      if (*there) return (found = true, Status::OK());
    }
    Status st = mp->Complete(store_, conditional);
    if (upload::IsAlreadyWritten(st)) {
      auto written = AlreadyWrittenIsOurs(b.key, mp->digest());
      if (!written.ok()) return written.status();
      if (*written) return (found = true, Status::OK());
      conditional = false;
      st = mp->Complete(store_);
    }
    if (!st.ok()) {
      s_.m.CountFailure("complete_multipart", MetricClass(st), true);
      // The answer to a completion that took effect may have been lost:
      // the upload is then gone, and a retry fails for good.
      check = true;
    }
    return st;
  });
  if (!ok) return false;
  const uint64_t size = mp->digest().size;
  if (found && mp->parts() > 0 && !b.replay) {
    LogInfo("object is complete (the answer to an earlier attempt was lost)", {{"key", b.key}});
    CountUploaded(b, stream->records, size, started);
  } else if (found) {
    LogInfo("object was uploaded before the restart; not writing it again", {{"key", b.key}});
    Status st = mp->Abort(store_);
    if (!st.ok()) {
      LogWarn("aborting the second upload failed",
              {{"key", b.key}, {"aws_code", st.peer_code()}, {"cause", ShortCause(st, b.key)}});
    }
  } else {
    CountUploaded(b, stream->records, size, started);
  }
  MutexLock lock(&s_.mu);
  streams_.erase(b.key);
  return true;
}

void Uploader::CountUploaded(const batch::SealedBatch& b, uint64_t records, uint64_t size, MonoTime started) {
  s_.m.objects_out.With({b.tag}).Inc();
  s_.m.records_out.With({b.tag}).Inc(records);
  s_.m.bytes_out.With({b.tag}).Inc(size);
  spdlog::debug("uploaded {} ({} records, {} bytes, {} ms)", b.key, records, size,
                std::chrono::duration_cast<Millis>(s_.clock->Now() - started).count());
}

}  // namespace shardhose::pipeline

// File: pipeline/uploader.h
//
// The Uploader makes sealed batches durable in the object store
// (upload/object_store.h), one thread per output.upload_threads:
//
//   queue    sealed batches wait in the order sealed; an uploader thread
//            takes the first whose key no other thread holds, so the parts
//            of one object go up one at a time, in order;
//   journal  the batch's cut is in the checkpoint before its upload starts
//            (checkpoint/journal.h, step 2), written through the
//            Checkpointer if needed;
//   finish   the batch's runs become the object's bytes (batch::Finish),
//            outside the lock;
//   upload   a whole object with one PUT, or a part of one streamed as a
//            multipart upload (upload/multipart.h) and, with the last,
//            completed. Every attempt goes through one retry loop (backoff
//            per retry class, until durable or the shutdown deadline gives
//            up), and one check settles whether the exact object is there
//            already: before re-writing a batch re-formed after a crash,
//            and after a completion whose answer was lost. With
//            output.conditional_writes on, a re-formed batch is written
//            with If-None-Match: * instead and 412 means it was there
//            (checked with a HEAD where one can tell). A HEAD that answers
//            what retrying cannot change (403 without s3:ListBucket) is
//            "unknown": the batch is written again (same bytes), never
//            retried forever. Errors retrying cannot fix are recorded in
//            State::permanent_since for readiness and run --drain;
//   durable  with the object's last byte stored: the cut is marked
//            uploaded and the shards' durable positions move on
//            (checkpoint/shard_progress.h).
//
// Memory: sealed_bytes() is what queued and in-flight batches hold, for the
// pipeline's cap.
//
// Threads: Loop() runs on each uploader thread; everything else is called
// with the shared mutex held.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "batch/sealed_batch.h"
#include "compress/compress.h"
#include "pipeline/checkpointer.h"
#include "pipeline/shared.h"
#include "upload/multipart.h"
#include "upload/object_store.h"

namespace shardhose::pipeline {

// What to do about an upload error retrying cannot fix, for the log:
// "grant s3:PutObject ... on arn:aws:s3:::bucket/prefix*", "create bucket ...".
std::string PermanentErrorHint(const Status& st, const config::Config& cfg);
// The part of an output.prefix template before its first '{' ("ddb/").
std::string StaticPrefix(const std::string& prefix_template);

class Uploader {
 public:
  // The shared mutex (shared.h), as the thread-safety analysis names it
  // for this room.
  Mutex& mu() const RETURN_CAPABILITY(s_.mu) { return s_.mu; }

  // REQUIRES: every argument outlives the uploader.
  Uploader(Shared& s, upload::ObjectStore* store, Checkpointer& checkpointer);

  // Queues a named, journaled batch (or part).
  void Enqueue(batch::SealedBatch b) REQUIRES(s_.mu);

  // Starts `threads` uploader threads.
  void Start(size_t threads) EXCLUDES(s_.mu);
  // True when nothing is queued or in flight.
  bool Idle() const REQUIRES(s_.mu) { return queue_.empty() && in_flight_ == 0; }
  // Batches queued or in flight.
  size_t Left() const REQUIRES(s_.mu) { return queue_.size() + in_flight_; }
  // Stops the threads once the queue is empty; with `abandon`, at once: the
  // queue is dropped and uploads in flight give up at their next retry.
  // Joins them.
  void Stop(bool abandon) EXCLUDES(s_.mu);

  uint64_t sealed_bytes() const REQUIRES(s_.mu) { return sealed_bytes_; }

  // For health.
  struct State {
    std::vector<MonoTime> busy_since;  // per thread; MonoTime{} = idle
    std::optional<MonoTime> failing_since;
    std::string error;  // the last failure, while failing
    std::optional<WallTime> last_upload;
    // Since when every attempt failed with an error retrying cannot fix
    // (Status::IsRetryable() false: AccessDenied, NoSuchBucket, ...), and
    // its AWS code; reset by a success or a retryable failure.
    std::optional<MonoTime> permanent_since;
    std::string permanent_code;
  };
  const State& state() const REQUIRES(s_.mu) { return state_; }

 private:
  void Loop(size_t index) EXCLUDES(s_.mu);
  // Uploads b (a whole object, or a part); true once durable (a part:
  // stored), false if abandoned or failed for good.
  bool Deliver(const batch::SealedBatch& b) EXCLUDES(s_.mu);
  bool PutWhole(const batch::SealedBatch& b) EXCLUDES(s_.mu);
  bool PutPart(const batch::SealedBatch& b) EXCLUDES(s_.mu);
  // The retry loop: calls `attempt` until OK (true) or abandoned (false).
  bool Retry(const std::string& key, uint64_t records, const std::function<Status()>& attempt) EXCLUDES(s_.mu);
  // Whether `key` holds exactly the object `digest` describes; counts a
  // failed check.
  Result<bool> AlreadyThere(const std::string& key, const upload::ObjectDigest& digest);
  // AlreadyThere before re-writing a re-formed batch without conditional
  // writes: an answer retrying cannot change (a HEAD's 403 without
  // s3:ListBucket) is "unknown", read as false (write it again).
  Result<bool> CheckBeforeReplay(const std::string& key, const upload::ObjectDigest& digest);
  // After a conditional write answered 412: true if the object there is
  // ours (or a HEAD cannot tell), false if it holds other bytes.
  Result<bool> AlreadyWrittenIsOurs(const std::string& key, const upload::ObjectDigest& digest);
  // output.conditional_writes is "on" (the daemon resolves "auto" at start).
  bool ConditionalWrites() const;
  void CountUploaded(const batch::SealedBatch& b, uint64_t records, uint64_t size, MonoTime started);
  // Blocks until the checkpoint holds journal version `version`; false if
  // uploads were abandoned first.
  bool EnsureJournaled(uint64_t version) REQUIRES(s_.mu);

  Shared& s_;
  upload::ObjectStore* const store_;
  Checkpointer& checkpointer_;
  const upload::ObjectMeta meta_;

  std::vector<std::thread> threads_;
  std::deque<batch::SealedBatch> queue_ GUARDED_BY(s_.mu);
  std::set<std::string> holding_ GUARDED_BY(s_.mu);  // keys an uploader thread holds
  uint64_t in_flight_ GUARDED_BY(s_.mu) = 0;
  uint64_t sealed_bytes_ GUARDED_BY(s_.mu) = 0;
  bool stop_ GUARDED_BY(s_.mu) = false;
  bool abandon_ GUARDED_BY(s_.mu) = false;
  State state_ GUARDED_BY(s_.mu);
  // Objects being streamed in parts, by key (node-stable; one thread uses
  // an entry at a time: the one holding its key).
  struct Streaming {
    Streaming(const std::string& key, upload::ObjectMeta meta) : object(key, std::move(meta)) {}
    upload::MultipartObject object;
    uint64_t records = 0;  // in the parts uploaded
    bool failed = false;   // a part was given up on: the object can never be completed
  };
  std::map<std::string, Streaming> streams_ GUARDED_BY(s_.mu);
};

}  // namespace shardhose::pipeline

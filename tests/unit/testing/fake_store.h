// File: testing/fake_store.h
//
// FakeStore: an in-memory upload::ObjectStore (S3 as the pipeline sees it),
// for tests that run the pipeline without a network or a disk.
//
// What it emulates: whole-object Put (replaces the object), Holds /
// HoldsDigest (size + MD5 of the whole object; part MD5s are not checked),
// multipart uploads (ids "upload-<this>-<n>", parts replaceable, the object
// appears at CompleteMultipart and the upload is gone; an unknown upload or
// one of another key is kNotFound "NoSuchUpload"), AbortMultipart (OK even
// if unknown) and ListMultipart. Tests may fill `objects` or `uploads`
// directly to stand for what a crashed run left behind.
//
// Fault injection: the first `fail_first` writes answer 503 SlowDown
// (kThrottled); with vanish_holding = n, the first UploadPart to an upload
// already holding n parts finds it aborted by someone else (once);
// `on_put` is called at the start of every write with its number (a test
// crashes the run there, or records last_op/last_key).
//
// What it counts: puts (every write: Put, UploadPart, CompleteMultipart,
// failed ones included), parts_put, completes, aborts (uploads removed),
// created (CreateMultipart calls), `rewritten`: one "<key>: <where>" per
// write that replaced an object with different lines (an idempotent
// replay never rewrites), and `recompressed`: writes that replaced an
// object with the same lines in other gzip bytes. Re-formed batches are
// meant to be byte-identical, but under load igzip was seen to compress
// the same chunk to other (valid) bytes in-process, rarely, cause not
// found yet: a content-neutral rewrite, counted apart so that the
// exactly-once tests check the lines.
//
// Conditional writes (object_store.h): honoured (412 PreconditionFailed
// if the key holds an object) unless `ignore_conditions` (as s3rver);
// `precondition_failed` counts the 412s. `head_error`, if set, is what
// every Holds/HoldsDigest answers (e.g. S3's 403 without s3:ListBucket);
// `heads` counts them. `write_error`, if set, is what every write answers
// (a permanent error: AccessDenied, NoSuchBucket...), after on_put.
//
// CompleteMultipart EXPECTs the receipts to name every uploaded part.
//
// Thread-safety: every method takes `mu` (on_put runs under it); the
// public fields may be read or set without it only while no other thread
// uses the store.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "upload/object_store.h"

namespace shardhose::test {

class FakeStore : public upload::ObjectStore {
 public:
  struct Upload {
    std::string key;
    std::map<int, std::string> parts;
  };
  std::mutex mu;
  std::map<std::string, std::string> objects;
  std::map<std::string, Upload> uploads;  // in progress, by id
  int puts = 0;                           // writes: Put, UploadPart, CompleteMultipart
  int parts_put = 0;                      // UploadPart calls that stored a part
  int completes = 0;                      // CompleteMultipart calls that made an object
  int aborts = 0;
  int created = 0;
  // The first UploadPart to an upload holding this many parts finds it gone
  // (aborted by someone else); -1 = never.
  int vanish_holding = -1;
  int fail_first = 0;  // the first N writes answer 503 SlowDown
  // Called at the start of every write with its number (1-based), under mu.
  std::function<void(int)> on_put;
  std::vector<std::string> rewritten;     // keys written again with different lines
  std::vector<std::string> recompressed;  // ... with the same lines in other gzip bytes
  bool ignore_conditions = false;         // If-None-Match ignored (s3rver)
  int precondition_failed = 0;            // conditional writes answered 412
  Status head_error;                      // if not OK: every Holds/HoldsDigest answers it
  int heads = 0;
  Status write_error;       // if not OK: every write answers it
  std::string deny_prefix;  // if set: writes of keys starting with it answer 403 AccessDenied

  std::string last_op, last_key;  // of the write on_put is called for
  // One write: counts it, calls on_put, fails it if among the first
  // fail_first. REQUIRES: mu held.
  Status Write(std::string op = "put", std::string key = "");
  // The 412 of a conditional write if `key` holds an object (and
  // conditions are honoured). REQUIRES: mu held.
  Status Condition(const std::string& key);
  // Replaces the object under `key`, noting a rewrite. REQUIRES: mu held.
  void Store(const std::string& key, std::string body);

  Status Put(const std::string& key, std::string_view body, const upload::ObjectMeta&) override;
  Result<bool> Holds(const std::string& key, std::string_view body) override;
  Result<bool> HoldsDigest(const std::string& key, const upload::ObjectDigest& digest) override;
  Result<std::string> CreateMultipart(const std::string& key, const upload::ObjectMeta&) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                 std::string_view body) override;
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<upload::PartReceipt>& receipts) override;
  Status CompleteMultipartIfAbsent(const std::string& key, const std::string& upload_id,
                                   const std::vector<upload::PartReceipt>& receipts) override;
  Status AbortMultipart(const std::string&, const std::string& upload_id) override;
  Result<std::vector<std::string>> ListMultipart(const std::string& key) override;
  std::string Describe() const override { return "fake"; }

  // event_id -> count, over every line of every object (CountEventIds in
  // testing/change_records.h).
  std::map<std::string, int> EventIds(std::vector<std::string>* keys_of_errors = nullptr);
};

}  // namespace shardhose::test

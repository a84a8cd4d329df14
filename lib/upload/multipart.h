// File: upload/multipart.h
//
// One object streamed to an ObjectStore as a multipart upload, in order:
// the upload is created with the first part, every part is uploaded once,
// and Complete() makes the object visible, all at once. Each call makes
// one attempt at the next step; after a failure the same call can simply
// be made again (the state only moves on success), so the caller owns
// retries and backoff as it does for Put().
//
// Without the parts' bytes at hand (they are let go once uploaded), digest()
// still describes the object (size, MD5 of the whole, MD5 of every part),
// which is what ObjectStore::HoldsDigest() needs to tell whether an earlier
// run already completed the same object.
//
// Thread-safety: not thread-safe; one uploader drives one object at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "upload/object_store.h"

namespace shardhose::upload {

// The raw 16-byte MD5 of `data` (what ObjectDigest holds).
std::string Md5(std::string_view data);

class MultipartObject {
 public:
  MultipartObject(std::string key, ObjectMeta meta);
  ~MultipartObject();
  MultipartObject(const MultipartObject&) = delete;
  MultipartObject& operator=(const MultipartObject&) = delete;

  // Uploads `body` as the next part, starting the upload first if there is
  // none yet. kNotFound: the upload is gone (aborted by someone else); if
  // no part was stored yet, the next call starts a new one, otherwise the
  // parts stored are lost and the object cannot be completed.
  // REQUIRES: not completed.
  Status AddPart(ObjectStore* store, std::string_view body);
  // Completes the upload from the parts added. REQUIRES: at least one part.
  // With `if_absent`, a conditional write (object_store.h).
  Status Complete(ObjectStore* store, bool if_absent = false);
  // Discards the upload (if one was started). One attempt.
  Status Abort(ObjectStore* store);

  // The object the parts added so far make.
  ObjectDigest digest() const;
  int parts() const { return static_cast<int>(receipts_.size()); }
  const std::string& upload_id() const { return upload_id_; }
  const std::string& key() const { return key_; }

 private:
  struct RunningMd5;
  std::string key_;
  ObjectMeta meta_;
  std::string upload_id_;
  std::vector<PartReceipt> receipts_;
  std::vector<std::string> part_md5s_;
  uint64_t size_ = 0;
  std::unique_ptr<RunningMd5> whole_;  // running MD5 of the parts added
};

}  // namespace shardhose::upload

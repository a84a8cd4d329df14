// File: upload/object_store.h
//
// Where finished batches go. An ObjectStore writes one whole object per
// Put() (or takes one step of a multipart upload per call); it makes
// exactly one attempt and never sleeps. Retries, backoff and deadlines
// belong to the uploader (pipeline/uploader.h), which decides from
// Status::IsRetryable()/retry_class().
//
// Implementations:
//   S3 (and s3rver)   - upload/s3_store.h: NewS3ObjectStore, over an
//                       aws::HttpClient with SigV4.
//   a local directory - upload/file_store.h: NewFileObjectStore
//                       (endpoint_url = "file:///some/dir").
// What each does per method, and where it departs from this contract
// (s3rver), is in its header.
//
// Errors: Put() returns the Status of aws/retry_class.h for a remote
// store's answer (kNetwork if none arrived); key problems are
// kInvalidArgument (a store may reject keys it cannot hold: the file
// store's rules are in file_store.h); local failures are kIOError; an
// upload the store does not know is kNotFound (S3: 404 NoSuchUpload). A
// credentials failure is returned as the provider reported it (not
// retryable).
//
// Put() returning OK means the object is durable at the store: S3 answered
// 200, or the file and its directory were fsynced. Writing the same key
// again replaces the object (that is what makes replays idempotent).
//
// Conditional writes (ObjectMeta::if_absent, CompleteMultipartIfAbsent):
// the object is written only if none is under `key` (S3: If-None-Match: *
// on PutObject / CompleteMultipartUpload); if one is, nothing changes and
// the answer IsAlreadyWritten() (S3: 412 PreconditionFailed). S3 answers
// 409 ConditionalRequestConflict to a write racing another: retryable
// (aws/retry_class.h). A store that ignores the condition (s3rver) writes
// unconditionally; the start-up probe (pipeline/destination_check.h)
// finds that out.
//
// Multipart (a batch larger than one part, batch.part_bytes): the object
// is written as numbered parts under an upload id and becomes visible only
// at CompleteMultipart, all at once; until then nothing under `key`
// changes. An upload that is never completed leaves no object (S3 keeps
// its parts, billed, until AbortMultipart or a bucket lifecycle rule
// AbortIncompleteMultipartUpload removes them). Part numbers are 1..10000;
// every part but the last must be at least 5 MiB on S3 (s3rver and the
// file store accept any size).
//
// Thread-safety: every method may be called concurrently, but not for the
// same key at the same time (the file store's temp file is "<path>.tmp"),
// except UploadPart calls for different part numbers of one upload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shardhose::upload {

struct ObjectMeta {
  std::string content_type = "application/x-ndjson";
  std::string content_encoding;  // "gzip" or ""
  bool if_absent = false;        // Put(): a conditional write (above)
};

// The answer to a conditional write when an object is already there.
inline bool IsAlreadyWritten(const Status& st) { return !st.ok() && st.peer_code() == "PreconditionFailed"; }

// The receipt of one uploaded part, listed again at CompleteMultipart.
struct PartReceipt {
  int number = 0;
  std::string etag;  // as the store returned it (S3: quoted hex MD5)
};

// Part numbers run 1..kMaxParts (S3's limit).
inline constexpr int kMaxParts = 10000;

// OK if `parts` is what CompleteMultipart takes: not empty, numbers
// ascending within 1..kMaxParts; otherwise kInvalidArgument after `what`.
inline Status CheckReceipts(const std::string& what, const std::vector<PartReceipt>& parts) {
  if (parts.empty()) return Status::InvalidArgument(what + ": no parts");
  int last = 0;
  for (const PartReceipt& p : parts) {
    if (p.number <= last || p.number > kMaxParts) {
      return Status::InvalidArgument(what + ": part numbers must ascend within 1.." + std::to_string(kMaxParts));
    }
    last = p.number;
  }
  return Status::OK();
}

// What an object should be, for checking it without its bytes at hand: a
// multipart object's parts have been uploaded and let go.
struct ObjectDigest {
  uint64_t size = 0;                   // bytes of the whole object
  std::string md5;                     // raw 16-byte MD5 of the whole object
  std::vector<std::string> part_md5s;  // raw 16-byte MD5 of each part, in order
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status Put(const std::string& key, std::string_view body, const ObjectMeta& meta) = 0;
  // Whether the object under `key` holds exactly `body` (S3: HEAD, then
  // Content-Length and, when the ETag is a plain MD5 — single-part PUT
  // without SSE-KMS — the MD5; a local file: its bytes). One attempt, like
  // Put(). Used before re-uploading a batch re-formed after a crash: if the
  // original PUT completed, it is not written again; a partial object (a
  // store whose PUT is not atomic, like s3rver) is not mistaken for it.
  virtual Result<bool> Holds(const std::string& key, std::string_view body) = 0;
  // Whether the object under `key` is the one `digest` describes. S3: HEAD,
  // then Content-Length, then the ETag when it is a digest (not under
  // SSE-KMS): hex MD5 of the whole object (single PUT; s3rver's multipart
  // ETag too, see s3_store.h) or hex MD5 of the concatenated part MD5s
  // followed by "-<parts>" (S3 multipart; with no part_md5s, as from
  // Holds(), such an ETag is not checked). File store:
  // size and MD5 of the file. One attempt. Holds(key, body) is
  // HoldsDigest with body's size and MD5 on S3.
  virtual Result<bool> HoldsDigest(const std::string& key, const ObjectDigest& digest) = 0;

  // The object's bytes (S3: GetObject). One attempt, errors as for Put();
  // no object under `key` is kNotFound. Reads an export for `shardhose
  // load` (load/loader.h). A store that cannot read objects back (test
  // fakes) answers kFailedPrecondition: this default.
  virtual Result<std::string> Get(const std::string& key) {
    return Status::FailedPrecondition("this store cannot read " + key);
  }

  // Multipart upload, one attempt per call, errors as for Put().
  // Starts an upload of `key`; returns its upload id.
  virtual Result<std::string> CreateMultipart(const std::string& key, const ObjectMeta& meta) = 0;
  // Uploads (or replaces) part `number` of the upload; returns its ETag
  // (S3: the ETag header, quoted; file store: hex MD5).
  virtual Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                         std::string_view body) = 0;
  // Makes the object out of `parts` (ascending numbers, a subset of those
  // uploaded). OK = durable. S3 may answer 200 and then an <Error>
  // document: that is a retryable failure, classified as a 500 would be.
  // The file store checks each ETag against the stored part
  // (kInvalidArgument if it differs or the part is missing).
  virtual Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                                   const std::vector<PartReceipt>& parts) = 0;
  // CompleteMultipart as a conditional write (above). A store without
  // conditional writes completes unconditionally (this default).
  virtual Status CompleteMultipartIfAbsent(const std::string& key, const std::string& upload_id,
                                           const std::vector<PartReceipt>& parts) {
    return CompleteMultipart(key, upload_id, parts);
  }
  // Discards the upload and its parts. OK also when the upload is already
  // gone (404 NoSuchUpload). A store that cannot abort (s3rver, see
  // s3_store.h) returns kFailedPrecondition saying so; the caller logs it
  // and goes on.
  virtual Status AbortMultipart(const std::string& key, const std::string& upload_id) = 0;
  // Upload ids of the uploads in progress for exactly `key` (S3:
  // ListMultipartUploads with prefix=key, keeping exact matches, following
  // pagination, in S3's order; file store: sorted). kFailedPrecondition
  // where the store cannot list them (s3rver, see s3_store.h).
  virtual Result<std::vector<std::string>> ListMultipart(const std::string& key) = 0;

  // "s3://bucket (http://127.0.0.1:4569, path-style)" / "file:///tmp/out"
  virtual std::string Describe() const = 0;
};

}  // namespace shardhose::upload

// File: upload/object_store.h
//
// Where finished batches go. An ObjectStore writes one whole object per
// call; it makes exactly one attempt and never sleeps. Retries, backoff and
// deadlines belong to the uploader (pipeline/uploader.h), which decides from
// Status::IsRetryable()/retry_class().
//
// Implementations:
//   S3ObjectStore   - PutObject over HTTP(S) with SigV4, Content-MD5 and
//                     x-amz-checksum-sha256 integrity headers (the SHA-256
//                     is the one signed as x-amz-content-sha256, so the body
//                     is hashed once per algorithm), path-style or
//                     virtual-hosted addressing, optional SSE. Checked
//                     against s3rver 3.7.1 (which accepts all of these).
//                     The body is sent with Content-Length, never chunked.
//   FileObjectStore - the same key layout under a local directory
//                     (endpoint_url = "file:///some/dir"); each object is
//                     written atomically (temp file, fsync, rename).
//
// Errors: Put() returns the Status of aws/retry_class.h for an S3 answer
// (kNetwork if none arrived); key problems are kInvalidArgument (the file
// store rejects empty keys, keys starting with '/', ending with '/' or
// with a ".." segment); local failures are kIOError. A credentials failure
// is returned as the provider reported it (not retryable).
//
// Put() returning OK means the object is durable at the store: S3 answered
// 200, or the file and its directory were fsynced. Writing the same key
// again replaces the object (that is what makes replays idempotent).
//
// Thread-safety: Put() and Holds() may be called concurrently, but not
// for the same key at the same time (the file store's temp file is
// "<path>.tmp").
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/status.h"

namespace shardhose::upload {

struct ObjectMeta {
  std::string content_type = "application/x-ndjson";
  std::string content_encoding;  // "gzip" or ""
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
  // "s3://bucket (http://127.0.0.1:4569, path-style)" / "file:///tmp/out"
  virtual std::string Describe() const = 0;
};

struct S3Options {
  std::string bucket;
  std::string region = "us-east-1";
  // "" = https://s3.<region>.amazonaws.com (virtual-hosted unless
  // force_path_style). Otherwise scheme://host[:port], e.g. s3rver.
  // Path-style is also used when the endpoint host is an IP address or
  // localhost, and for https when the bucket name contains a dot (the
  // wildcard certificate would not match).
  std::string endpoint_url;
  bool force_path_style = false;
  std::string sse;             // "", "AES256", "aws:kms"
  std::string sse_kms_key_id;  // with "aws:kms", optional
  std::chrono::milliseconds timeout{120000};
};

// REQUIRES: http, creds and clock outlive the store.
std::unique_ptr<ObjectStore> NewS3ObjectStore(S3Options options, aws::HttpClient* http,
                                              aws::CredentialsProvider* creds, Clock* clock);

// `root` is a local directory (created if missing). REQUIRES: fs outlives
// the store.
std::unique_ptr<ObjectStore> NewFileObjectStore(std::string root, FileSystem* fs);

// The URL of an object for a given store configuration, exposed for tests:
// path-style "http://host:port/bucket/key", virtual-hosted
// "https://bucket.s3.region.amazonaws.com/key". Key characters are
// URI-encoded except '/'.
std::string S3ObjectUrl(const S3Options& options, std::string_view key);

}  // namespace shardhose::upload

// File: upload/s3_store.h
//
// The S3 ObjectStore (the contract is upload/object_store.h): PutObject
// over HTTP(S) with SigV4, Content-MD5 and x-amz-checksum-sha256 integrity
// headers (the SHA-256 is the one signed as x-amz-content-sha256, so the
// body is hashed once per algorithm), path-style or virtual-hosted
// addressing, optional SSE. Checked against s3rver 3.7.1 (which accepts
// all of these). The body is sent with Content-Length, never chunked.
// Multipart: the S3 multipart API, parts with Content-MD5 only. The
// requests themselves are listed at the top of s3_store.cc.
//
// Errors: an S3 answer is classified as in aws/retry_class.h (kNetwork if
// none arrived); an upload S3 does not know is 404 NoSuchUpload
// (kNotFound).
//
// s3rver 3.7.1 departs from S3 here: UploadPart to an unknown upload id
// answers 200 (storing the part under that id); CompleteMultipart of an
// upload that is gone answers 500 InternalError (S3: 404 NoSuchUpload),
// so retrying it never succeeds; CompleteMultipart naming a part that was
// never uploaded makes the s3rver process exit (unhandled ENOENT): that
// request and all later ones fail with kNetwork. It cannot abort (405:
// AbortMultipart returns kFailedPrecondition) or list (501 NotImplemented:
// ListMultipart returns kFailedPrecondition) uploads. The ETag it answers
// for a completed multipart upload is the hex MD5 of the whole object, as
// for a single PUT, which HoldsDigest accepts.
//
// Thread-safety: as object_store.h.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
#include "upload/object_store.h"

namespace shardhose::upload {

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
std::unique_ptr<ObjectStore> NewS3ObjectStore(S3Options options, aws::HttpClient* http, aws::CredentialsProvider* creds,
                                              Clock* clock);

// The URL of an object for a given store configuration, exposed for tests:
// path-style "http://host:port/bucket/key", virtual-hosted
// "https://bucket.s3.region.amazonaws.com/key". Key characters are
// URI-encoded except '/'.
std::string S3ObjectUrl(const S3Options& options, std::string_view key);

}  // namespace shardhose::upload

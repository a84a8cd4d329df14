// File: aws/sigv4.h
//
// AWS Signature Version 4 (header form, and the presigned query form). Pure
// functions of (request, credentials, params): no clock, no I/O, so the
// signer is checked byte for byte against AWS's conformance suite
// (tests/unit/aws/sigv4_test.cc, data in ../shared/testdata/sigv4/).
//
// Canonicalisation rules (what the suite pins down):
//   - Path: with normalize_path, "." / ".." segments are resolved and "//"
//     collapsed (a trailing '/' is kept). With double_uri_encode every byte
//     outside A-Z a-z 0-9 - _ . ~ / is percent-encoded, '%' included (so an
//     already-encoded path is encoded a second time); without it (S3) an
//     existing %XX escape is kept and only other such bytes are encoded.
//   - Query: each key and value is percent-decoded and re-encoded (the
//     unreserved set only), sorted by key then value; "k" becomes "k=".
//   - Headers: every request header is signed except Authorization,
//     User-Agent, Expect and X-Amzn-Trace-Id (proxies may change those).
//     Names are lowercased, values trimmed with inner whitespace runs
//     (folded lines included) collapsed to one space, repeated headers
//     joined with ','. If the request has no Host header, "host" is taken
//     from the URL (host[:port] in the URL's case, the port omitted when
//     it is the scheme's default: exactly what libcurl sends).
//
// Usage:
//   SigningParams p{.region = "us-east-1", .service = "kinesis",
//                   .time = clock->WallNow()};
//   SHARDHOSE_RETURN_IF_ERROR(SignRequest(&req, creds, p));
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/status.h"

namespace shardhose::aws {

struct SigningParams {
  std::string region;
  std::string service;  // "kinesis", "s3", "sts"
  std::chrono::system_clock::time_point time;
  // S3 signs the path as sent (no normalisation, no second encoding);
  // every other service normalises "." / ".." / "//" and encodes twice.
  bool double_uri_encode = true;
  bool normalize_path = true;
  // If non-empty, used as the payload hash ("UNSIGNED-PAYLOAD", or a hex
  // SHA-256 the caller computed already); otherwise SHA-256 of the body.
  std::string payload_hash;
  // Add "x-amz-content-sha256: <payload hash>" and sign it (S3 requires it).
  bool add_content_sha256_header = false;
  // Sign without X-Amz-Security-Token and add it afterwards (IoT-style);
  // false for all services shardhose talks to.
  bool omit_session_token = false;
};

// The intermediate steps, exposed for the conformance tests.
struct SigningSteps {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       // 64 lowercase hex
  std::string signed_headers;  // "host;x-amz-date"
};

// Removes any previous signature headers, then appends, in this order,
// X-Amz-Security-Token (when creds have a session token), X-Amz-Date,
// x-amz-content-sha256 (when asked) and Authorization to request->headers.
// Signing again (e.g. on a retry) replaces the old signature.
// If `steps` is not null it receives the intermediate steps.
// Returns InvalidArgument if the URL cannot be parsed or the access key id
// or secret is empty; *request is unchanged then.
Status SignRequest(HttpRequest* request, const Credentials& creds, const SigningParams& params,
                   SigningSteps* steps = nullptr);

// Presigned URL form: appends X-Amz-Algorithm, X-Amz-Credential,
// X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Expires (and
// X-Amz-Security-Token), then X-Amz-Signature to the request's URL query,
// in that order (for service "s3" the X-Amz-* parameters before the
// signature are sorted by name, as in S3's documentation; the order does not
// change the signature). The request's own headers (at least host) are signed;
// add_content_sha256_header is ignored. If `steps` is not null it receives
// the intermediate steps. Errors as SignRequest.
Status PresignRequest(HttpRequest* request, const Credentials& creds, const SigningParams& params,
                      std::chrono::seconds expires, SigningSteps* steps = nullptr);

// The steps SignRequest would take for `request`, without changing it.
Result<SigningSteps> ComputeSigningSteps(const HttpRequest& request, const Credentials& creds,
                                         const SigningParams& params);

// Hex-encoded SHA-256 of data (lowercase).
std::string HexSha256(std::string_view data);

}  // namespace shardhose::aws

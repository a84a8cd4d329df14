// File: aws/sigv4.h
//
// AWS Signature Version 4 (header form, and the presigned query form). Pure
// functions of (request, credentials, params): no clock, no I/O, so the
// signer is checked byte for byte against AWS's conformance suite
// (tests/unit/sigv4_test.cc, data in ../shared/testdata/sigv4/).
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

// Adds X-Amz-Date, X-Amz-Security-Token (when creds have a session token),
// x-amz-content-sha256 (when asked) and Authorization to *request.
// Returns InvalidArgument if the URL cannot be parsed.
Status SignRequest(HttpRequest* request, const Credentials& creds, const SigningParams& params);

// Appends X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
// X-Amz-SignedHeaders (and X-Amz-Security-Token) and X-Amz-Signature to the
// request's URL query (presigned URL form).
Status PresignRequest(HttpRequest* request, const Credentials& creds, const SigningParams& params,
                      std::chrono::seconds expires);

// The intermediate steps, exposed for the conformance tests.
struct SigningSteps {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // 64 lowercase hex
  std::string signed_headers;  // "host;x-amz-date"
};
Result<SigningSteps> ComputeSigningSteps(const HttpRequest& request, const Credentials& creds,
                                         const SigningParams& params);

// Hex-encoded SHA-256 of data (lowercase).
std::string HexSha256(std::string_view data);

}  // namespace shardhose::aws

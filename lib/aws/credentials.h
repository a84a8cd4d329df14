// File: aws/credentials.h
//
// AWS credentials and where they come from. A CredentialsProvider hands out
// the current credentials; callers ask for them before every request (the
// provider caches, so this is cheap) and never keep them.
//
// Implementations:
//   NewStaticCredentialsProvider  - here: one fixed set (tests).
//   NewDefaultCredentialsProvider - aws/credentials_chain.h: the AWS SDK's
//                                   default chain (environment, web
//                                   identity, shared files, container,
//                                   IMDS), with caching and background
//                                   refresh.
//
// Credentials never appear in logs: Credentials has no formatter, error
// messages never quote a response body, a token or a process's output, and
// Describe() names only the source ("environment", "profile dev",
// "web identity role arn:aws:iam::1:role/x", "container http://127.0.0.1:80",
// "imds role my-role").
//
// Thread-safety: Get() and Describe() are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace shardhose::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty if none
  std::optional<std::chrono::system_clock::time_point> expiration;
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // kNotFound if no source in the chain (credentials_chain.h) has
  // credentials; kInvalidArgument
  // if a source is malformed (e.g. a profile with a key id but no secret);
  // kUnavailable (retryable RetryClass) if a remote source failed in a way
  // a later call can fix; kPermissionDenied if STS refused the role on the
  // first resolution.
  virtual Result<Credentials> Get() = 0;
  // Where the credentials came from, for logs: "environment", "profile dev".
  virtual std::string Describe() = 0;
};

// One fixed set of credentials, never refreshed. Get() returns them, or
// InvalidArgument if the key id or the secret is empty.
std::unique_ptr<CredentialsProvider> NewStaticCredentialsProvider(Credentials creds);

}  // namespace shardhose::aws

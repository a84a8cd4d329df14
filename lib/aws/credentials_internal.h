// File: aws/credentials_internal.h
//
// The pieces of the default credentials chain (credentials_chain.h), exposed to
// the chain's own files and to tests only. Not part of the aws/ API.
//
// A CredentialSource is one configured place credentials come from: a name
// for logs and a Fetch() that goes and gets a fresh set (HTTP, a process, a
// file). A RefreshingProvider wraps a source with the caching and
// background-refresh rules documented in credentials_chain.h.
//
// Every Fetch() returns:
//   kUnavailable + a retryable RetryClass - a later attempt may work (network,
//                       5xx, throttling, malformed answer from the endpoint).
//   kInvalidArgument  - configuration is wrong (bad URL, missing file).
//   kPermissionDenied / kNotFound - as classified from the peer's answer.
// and never puts a secret, token, response body or process output in a
// message.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "aws/credentials_chain.h"
#include "aws/http.h"
#include "common/clock.h"
#include "common/status.h"

namespace shardhose::aws::internal {

// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view TrimWs(std::string_view s);

struct CredentialSource {
  std::string name;  // Describe() text; never a secret
  std::function<Result<Credentials>()> fetch;
};

// Caching + refresh around one source. Thread-safe.
// REQUIRES: *clock outlives the provider.
std::unique_ptr<CredentialsProvider> NewRefreshingProvider(CredentialSource source, Clock* clock);

// When temporary credentials are due for a refresh and when they stop being
// served, relative to their expiration.
inline constexpr std::chrono::minutes kRefreshWindowMin{5};
inline constexpr std::chrono::minutes kRefreshWindowMax{15};
inline constexpr std::chrono::minutes kExpiryMargin{1};
inline constexpr std::chrono::seconds kRetryAfterFailure{10};

// "2026-01-02T03:04:05Z", with optional fractional seconds and a "+hh:mm" /
// "-hh:mm" offset instead of "Z". InvalidArgument otherwise.
Result<WallTime> ParseIso8601(std::string_view text);

// Parses a JSON credentials document: "AccessKeyId", "SecretAccessKey",
// `token_key` (optional; "Token" or "SessionToken"), "Expiration" (optional
// ISO 8601 or null). `what` names the source in error messages. Malformed
// JSON or missing keys -> kUnavailable with RetryClass::kServerError (the
// endpoint answered nonsense; it may answer properly later); the body is
// never quoted.
Result<Credentials> ParseJsonCredentials(std::string_view body, std::string_view what, const char* token_key);

// The <Credentials> of an STS AssumeRole*/AssumeRoleWithWebIdentity answer.
Result<Credentials> ParseStsCredentials(std::string_view xml);

// An HTTP status that is not 2xx from a credentials endpoint (container,
// IMDS) as a Status: 429 throttled, 5xx server error (both kUnavailable),
// 404 kNotFound, 401/403 kPermissionDenied, other kInvalidArgument.
Status EndpointError(std::string_view what, int http_status);

// Web identity (environment or profile).
struct WebIdentityParams {
  std::string role_arn;
  std::string token_file;
  std::string session_name;
  std::string sts_url;  // "https://sts.eu-west-1.amazonaws.com"
  std::chrono::milliseconds timeout{10000};
};
CredentialSource WebIdentitySource(WebIdentityParams params, HttpClient* http);

// The STS URL for the given environment/profile values (see credentials_chain.h).
std::string StsUrl(std::string_view endpoint_sts, std::string_view endpoint_any, std::string_view region);

// credential_process.
CredentialSource ProcessSource(std::string profile, std::string command, std::chrono::milliseconds timeout);
// Runs `/bin/sh -c command`, returns its stdout (at most 1 MiB). The exit
// status must be 0. Exposed for tests.
Result<std::string> RunCredentialProcess(const std::string& command, std::chrono::milliseconds timeout);

// Container credentials. `url` is the full URL; `auth_token`/`auth_file`
// as in credentials_chain.h (the file wins).
struct ContainerParams {
  std::string url;
  std::string auth_token;
  std::string auth_file;
  std::chrono::milliseconds timeout{10000};
};
CredentialSource ContainerSource(ContainerParams params, HttpClient* http);
// OK if AWS_CONTAINER_CREDENTIALS_FULL_URI may point at `url`;
// InvalidArgument naming the rule otherwise.
Status CheckContainerFullUri(std::string_view url);

// EC2 instance metadata.
struct ImdsParams {
  std::string endpoint;  // "http://169.254.169.254", no trailing '/'
  std::chrono::milliseconds timeout{1000};
};
// The role name, or NotFound if the instance has none / IMDS is not there.
Result<std::string> ImdsRoleName(const ImdsParams& params, HttpClient* http);
CredentialSource ImdsSource(ImdsParams params, std::string role, HttpClient* http);

// "scheme://host[:port]" of a URL (no path, no query), for Describe().
std::string UrlOrigin(std::string_view url);

}  // namespace shardhose::aws::internal

// File: aws/credentials_chain.h
//
// The CredentialsProvider (aws/credentials.h) that shardhose runs with: the
// AWS SDK's default credentials chain, over an HttpClient (aws/http.h) for
// STS, the container endpoint and IMDS. Its pieces are in
// credentials_internal.h; it is implemented in credentials*.cc.
//
// The default chain (AWS SDK semantics), first source that is configured
// wins:
//   1. Environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//      (+ AWS_SESSION_TOKEN).
//   2. Web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      (+ AWS_ROLE_SESSION_NAME, default "shardhose-<pid>"), exchanged for
//      temporary credentials with STS AssumeRoleWithWebIdentity (unsigned
//      Query API POST). STS endpoint: AWS_ENDPOINT_URL_STS, else
//      AWS_ENDPOINT_URL, else https://sts.<AWS_REGION or
//      AWS_DEFAULT_REGION>.amazonaws.com, else https://sts.amazonaws.com.
//      The token file is re-read on every refresh (EKS rotates it).
//   3. Shared files: profile AWS_PROFILE (then AWS_DEFAULT_PROFILE, default
//      "default"); its keys are the AWS_SHARED_CREDENTIALS_FILE (default
//      ~/.aws/credentials) section "[NAME]" laid over the AWS_CONFIG_FILE
//      (default ~/.aws/config) section "[profile NAME]" ("[default]"). In
//      the merged profile, first match:
//        role_arn + web_identity_token_file  -> web identity as in 2
//            (role_session_name, region also read from the profile);
//        role_arn + source_profile/credential_source -> InvalidArgument
//            (not supported);
//        aws_access_key_id + aws_secret_access_key -> static keys;
//        credential_process -> run via /bin/sh -c, stdout parsed as
//            {"Version":1,"AccessKeyId","SecretAccessKey",
//             "SessionToken"?,"Expiration"?}; stderr is captured and never
//            shown (only its size); killed after process_timeout.
//   4. Container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (appended to
//      http://169.254.170.2), else AWS_CONTAINER_CREDENTIALS_FULL_URI
//      (https: any host; http: only loopback, 169.254.170.2,
//      169.254.170.23, fd00:ec2::23). Authorization header from the file
//      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read on every fetch; EKS
//      Pod Identity), else AWS_CONTAINER_AUTHORIZATION_TOKEN. Answer:
//      JSON {AccessKeyId, SecretAccessKey, Token, Expiration}.
//   5. EC2 IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true): PUT
//      /latest/api/token, GET /latest/meta-data/iam/security-credentials/
//      and then /<role>. Endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT, else
//      http://169.254.169.254 (http://[fd00:ec2::254] with
//      AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6). 1 s timeouts; an
//      unreachable IMDS counts as "not configured". No IMDSv1 fallback.
//
// "Configured" means the source's variables / profile keys are present. A
// configured source that fails stops the chain with its error (it does not
// fall through to, say, the node's instance role); an unconfigured one is
// skipped. A failed resolution is not remembered: the next Get() resolves
// again. Once a source has produced credentials the chain sticks to it.
//
// Caching and refresh: credentials without an expiration (environment,
// static keys, credential_process without "Expiration") are kept for the
// life of the provider. Temporary credentials are refreshed from the same
// source at a random point between 15 and 5 minutes before they expire
// (halfway through their lifetime if they live shorter than that), on a
// background thread owned by the provider: while the cached credentials are
// usable (more than 1 minute left), Get() returns them at once and never
// waits for a refresh in progress. A failed background refresh is retried
// after 10 s (simulated time: the next Get() at or after that point starts
// it). Once the cached credentials are no longer usable Get() fetches
// synchronously (callers arriving meanwhile wait for that one fetch and
// share its outcome); if that fails, Get() returns kUnavailable with a
// retryable RetryClass (the pipeline backs off and asks again).
//
// Credentials never appear in logs (credentials.h); Describe() names the
// source the chain settled on ("environment", "profile dev", "web identity
// role arn:aws:iam::1:role/x", "container http://127.0.0.1:80", "imds role
// my-role").
//
// Thread-safety: Get() and Describe() are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"

namespace shardhose::aws {

// Looks up environment variables; tests substitute a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Knobs of the default chain. The defaults are what production uses; tests
// change the fixed container host and shorten timeouts. (Every other
// endpoint is set through the environment, e.g. AWS_ENDPOINT_URL_STS,
// AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_EC2_METADATA_SERVICE_ENDPOINT.)
struct DefaultChainOptions {
  // Prefix for AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
  std::string container_relative_host = "http://169.254.170.2";
  // Connect and whole-request timeout of each IMDS request.
  std::chrono::milliseconds imds_timeout{1000};
  // Whole-request timeout for STS and the container endpoint.
  std::chrono::milliseconds http_timeout{10000};
  // A credential_process still running after this is killed.
  std::chrono::milliseconds process_timeout{60000};
};

// The chain described above. `env` is consulted on every resolution.
// REQUIRES: *http and *clock outlive the provider. The clock decides expiry
// and refresh (wall time, compared with each credential's Expiration).
// The destructor waits for a background refresh in progress (bounded by the
// timeouts above).
std::unique_ptr<CredentialsProvider> NewDefaultCredentialsProvider(EnvLookup env, HttpClient* http, Clock* clock,
                                                                   DefaultChainOptions options = {});

// Parses an INI file as the AWS CLI does (sections, key = value, '#'/';'
// comments). Exposed for tests. Section names are kept as written
// ("default", "profile dev").
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile ParseIni(std::string_view text);

}  // namespace shardhose::aws

// File: aws/credentials.h
//
// AWS credentials and where they come from. A CredentialsProvider hands out
// the current credentials; callers ask for them before every request (the
// provider caches, so this is cheap) and never keep them.
//
// The default chain, first match wins:
//   1. Environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//      (+ AWS_SESSION_TOKEN).
//   2. Shared files: profile AWS_PROFILE (then AWS_DEFAULT_PROFILE, default
//      "default") from
//      AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), then from
//      AWS_CONFIG_FILE (default ~/.aws/config, section "[profile NAME]" or
//      "[default]").
//   (Web identity, container credentials and IMDSv2 are added to the chain by
//   a later change; the interface does not change.)
//
// Credentials never appear in logs: Credentials has no formatter, and
// Describe() names only the source ("environment", "profile default").
//
// Caching: the default chain remembers the first credentials it finds for
// the life of the provider (environment and static profile keys do not
// expire; rotating them needs a restart until refreshing sources are
// added). A failed lookup is not cached: the next Get() looks again.
//
// Thread-safety: Get() and Describe() are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
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
  // kNotFound if no source in the chain has credentials; kInvalidArgument
  // if a source is malformed (e.g. a profile with a key id but no secret).
  virtual Result<Credentials> Get() = 0;
  // Where the credentials came from, for logs: "environment", "profile dev".
  virtual std::string Describe() = 0;
};

// Looks up environment variables; tests substitute a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

std::unique_ptr<CredentialsProvider> NewStaticCredentialsProvider(Credentials creds);
std::unique_ptr<CredentialsProvider> NewDefaultCredentialsProvider(EnvLookup env = ProcessEnv());

// Parses an INI file as the AWS CLI does (sections, key = value, '#'/';'
// comments). Exposed for tests. Section names are kept as written
// ("default", "profile dev").
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile ParseIni(std::string_view text);

}  // namespace shardhose::aws

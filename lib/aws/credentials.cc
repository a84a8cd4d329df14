// Credential providers: static, environment, shared files, and the chain
// that picks the first configured source (web identity, container and IMDS
// live in credentials_sts.cc / _container.cc / _imds.cc, credential_process
// in credentials_process.cc, caching and refresh in credentials_refresh.cc).
//
// Nothing in this file logs or formats a secret: error messages name the
// source (variable names, file path, profile), never a value.
#include "aws/credentials.h"

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include "aws/credentials_chain.h"
#include "aws/credentials_internal.h"
#include "common/fs.h"

namespace shardhose::aws {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The value of a non-empty environment variable.
std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  std::optional<std::string> v = env(name);
  if (v.has_value() && v->empty()) return std::nullopt;
  return v;
}

class StaticProvider final : public CredentialsProvider {
 public:
  explicit StaticProvider(Credentials c) : creds_(std::move(c)) {}
  Result<Credentials> Get() override {
    if (creds_.access_key_id.empty() || creds_.secret_access_key.empty()) {
      return Status::InvalidArgument("static credentials: empty access key id or secret");
    }
    return creds_;
  }
  std::string Describe() override { return "static"; }

 private:
  const Credentials creds_;
};

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).
Result<Credentials> FromEnvironment(const EnvLookup& env) {
  std::optional<std::string> id = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return Status::NotFound("environment: AWS_ACCESS_KEY_ID not set");
  if (!id || !secret) {
    return Status::InvalidArgument("environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
  }
  Credentials c;
  c.access_key_id = std::move(*id);
  c.secret_access_key = std::move(*secret);
  c.session_token = NonEmpty(env, "AWS_SESSION_TOKEN").value_or("");
  return c;
}

// "~/x" -> "$HOME/x".
std::string ExpandHome(const std::string& path, const EnvLookup& env) {
  if (path == "~" || path.starts_with("~/")) {
    std::optional<std::string> home = NonEmpty(env, "HOME");
    if (home) return *home + path.substr(1);
  }
  return path;
}

std::string FilePath(const EnvLookup& env, const std::string& var, const char* default_name) {
  if (std::optional<std::string> p = NonEmpty(env, var)) return ExpandHome(*p, env);
  std::optional<std::string> home = NonEmpty(env, "HOME");
  if (!home) return "";
  return *home + "/.aws/" + default_name;
}

// Reads and parses an optional file: NotFound if it does not exist.
Result<IniFile> ReadIni(const std::string& path) {
  if (path.empty()) return Status::NotFound("no path (HOME not set)");
  Result<std::string> text = FileSystem::Default()->ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseIni(*text);
}

// The selected profile: the credentials file's section laid over the config
// file's, and where each was looked for (for NotFound messages).
struct Profile {
  std::string name;
  std::map<std::string, std::string> keys;
  std::vector<std::string> looked;

  std::string Get(const char* key) const {
    auto it = keys.find(key);
    return it == keys.end() ? std::string() : std::string(Trim(it->second));
  }
};

Result<Profile> LoadProfile(const EnvLookup& env) {
  Profile p;
  p.name = NonEmpty(env, "AWS_PROFILE").value_or(NonEmpty(env, "AWS_DEFAULT_PROFILE").value_or("default"));
  const std::string creds_path = FilePath(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  const std::string config_path = FilePath(env, "AWS_CONFIG_FILE", "config");

  Result<IniFile> config_ini = ReadIni(config_path);
  if (config_ini.ok()) {
    const std::string section = p.name == "default" ? "default" : "profile " + p.name;
    auto it = config_ini->find(section);
    if (it != config_ini->end()) {
      p.keys = it->second;
    } else {
      p.looked.push_back(config_path + ": no section [" + section + "]");
    }
  } else if (!config_ini.status().IsNotFound()) {
    return config_ini.status();
  } else {
    p.looked.push_back(config_path + ": not found");
  }

  Result<IniFile> creds_ini = ReadIni(creds_path);
  if (creds_ini.ok()) {
    auto it = creds_ini->find(p.name);
    if (it != creds_ini->end()) {
      for (const auto& [k, v] : it->second) p.keys[k] = v;  // credentials file wins
    } else {
      p.looked.push_back(creds_path + ": no section [" + p.name + "]");
    }
  } else if (!creds_ini.status().IsNotFound()) {
    return creds_ini.status();
  } else {
    p.looked.push_back(creds_path + ": not found");
  }
  return p;
}

std::string SessionName(const std::optional<std::string>& configured) {
  if (configured.has_value()) return *configured;
  return "shardhose-" + std::to_string(static_cast<long long>(getpid()));
}

std::string Region(const EnvLookup& env, const std::string& profile_region = "") {
  return NonEmpty(env, "AWS_REGION").value_or(NonEmpty(env, "AWS_DEFAULT_REGION").value_or(profile_region));
}

internal::WebIdentityParams WebIdentity(const EnvLookup& env, std::string role_arn, std::string token_file,
                                        std::optional<std::string> session_name, const std::string& profile_region,
                                        const DefaultChainOptions& o) {
  internal::WebIdentityParams w;
  w.role_arn = std::move(role_arn);
  w.token_file = ExpandHome(token_file, env);
  w.session_name = SessionName(session_name);
  w.sts_url = internal::StsUrl(NonEmpty(env, "AWS_ENDPOINT_URL_STS").value_or(""),
                               NonEmpty(env, "AWS_ENDPOINT_URL").value_or(""), Region(env, profile_region));
  w.timeout = o.http_timeout;
  return w;
}

// Web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN.
Result<internal::CredentialSource> WebIdentityFromEnv(const EnvLookup& env, HttpClient* http,
                                                      const DefaultChainOptions& o) {
  std::optional<std::string> file = NonEmpty(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!file) return Status::NotFound("web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set");
  std::optional<std::string> role = NonEmpty(env, "AWS_ROLE_ARN");
  if (!role) {
    return Status::InvalidArgument("web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
  }
  return internal::WebIdentitySource(
      WebIdentity(env, std::move(*role), std::move(*file), NonEmpty(env, "AWS_ROLE_SESSION_NAME"), "", o), http);
}

// The shared files: web identity, static keys or credential_process of the
// selected profile.
Result<internal::CredentialSource> FromProfile(const EnvLookup& env, HttpClient* http, const DefaultChainOptions& o) {
  Result<Profile> loaded = LoadProfile(env);
  if (!loaded.ok()) return loaded.status();
  const Profile& p = *loaded;
  const std::string where = "profile " + p.name;

  const std::string role_arn = p.Get("role_arn");
  if (!role_arn.empty()) {
    const std::string token_file = p.Get("web_identity_token_file");
    if (token_file.empty()) {
      return Status::InvalidArgument(where +
                                     ": role_arn without web_identity_token_file (source_profile and "
                                     "credential_source are not supported)");
    }
    std::optional<std::string> session;
    if (std::string s = p.Get("role_session_name"); !s.empty()) session = s;
    if (!session) session = NonEmpty(env, "AWS_ROLE_SESSION_NAME");
    internal::CredentialSource src =
        internal::WebIdentitySource(WebIdentity(env, role_arn, token_file, session, p.Get("region"), o), http);
    src.name = where + " " + src.name;
    return src;
  }

  Credentials c;
  c.access_key_id = p.Get("aws_access_key_id");
  c.secret_access_key = p.Get("aws_secret_access_key");
  c.session_token = p.Get("aws_session_token");
  if (!c.access_key_id.empty() || !c.secret_access_key.empty()) {
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return Status::InvalidArgument(where + ": needs both aws_access_key_id and aws_secret_access_key");
    }
    return internal::CredentialSource{where, [c] { return Result<Credentials>(c); }};
  }

  const std::string process = p.Get("credential_process");
  if (!process.empty()) return internal::ProcessSource(p.name, process, o.process_timeout);

  std::string msg = where + ":";
  for (const auto& l : p.looked) msg += " " + l + ";";
  if (p.looked.size() < 2) msg += " no aws_access_key_id, credential_process or role_arn";
  return Status::NotFound(std::move(msg));
}

// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, else _FULL_URI.
Result<internal::CredentialSource> FromContainer(const EnvLookup& env, HttpClient* http, const DefaultChainOptions& o) {
  internal::ContainerParams c;
  if (std::optional<std::string> rel = NonEmpty(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    c.url = o.container_relative_host + (rel->starts_with("/") ? "" : "/") + *rel;
  } else if (std::optional<std::string> full = NonEmpty(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    SHARDHOSE_RETURN_IF_ERROR(internal::CheckContainerFullUri(*full));
    c.url = std::move(*full);
  } else {
    return Status::NotFound("container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set");
  }
  c.auth_file = NonEmpty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").value_or("");
  c.auth_token = NonEmpty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or("");
  c.timeout = o.http_timeout;
  return internal::ContainerSource(std::move(c), http);
}

Result<internal::CredentialSource> FromImds(const EnvLookup& env, HttpClient* http, const DefaultChainOptions& o) {
  if (ToLower(NonEmpty(env, "AWS_EC2_METADATA_DISABLED").value_or("")) == "true") {
    return Status::NotFound("imds: AWS_EC2_METADATA_DISABLED=true");
  }
  internal::ImdsParams p;
  if (std::optional<std::string> e = NonEmpty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
    p.endpoint = *e;
  } else if (ToLower(NonEmpty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE").value_or("")) == "ipv6") {
    p.endpoint = "http://[fd00:ec2::254]";
  } else {
    p.endpoint = "http://169.254.169.254";
  }
  while (!p.endpoint.empty() && p.endpoint.back() == '/') p.endpoint.pop_back();
  p.timeout = o.imds_timeout;
  Result<std::string> role = internal::ImdsRoleName(p, http);
  if (!role.ok()) return role.status();
  return internal::ImdsSource(std::move(p), std::move(*role), http);
}

// Resolves the first configured source, then sticks to it (see
// credentials_chain.h). resolve_mu_ serialises resolutions; state_mu_ guards the
// result, so Get() after resolution never waits for a resolution.
class DefaultChain final : public CredentialsProvider {
 public:
  DefaultChain(EnvLookup env, HttpClient* http, Clock* clock, DefaultChainOptions options)
      : env_(std::move(env)), http_(http), clock_(clock), options_(std::move(options)) {}

  Result<Credentials> Get() override {
    if (CredentialsProvider* p = Resolved()) return p->Get();
    std::lock_guard<std::mutex> resolving(resolve_mu_);
    if (CredentialsProvider* p = Resolved()) return p->Get();

    using Finder = Result<internal::CredentialSource> (*)(const EnvLookup&, HttpClient*, const DefaultChainOptions&);
    const Finder finders[] = {
        [](const EnvLookup& env, HttpClient*, const DefaultChainOptions&) -> Result<internal::CredentialSource> {
          Result<Credentials> c = FromEnvironment(env);
          if (!c.ok()) return c.status();
          return internal::CredentialSource{"environment", [c = *c] { return Result<Credentials>(c); }};
        },
        WebIdentityFromEnv, FromProfile, FromContainer, FromImds};
    std::string not_found;
    for (Finder find : finders) {
      Result<internal::CredentialSource> source = find(env_, http_, options_);
      if (!source.ok()) {
        if (!source.status().IsNotFound()) return source.status();
        not_found += (not_found.empty() ? "" : "; ") + source.status().message();
        continue;
      }
      std::string name = source->name;
      std::unique_ptr<CredentialsProvider> provider =
          internal::NewRefreshingProvider(std::move(source).value(), clock_);
      Result<Credentials> creds = provider->Get();
      if (!creds.ok()) return creds.status();
      std::lock_guard<std::mutex> lock(state_mu_);
      resolved_ = std::move(provider);
      source_ = std::move(name);
      return creds;
    }
    return Status::NotFound("no AWS credentials: " + not_found);
  }

  std::string Describe() override {
    std::lock_guard<std::mutex> lock(state_mu_);
    return source_.empty() ? "default chain (not resolved yet)" : source_;
  }

 private:
  CredentialsProvider* Resolved() {
    std::lock_guard<std::mutex> lock(state_mu_);
    return resolved_.get();
  }

  const EnvLookup env_;
  HttpClient* const http_;
  Clock* const clock_;
  const DefaultChainOptions options_;
  std::mutex resolve_mu_;  // held for a whole resolution; before state_mu_
  std::mutex state_mu_;
  std::unique_ptr<CredentialsProvider> resolved_;  // GUARDED_BY(state_mu_), set once
  std::string source_;                             // GUARDED_BY(state_mu_)
};

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::unique_ptr<CredentialsProvider> NewStaticCredentialsProvider(Credentials creds) {
  return std::make_unique<StaticProvider>(std::move(creds));
}

std::unique_ptr<CredentialsProvider> NewDefaultCredentialsProvider(EnvLookup env, HttpClient* http, Clock* clock,
                                                                   DefaultChainOptions options) {
  return std::make_unique<DefaultChain>(std::move(env), http, clock, std::move(options));
}

IniFile ParseIni(std::string_view text) {
  IniFile ini;
  std::map<std::string, std::string>* section = nullptr;
  std::string* last_value = nullptr;  // for indented continuation lines
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view raw = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string_view line = Trim(raw);
    if (line.empty()) continue;
    if (line.front() == '#' || line.front() == ';') continue;
    const bool indented = raw.front() == ' ' || raw.front() == '\t';
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) {
        section = nullptr;  // malformed header: ignore its keys
        last_value = nullptr;
        continue;
      }
      section = &ini[std::string(Trim(line.substr(1, close - 1)))];
      last_value = nullptr;
      continue;
    }
    if (section == nullptr) continue;  // keys before any section
    if (indented && last_value != nullptr) {
      // Continuation of the previous value (botocore's nested "s3 =" style).
      last_value->push_back('\n');
      last_value->append(line);
      continue;
    }
    size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos) continue;
    std::string key = ToLower(Trim(line.substr(0, sep)));
    if (key.empty()) continue;
    std::string& v = (*section)[key];
    v = std::string(Trim(line.substr(sep + 1)));
    last_value = &v;
  }
  return ini;
}

}  // namespace shardhose::aws

// Credential providers: static, environment, shared files, and the chain.
//
// Nothing in this file logs or formats a secret: error messages name the
// source (variable names, file path, profile), never a value.
#include "aws/credentials.h"

#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

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
    return Status::InvalidArgument(
        "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
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

// Looks for static keys in one section. NotFound if the section is missing
// or has no key id and no secret.
Result<Credentials> FromSection(const IniFile& ini, const std::string& section,
                                const std::string& where) {
  auto it = ini.find(section);
  if (it == ini.end()) return Status::NotFound(where + ": no section [" + section + "]");
  const auto& kv = it->second;
  auto get = [&](const char* k) -> std::string {
    auto f = kv.find(k);
    return f == kv.end() ? std::string() : std::string(Trim(f->second));
  };
  Credentials c;
  c.access_key_id = get("aws_access_key_id");
  c.secret_access_key = get("aws_secret_access_key");
  c.session_token = get("aws_session_token");
  if (c.access_key_id.empty() && c.secret_access_key.empty()) {
    return Status::NotFound(where + ": [" + section + "] has no aws_access_key_id");
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::InvalidArgument(where + ": [" + section +
                                   "] needs both aws_access_key_id and aws_secret_access_key");
  }
  return c;
}

// Reads and parses an optional file: NotFound if it does not exist.
Result<IniFile> ReadIni(const std::string& path) {
  if (path.empty()) return Status::NotFound("no path (HOME not set)");
  Result<std::string> text = FileSystem::Default()->ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseIni(*text);
}

struct Found {
  Credentials creds;
  std::string source;
};

// The shared credentials file, then the config file.
Result<Found> FromSharedFiles(const EnvLookup& env) {
  std::string profile = NonEmpty(env, "AWS_PROFILE")
                            .value_or(NonEmpty(env, "AWS_DEFAULT_PROFILE").value_or("default"));
  const std::string creds_path = FilePath(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  const std::string config_path = FilePath(env, "AWS_CONFIG_FILE", "config");

  std::vector<std::string> looked;
  Result<IniFile> creds_ini = ReadIni(creds_path);
  if (creds_ini.ok()) {
    Result<Credentials> c = FromSection(*creds_ini, profile, creds_path);
    if (c.ok()) return Found{std::move(*c), "profile " + profile};
    if (!c.status().IsNotFound()) return c.status();
    looked.push_back(c.status().message());
  } else if (!creds_ini.status().IsNotFound()) {
    return creds_ini.status();
  } else {
    looked.push_back(creds_path + ": not found");
  }

  Result<IniFile> config_ini = ReadIni(config_path);
  if (config_ini.ok()) {
    const std::string section = profile == "default" ? "default" : "profile " + profile;
    Result<Credentials> c = FromSection(*config_ini, section, config_path);
    if (c.ok()) return Found{std::move(*c), "profile " + profile};
    if (!c.status().IsNotFound()) return c.status();
    looked.push_back(c.status().message());
  } else if (!config_ini.status().IsNotFound()) {
    return config_ini.status();
  } else {
    looked.push_back(config_path + ": not found");
  }

  std::string msg = "profile " + profile + ":";
  for (const auto& l : looked) msg += " " + l + ";";
  return Status::NotFound(std::move(msg));
}

// Env, then shared files. The first credentials found are cached for the
// life of the provider (neither source expires); failures are not cached.
class DefaultChain final : public CredentialsProvider {
 public:
  explicit DefaultChain(EnvLookup env) : env_(std::move(env)) {}

  Result<Credentials> Get() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_) return *cached_;

    Result<Credentials> env = FromEnvironment(env_);
    if (env.ok()) return Cache(std::move(*env), "environment");
    if (!env.status().IsNotFound()) return env.status();

    Result<Found> files = FromSharedFiles(env_);
    if (files.ok()) return Cache(std::move(files->creds), std::move(files->source));
    if (!files.status().IsNotFound()) return files.status();

    return Status::NotFound("no AWS credentials: " + env.status().message() + "; " +
                            files.status().message());
  }

  std::string Describe() override {
    std::lock_guard<std::mutex> lock(mu_);
    return source_.empty() ? "default chain (not resolved yet)" : source_;
  }

 private:
  Credentials Cache(Credentials c, std::string source) {
    cached_ = c;
    source_ = std::move(source);
    return c;
  }

  const EnvLookup env_;
  std::mutex mu_;
  std::optional<Credentials> cached_;  // GUARDED_BY(mu_)
  std::string source_;                 // GUARDED_BY(mu_)
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

std::unique_ptr<CredentialsProvider> NewDefaultCredentialsProvider(EnvLookup env) {
  return std::make_unique<DefaultChain>(std::move(env));
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

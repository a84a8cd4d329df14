// The public API of config.h: Load() and ToToml() over the option table
// (config/schema.h), and Config's own methods.
//
// Order of work in Load():
//   1. defaults (Config{});
//   2. the file: unknown sections/keys and wrong types are collected;
//   3. AWS_* variables for keys the file did not set;
//   4. SHARDHOSE_<SECTION>_<KEY> variables (and unknown SHARDHOSE_* ones,
//      reported first);
//   5. per-key checks (range, choices, non-empty, extra check), skipping
//      keys whose value was unusable;
//   6. cross-field rules, skipping rules that involve an invalid key (so one
//      mistake is reported once, not as a cascade).
// Each problem becomes one line "<section>.<key>: <what> [(where)]" where
// `where` is "(line N)" for the file or "(from VAR)" for the environment.
// Steps 2-4 are in loader.cc, 5-6 in validate.cc.

#include "config/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/fs.h"
#include "config/loader.h"
#include "config/schema.h"

namespace shardhose::config {

using internal::Loader;
using internal::Option;
using internal::Options;
using internal::StartsWith;

namespace internal {

// A TOML basic string.
std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string ValueAsToml(const Option& o, Config& c) {
  return std::visit(
      [&](auto ref) -> std::string {
        using R = decltype(ref);
        if constexpr (std::is_same_v<R, StrRef>) {
          if (o.spec.list) {  // "a,b" -> ["a", "b"]
            std::string out = "[";
            for (const std::string& name : SplitList(ref(c))) {
              if (out.size() > 1) out += ", ";
              out += TomlString(name);
            }
            return out + "]";
          }
          return TomlString(ref(c));
        } else if constexpr (std::is_same_v<R, EnumRef>) {
          return TomlString(o.spec.names[static_cast<size_t>(ref.get(c))]);
        } else if constexpr (std::is_same_v<R, IntRef>) {
          return std::to_string(ref(c));
        } else {
          return ref(c) ? "true" : "false";
        }
      },
      o.ref);
}

}  // namespace internal

std::string Config::StreamDisplayName() const {
  if (source.type == SourceType::kDynamoDbStreams) {
    // The table: named, or in the ARN (...:table/<table>/stream/<label>).
    if (!source.table_name.empty()) return source.table_name;
    const size_t table = source.stream_arn.find(":table/");
    const size_t stream = source.stream_arn.find("/stream/");
    if (table != std::string::npos && stream != std::string::npos && stream > table + 7) {
      return source.stream_arn.substr(table + 7, stream - table - 7);
    }
    return source.stream_arn;
  }
  if (!source.stream_name.empty()) return source.stream_name;
  const size_t slash = source.stream_arn.rfind(":stream/");
  if (slash != std::string::npos) return source.stream_arn.substr(slash + 8);
  return source.stream_arn;
}

std::string Config::LeaseTableName() const {
  if (!coordination.table.empty()) return coordination.table;
  std::string name = "shardhose-" + StreamDisplayName() + "-leases";
  for (char& ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == '-';
    if (!ok) ch = '-';
  }
  if (name.size() > 247) name.resize(247);
  return name;
}

std::string Config::CoordinationRegion() const {
  return coordination.region.empty() ? source.region : coordination.region;
}

bool Config::OutputIsLocalDirectory() const { return StartsWith(output.endpoint_url, "file://"); }

std::string Config::OutputDirectory() const {
  if (!OutputIsLocalDirectory()) return "";
  std::string dir = output.endpoint_url.substr(7);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::vector<std::string> ProcessEnvNames() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    out.emplace_back(*e, eq ? static_cast<size_t>(eq - *e) : std::strlen(*e));
  }
  return out;
}

Result<Config> Load(const std::string& path, const EnvLookup& env, const std::vector<std::string>& env_names) {
  Loader loader(Options());
  loader.CheckEnvNames(env_names);
  if (!path.empty()) {
    Result<std::string> text = FileSystem::Default()->ReadFile(path);
    if (!text.ok()) return text.status().WithContext("config file");
    toml::table root;
    try {
      root = toml::parse(*text, path);
    } catch (const toml::parse_error& e) {
      const auto& b = e.source().begin;
      return Status::InvalidArgument(path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                                     ": TOML syntax error: " + std::string(e.description()));
    }
    loader.ApplyFile(root);
  }
  loader.ApplyEnv(env);
  loader.ApplyAwsEnv(env);  // where neither the file nor SHARDHOSE_* set a key
  loader.ValidateEach();
  loader.ValidateTogether();
  if (!loader.problems().empty()) {
    std::string msg;
    for (const std::string& p : loader.problems()) {
      if (!msg.empty()) msg += '\n';
      msg += p;
    }
    return Status::InvalidArgument(std::move(msg));
  }
  return std::move(loader.config());
}

std::string ToToml(const Config& config) {
  Config c = config;  // accessors take a mutable Config
  std::string out = "# shardhose effective configuration\n";
  std::string_view section;
  for (const Option& o : Options()) {
    if (o.section != section) {
      section = o.section;
      out += "\n[" + std::string(section) + "]\n";
    }
    out += std::string(o.key) + " = " + ValueAsToml(o, c) + "\n";
  }
  return out;
}

}  // namespace shardhose::config

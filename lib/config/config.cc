// Configuration loading. Everything is driven by one table, kOptions below:
// a row names a key, its type (from the struct field it points to), the
// allowed values, the AWS variables that may supply it, an optional extra
// check, and its description. Parsing the TOML file, environment overrides,
// ToToml(), validation and ListOptions() all walk that table; adding a key
// is a field in config.h plus one row here (and a line in
// config/shardhose.example.toml, which a test checks).
//
// Order of work in Load():
//   1. defaults (Config{});
//   2. the file: unknown sections/keys and wrong types are collected;
//   3. AWS_* variables for keys the file did not set;
//   4. SHARDHOSE_<SECTION>_<KEY> variables;
//   5. per-key checks (range, choices, non-empty, extra check), skipping
//      keys whose value was unusable;
//   6. cross-field rules, skipping rules that involve an invalid key (so one
//      mistake is reported once, not as a cascade).
// Each problem becomes one line "<section>.<key>: <what> [(where)]" where
// `where` is "(line N)" for the file or "(from VAR)" for the environment.

#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <array>
#include <charconv>
#include <climits>
#include <sstream>
#include <string_view>
#include <variant>

#include "common/fs.h"
#include "config/options.h"
#include "config/rfc3339.h"
#include "partition/template.h"

namespace shardhose::config {
namespace {

constexpr int64_t kMaxObjectBytes = 5368709120;  // 5 GiB: S3's single-PUT limit
constexpr int64_t kMinPartBytes = 5242880;       // 5 MiB: S3's smallest part (but the last)
constexpr int64_t kMaxPartBytes = 5368709120;    // 5 GiB: S3's largest part
constexpr int64_t kMaxObjectBytesMultipart = 5497558138880;  // 5 TiB: S3's largest object
constexpr int64_t kNoMin = INT64_MIN;
constexpr int64_t kNoMax = INT64_MAX;

// ---------------------------------------------------------------------------
// The option table.

using StrRef = std::string& (*)(Config&);
using IntRef = int64_t& (*)(Config&);
using BoolRef = bool& (*)(Config&);
using Ref = std::variant<StrRef, IntRef, BoolRef>;

// An extra check of a string value; returns the problem ("" if fine).
using StrCheck = std::string (*)(const std::string& value);

// What values a key accepts. Built with the helpers below.
struct Spec {
  bool timestamp = false;          // a string holding an RFC 3339 timestamp
  int64_t min = kNoMin;            // integers
  int64_t max = kNoMax;
  std::string_view choices;        // strings: "a|b|c" ("" allowed if listed as "|a")
  bool non_empty = false;          // strings
  StrCheck check = nullptr;        // strings
  std::array<std::string_view, 2> aws_env{};  // AWS variables, first found wins

  constexpr Spec NonEmpty() const { Spec s = *this; s.non_empty = true; return s; }
  constexpr Spec Check(StrCheck f) const { Spec s = *this; s.check = f; return s; }
  constexpr Spec Aws(std::string_view a, std::string_view b = {}) const {
    Spec s = *this;
    s.aws_env = {a, b};
    return s;
  }
};
constexpr Spec Any() { return Spec{}; }
constexpr Spec Range(int64_t lo, int64_t hi = kNoMax) { Spec s; s.min = lo; s.max = hi; return s; }
constexpr Spec OneOf(std::string_view choices) { Spec s; s.choices = choices; return s; }
constexpr Spec Timestamp() { Spec s; s.timestamp = true; return s; }
constexpr Spec NonEmpty() { return Spec{}.NonEmpty(); }

struct Option {
  std::string_view section;
  std::string_view key;
  Ref ref;
  Spec spec;
  std::string_view description;
};

enum class Type { kString, kInt, kBool, kTimestamp };

Type TypeOf(const Option& o) {
  if (std::holds_alternative<IntRef>(o.ref)) return Type::kInt;
  if (std::holds_alternative<BoolRef>(o.ref)) return Type::kBool;
  return o.spec.timestamp ? Type::kTimestamp : Type::kString;
}

std::string CheckStreamArn(const std::string& v);
std::string CheckSourceEndpoint(const std::string& v);
std::string CheckOutputEndpoint(const std::string& v);
std::string CheckBucket(const std::string& v);
std::string CheckRecordTemplate(const std::string& v);
std::string CheckErrorTemplate(const std::string& v);
std::string CheckTimestamp(const std::string& v);
std::string CheckListen(const std::string& v);
std::string CheckConsumerName(const std::string& v);

// "source, stream_name, <accessor>" for a row.
#define SH_KEY(sec, key) #sec, #key, Ref(+[](Config& c) -> auto& { return c.sec.key; })

// clang-format off
const std::vector<Option>& Options() {
  static const std::vector<Option> kOptions = {
    // key                                   accepts                                  description
    {SH_KEY(source, stream_name),           Any(),                                    "Kinesis stream to read. Set exactly one of stream_name and stream_arn."},
    {SH_KEY(source, stream_arn),            Any().Check(CheckStreamArn),              "Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>), instead of stream_name."},
    {SH_KEY(source, region),                NonEmpty().Aws("AWS_REGION", "AWS_DEFAULT_REGION"), "AWS region of the stream. If not set in the file: AWS_REGION, then AWS_DEFAULT_REGION."},
    {SH_KEY(source, endpoint_url),          Any().Check(CheckSourceEndpoint).Aws("AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL"), "Kinesis endpoint, http(s)://host[:port]; empty = AWS's endpoint for the region. If not set in the file: AWS_ENDPOINT_URL_KINESIS, then AWS_ENDPOINT_URL."},
    {SH_KEY(source, initial_position),      OneOf("TRIM_HORIZON|LATEST|AT_TIMESTAMP"), "Where to start reading a shard that has no checkpoint."},
    {SH_KEY(source, initial_timestamp),     Timestamp().Check(CheckTimestamp),        "RFC 3339 time to start from; required with, and only allowed with, initial_position = \"AT_TIMESTAMP\"."},
    {SH_KEY(source, max_records_per_call),  Range(1, 10000),                          "GetRecords Limit: records per call."},
    {SH_KEY(source, poll_interval_ms),      Range(0),                                 "Minimum gap between GetRecords calls on one shard (Kinesis allows 5 per second per shard)."},
    {SH_KEY(source, idle_poll_interval_ms), Range(0),                                 "Gap after a GetRecords call that returned no records."},
    {SH_KEY(source, shard_refresh_s),       Range(1),                                 "How often to list shards to find new ones (resharding)."},
    {SH_KEY(source, poll_threads),          Range(1, 256),                            "Threads polling shards; shards are multiplexed over them."},
    {SH_KEY(source, consumer),              OneOf("polling|efo"),                     "How shards are read: \"polling\" (GetRecords) or \"efo\" (enhanced fan-out: a registered stream consumer, SubscribeToShard)."},
    {SH_KEY(source, consumer_name),         NonEmpty().Check(CheckConsumerName),      "Stream consumer registered (or reused) with consumer = \"efo\"."},

    {SH_KEY(batch, max_bytes),              Range(1, kMaxObjectBytesMultipart),       "Uncompressed bytes per object; a batch is flushed when it would exceed this. Above 5 GiB (S3's single PUT) needs part_bytes."},
    {SH_KEY(batch, max_interval_s),         Range(0, 86400),                          "Flush a batch when its oldest line is this old; 0 = flush after every poll."},
    {SH_KEY(batch, max_records),            Range(0),                                 "Flush a batch at this many records; 0 = unlimited."},
    {SH_KEY(batch, max_buffered_bytes),     Range(1),                                 "Cap on bytes held in all open and in-flight batches; polling pauses above it. Must be >= max_bytes (>= 2 x part_bytes with part_bytes)."},
    {SH_KEY(batch, part_bytes),             Range(0, kMaxPartBytes),                  "0 = one PUT per object. Otherwise each (partition, shard) gets its own batch, streamed to S3 as a multipart upload in parts of this many compressed bytes as it grows (>= 5242880), so max_bytes can be many GiB."},

    {SH_KEY(output, bucket),                Any().Check(CheckBucket),                 "S3 bucket. Required unless endpoint_url is a file:// directory."},
    {SH_KEY(output, region),                NonEmpty().Aws("AWS_REGION", "AWS_DEFAULT_REGION"), "AWS region of the bucket. If not set in the file: AWS_REGION, then AWS_DEFAULT_REGION."},
    {SH_KEY(output, endpoint_url),          Any().Check(CheckOutputEndpoint).Aws("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "S3 endpoint, http(s)://host[:port], or file:///abs/dir to write objects to a local directory; empty = AWS. If not set in the file: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL."},
    {SH_KEY(output, force_path_style),      Any(),                                    "Address the bucket as endpoint/bucket/key instead of bucket.endpoint/key (needed by most S3 emulators)."},
    {SH_KEY(output, prefix),                Any().Check(CheckRecordTemplate),         "Key prefix template for records: {table} {event_name} {stream} {shard_id} {event_time:%Y...} {arrival_time:%Y...}."},
    {SH_KEY(output, error_prefix),          Any().Check(CheckErrorTemplate),          "Key prefix template for records that failed to decode; may also use {error}."},
    {SH_KEY(output, format),                OneOf("unmarshalled|raw"),                "unmarshalled = plain JSON per change record; raw = the Kinesis record data as received."},
    {SH_KEY(output, compression),           OneOf("gzip|none"),                       "Object compression."},
    {SH_KEY(output, compression_level),     Range(1, 9),                              "gzip level: 1-2 ISA-L igzip (fast), 3-9 zlib."},
    {SH_KEY(output, sse),                   OneOf("|AES256|aws:kms"),                 "Server-side encryption: \"\" (bucket default), AES256 or aws:kms."},
    {SH_KEY(output, sse_kms_key_id),        Any(),                                    "KMS key for sse = \"aws:kms\"; empty = the AWS-managed key."},
    {SH_KEY(output, upload_threads),        Range(1, 256),                            "Concurrent uploads."},
    {SH_KEY(output, upload_timeout_s),      Range(1, 3600),                           "Deadline for one upload attempt."},

    {SH_KEY(checkpoint, path),              NonEmpty(),                               "Checkpoint file (replaced atomically); its directory must be writable."},

    {SH_KEY(shutdown, grace_period_s),      Range(1, 3600),                           "On SIGTERM/SIGINT: time to flush open batches and write the checkpoint before exiting."},

    {SH_KEY(server, listen),                Any().Check(CheckListen),                 "HTTP endpoint for /healthz, /readyz and /metrics (Prometheus), host:port or [v6addr]:port; empty = disabled."},
  };
  return kOptions;
}
// clang-format on
#undef SH_KEY

// ---------------------------------------------------------------------------
// Small helpers.

std::string Dotted(const Option& o) { return std::string(o.section) + "." + std::string(o.key); }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string EnvName(const Option& o) { return "SHARDHOSE_" + Upper(o.section) + "_" + Upper(o.key); }

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// A TOML basic string.
std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
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
          return TomlString(ref(c));
        } else if constexpr (std::is_same_v<R, IntRef>) {
          return std::to_string(ref(c));
        } else {
          return ref(c) ? "true" : "false";
        }
      },
      o.ref);
}

std::vector<std::string_view> SplitChoices(std::string_view choices) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t bar = choices.find('|', start);
    out.push_back(choices.substr(start, bar == std::string_view::npos ? bar : bar - start));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return out;
}

std::string ChoicesText(std::string_view choices) {
  std::string out;
  for (std::string_view c : SplitChoices(choices)) {
    if (!out.empty()) out += '|';
    out += c.empty() ? "\"\"" : std::string(c);
  }
  return out;
}

std::string AllowedText(const Option& o) {
  if (TypeOf(o) == Type::kInt) {
    if (o.spec.min == kNoMin && o.spec.max == kNoMax) return "";
    if (o.spec.max == kNoMax) return ">= " + std::to_string(o.spec.min);
    return std::to_string(o.spec.min) + ".." + std::to_string(o.spec.max);
  }
  if (!o.spec.choices.empty()) return ChoicesText(o.spec.choices);
  if (o.spec.non_empty) return "non-empty";
  return "";
}

// Levenshtein distance of the normalised (lower-case, '-' -> '_') names.
size_t EditDistance(std::string_view a, std::string_view b) {
  auto norm = [](char c) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c == '-' ? '_' : c;
  };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (norm(a[i - 1]) == norm(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// True if `name` is a near miss of `candidate`: a typo or two, a case or
// '-'/'_' difference.
bool NearMiss(std::string_view name, std::string_view candidate) {
  const size_t limit = std::min(name.size(), candidate.size()) <= 4 ? 1 : 2;
  return EditDistance(name, candidate) <= limit;
}

std::string TomlTypeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown type";
}

std::string ExpectedName(Type t) {
  switch (t) {
    case Type::kString: return "a string";
    case Type::kInt: return "an integer";
    case Type::kBool: return "a boolean";
    case Type::kTimestamp: return "an RFC 3339 timestamp (string or offset date-time)";
  }
  return "?";
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// ---------------------------------------------------------------------------
// Per-value checks used by the table.

std::string CheckHttpUrl(const std::string& v) {
  std::string_view rest;
  if (StartsWith(v, "http://")) {
    rest = std::string_view(v).substr(7);
  } else if (StartsWith(v, "https://")) {
    rest = std::string_view(v).substr(8);
  } else {
    return "";  // not http(s); the caller reports
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == ':') return "missing host in " + Quote(v);
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) return "must not contain spaces, got " + Quote(v);
  return "";
}

std::string CheckSourceEndpoint(const std::string& v) {
  if (v.empty()) return "";
  if (StartsWith(v, "file://")) return "file:// is only supported for output.endpoint_url, got " + Quote(v);
  if (!StartsWith(v, "http://") && !StartsWith(v, "https://")) {
    return "must start with http:// or https://, got " + Quote(v);
  }
  return CheckHttpUrl(v);
}

std::string CheckOutputEndpoint(const std::string& v) {
  if (v.empty()) return "";
  if (StartsWith(v, "file://")) {
    std::string_view path = std::string_view(v).substr(7);
    if (path.empty() || path[0] != '/') {
      return "a file:// endpoint must name an absolute directory (file:///abs/path), got " + Quote(v);
    }
    if (path.find_first_not_of('/') == std::string_view::npos) {
      return "a file:// endpoint must name a directory other than /, got " + Quote(v);
    }
    return "";
  }
  if (!StartsWith(v, "http://") && !StartsWith(v, "https://")) {
    return "must start with http://, https:// or file:///, got " + Quote(v);
  }
  return CheckHttpUrl(v);
}

// arn:<partition>:kinesis:<region>:<12-digit account>:stream/<name>
std::string CheckStreamArn(const std::string& v) {
  if (v.empty()) return "";
  const std::string bad = "must look like arn:aws:kinesis:<region>:<account>:stream/<name>, got " + Quote(v);
  std::vector<std::string_view> parts;
  std::string_view s(v);
  for (int i = 0; i < 5; ++i) {
    size_t colon = s.find(':');
    if (colon == std::string_view::npos) return bad;
    parts.push_back(s.substr(0, colon));
    s.remove_prefix(colon + 1);
  }
  parts.push_back(s);
  if (parts[0] != "arn" || !StartsWith(parts[1], "aws") || parts[2] != "kinesis" || parts[3].empty()) return bad;
  if (parts[4].size() != 12 ||
      !std::all_of(parts[4].begin(), parts[4].end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad;
  }
  if (!StartsWith(parts[5], "stream/")) return bad;
  std::string_view name = parts[5].substr(7);
  if (name.empty() || name.size() > 128 ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
      })) {
    return bad;
  }
  return "";
}

std::string CheckBucket(const std::string& v) {
  if (v.find("://") != std::string::npos || v.find('/') != std::string::npos) {
    return "must be a bucket name only (put the key prefix in output.prefix), got " + Quote(v);
  }
  if (v.find_first_of(" \t\r\n") != std::string::npos) return "must not contain spaces, got " + Quote(v);
  return "";
}

std::string CheckTemplate(const std::string& v, partition::TemplateKind kind) {
  auto parsed = partition::KeyTemplate::Parse(v, kind);
  return parsed.ok() ? "" : parsed.status().message();
}
std::string CheckRecordTemplate(const std::string& v) { return CheckTemplate(v, partition::TemplateKind::kRecord); }
std::string CheckErrorTemplate(const std::string& v) { return CheckTemplate(v, partition::TemplateKind::kError); }

std::string CheckTimestamp(const std::string& v) {
  if (v.empty()) return "";
  auto ms = ParseRfc3339Millis(v);
  return ms.ok() ? "" : ms.status().message();
}

// Kinesis consumer names: [a-zA-Z0-9_.-]{1,128}.
std::string CheckConsumerName(const std::string& v) {
  if (v.size() > 128) return "must be at most 128 characters";
  for (char ch : v) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == '-';
    if (!ok) return "may contain only letters, digits, '_', '.' and '-'";
  }
  return "";
}

std::string CheckListen(const std::string& v) {
  if (v.empty()) return "";
  auto hp = ParseHostPort(v);
  if (!hp.ok()) return hp.status().message();
  if (hp->port == 0) return "port must be between 1 and 65535, got " + Quote(v);
  return "";
}

// ---------------------------------------------------------------------------
// Loading.

struct Origin {
  enum Kind { kDefault, kFile, kAwsEnv, kEnv };
  Kind kind = kDefault;
  std::string detail;    // "line 7" or the variable name
  bool invalid = false;  // a problem was reported for this key
  std::string Where() const {
    switch (kind) {
      case kDefault: return "";
      case kFile: return " (" + detail + ")";
      case kAwsEnv:
      case kEnv: return " (from " + detail + ")";
    }
    return "";
  }
};

class Loader {
 public:
  explicit Loader(const std::vector<Option>& options) : options_(options), origins_(options.size()) {}

  void ApplyFile(const toml::table& root);
  void ApplyAwsEnv(const EnvLookup& env);
  void ApplyEnv(const EnvLookup& env);
  void ValidateEach();
  void ValidateTogether();

  Config& config() { return config_; }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  const Option* Find(std::string_view section, std::string_view key, size_t* index) const {
    for (size_t i = 0; i < options_.size(); ++i) {
      if (options_[i].section == section && options_[i].key == key) {
        if (index) *index = i;
        return &options_[i];
      }
    }
    return nullptr;
  }
  bool IsSection(std::string_view name) const {
    return std::any_of(options_.begin(), options_.end(), [&](const Option& o) { return o.section == name; });
  }
  std::vector<std::string_view> Sections() const {
    std::vector<std::string_view> out;
    for (const Option& o : options_) {
      if (std::find(out.begin(), out.end(), o.section) == out.end()) out.push_back(o.section);
    }
    return out;
  }
  Origin& OriginOf(std::string_view dotted) {
    for (size_t i = 0; i < options_.size(); ++i) {
      if (Dotted(options_[i]) == dotted) return origins_[i];
    }
    static Origin none;
    return none;
  }
  bool Invalid(std::initializer_list<std::string_view> keys) {
    return std::any_of(keys.begin(), keys.end(), [&](std::string_view k) { return OriginOf(k).invalid; });
  }

  void Problem(std::string line) { problems_.push_back(std::move(line)); }
  // A problem with the value of option i, located by its origin.
  void ValueProblem(size_t i, const std::string& what) {
    origins_[i].invalid = true;
    Problem(Dotted(options_[i]) + ": " + what + origins_[i].Where());
  }
  void UnknownKey(std::string_view section, std::string_view key, int line);
  void UnknownTopLevel(std::string_view name, bool is_table, int line);
  void SetFromToml(size_t i, const toml::node& node);
  void SetFromString(size_t i, const std::string& text);

  const std::vector<Option>& options_;
  std::vector<Origin> origins_;
  Config config_;
  std::vector<std::string> problems_;
};

std::string LineOf(const toml::source_region& r) { return "line " + std::to_string(r.begin.line); }

void Loader::UnknownKey(std::string_view section, std::string_view key, int line) {
  std::string msg = std::string(section) + "." + std::string(key) + ": unknown key";
  std::string suggestion;
  for (const Option& o : options_) {  // a typo of a key in this section
    if (o.section == section && NearMiss(key, o.key)) {
      suggestion = Dotted(o);
      break;
    }
  }
  if (suggestion.empty()) {  // the right key in the wrong section
    for (const Option& o : options_) {
      if (o.section != section && EditDistance(key, o.key) == 0) {
        suggestion = Dotted(o);
        break;
      }
    }
  }
  if (!suggestion.empty()) msg += " (did you mean " + suggestion + "?)";
  Problem(msg + " (line " + std::to_string(line) + ")");
}

void Loader::UnknownTopLevel(std::string_view name, bool is_table, int line) {
  std::string msg = std::string(name) + (is_table ? ": unknown section" : ": unknown key at top level");
  std::string suggestion;
  for (std::string_view s : Sections()) {
    if (NearMiss(name, s)) {
      suggestion = std::string(s);
      break;
    }
  }
  if (suggestion.empty() && !is_table) {
    for (const Option& o : options_) {
      if (EditDistance(name, o.key) == 0) {
        suggestion = Dotted(o);
        break;
      }
    }
  }
  if (!suggestion.empty()) {
    msg += " (did you mean " + (is_table ? "[" + suggestion + "]" : suggestion) + "?)";
  } else if (is_table) {
    std::string all;
    for (std::string_view s : Sections()) all += (all.empty() ? "" : ", ") + std::string(s);
    msg += " (sections are " + all + ")";
  }
  Problem(msg + " (line " + std::to_string(line) + ")");
}

void Loader::ApplyFile(const toml::table& root) {
  for (auto&& [k, node] : root) {
    const std::string name(k.str());
    const int line = static_cast<int>(k.source().begin.line);
    if (!IsSection(name)) {
      UnknownTopLevel(name, node.is_table(), line);
      continue;
    }
    if (!node.is_table()) {
      Problem(name + ": expected a table ([" + name + "]), got " + TomlTypeName(node.type()) +
              " (line " + std::to_string(line) + ")");
      continue;
    }
    for (auto&& [k2, value] : *node.as_table()) {
      size_t i;
      if (!Find(name, k2.str(), &i)) {
        UnknownKey(name, k2.str(), static_cast<int>(k2.source().begin.line));
        continue;
      }
      origins_[i] = Origin{Origin::kFile, LineOf(k2.source()), false};
      SetFromToml(i, value);
    }
  }
}

void Loader::SetFromToml(size_t i, const toml::node& node) {
  const Option& o = options_[i];
  const Type type = TypeOf(o);
  const auto wrong_type = [&] {
    ValueProblem(i, "expected " + ExpectedName(type) + ", got " + TomlTypeName(node.type()));
  };
  switch (type) {
    case Type::kString:
      if (!node.is_string()) return wrong_type();
      std::get<StrRef>(o.ref)(config_) = node.as_string()->get();
      return;
    case Type::kTimestamp:
      if (node.is_string()) {
        std::get<StrRef>(o.ref)(config_) = node.as_string()->get();
      } else if (node.is_date_time()) {
        const toml::date_time& dt = node.as_date_time()->get();
        if (!dt.offset) {
          ValueProblem(i, "a date-time needs a UTC offset ('Z' or +hh:mm)");
          return;
        }
        std::ostringstream os;
        os << dt;
        std::get<StrRef>(o.ref)(config_) = os.str();
      } else {
        wrong_type();
      }
      return;
    case Type::kInt:
      if (!node.is_integer()) return wrong_type();
      std::get<IntRef>(o.ref)(config_) = node.as_integer()->get();
      return;
    case Type::kBool:
      if (!node.is_boolean()) return wrong_type();
      std::get<BoolRef>(o.ref)(config_) = node.as_boolean()->get();
      return;
  }
}

void Loader::SetFromString(size_t i, const std::string& text) {
  const Option& o = options_[i];
  switch (TypeOf(o)) {
    case Type::kString:
    case Type::kTimestamp:
      std::get<StrRef>(o.ref)(config_) = text;
      return;
    case Type::kInt: {
      int64_t v = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (text.empty() || ec != std::errc() || ptr != end) {
        ValueProblem(i, "expected an integer, got " + Quote(text));
        return;
      }
      std::get<IntRef>(o.ref)(config_) = v;
      return;
    }
    case Type::kBool: {
      const std::string u = Upper(text);
      if (u == "TRUE" || u == "1") {
        std::get<BoolRef>(o.ref)(config_) = true;
      } else if (u == "FALSE" || u == "0") {
        std::get<BoolRef>(o.ref)(config_) = false;
      } else {
        ValueProblem(i, "expected a boolean (true/false/1/0), got " + Quote(text));
      }
      return;
    }
  }
}

void Loader::ApplyAwsEnv(const EnvLookup& env) {
  for (size_t i = 0; i < options_.size(); ++i) {
    if (origins_[i].kind == Origin::kFile) continue;
    for (std::string_view var : options_[i].spec.aws_env) {
      if (var.empty()) continue;
      std::optional<std::string> v = env(std::string(var));
      if (!v || v->empty()) continue;  // empty counts as unset, as in the AWS SDKs
      origins_[i] = Origin{Origin::kAwsEnv, std::string(var), false};
      SetFromString(i, *v);
      break;
    }
  }
}

void Loader::ApplyEnv(const EnvLookup& env) {
  for (size_t i = 0; i < options_.size(); ++i) {
    const std::string var = EnvName(options_[i]);
    std::optional<std::string> v = env(var);
    if (!v) continue;
    origins_[i] = Origin{Origin::kEnv, var, false};
    SetFromString(i, *v);
  }
}

void Loader::ValidateEach() {
  for (size_t i = 0; i < options_.size(); ++i) {
    if (origins_[i].invalid) continue;
    const Option& o = options_[i];
    if (const IntRef* ref = std::get_if<IntRef>(&o.ref)) {
      const int64_t v = (*ref)(config_);
      if (v < o.spec.min || v > o.spec.max) {
        ValueProblem(i, o.spec.max == kNoMax
                            ? "must be at least " + std::to_string(o.spec.min) + ", got " + std::to_string(v)
                            : "must be between " + std::to_string(o.spec.min) + " and " +
                                  std::to_string(o.spec.max) + ", got " + std::to_string(v));
      }
      continue;
    }
    const StrRef* ref = std::get_if<StrRef>(&o.ref);
    if (!ref) continue;
    const std::string& v = (*ref)(config_);
    if (!o.spec.choices.empty()) {
      auto choices = SplitChoices(o.spec.choices);
      if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
        ValueProblem(i, "must be one of " + ChoicesText(o.spec.choices) + ", got " + Quote(v));
        continue;
      }
    }
    if (o.spec.non_empty && v.empty()) {
      ValueProblem(i, "must not be empty");
      continue;
    }
    if (o.spec.check) {
      std::string problem = o.spec.check(v);
      if (!problem.empty()) ValueProblem(i, problem);
    }
  }
}

void Loader::ValidateTogether() {
  Config& c = config_;
  const auto problem = [&](std::string_view key, const std::string& what) {
    Problem(std::string(key) + ": " + what + OriginOf(key).Where());
  };

  if (!Invalid({"source.stream_name", "source.stream_arn"})) {
    if (c.source.stream_name.empty() && c.source.stream_arn.empty()) {
      problem("source.stream_name", "set source.stream_name or source.stream_arn (neither is set)");
    } else if (!c.source.stream_name.empty() && !c.source.stream_arn.empty()) {
      problem("source.stream_arn", "set only one of source.stream_name and source.stream_arn (both are set)");
    } else if (!c.source.stream_arn.empty() && c.source.endpoint_url.empty() &&
               !Invalid({"source.region", "source.endpoint_url"})) {
      // arn:aws:kinesis:<region>:... ; the API is called in source.region.
      std::string_view arn(c.source.stream_arn);
      size_t start = 0;
      for (int n = 0; n < 3; ++n) start = arn.find(':', start) + 1;
      std::string_view arn_region = arn.substr(start, arn.find(':', start) - start);
      if (arn_region != c.source.region) {
        problem("source.stream_arn", "the stream is in region " + std::string(arn_region) +
                                         " but source.region is " + Quote(c.source.region));
      }
    }
  }

  if (c.source.consumer == "efo" && c.source.max_records_per_call < 2 &&
      !Invalid({"source.consumer", "source.max_records_per_call"})) {
    // A one-record read is the pipeline's trim-horizon probe (poll/efo_reader.h).
    problem("source.max_records_per_call", "must be at least 2 with source.consumer = \"efo\"");
  }

  if (!Invalid({"source.initial_position", "source.initial_timestamp"})) {
    const bool at_ts = c.source.initial_position == "AT_TIMESTAMP";
    if (at_ts && c.source.initial_timestamp.empty()) {
      problem("source.initial_timestamp", "required when source.initial_position = \"AT_TIMESTAMP\"");
    } else if (!at_ts && !c.source.initial_timestamp.empty()) {
      problem("source.initial_timestamp",
              "only allowed with source.initial_position = \"AT_TIMESTAMP\", but initial_position is " +
                  Quote(c.source.initial_position));
    } else if (at_ts) {
      auto ms = ParseRfc3339Millis(c.source.initial_timestamp);
      if (ms.ok()) c.source.initial_timestamp_ms = *ms;
    }
  }

  const bool parts = !Invalid({"batch.part_bytes"}) && c.batch.part_bytes > 0;
  if (parts && c.batch.part_bytes < kMinPartBytes) {
    problem("batch.part_bytes", "must be 0 or at least " + std::to_string(kMinPartBytes) +
                                    " (S3's smallest part), got " + std::to_string(c.batch.part_bytes));
  } else if (parts && !Invalid({"batch.max_buffered_bytes"}) &&
             c.batch.max_buffered_bytes < 2 * c.batch.part_bytes) {
    problem("batch.max_buffered_bytes", "must be at least 2 x batch.part_bytes (" +
                                            std::to_string(2 * c.batch.part_bytes) + "), got " +
                                            std::to_string(c.batch.max_buffered_bytes));
  }
  const bool too_big = !parts && !Invalid({"batch.max_bytes", "batch.part_bytes"}) &&
                       c.batch.max_bytes > kMaxObjectBytes;
  if (too_big) {
    problem("batch.max_bytes", "above " + std::to_string(kMaxObjectBytes) +
                                   " (S3's single PUT) needs batch.part_bytes (multipart upload), got " +
                                   std::to_string(c.batch.max_bytes));
  }
  if (!parts && !too_big && !Invalid({"batch.max_bytes", "batch.max_buffered_bytes"}) &&
      c.batch.max_buffered_bytes < c.batch.max_bytes) {
    problem("batch.max_buffered_bytes", "must be at least batch.max_bytes (" + std::to_string(c.batch.max_bytes) +
                                            "), got " + std::to_string(c.batch.max_buffered_bytes));
  }

  if (!Invalid({"output.bucket", "output.endpoint_url"}) && c.output.bucket.empty() &&
      !c.OutputIsLocalDirectory()) {
    problem("output.bucket", "required (or set output.endpoint_url = \"file:///dir\" to write to a local directory)");
  }

  if (!Invalid({"output.sse", "output.sse_kms_key_id"}) && !c.output.sse_kms_key_id.empty() &&
      c.output.sse != "aws:kms") {
    problem("output.sse_kms_key_id", "requires output.sse = \"aws:kms\", but sse is " + Quote(c.output.sse));
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API.

std::string Config::StreamDisplayName() const {
  if (!source.stream_name.empty()) return source.stream_name;
  const size_t slash = source.stream_arn.rfind(":stream/");
  if (slash != std::string::npos) return source.stream_arn.substr(slash + 8);
  return source.stream_arn;
}

bool Config::OutputIsLocalDirectory() const { return StartsWith(output.endpoint_url, "file://"); }

std::string Config::OutputDirectory() const {
  if (!OutputIsLocalDirectory()) return "";
  std::string dir = output.endpoint_url.substr(7);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

Result<HostPort> ParseHostPort(const std::string& s) {
  const std::string shape = "must be host:port or [v6addr]:port (e.g. \"127.0.0.1:9600\"), got " + Quote(s);
  HostPort out;
  std::string_view port;
  if (StartsWith(s, "[")) {
    const size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Status::InvalidArgument(shape);
    }
    out.host = s.substr(1, close - 1);
    port = std::string_view(s).substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument(shape);
    out.host = s.substr(0, colon);
    port = std::string_view(s).substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return Status::InvalidArgument("an IPv6 address needs brackets ([::1]:9600), got " + Quote(s));
    }
  }
  if (out.host.empty()) return Status::InvalidArgument("missing host in " + Quote(s));
  if (out.host.find_first_of(" \t\r\n/[]") != std::string::npos) return Status::InvalidArgument(shape);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument(shape);
  }
  std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (out.port > 65535) return Status::InvalidArgument("port must be between 1 and 65535, got " + Quote(s));
  return out;
}

Result<Config> Load(const std::string& path, const EnvLookup& env) {
  Loader loader(Options());
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
  loader.ApplyAwsEnv(env);
  loader.ApplyEnv(env);
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

std::vector<OptionInfo> ListOptions() {
  static const char* const kTypeNames[] = {"string", "integer", "boolean", "timestamp"};
  Config defaults;
  std::vector<OptionInfo> out;
  for (const Option& o : Options()) {
    out.push_back(OptionInfo{std::string(o.section), std::string(o.key),
                             kTypeNames[static_cast<int>(TypeOf(o))], ValueAsToml(o, defaults), AllowedText(o),
                             EnvName(o), std::string(o.description)});
  }
  return out;
}

}  // namespace shardhose::config

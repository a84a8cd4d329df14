// File: config/schema.h
//
// Internal to config/: the option table that drives Load(), ToToml() and
// ListOptions(), and the helpers they share. A row names a key, its type
// (from the Config field it points to), the allowed values, the AWS
// variables that may supply it, an optional extra check, and its
// description. Adding a key is a field in config.h plus one row in
// schema.cc (and a line in config/shardhose.example.toml, which a test
// checks).
//
// Thread-safety: the table is built once (a function-local static) and
// never changes; everything here is a pure function of it.
#pragma once

#include <array>
#include <climits>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace shardhose::config::internal {

inline constexpr int64_t kMaxObjectBytes = 5368709120;              // 5 GiB: S3's single-PUT limit
inline constexpr int64_t kMinPartBytes = 5242880;                   // 5 MiB: S3's smallest part (but the last)
inline constexpr int64_t kMaxPartBytes = 5368709120;                // 5 GiB: S3's largest part
inline constexpr int64_t kMaxObjectBytesMultipart = 5497558138880;  // 5 TiB: S3's largest object
inline constexpr int64_t kNoMin = INT64_MIN;
inline constexpr int64_t kNoMax = INT64_MAX;

// ---------------------------------------------------------------------------
// The option table (schema.cc).

using StrRef = std::string& (*)(Config&);
using IntRef = int64_t& (*)(Config&);
using BoolRef = bool& (*)(Config&);
// An enum field (config.h), seen as the index of its value in declaration
// order; the row's Spec::names gives the names.
struct EnumRef {
  int (*get)(const Config&);
  void (*set)(Config&, int index);
};
using Ref = std::variant<StrRef, IntRef, BoolRef, EnumRef>;

// The names of each enum's values, in declaration order: the one list that
// Load(), ToToml(), ListOptions() and the XxxName() functions of config.h
// use.
inline constexpr std::string_view kSourceTypeNames[] = {"kinesis", "dynamodb-streams"};
inline constexpr std::string_view kInitialPositionNames[] = {"TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};
inline constexpr std::string_view kConsumerTypeNames[] = {"polling", "efo"};
inline constexpr std::string_view kOutputFormatNames[] = {"unmarshalled", "raw"};
inline constexpr std::string_view kCompressionNames[] = {"gzip", "none"};
inline constexpr std::string_view kSseNames[] = {"", "AES256", "aws:kms"};
inline constexpr std::string_view kConditionalWritesNames[] = {"auto", "on", "off"};
inline constexpr std::string_view kCoordinationModeNames[] = {"local", "dynamodb"};

// An extra check of a string value; returns the problem ("" if fine).
using StrCheck = std::string (*)(const std::string& value);

// What values a key accepts. Built with the helpers below.
struct Spec {
  bool timestamp = false;  // a string holding an RFC 3339 timestamp
  int64_t min = kNoMin;    // integers
  int64_t max = kNoMax;
  std::span<const std::string_view> names;    // enums: the values' names
  bool non_empty = false;                     // strings
  bool list = false;                          // strings: names, held comma-joined (List())
  StrCheck check = nullptr;                   // strings
  std::array<std::string_view, 2> aws_env{};  // AWS variables, first found wins

  constexpr Spec NonEmpty() const {
    Spec s = *this;
    s.non_empty = true;
    return s;
  }
  constexpr Spec Check(StrCheck f) const {
    Spec s = *this;
    s.check = f;
    return s;
  }
  constexpr Spec Aws(std::string_view a, std::string_view b = {}) const {
    Spec s = *this;
    s.aws_env = {a, b};
    return s;
  }
};
constexpr Spec Any() { return Spec{}; }
// A list of names: a TOML array of strings (or one string "a,b"; the
// environment's value is always that), held in the Config as "a,b". No name
// may be empty or hold a comma.
constexpr Spec List() {
  Spec s;
  s.list = true;
  return s;
}
constexpr Spec Range(int64_t lo, int64_t hi = kNoMax) {
  Spec s;
  s.min = lo;
  s.max = hi;
  return s;
}
constexpr Spec OneOf(std::span<const std::string_view> names) {
  Spec s;
  s.names = names;
  return s;
}
constexpr Spec Timestamp() {
  Spec s;
  s.timestamp = true;
  return s;
}
constexpr Spec NonEmpty() { return Spec{}.NonEmpty(); }

struct Option {
  std::string_view section;
  std::string_view key;
  Ref ref;
  Spec spec;
  std::string_view description;
};

enum class Type { kString, kInt, kBool, kTimestamp, kEnum };

Type TypeOf(const Option& o);

// Every key, in table order (the order of ToToml() and ListOptions()).
const std::vector<Option>& Options();

// ---------------------------------------------------------------------------
// Names and text (schema.cc).

// "section.key".
std::string Dotted(const Option& o);
std::string Upper(std::string_view s);
// SHARDHOSE_<SECTION>_<KEY>.
std::string EnvName(const Option& o);
// s in double quotes, with '"' and '\\' escaped: for messages.
std::string Quote(std::string_view s);
bool StartsWith(std::string_view s, std::string_view p);
// An enum's names as messages show them: "gzip|none", "\"\"|AES256|aws:kms".
std::string ChoicesText(std::span<const std::string_view> names);
// What ListOptions() says a key allows: "1..10000", "gzip|none", "".
std::string AllowedText(const Option& o);

// ---------------------------------------------------------------------------
// TOML text (config.cc).

// A TOML basic string.
std::string TomlString(std::string_view s);
// The value of option `o` in `c` as a TOML value.
std::string ValueAsToml(const Option& o, Config& c);

// ---------------------------------------------------------------------------
// Per-value checks used by the table (checks.cc): each returns the problem,
// "" if the value is fine.

std::string CheckStreamArn(const std::string& v);
std::string CheckSourceEndpoint(const std::string& v);
std::string CheckOutputEndpoint(const std::string& v);
std::string CheckBucket(const std::string& v);
std::string CheckRecordTemplate(const std::string& v);
std::string CheckErrorTemplate(const std::string& v);
std::string CheckTimestamp(const std::string& v);
std::string CheckListen(const std::string& v);
std::string CheckConsumerName(const std::string& v);
std::string CheckTableName(const std::string& v);
std::string CheckDynamoDbEndpoint(const std::string& v);
std::string CheckWorkerId(const std::string& v);
std::string CheckLogLevel(const std::string& v);
std::string CheckLogFormat(const std::string& v);
std::string CheckKeyAttributes(const std::string& v);

}  // namespace shardhose::config::internal

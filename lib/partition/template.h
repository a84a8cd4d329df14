// File: partition/template.h
//
// Partitioning: the `prefix` and `error_prefix` templates that turn a
// record's fields into the S3 key prefix of its partition. One open batch
// exists per distinct rendered prefix.
//
// Grammar:
//   template    := ( literal | placeholder )*
//   literal     := any characters except '{' '}'; "{{" and "}}" are a
//                  literal '{' / '}'
//   placeholder := '{' name [ ':' strftime ] '}'
//   name        := table | event_name | stream | shard_id | error
//                | event_time | arrival_time
//   strftime    := conversion specs %Y %m %d %H %M %S %j %y %e %G %V %u %%
//                  plus literal text; required for (and only allowed on)
//                  event_time and arrival_time.
// Times are rendered in UTC. event_time comes from the change record's
// ApproximateCreationDateTime (event time: late records land in the
// partition of their own time); arrival_time from the Kinesis
// ApproximateArrivalTimestamp.
//
// Parse() rejects, naming the offending placeholder: unknown names, a
// missing or unknown strftime conversion, a format on a non-time name,
// unbalanced braces, and (for kind kRecord) {error}. A rendered value is
// sanitised for S3 keys: characters outside [A-Za-z0-9._=-] are replaced
// by '_' in substituted values (literal text is kept as written).
//
// Details:
//   - Names are case-sensitive and take no spaces: "{ table }" is unknown.
//   - A time format must contain at least one conversion other than %%
//     ("{event_time:day}" and "{event_time:}" are rejected); a lone '%' at
//     its end is rejected. Literal text inside a format (e.g. the '/' in
//     "{event_time:%Y/%m}") is kept as written, like template literals.
//   - Conversions follow C strftime in UTC: %j is 001-366, %u is 1 (Monday)
//     to 7, %G/%V are the ISO 8601 week-based year and week. %e is the
//     space-padded day; its space is sanitised, so day 4 renders as "_4".
//     Sub-second parts are truncated (never rounded); times before 1970
//     floor. Years outside 0..9999 render as plain integers.
//   - Sanitising works per character: one multi-byte UTF-8 character
//     becomes one '_'. Empty values render as "" (so "a/{table}/b" can give
//     "a//b").
//   - Error messages look like
//       "unknown placeholder {tabel} at offset 4 (known: ...)"
//       "placeholder {event_time:%Q} at offset 0: unknown conversion %Q ..."
//       "unterminated placeholder {table at offset 4 ..."
//       "unbalanced '}' at offset 9 ..."
//
// Thread-safety: a parsed KeyTemplate is immutable; Render() is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace shardhose::partition {

enum class TemplateKind {
  kRecord,  // `prefix`: {error} is not allowed
  kError,   // `error_prefix`: every name allowed
};

// The values a template can refer to. Views must outlive Render().
struct PartitionFields {
  std::string_view table;
  std::string_view event_name;
  std::string_view stream;
  std::string_view shard_id;
  std::string_view error;
  int64_t event_time_us = 0;
  int64_t arrival_time_ms = 0;
};

class KeyTemplate {
 public:
  // InvalidArgument with a message such as
  //   "unknown placeholder {tabel} at offset 4"
  static Result<KeyTemplate> Parse(std::string_view text, TemplateKind kind);

  // Appends the rendered prefix to *out.
  void Render(const PartitionFields& fields, std::string* out) const;
  std::string Render(const PartitionFields& fields) const;

  const std::string& text() const { return text_; }

  // Read-only introspection, for tools that derive something from the
  // template's shape (athena/ddl.h: Athena partition projection). One Part
  // per parsed segment, in template order; adjacent literal text is one
  // Part. A literal Part has an empty `name` and its text (with "{{" / "}}"
  // already unescaped) in `literal`. A placeholder Part has its `name`
  // ("table", "event_time", ...) and an empty `literal`; for event_time and
  // arrival_time `time_format` is the parsed strftime format as
  // (conversion, literal text that follows it) pairs: the first pair's
  // conversion is 0 and carries the text before the first conversion, and
  // "%%" is already unescaped to '%'. "{event_time:d=%Y-%m}" gives
  // {{0, "d="}, {'Y', "-"}, {'m', ""}}.
  struct Part {
    std::string_view name;  // static storage; "" for literal text
    std::string literal;
    std::vector<std::pair<char, std::string>> time_format;
  };
  std::vector<Part> Parts() const;

 private:
  struct Segment;
  std::string text_;
  std::vector<Segment> segments_;
  friend struct SegmentAccess;

 public:
  KeyTemplate();
  ~KeyTemplate();
  KeyTemplate(const KeyTemplate&);
  KeyTemplate(KeyTemplate&&) noexcept;
  KeyTemplate& operator=(const KeyTemplate&);
  KeyTemplate& operator=(KeyTemplate&&) noexcept;
};

}  // namespace shardhose::partition

// KeyTemplate: parsed once into segments; Render() walks them with no
// parsing, no locale and no libc time calls (common/civil_time.h).
#include "partition/template.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "common/civil_time.h"

namespace shardhose::partition {
namespace {

enum class Field : unsigned char {
  kLiteral,
  kTable,
  kEventName,
  kStream,
  kShardId,
  kError,
  kEventTime,
  kArrivalTime,
};

struct NamedField {
  std::string_view name;
  Field field;
};
constexpr NamedField kFields[] = {
    {"table", Field::kTable},
    {"event_name", Field::kEventName},
    {"stream", Field::kStream},
    {"shard_id", Field::kShardId},
    {"error", Field::kError},
    {"event_time", Field::kEventTime},
    {"arrival_time", Field::kArrivalTime},
};

constexpr std::string_view kConversions = "YmdHMSjyeGVu%";

constexpr std::array<bool, 256> MakeSafe() {
  std::array<bool, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  t['.'] = t['_'] = t['='] = t['-'] = true;
  return t;
}
constexpr std::array<bool, 256> kSafe = MakeSafe();

// Appends s with every character outside [A-Za-z0-9._=-] replaced by '_'. A
// multi-byte UTF-8 character becomes a single '_'.
void AppendSanitised(std::string_view s, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (kSafe[c]) {
      size_t j = i + 1;
      while (j < n && kSafe[p[j]]) ++j;
      out->append(s.data() + i, j - i);
      i = j;
      continue;
    }
    out->push_back('_');
    size_t len = 1;
    if (c >= 0xC0 && c < 0xE0) {
      len = 2;
    } else if (c >= 0xE0 && c < 0xF0) {
      len = 3;
    } else if (c >= 0xF0 && c < 0xF8) {
      len = 4;
    }
    ++i;
    for (size_t k = 1; k < len && i < n && (p[i] & 0xC0) == 0x80; ++k) ++i;
  }
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct CivilTime {
  int64_t year;
  unsigned month, day, hour, minute, second;
  unsigned yday;     // 0-based day of the year
  unsigned weekday;  // ISO: Monday = 1 ... Sunday = 7
  int64_t iso_year;
  unsigned iso_week;
};

CivilTime Breakdown(int64_t epoch_seconds) {
  CivilTime t{};
  const int64_t days = FloorDiv(epoch_seconds, 86400);
  const int64_t secs = epoch_seconds - days * 86400;
  t.hour = static_cast<unsigned>(secs / 3600);
  t.minute = static_cast<unsigned>(secs / 60 % 60);
  t.second = static_cast<unsigned>(secs % 60);
  const CivilDate date = CivilFromDays(days);
  t.day = date.day;
  t.month = date.month;
  t.year = date.year;
  t.yday = static_cast<unsigned>(days - DaysFromCivil(t.year, 1, 1));
  t.weekday = IsoWeekday(days);
  const IsoWeek week = IsoWeekOf(days, t.year);
  t.iso_year = week.year;
  t.iso_week = week.week;
  return t;
}

void AppendPadded(int64_t v, int width, std::string* out) {
  if (v >= 0 && v < 10000) {
    char buf[4];
    int n = 0;
    int64_t x = v;
    do {
      buf[n++] = static_cast<char>('0' + x % 10);
      x /= 10;
    } while (x > 0);
    for (int k = n; k < width; ++k) out->push_back('0');
    while (n > 0) out->push_back(buf[--n]);
    return;
  }
  // Years outside 0..9999: plain integer, '-' sanitised like any value.
  AppendSanitised(fmt::format("{:0{}}", v, width), out);
}

}  // namespace

// One piece of a template: literal text, a string field, or a time field with
// its compiled format (pairs of conversion char + literal text; conversion 0
// means "literal only").
struct KeyTemplate::Segment {
  Field field = Field::kLiteral;
  std::string literal;
  std::vector<std::pair<char, std::string>> time_format;
};

KeyTemplate::KeyTemplate() = default;
KeyTemplate::~KeyTemplate() = default;
KeyTemplate::KeyTemplate(const KeyTemplate&) = default;
KeyTemplate::KeyTemplate(KeyTemplate&&) noexcept = default;
KeyTemplate& KeyTemplate::operator=(const KeyTemplate&) = default;
KeyTemplate& KeyTemplate::operator=(KeyTemplate&&) noexcept = default;

Result<KeyTemplate> KeyTemplate::Parse(std::string_view text, TemplateKind kind) {
  KeyTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    Segment s;
    s.literal = std::move(literal);
    literal.clear();
    t.segments_.push_back(std::move(s));
  };
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal.push_back('}');
        i += 2;
        continue;
      }
      return Status::InvalidArgument(
          fmt::format("unbalanced '}}' at offset {} in template \"{}\" (write }}}} for a literal '}}')", i, text));
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      i += 2;
      continue;
    }
    // A placeholder: up to the next '}'.
    const size_t start = i;
    const size_t close = text.find('}', start + 1);
    const size_t reopen = text.find('{', start + 1);
    if (close == std::string_view::npos || (reopen != std::string_view::npos && reopen < close)) {
      const size_t end = reopen != std::string_view::npos && (close == std::string_view::npos || reopen < close)
                             ? reopen
                             : text.size();
      return Status::InvalidArgument(
          fmt::format("unterminated placeholder {} at offset {} (write {{{{ for a literal '{{')",
                      text.substr(start, end - start), start));
    }
    const std::string_view written = text.substr(start, close - start + 1);
    const std::string_view body = text.substr(start + 1, close - start - 1);
    const size_t colon = body.find(':');
    const std::string_view name = body.substr(0, colon);
    const bool has_format = colon != std::string_view::npos;
    const std::string_view format = has_format ? body.substr(colon + 1) : std::string_view();

    Field field = Field::kLiteral;
    for (const NamedField& f : kFields) {
      if (f.name == name) field = f.field;
    }
    if (field == Field::kLiteral) {
      return Status::InvalidArgument(
          fmt::format("unknown placeholder {} at offset {} (known: table, event_name, stream, shard_id, error, "
                      "event_time, arrival_time)",
                      written, start));
    }
    if (field == Field::kError && kind == TemplateKind::kRecord) {
      return Status::InvalidArgument(
          fmt::format("placeholder {} at offset {} is only allowed in error_prefix", written, start));
    }
    const bool is_time = field == Field::kEventTime || field == Field::kArrivalTime;
    Segment seg;
    seg.field = field;
    if (!is_time) {
      if (has_format) {
        return Status::InvalidArgument(fmt::format(
            "placeholder {} at offset {}: a format is only allowed on event_time and arrival_time", written, start));
      }
    } else {
      if (format.empty()) {
        return Status::InvalidArgument(fmt::format(
            "placeholder {} at offset {} needs a strftime format, e.g. {{{}:%Y-%m-%d}}", written, start, name));
      }
      bool any_conversion = false;
      std::string lit;
      char pending = 0;  // conversion that precedes `lit`
      for (size_t k = 0; k < format.size(); ++k) {
        if (format[k] != '%') {
          lit.push_back(format[k]);
          continue;
        }
        if (k + 1 >= format.size()) {
          return Status::InvalidArgument(fmt::format(
              "placeholder {} at offset {}: incomplete conversion '%' at the end of the format", written, start));
        }
        const char conv = format[++k];
        if (kConversions.find(conv) == std::string_view::npos) {
          return Status::InvalidArgument(
              fmt::format("placeholder {} at offset {}: unknown conversion %{} (allowed: %Y %m %d %H %M %S %j "
                          "%y %e %G %V %u %%)",
                          written, start, conv));
        }
        if (conv == '%') {
          lit.push_back('%');
          continue;
        }
        any_conversion = true;
        seg.time_format.emplace_back(pending, std::move(lit));
        lit.clear();
        pending = conv;
      }
      seg.time_format.emplace_back(pending, std::move(lit));
      if (!any_conversion) {
        return Status::InvalidArgument(
            fmt::format("placeholder {} at offset {}: the format has no conversion (e.g. %Y)", written, start));
      }
    }
    flush_literal();
    t.segments_.push_back(std::move(seg));
    i = close + 1;
  }
  flush_literal();
  return t;
}

void KeyTemplate::Render(const PartitionFields& fields, std::string* out) const {
  for (const Segment& s : segments_) {
    switch (s.field) {
      case Field::kLiteral:
        out->append(s.literal);
        break;
      case Field::kTable:
        AppendSanitised(fields.table, out);
        break;
      case Field::kEventName:
        AppendSanitised(fields.event_name, out);
        break;
      case Field::kStream:
        AppendSanitised(fields.stream, out);
        break;
      case Field::kShardId:
        AppendSanitised(fields.shard_id, out);
        break;
      case Field::kError:
        AppendSanitised(fields.error, out);
        break;
      case Field::kEventTime:
      case Field::kArrivalTime: {
        const int64_t seconds = s.field == Field::kEventTime ? FloorDiv(fields.event_time_us, 1000000)
                                                             : FloorDiv(fields.arrival_time_ms, 1000);
        const CivilTime t = Breakdown(seconds);
        for (const auto& [conv, lit] : s.time_format) {
          switch (conv) {
            case 'Y':
              AppendPadded(t.year, 4, out);
              break;
            case 'm':
              AppendPadded(t.month, 2, out);
              break;
            case 'd':
              AppendPadded(t.day, 2, out);
              break;
            case 'e':  // strftime pads with a space, which sanitising turns into '_'
              if (t.day < 10) out->push_back('_');
              AppendPadded(t.day, 1, out);
              break;
            case 'H':
              AppendPadded(t.hour, 2, out);
              break;
            case 'M':
              AppendPadded(t.minute, 2, out);
              break;
            case 'S':
              AppendPadded(t.second, 2, out);
              break;
            case 'j':
              AppendPadded(t.yday + 1, 3, out);
              break;
            case 'y':
              AppendPadded(((t.year % 100) + 100) % 100, 2, out);
              break;
            case 'G':
              AppendPadded(t.iso_year, 4, out);
              break;
            case 'V':
              AppendPadded(t.iso_week, 2, out);
              break;
            case 'u':
              AppendPadded(t.weekday, 1, out);
              break;
            default:
              break;  // 0: literal only
          }
          out->append(lit);
        }
        break;
      }
    }
  }
}

std::vector<KeyTemplate::Part> KeyTemplate::Parts() const {
  std::vector<Part> parts;
  parts.reserve(segments_.size());
  for (const Segment& s : segments_) {
    Part p;
    if (s.field == Field::kLiteral) {
      p.literal = s.literal;
    } else {
      for (const NamedField& f : kFields) {
        if (f.field == s.field) p.name = f.name;
      }
      p.time_format = s.time_format;
    }
    parts.push_back(std::move(p));
  }
  return parts;
}

std::string KeyTemplate::Render(const PartitionFields& fields) const {
  std::string out;
  Render(fields, &out);
  return out;
}

}  // namespace shardhose::partition

// PlanLayout() and StrftimeToJava(). The prefix template is walked once
// (KeyTemplate::Parts) into literal text and placeholders; each placeholder
// becomes a partition column with a projection, and the walk writes the
// storage.location.template as it goes. See ddl.h for the rules.
#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "athena/ddl.h"
#include "athena/ddl_internal.h"

namespace shardhose::athena {
namespace {

using internal::ColumnName;
using internal::Join;
using internal::kUnmarshalledColumns;

// The raw record's members as Athena sees them (lowercased).
constexpr std::string_view kRawColumns[] = {
    "awsregion", "eventid", "eventname", "eventsource", "recordformat", "tablename", "useridentity", "dynamodb",
};

bool IsDataColumn(std::string_view name, DataFormat format) {
  if (format == DataFormat::kUnmarshalled) {
    return std::find(std::begin(kUnmarshalledColumns), std::end(kUnmarshalledColumns), name) !=
           std::end(kUnmarshalledColumns);
  }
  return std::find(std::begin(kRawColumns), std::end(kRawColumns), name) != std::end(kRawColumns);
}

// The value KeyTemplate would write for a string placeholder.
std::string Sanitised(std::string_view value) {
  auto t = partition::KeyTemplate::Parse("{table}", partition::TemplateKind::kRecord);
  partition::PartitionFields f;
  f.table = value;
  return t.ok() ? t->Render(f) : std::string(value);
}

using TimeFormat = std::vector<std::pair<char, std::string>>;

// Template text for a time placeholder with this format (for rendering the
// range start with the template's own formatter).
std::string TimePlaceholderText(const TimeFormat& format) {
  std::string out = "{event_time:";
  for (const auto& [conv, lit] : format) {
    if (conv != 0) {
      out.push_back('%');
      out.push_back(conv);
    }
    for (char c : lit) {
      if (c == '%') out.push_back('%');
      out.push_back(c);
    }
  }
  out.push_back('}');
  return out;
}

std::string PlaceholderText(const partition::KeyTemplate::Part& part) {
  if (part.time_format.empty()) return fmt::format("{{{}}}", part.name);
  std::string t = TimePlaceholderText(part.time_format);
  return "{" + std::string(part.name) + t.substr(std::string_view("{event_time").size());
}

struct IntegerField {
  char conv;
  std::string_view unit;  // bare column name
  int lo, hi, digits;
};
constexpr IntegerField kIntegerFields[] = {
    {'m', "month", 1, 12, 2},  {'d', "day", 1, 31, 2},          {'H', "hour", 0, 23, 2}, {'M', "minute", 0, 59, 2},
    {'S', "second", 0, 59, 2}, {'j', "day_of_year", 1, 366, 3}, {'V', "week", 1, 53, 2}, {'u', "weekday", 1, 7, 0},
};

// Plans the projection of one time placeholder whose format is `core`
// (leading/trailing literal already moved out). Sets type, format, range,
// interval_unit, digits; `bare_name` gets the column name to use when the
// placeholder is not in a Hive segment.
Status PlanTime(const partition::KeyTemplate::Part& part, const TimeFormat& core, int64_t range_start_us,
                PartitionColumn* col, std::string* bare_name) {
  const std::string written = PlaceholderText(part);
  std::string convs;
  for (const auto& [conv, lit] : core) {
    if (conv != 0) convs.push_back(conv);
  }
  auto has = [&](char c) { return convs.find(c) != std::string::npos; };
  if (has('e')) {
    return Status::InvalidArgument(
        fmt::format("placeholder {}: %e pads the day with a space that is written as '_' (\"_4\"); no Athena "
                    "projection generates such values (use %d)",
                    written));
  }
  if (has('G')) {
    return Status::InvalidArgument(
        fmt::format("placeholder {}: %G (ISO week-based year) cannot be projected: it runs ahead "
                    "of the calendar "
                    "year at the turn of the year, and Java's week-based-year letter depends on "
                    "the locale (use %Y)",
                    written));
  }
  const std::string_view prefix = part.name == "arrival_time" ? "arrival_" : "";
  if (convs.size() == 1) {
    const char c = convs[0];
    if (c == 'Y' || c == 'y') {
      *bare_name = fmt::format("{}year", prefix);
    } else {
      for (const IntegerField& f : kIntegerFields) {
        if (f.conv != c) continue;
        *bare_name = fmt::format("{}{}", prefix, f.unit);
        col->type = ProjectionType::kInteger;
        col->range = fmt::format("{},{}", f.lo, f.hi);
        col->digits = f.digits;
        return Status::OK();
      }
    }
  } else {
    *bare_name = fmt::format("{}dt", prefix);
    if (has('V') || has('u')) {
      return Status::InvalidArgument(
          fmt::format("placeholder {}: %V and %u (ISO week fields) can only be projected alone in their own "
                      "placeholder (an integer column); Java's week pattern letters depend on the locale",
                      written));
    }
    // A date projection steps through absolute time from the range start, so
    // every field coarser than the finest one must be in the format.
    const bool year = has('Y') || has('y');
    const bool month = has('m') || has('j');
    const bool day = has('d') || has('j');
    const bool hour = has('H'), minute = has('M'), second = has('S');
    const char* missing = nullptr;
    if (!year) {
      missing = "a year (%Y)";
    } else if (has('d') && !has('m')) {
      missing = "the month (%m) before the day %d";
    } else if ((day || hour || minute || second) && !month) {
      missing = "the month (%m)";
    } else if ((hour || minute || second) && !day) {
      missing = "the day (%d)";
    } else if ((minute || second) && !hour) {
      missing = "the hour (%H)";
    } else if (second && !minute) {
      missing = "the minute (%M)";
    }
    if (missing != nullptr) {
      return Status::InvalidArgument(
          fmt::format("placeholder {}: a date projection needs every field down to the finest one, "
                      "and the format "
                      "lacks {}",
                      written, missing));
    }
  }
  auto java = StrftimeToJava(core);
  if (!java.ok()) return java.status().WithContext(fmt::format("placeholder {}", written));
  col->type = ProjectionType::kDate;
  col->format = std::move(java).value();
  if (has('S')) {
    col->interval_unit = "SECONDS";
  } else if (has('M')) {
    col->interval_unit = "MINUTES";
  } else if (has('H')) {
    col->interval_unit = "HOURS";
  } else if (has('d') || has('j')) {
    col->interval_unit = "DAYS";
  } else if (has('m')) {
    col->interval_unit = "MONTHS";
  } else {
    col->interval_unit = "YEARS";
  }
  auto start = partition::KeyTemplate::Parse(TimePlaceholderText(core), partition::TemplateKind::kRecord);
  if (!start.ok()) return start.status().WithContext(fmt::format("placeholder {}", written));
  partition::PartitionFields f;
  f.event_time_us = range_start_us;
  col->range = start->Render(f) + ",NOW";
  return Status::OK();
}

Status CheckLiteral(std::string_view text, std::string_view where) {
  if (text.find("${") != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("{} contains \"${{\", which storage.location.template would read as a partition column", where));
  }
  if (text.find_first_of("'\\") != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("{} contains a quote or a backslash, which cannot be written in the DDL's strings", where));
  }
  return Status::OK();
}

}  // namespace

Result<std::string> StrftimeToJava(const std::vector<std::pair<char, std::string>>& format) {
  std::string out;
  for (const auto& [conv, lit] : format) {
    switch (conv) {
      case 0:
        break;
      case 'Y':
        out += "yyyy";
        break;
      case 'y':
        out += "yy";
        break;
      case 'm':
        out += "MM";
        break;
      case 'd':
        out += "dd";
        break;
      case 'H':
        out += "HH";
        break;
      case 'M':
        out += "mm";
        break;
      case 'S':
        out += "ss";
        break;
      case 'j':
        out += "DDD";
        break;
      default:
        return Status::InvalidArgument(
            fmt::format("%{} has no Java DateTimeFormatter equivalent usable in a date projection", conv));
    }
    if (lit.empty()) continue;
    const bool quote = std::any_of(lit.begin(), lit.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\'' || c == '[' || c == ']' || c == '{' ||
             c == '}' || c == '#';
    });
    if (!quote) {
      out += lit;
      continue;
    }
    out.push_back('\'');
    for (char c : lit) {
      if (c == '\'') out.push_back('\'');
      out.push_back(c);
    }
    out.push_back('\'');
  }
  return out;
}

Result<Layout> PlanLayout(const partition::KeyTemplate& prefix, DataFormat format, const std::string& location_root,
                          const std::string& stream, const DdlOptions& options) {
  if (location_root.rfind("s3://", 0) != 0 || location_root.size() <= 5 || location_root[5] == '/') {
    return Status::InvalidArgument(
        fmt::format("--location \"{}\": must look like s3://bucket or s3://bucket/root", location_root));
  }
  SHARDHOSE_RETURN_IF_ERROR(CheckLiteral(location_root, fmt::format("--location \"{}\"", location_root)));
  std::string root = location_root;
  while (root.back() == '/') root.pop_back();

  Layout layout;
  std::string tmpl;  // the prefix with ${column} per placeholder
  size_t first_placeholder = std::string::npos;
  size_t last_placeholder_end = 0;
  std::string segment;  // literal text of the current path segment so far
  bool segment_has_placeholder = false;
  std::vector<bool> table_derived;

  auto add_literal = [&](std::string_view lit) {
    tmpl.append(lit);
    const size_t slash = lit.rfind('/');
    if (slash == std::string_view::npos) {
      segment.append(lit);
    } else {
      segment.assign(lit.substr(slash + 1));
      segment_has_placeholder = false;
    }
  };

  auto in_prefix = [](const Status& st) { return st.WithContext("output.prefix"); };
  for (const partition::KeyTemplate::Part& part : prefix.Parts()) {
    if (part.name.empty()) {
      if (Status st = CheckLiteral(part.literal, fmt::format("literal text \"{}\"", part.literal)); !st.ok()) {
        return in_prefix(st);
      }
      add_literal(part.literal);
      continue;
    }
    const std::string written = PlaceholderText(part);
    PartitionColumn col;
    col.placeholder = std::string(part.name);
    std::string bare;
    TimeFormat core = part.time_format;
    std::string leading, trailing;
    if (!core.empty()) {
      // Literal text at either end of a time format is template text.
      leading = std::move(core.front().second);
      core.front().second.clear();
      if (core.size() > 1) {
        trailing = std::move(core.back().second);
        core.back().second.clear();
      }
      if (Status st = CheckLiteral(leading + trailing, fmt::format("placeholder {}", written)); !st.ok()) {
        return in_prefix(st);
      }
      if (Status st = PlanTime(part, core, options.range_start_us, &col, &bare); !st.ok()) return in_prefix(st);
      add_literal(leading);
    } else if (part.name == "table") {
      bare = "table_name";
    } else if (part.name == "event_name") {
      bare = "event_name";
      col.type = ProjectionType::kEnum;
      col.values = {"INSERT", "MODIFY", "REMOVE"};
    } else if (part.name == "stream") {
      bare = "stream";
      col.type = ProjectionType::kEnum;
      col.values = {Sanitised(stream)};
    } else if (part.name == "shard_id") {
      bare = "shard_id";
    } else {
      return in_prefix(
          Status::InvalidArgument(fmt::format("placeholder {}: not available in the record prefix", written)));
    }
    // Hive segment "key={...}": the key names the column.
    const size_t eq = segment.find('=');
    if (!segment_has_placeholder && eq != std::string::npos && eq + 1 == segment.size() && eq > 0) {
      col.name = ColumnName(segment.substr(0, eq));
    } else {
      col.name = bare;
    }
    if (IsDataColumn(col.name, format)) {
      layout.notes.push_back(fmt::format("partition column for {} is named {}_part: {} is already a data column",
                                         written, col.name, col.name));
      col.name += "_part";
    }
    for (const PartitionColumn& other : layout.columns) {
      if (other.name == col.name) {
        return in_prefix(
            Status::InvalidArgument(fmt::format("placeholder {}: a second partition column named "
                                                "{} (name them apart with Hive segments, "
                                                "e.g. {}2=...)",
                                                written, col.name, col.name)));
      }
    }
    if (first_placeholder == std::string::npos) first_placeholder = tmpl.size();
    tmpl += "${" + col.name + "}";
    last_placeholder_end = tmpl.size();
    segment_has_placeholder = true;
    add_literal(trailing);
    table_derived.push_back(part.name == "table");
    layout.columns.push_back(std::move(col));
  }

  // User-given values turn injected columns into enums.
  for (const auto& [name, values] : options.enum_values) {
    const std::string& wanted = name;  // a lambda may not capture a structured binding before clang 16
    auto it = std::find_if(layout.columns.begin(), layout.columns.end(),
                           [&](const PartitionColumn& c) { return c.name == wanted; });
    if (it == layout.columns.end()) {
      std::vector<std::string> names;
      for (const PartitionColumn& c : layout.columns) names.push_back(c.name);
      return Status::InvalidArgument(fmt::format("--partition-values {}: no such partition column (columns: {})", name,
                                                 names.empty() ? "none" : Join(names, ", ")));
    }
    if (it->type == ProjectionType::kDate || it->type == ProjectionType::kInteger) {
      return Status::InvalidArgument(
          fmt::format("--partition-values {}: a time column is projected from its format", name));
    }
    if (values.empty()) {
      return Status::InvalidArgument(fmt::format("--partition-values {}: no values given", name));
    }
    it->type = ProjectionType::kEnum;
    it->values.clear();
    for (const std::string& v : values) {
      if (v.empty()) return Status::InvalidArgument(fmt::format("--partition-values {}: an empty value", name));
      std::string s = Sanitised(v);
      if (std::find(it->values.begin(), it->values.end(), s) == it->values.end()) it->values.push_back(s);
    }
  }
  for (const PartitionColumn& c : layout.columns) {
    if (c.type == ProjectionType::kInjected) {
      layout.notes.push_back(
          fmt::format("partition column {} is injected: every query must give its value (WHERE {} = '...'); "
                      "pass --partition-values {}=a,b,... to project known values instead",
                      c.name, c.name, c.name));
    }
  }

  if (layout.columns.empty()) {
    const size_t slash = tmpl.rfind('/');
    layout.location = root + "/" + (slash == std::string::npos ? "" : tmpl.substr(0, slash + 1));
    return layout;
  }
  const size_t last_slash = tmpl.rfind('/');
  if (last_slash == std::string::npos || last_slash < last_placeholder_end) {
    return Status::InvalidArgument(
        fmt::format("output.prefix: \"{}\" has a placeholder after the last '/', which puts "
                    "partition values into "
                    "object names; Athena reads a partition as a folder (end the prefix with '/')",
                    prefix.text()));
  }
  const size_t root_slash = tmpl.rfind('/', first_placeholder);
  layout.location = root + "/" + (root_slash == std::string::npos ? "" : tmpl.substr(0, root_slash + 1));
  layout.storage_location_template = root + "/" + tmpl.substr(0, last_slash + 1);
  return layout;
}

}  // namespace shardhose::athena

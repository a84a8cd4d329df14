// Loading: the TOML file and the environment (config/loader.h). Unknown
// sections and keys (with a "did you mean" for near misses and for keys in
// the wrong section) and wrong types are reported here; values are checked
// by validate.cc.
#include "config/loader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <sstream>

namespace shardhose::config::internal {
namespace {

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
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

std::string ExpectedName(Type t) {
  switch (t) {
    case Type::kString:
    case Type::kEnum:
      return "a string";
    case Type::kInt:
      return "an integer";
    case Type::kBool:
      return "a boolean";
    case Type::kTimestamp:
      return "an RFC 3339 timestamp (string or offset date-time)";
  }
  return "?";
}

std::string LineOf(const toml::source_region& r) { return "line " + std::to_string(r.begin.line); }

}  // namespace

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
      Problem(name + ": expected a table ([" + name + "]), got " + TomlTypeName(node.type()) + " (line " +
              std::to_string(line) + ")");
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
      if (o.spec.list && node.is_array()) {
        std::string joined;
        for (const toml::node& e : *node.as_array()) {
          if (!e.is_string()) {
            ValueProblem(i, "expected an array of strings, got an element of type " + TomlTypeName(e.type()));
            return;
          }
          const std::string& name = e.as_string()->get();
          if (name.empty() || name.find(',') != std::string::npos) {
            ValueProblem(i, "a name in the array is empty or holds a comma: " + Quote(name));
            return;
          }
          if (!joined.empty()) joined += ',';
          joined += name;
        }
        std::get<StrRef>(o.ref)(config_) = joined;
        return;
      }
      if (!node.is_string()) {
        if (o.spec.list) {
          ValueProblem(i, "expected an array of strings, got " + TomlTypeName(node.type()));
          return;
        }
        return wrong_type();
      }
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
    case Type::kEnum:
      if (!node.is_string()) return wrong_type();
      names_[i] = node.as_string()->get();
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
    case Type::kEnum:
      names_[i] = text;
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
  // The first of `vars` set and not empty (empty counts as unset, as in the
  // AWS SDKs).
  auto first = [&](std::initializer_list<std::string_view> vars) -> std::optional<std::pair<std::string, std::string>> {
    for (std::string_view var : vars) {
      if (var.empty()) continue;
      std::optional<std::string> v = env(std::string(var));
      if (v && !v->empty()) return std::make_pair(std::string(var), *v);
    }
    return std::nullopt;
  };
  size_t type_index = 0;
  const bool streams = Find("source", "type", &type_index) && names_[type_index] == "dynamodb-streams";
  for (size_t i = 0; i < options_.size(); ++i) {
    const bool endpoint = options_[i].section == "source" && options_[i].key == "endpoint_url";
    if (endpoint && streams) {
      // The Streams API and DescribeTable have variables of their own.
      const bool set = origins_[i].kind == Origin::kFile || origins_[i].kind == Origin::kEnv;
      if (!set) {
        if (auto v = first({"AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_ENDPOINT_URL"})) {
          origins_[i] = Origin{Origin::kAwsEnv, v->first, false};
          SetFromString(i, v->second);
        }
      }
      if (set) {
        config_.source.table_endpoint_url = config_.source.endpoint_url;
      } else if (auto v = first({"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"})) {
        config_.source.table_endpoint_url = v->second;
      }
      continue;
    }
    if (origins_[i].kind == Origin::kFile || origins_[i].kind == Origin::kEnv) continue;
    const auto& vars = options_[i].spec.aws_env;
    if (auto v = first({vars[0], vars[1]})) {
      origins_[i] = Origin{Origin::kAwsEnv, v->first, false};
      SetFromString(i, v->second);
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

}  // namespace shardhose::config::internal

namespace shardhose::config::internal {

void Loader::CheckEnvNames(const std::vector<std::string>& names) {
  std::vector<std::string> known;
  for (const Option& o : options_) known.push_back(EnvName(o));
  for (std::string_view v : kOtherShardhoseVariables) known.emplace_back(v);
  constexpr std::string_view kPrefix = "SHARDHOSE_";
  for (const std::string& name : names) {
    if (!StartsWith(name, kPrefix) || std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string msg = name + ": unknown variable";
    std::string suggestion;
    size_t best = SIZE_MAX;
    for (const std::string& k : known) {  // a typo: the closest near miss
      const std::string_view a = std::string_view(name).substr(kPrefix.size());
      const std::string_view b = std::string_view(k).substr(kPrefix.size());
      const size_t d = EditDistance(a, b);
      if (NearMiss(a, b) && d < best) {
        best = d;
        suggestion = k;
      }
    }
    if (suggestion.empty()) {  // the key without its section, or in another one
      const std::string rest = name.substr(kPrefix.size());
      const size_t underscore = rest.find('_');
      const std::string after_section = underscore == std::string::npos ? "" : rest.substr(underscore + 1);
      for (const Option& o : options_) {
        const std::string key = Upper(o.key);
        if (key == rest || key == after_section) {
          suggestion = EnvName(o);
          break;
        }
      }
    }
    if (!suggestion.empty()) {
      msg += "; did you mean " + suggestion + "?";
    } else {
      msg +=
          " (the variables are SHARDHOSE_<SECTION>_<KEY>, e.g. SHARDHOSE_OUTPUT_BUCKET, for the keys "
          "`shardhose validate` prints)";
    }
    Problem(msg);
  }
}

}  // namespace shardhose::config::internal

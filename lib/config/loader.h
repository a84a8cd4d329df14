// File: config/loader.h
//
// Internal to config/: the state of one Load() (config.h): the Config being
// built, where each key's value came from, and the problems found so far.
// Load() applies, in this order: the TOML file (ApplyFile), the SHARDHOSE_*
// variables (ApplyEnv), the AWS variables for keys neither set
// (ApplyAwsEnv: it can then tell the source's type, which decides the
// variables of source.endpoint_url), the per-key checks (ValidateEach) and
// the cross-field rules (ValidateTogether).
//
// Each problem is one line "<section>.<key>: <what> [(where)]" where
// `where` is "(line N)" for the file or "(from VAR)" for the environment. A
// key whose value was unusable is marked invalid: later checks skip it, and
// rules that involve it are not applied (so one mistake is reported once,
// not as a cascade).
//
// Files: loader.cc (the file and the environment), validate.cc (the checks).
//
// Thread-safety: a Loader is used by one thread, for one Load().
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/schema.h"

namespace shardhose::config::internal {

struct Origin {
  enum Kind { kDefault, kFile, kAwsEnv, kEnv };
  Kind kind = kDefault;
  std::string detail;    // "line 7" or the variable name
  bool invalid = false;  // a problem was reported for this key
  std::string Where() const {
    switch (kind) {
      case kDefault:
        return "";
      case kFile:
        return " (" + detail + ")";
      case kAwsEnv:
      case kEnv:
        return " (from " + detail + ")";
    }
    return "";
  }
};

class Loader {
 public:
  explicit Loader(const std::vector<Option>& options)
      : options_(options), origins_(options.size()), names_(options.size()) {}

  void ApplyFile(const toml::table& root);
  void ApplyAwsEnv(const EnvLookup& env);
  void ApplyEnv(const EnvLookup& env);
  // A problem for each SHARDHOSE_* name in `names` that no key and no
  // kOtherShardhoseVariables entry uses.
  void CheckEnvNames(const std::vector<std::string>& names);
  void ValidateEach();
  void ValidateTogether();
  void ValidateStreamsSource();  // part of ValidateTogether (validate.cc)

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
  // Enum keys: the name given (by the file or the environment), turned into
  // the value by ValidateEach().
  std::vector<std::string> names_;
  Config config_;
  std::vector<std::string> problems_;
};

}  // namespace shardhose::config::internal

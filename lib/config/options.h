// File: config/options.h
//
// A read-only view of the option table that drives config::Load(): every
// key the configuration accepts, with its type, default, allowed values and
// environment variable. For documentation (`shardhose` help output) and for
// tests that check config/shardhose.example.toml against the table.
//
// Thread-safety: pure functions over static data.
#pragma once

#include <string>
#include <vector>

namespace shardhose::config {

struct OptionInfo {
  std::string section;       // "batch"
  std::string key;           // "max_bytes"
  std::string type;          // "string" | "integer" | "boolean" | "timestamp"
  std::string default_toml;  // the built-in default as a TOML value: 134217728, "gzip", false
  std::string allowed;       // "1..5368709120", "gzip|none", "" if anything of the type
  std::string env_var;       // "SHARDHOSE_BATCH_MAX_BYTES"
  std::string description;

  std::string dotted() const { return section + "." + key; }
};

// In table order (which is also the order of ToToml()).
std::vector<OptionInfo> ListOptions();

}  // namespace shardhose::config

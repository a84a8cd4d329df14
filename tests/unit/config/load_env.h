// Loading a configuration from an environment alone, for the config tests:
// a valid base (source.stream_name = orders, output.bucket = lake) plus the
// variables a test gives; the problems Load() reports, one per line.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"

namespace shardhose::config::testing {

using EnvMap = std::map<std::string, std::string>;

// `names` are variable names "set" beyond those of `vars`.
inline Result<Config> LoadEnv(EnvMap vars, std::vector<std::string> names = {}) {
  vars.emplace("SHARDHOSE_SOURCE_STREAM_NAME", "orders");
  vars.emplace("SHARDHOSE_OUTPUT_BUCKET", "lake");
  for (const auto& [k, v] : vars) names.push_back(k);
  return Load(
      "",
      [&](const std::string& n) -> std::optional<std::string> {
        auto it = vars.find(n);
        if (it == vars.end()) return std::nullopt;
        return it->second;
      },
      names);
}

// The problems, one per line; empty if the configuration loads.
inline std::vector<std::string> Problems(EnvMap vars, std::vector<std::string> names = {}) {
  auto r = LoadEnv(std::move(vars), std::move(names));
  if (r.ok()) return {};
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  std::vector<std::string> lines;
  std::istringstream in(r.status().message());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace shardhose::config::testing

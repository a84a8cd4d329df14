// `shardhose athena-ddl`: the configuration in, Athena SQL out (the work is
// in lib/athena/, athena/ddl.h).
#include "athena_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "athena/ddl.h"
#include "config/rfc3339.h"

namespace shardhose::daemon {
namespace {

Result<athena::DdlOptions> ToDdlOptions(const AthenaOptions& a) {
  athena::DdlOptions o;
  o.database = a.database;
  o.table = a.table;
  o.location = a.location;
  std::string since = a.since;
  if (since.size() == 10) since += "T00:00:00Z";  // a bare date
  auto ms = config::ParseRfc3339Millis(since);
  if (!ms.ok()) {
    return Status::InvalidArgument(fmt::format("--since \"{}\": {}", a.since, ms.status().message()));
  }
  if (*ms < 0) return Status::InvalidArgument(fmt::format("--since \"{}\": before 1970", a.since));
  o.range_start_us = *ms * 1000;
  for (const std::string& spec : a.partition_values) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument(fmt::format("--partition-values \"{}\": want COLUMN=V1,V2,...", spec));
    }
    std::vector<std::string> values;
    size_t start = eq + 1;
    while (true) {
      const size_t comma = spec.find(',', start);
      values.push_back(spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    o.enum_values.emplace_back(spec.substr(0, eq), std::move(values));
  }
  return o;
}

}  // namespace

int AthenaDdlCommand(const CommonOptions& options, const AthenaOptions& athena_options) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  auto ddl_options = ToDdlOptions(athena_options);
  if (!ddl_options.ok()) {
    std::fprintf(stderr, "shardhose: %s\n", ddl_options.status().message().c_str());
    return kExitUsage;
  }
  auto ddl = athena::GenerateDdl(*cfg, *ddl_options);
  if (!ddl.ok()) {
    std::fprintf(stderr, "shardhose: athena-ddl: %s\n", ddl.status().message().c_str());
    return ExitFor(ddl.status());
  }
  std::cout << ddl->create_table;
  if (!ddl->latest_view.empty()) std::cout << "\n" << ddl->latest_view;
  std::cout.flush();
  for (const std::string& note : ddl->layout.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  if (ddl->latest_view.empty()) {
    std::fprintf(stderr,
                 "note: no <table>_latest view for format = raw: raw lines carry no Kinesis sequence number "
                 "to order two changes of one item within a millisecond (use format = unmarshalled)\n");
  }
  return std::cout.good() ? kExitOk : kExitFailure;
}

}  // namespace shardhose::daemon

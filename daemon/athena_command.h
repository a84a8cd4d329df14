// File: daemon/athena_command.h
//
// `shardhose athena-ddl [--config FILE] [--database DB] [--table NAME]
//  [--location s3://bucket/root] [--since YYYY-MM-DD]
//  [--partition-values COLUMN=V1,V2,...]...`
//
// Prints to stdout the Athena SQL for the configured output (athena/ddl.h):
// CREATE EXTERNAL TABLE with partition projection, then (format =
// unmarshalled) CREATE OR REPLACE VIEW <table>_latest, each statement ending
// in ';' and separated by a blank line, nothing else (so the output can be
// split on ";\n\n" and run statement by statement). Notes (injected columns
// that every query must filter, renamed columns) go to stderr as
// "note: ...". Reads the configuration only: no network, no checkpoint.
//
// Exit status: 0 printed; 2 bad configuration or options, or a prefix that
// partition projection cannot express (the message names the placeholder
// and why).
#pragma once

#include <string>
#include <vector>

#include "commands.h"

namespace shardhose::daemon {

struct AthenaOptions {
  std::string database = "default";
  std::string table;                          // "" = the stream name, lowercased, other characters as '_'
  std::string location;                       // "" = s3://<output.bucket>
  std::string since = "2020-01-01";           // start of the date projections: YYYY-MM-DD or RFC 3339
  std::vector<std::string> partition_values;  // "COLUMN=V1,V2,..." each
};

int AthenaDdlCommand(const CommonOptions& options, const AthenaOptions& athena);

}  // namespace shardhose::daemon

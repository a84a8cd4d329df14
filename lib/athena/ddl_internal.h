// File: athena/ddl_internal.h
//
// Internal to athena/: what the files of GenerateDdl() (athena/ddl.h) share.
//   ddl.cc          - GenerateDdl(): the CREATE EXTERNAL TABLE statement;
//   layout.cc       - PlanLayout() and StrftimeToJava(): partition columns
//                     and their projections, from the prefix template;
//   latest_view.cc  - the <table>_latest view (unmarshalled format).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "athena/ddl.h"

namespace shardhose::athena::internal {

// The data columns of the unmarshalled format, in output order.
inline constexpr std::string_view kUnmarshalledColumns[] = {
    "event_id", "event_name", "table",     "event_time", "sequence_number",
    "shard_id", "keys",       "new_image", "old_image",  "user_identity",
};

// Lowercase; anything outside [a-z0-9_] becomes '_'.
std::string ColumnName(std::string_view s);

// The elements of `v` with `sep` between them.
std::string Join(const std::vector<std::string>& v, std::string_view sep);

// CREATE OR REPLACE VIEW "<database>"."<table>_latest": the latest change
// per item of the table with partition layout `layout`, without items whose
// latest change is a REMOVE. One statement, ending in ";\n".
std::string LatestViewSql(const std::string& database, const std::string& table, const Layout& layout);

}  // namespace shardhose::athena::internal

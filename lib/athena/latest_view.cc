// The <table>_latest view (athena/ddl_internal.h): over the unmarshalled
// format, the latest change per item (same table and keys), ordered by
// event_time, then sequence number. A SNAPSHOT line of `shardhose load`
// counts as of the START of its export time's second: it sorts before every
// stream change of that second, so a change made just after the export wins
// even when its stream gives whole seconds (DynamoDB Streams) and its time
// reads earlier than the export's. (A change in that second but before the
// export winning is harmless: the state it carries is the snapshot's, unless
// the stream lost a write within that second.) A REMOVE that wins hides the
// item.
#include <fmt/format.h>

#include <string_view>
#include <vector>

#include "athena/ddl_internal.h"

namespace shardhose::athena::internal {

std::string LatestViewSql(const std::string& database, const std::string& table, const Layout& l) {
  std::vector<std::string> select;
  std::vector<std::string> partition_by;
  for (std::string_view c : kUnmarshalledColumns) select.push_back(fmt::format("\"{}\"", c));
  for (size_t i = 0; i < l.columns.size(); ++i) {
    select.push_back(fmt::format("\"{}\"", l.columns[i].name));
    // Partitioning the window by the table's partition column too (it is a
    // function of "table") lets WHERE table_name = '...' on the view prune.
    if (l.columns[i].placeholder == "table") partition_by.push_back(fmt::format("\"{}\"", l.columns[i].name));
  }
  partition_by.push_back("\"table\"");
  partition_by.push_back("\"keys\"");
  std::string v;
  v += fmt::format("CREATE OR REPLACE VIEW \"{}\".\"{}_latest\" AS\n", database, table);
  v += "SELECT " + Join(select, ", ") + "\n";
  v += "FROM (\n"
       "  SELECT *, row_number() OVER (\n"
       "    PARTITION BY " +
       Join(partition_by, ", ") +
       "\n"
       "    ORDER BY CASE WHEN \"event_name\" = 'SNAPSHOT' THEN substr(\"event_time\", 1, 19)\n"
       "      ELSE \"event_time\" END DESC,\n"
       "      lpad(\"sequence_number\", 128, '0') DESC\n"
       "  ) AS \"shardhose_rn\"\n";
  v += fmt::format("  FROM \"{}\".\"{}\"\n", database, table);
  v += ") AS \"changes\"\n"
       "WHERE \"shardhose_rn\" = 1 AND \"event_name\" <> 'REMOVE';\n";
  return v;
}

}  // namespace shardhose::athena::internal

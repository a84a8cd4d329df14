// File: athena/ddl.h
//
// Athena without a crawler: from the configured output (format and `prefix`
// template) to the SQL that makes the bucket queryable, with partition
// projection instead of a Glue crawler or MSCK REPAIR.
//
// What GenerateDdl() produces:
//   1. CREATE EXTERNAL TABLE over the record prefix: the OpenX JSON SerDe,
//      TextInputFormat (gzip objects are read by their ".gz" suffix), the
//      data columns of the output format, PARTITIONED BY one string column
//      per placeholder of the prefix, and TBLPROPERTIES with partition
//      projection matching the prefix exactly, so that for every object
//      shardhose writes, its key minus the file name equals
//      `storage.location.template` with each ${column} replaced by a value
//      that the column's projection generates.
//   2. For format = "unmarshalled", CREATE OR REPLACE VIEW <table>_latest:
//      the latest change per item (same table and keys), ordered by
//      event_time (a SNAPSHOT line of `shardhose load` as of the start of
//      its export time's second, so before every change of that second:
//      latest_view.cc says why), then sequence number, without items whose
//      latest change is a REMOVE.
//
// Columns:
//   unmarshalled: event_id, event_name, `table`, event_time, sequence_number,
//     shard_id, keys, new_image, old_image (string), user_identity
//     struct<type:string,principalId:string>. event_time is a string: it is
//     ISO-8601 with 'Z' ("2024-05-20T10:13:20.123Z"), which the JSON SerDe
//     does not read reliably as a Hive timestamp; it sorts chronologically
//     as text and from_iso8601_timestamp(event_time) gives a timestamp.
//     keys/new_image/old_image are schema-less DynamoDB items: string
//     columns holding the JSON text, queried with json_extract_scalar().
//   raw: the change record's own fields (awsRegion, eventID, eventName,
//     eventSource, recordFormat, tableName, userIdentity, dynamodb
//     struct<ApproximateCreationDateTime:bigint,
//     ApproximateCreationDateTimePrecision:string, Keys:string,
//     NewImage:string, OldImage:string, SizeBytes:bigint>). No _latest view:
//     raw lines carry no Kinesis sequence number, so two changes of one item
//     within the same millisecond could not be ordered.
//
// SerDe: 'ignore.malformed.json' is left at its default (false) on purpose:
// shardhose writes only valid one-line JSON (decode/change_record.h), so a
// malformed line means a foreign or damaged object under the location, and
// a query that fails names it, where 'true' would turn it into a row of
// NULLs that silently undercounts.
//
// Partition columns (all declared `string`), per placeholder:
//   name: in a Hive segment "key={...}" the column is `key` (lowercased,
//     characters outside [a-z0-9_] become '_'); a bare placeholder is named
//     after it: {table} -> table_name, {event_name}, {stream}, {shard_id};
//     a bare time placeholder with one conversion after the unit (%Y year,
//     %m month, %d day, %H hour, %M minute, %S second, %j day_of_year,
//     %V week, %u weekday; "arrival_" prepended for arrival_time), with
//     several conversions "dt" / "arrival_dt". A name equal to a data column
//     gets "_part" appended (and a note says so); two partition columns with
//     one name are rejected.
//   projection:
//     {event_name}  enum INSERT,MODIFY,REMOVE
//     {stream}      enum <the configured stream name, sanitised>
//     {table}, {shard_id}
//                   injected (every query must give the value: WHERE
//                   table_name = 'orders'), or enum when values are given
//                   (DdlOptions::enum_values)
//     time, one conversion: %H/%M/%S/%m/%d/%j/%V/%u -> integer with the
//                   field's range and digits (%H: 0,23 digits 2); %Y/%y ->
//                   date yyyy/yy by 1 YEARS
//     time, several: date, format translated to a Java DateTimeFormatter
//                   pattern (StrftimeToJava), range "<start>,NOW" with the
//                   start rendered by the template itself, interval 1 and the
//                   unit of the finest field.
//   A time format's leading and trailing literal text moves into the
//   location template ("{event_time:h%H}" is "h${hour}").
//
// Rejected (InvalidArgument naming the placeholder and why): %e (its space
// padding is written as '_', which no projection produces); %G anywhere and
// %V/%u combined with other conversions (ISO week fields: Java's week
// pattern letters depend on the locale, and the ISO year can run ahead of a
// NOW-bounded range); a multi-conversion format that skips a coarser field
// ("%Y-%d", "%m-%d", "%H%M": a date projection steps through absolute time);
// a placeholder after the last '/' (Athena reads a partition as a folder);
// literal text containing "${", a quote or a backslash; enum values for a
// time column or for a column that does not exist.
//
// Errors: prefix problems start with "output.prefix: "; option problems
// name the athena-ddl flag (--database, --table, --location,
// --partition-values).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "partition/template.h"

namespace shardhose::athena {

enum class DataFormat { kUnmarshalled, kRaw };

struct DdlOptions {
  std::string database = "default";  // [A-Za-z0-9_]+
  std::string table;                 // [A-Za-z0-9_]+; "" = from the stream name
  // Where the prefix template starts: "s3://bucket" or "s3://bucket/root".
  // "" = "s3://<output.bucket>" (required when output.bucket is empty).
  std::string location;
  // Start of every date projection's range, epoch microseconds (UTC);
  // default 2020-01-01T00:00:00Z.
  int64_t range_start_us = 1577836800LL * 1000000;
  // Partition column -> its known values: makes an injected column enum.
  std::vector<std::pair<std::string, std::vector<std::string>>> enum_values;
};

enum class ProjectionType { kDate, kInteger, kEnum, kInjected };

struct PartitionColumn {
  std::string name;         // column name
  std::string placeholder;  // "table", "event_time", ...
  ProjectionType type = ProjectionType::kInjected;
  std::string format;               // date: Java DateTimeFormatter pattern
  std::string range;                // date: "2020-01-01,NOW"; integer: "0,23"
  std::string interval_unit;        // date: YEARS | MONTHS | DAYS | HOURS | MINUTES | SECONDS
  int digits = 0;                   // integer: zero-padded width (0 = none)
  std::vector<std::string> values;  // enum
};

// The partition layout of a table: what PARTITIONED BY and the projection
// TBLPROPERTIES say.
struct Layout {
  std::string location;                   // LOCATION: the prefix up to its first placeholder's folder
  std::string storage_location_template;  // "" when the prefix has no placeholder
  std::vector<PartitionColumn> columns;
  std::vector<std::string> notes;  // things the user should know (injected columns, renames)
};

// The layout for `prefix` under `location_root` ("s3://bucket[/root]").
// `stream` is the configured stream name (the value of {stream}).
Result<Layout> PlanLayout(const partition::KeyTemplate& prefix, DataFormat format, const std::string& location_root,
                          const std::string& stream, const DdlOptions& options);

// A strftime format (as parsed by KeyTemplate: (conversion, literal) pairs)
// as a java.time.format.DateTimeFormatter pattern: %Y yyyy, %y yy, %m MM,
// %d dd, %H HH, %M mm, %S ss, %j DDD; literal text quoted where Java would
// read it as pattern letters. InvalidArgument for other conversions.
Result<std::string> StrftimeToJava(const std::vector<std::pair<char, std::string>>& format);

struct Ddl {
  std::string create_table;  // one statement, ending in ";\n"
  std::string latest_view;   // one statement, ending in ";\n"; "" for raw
  Layout layout;
};

// Everything for `config` (output.prefix, output.format, output.bucket,
// the stream name). InvalidArgument naming what cannot be expressed.
Result<Ddl> GenerateDdl(const config::Config& config, const DdlOptions& options);

}  // namespace shardhose::athena

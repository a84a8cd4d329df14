// GenerateDdl(): the CREATE EXTERNAL TABLE statement for the configured
// output (data columns, PARTITIONED BY, SerDe, LOCATION and the projection
// TBLPROPERTIES of the layout that layout.cc plans), and the name helpers
// the DDL files share. See ddl.h for the rules.
#include "athena/ddl.h"

#include <fmt/format.h>

#include <string_view>

#include "athena/ddl_internal.h"

namespace shardhose::athena {
namespace {

using internal::ColumnName;
using internal::Join;

bool IsIdentifierChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

Result<std::string> CheckIdentifier(std::string_view what, std::string_view s) {
  if (s.empty() || s.size() > 255) {
    return Status::InvalidArgument(fmt::format("--{} \"{}\": must be 1 to 255 characters", what, s));
  }
  std::string out;
  for (char c : s) {
    c = Lower(c);
    if (!IsIdentifierChar(c)) {
      return Status::InvalidArgument(
          fmt::format("--{} \"{}\": Athena names take only letters, digits and '_'", what, s));
    }
    out.push_back(c);
  }
  return out;
}

std::string_view ProjectionTypeName(ProjectionType t) {
  switch (t) {
    case ProjectionType::kDate:
      return "date";
    case ProjectionType::kInteger:
      return "integer";
    case ProjectionType::kEnum:
      return "enum";
    case ProjectionType::kInjected:
      return "injected";
  }
  return "injected";
}

}  // namespace

// Lowercase; anything outside [a-z0-9_] becomes '_'.
std::string internal::ColumnName(std::string_view s) {
  std::string out;
  for (char c : s) {
    c = Lower(c);
    out.push_back(IsIdentifierChar(c) ? c : '_');
  }
  return out;
}

std::string internal::Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(v[i]);
  }
  return out;
}

Result<Ddl> GenerateDdl(const config::Config& config, const DdlOptions& options) {
  const DataFormat format =
      config.output.format == config::OutputFormat::kRaw ? DataFormat::kRaw : DataFormat::kUnmarshalled;
  auto database = CheckIdentifier("database", options.database);
  if (!database.ok()) return database.status();
  std::string table_in = options.table;
  if (table_in.empty()) {
    table_in = ColumnName(config.StreamDisplayName());
    if (table_in.empty()) table_in = "shardhose";
  }
  auto table = CheckIdentifier("table", table_in);
  if (!table.ok()) return table.status();
  std::string root = options.location;
  if (root.empty()) {
    if (config.output.bucket.empty()) {
      return Status::InvalidArgument(
          "output.bucket is empty (the output is a local directory): pass --location "
          "s3://bucket[/root] for "
          "where the objects are in S3");
    }
    root = "s3://" + config.output.bucket;
  }
  auto prefix = partition::KeyTemplate::Parse(config.output.prefix, partition::TemplateKind::kRecord);
  if (!prefix.ok()) return prefix.status().WithContext("output.prefix");
  auto layout = PlanLayout(*prefix, format, root, config.StreamDisplayName(), options);
  if (!layout.ok()) return layout.status();

  Ddl ddl;
  ddl.layout = std::move(layout).value();
  const Layout& l = ddl.layout;
  std::string& s = ddl.create_table;
  s += fmt::format("CREATE EXTERNAL TABLE `{}`.`{}` (\n", *database, *table);
  if (format == DataFormat::kUnmarshalled) {
    s += "  `event_id` string,\n"
         "  `event_name` string COMMENT 'INSERT, MODIFY or REMOVE',\n"
         "  `table` string COMMENT 'DynamoDB table name',\n"
         "  `event_time` string COMMENT 'ISO-8601 UTC with milliseconds, e.g. "
         "2024-05-20T10:13:20.123Z: "
         "from_iso8601_timestamp(event_time) gives a timestamp',\n"
         "  `sequence_number` string COMMENT 'sequence number of the record in its shard (Kinesis or DynamoDB "
         "Streams), decimal digits of varying "
         "length',\n"
         "  `shard_id` string,\n"
         "  `keys` string COMMENT 'the item key as JSON text, for json_extract_scalar',\n"
         "  `new_image` string COMMENT 'the item after the change as JSON text, NULL for REMOVE',\n"
         "  `old_image` string COMMENT 'the item before the change as JSON text, NULL for INSERT',\n"
         "  `user_identity` struct<type:string,principalId:string> COMMENT 'set for TTL deletes'\n";
  } else {
    s += "  `awsRegion` string,\n"
         "  `eventID` string,\n"
         "  `eventName` string COMMENT 'INSERT, MODIFY or REMOVE',\n"
         "  `eventSource` string,\n"
         "  `recordFormat` string,\n"
         "  `tableName` string,\n"
         "  `userIdentity` struct<type:string,principalId:string> COMMENT 'set for TTL deletes',\n"
         "  `dynamodb` "
         "struct<ApproximateCreationDateTime:bigint,ApproximateCreationDateTimePrecision:string,"
         "Keys:string,NewImage:string,OldImage:string,SizeBytes:bigint> COMMENT "
         "'ApproximateCreationDateTime "
         "is epoch milliseconds, microseconds when the precision is MICROSECOND; Keys, NewImage "
         "and OldImage "
         "are DynamoDB-typed JSON text'\n";
  }
  s += ")\n";
  if (!l.columns.empty()) {
    s += "PARTITIONED BY (\n";
    for (size_t i = 0; i < l.columns.size(); ++i) {
      s += fmt::format("  `{}` string{}\n", l.columns[i].name, i + 1 < l.columns.size() ? "," : "");
    }
    s += ")\n";
  }
  s += "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
       "WITH SERDEPROPERTIES ('ignore.malformed.json'='false')\n"
       "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
       "  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n";
  s += fmt::format("LOCATION '{}'", l.location);
  if (!l.columns.empty()) {
    std::vector<std::string> props = {"'projection.enabled'='true'"};
    for (const PartitionColumn& c : l.columns) {
      props.push_back(fmt::format("'projection.{}.type'='{}'", c.name, ProjectionTypeName(c.type)));
      switch (c.type) {
        case ProjectionType::kDate:
          props.push_back(fmt::format("'projection.{}.format'='{}'", c.name, c.format));
          props.push_back(fmt::format("'projection.{}.range'='{}'", c.name, c.range));
          props.push_back(fmt::format("'projection.{}.interval'='1'", c.name));
          props.push_back(fmt::format("'projection.{}.interval.unit'='{}'", c.name, c.interval_unit));
          break;
        case ProjectionType::kInteger:
          props.push_back(fmt::format("'projection.{}.range'='{}'", c.name, c.range));
          if (c.digits > 0) props.push_back(fmt::format("'projection.{}.digits'='{}'", c.name, c.digits));
          break;
        case ProjectionType::kEnum:
          props.push_back(fmt::format("'projection.{}.values'='{}'", c.name, Join(c.values, ",")));
          break;
        case ProjectionType::kInjected:
          break;
      }
    }
    props.push_back(fmt::format("'storage.location.template'='{}'", l.storage_location_template));
    s += "\nTBLPROPERTIES (\n  " + Join(props, ",\n  ") + "\n)";
  }
  s += ";\n";

  if (format == DataFormat::kUnmarshalled) {
    ddl.latest_view = internal::LatestViewSql(*database, *table, l);
  }
  return ddl;
}

}  // namespace shardhose::athena

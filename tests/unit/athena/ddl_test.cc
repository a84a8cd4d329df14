#include "athena/ddl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shardhose::athena {
namespace {

config::Config MakeConfig(const std::string& prefix,
                          config::OutputFormat format = config::OutputFormat::kUnmarshalled) {
  config::Config c;
  c.source.stream_name = "orders-stream";
  c.output.bucket = "lake";
  c.output.prefix = prefix;
  c.output.format = format;
  return c;
}

Layout PlanOk(const std::string& prefix, const DdlOptions& options = {},
              config::OutputFormat format = config::OutputFormat::kUnmarshalled) {
  auto ddl = GenerateDdl(MakeConfig(prefix, format), options);
  EXPECT_TRUE(ddl.ok()) << prefix << ": " << ddl.status().message();
  return ddl.ok() ? ddl->layout : Layout{};
}

std::string PlanError(const std::string& prefix, const DdlOptions& options = {}) {
  auto ddl = GenerateDdl(MakeConfig(prefix), options);
  EXPECT_FALSE(ddl.ok()) << prefix << " was accepted";
  if (ddl.ok()) return "";
  EXPECT_TRUE(ddl.status().IsInvalidArgument());
  return ddl.status().message();
}

const PartitionColumn* Column(const Layout& l, const std::string& name) {
  for (const PartitionColumn& c : l.columns) {
    if (c.name == name) return &c;
  }
  ADD_FAILURE() << "no partition column " << name;
  return nullptr;
}

std::vector<std::string> Names(const Layout& l) {
  std::vector<std::string> out;
  for (const PartitionColumn& c : l.columns) out.push_back(c.name);
  return out;
}

TEST(AthenaDdl, DefaultConfigExact) {
  config::Config c;
  c.source.stream_name = "orders-stream";
  c.output.bucket = "lake";
  auto ddl = GenerateDdl(c, {});
  ASSERT_TRUE(ddl.ok()) << ddl.status().message();
  EXPECT_EQ(ddl->create_table,
            "CREATE EXTERNAL TABLE `default`.`orders_stream` (\n"
            "  `event_id` string,\n"
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
            "  `user_identity` struct<type:string,principalId:string> COMMENT 'set for TTL deletes'\n"
            ")\n"
            "PARTITIONED BY (\n"
            "  `table_name` string,\n"
            "  `dt` string,\n"
            "  `hr` string\n"
            ")\n"
            "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
            "WITH SERDEPROPERTIES ('ignore.malformed.json'='false')\n"
            "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
            "  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
            "LOCATION 's3://lake/ddb/'\n"
            "TBLPROPERTIES (\n"
            "  'projection.enabled'='true',\n"
            "  'projection.table_name.type'='injected',\n"
            "  'projection.dt.type'='date',\n"
            "  'projection.dt.format'='yyyy-MM-dd',\n"
            "  'projection.dt.range'='2020-01-01,NOW',\n"
            "  'projection.dt.interval'='1',\n"
            "  'projection.dt.interval.unit'='DAYS',\n"
            "  'projection.hr.type'='integer',\n"
            "  'projection.hr.range'='0,23',\n"
            "  'projection.hr.digits'='2',\n"
            "  'storage.location.template'='s3://lake/ddb/${table_name}/dt=${dt}/hr=${hr}/'\n"
            ");\n");
  EXPECT_EQ(ddl->latest_view,
            "CREATE OR REPLACE VIEW \"default\".\"orders_stream_latest\" AS\n"
            "SELECT \"event_id\", \"event_name\", \"table\", \"event_time\", \"sequence_number\", "
            "\"shard_id\", "
            "\"keys\", \"new_image\", \"old_image\", \"user_identity\", \"table_name\", \"dt\", \"hr\"\n"
            "FROM (\n"
            "  SELECT *, row_number() OVER (\n"
            "    PARTITION BY \"table_name\", \"table\", \"keys\"\n"
            "    ORDER BY CASE WHEN \"event_name\" = 'SNAPSHOT' THEN substr(\"event_time\", 1, 19)\n"
            "      ELSE \"event_time\" END DESC,\n"
            "      lpad(\"sequence_number\", 128, '0') DESC\n"
            "  ) AS \"shardhose_rn\"\n"
            "  FROM \"default\".\"orders_stream\"\n"
            ") AS \"changes\"\n"
            "WHERE \"shardhose_rn\" = 1 AND \"event_name\" <> 'REMOVE';\n");
  ASSERT_EQ(ddl->layout.notes.size(), 1u);
  EXPECT_NE(ddl->layout.notes[0].find("table_name is injected"), std::string::npos) << ddl->layout.notes[0];
}

TEST(AthenaDdl, DatabaseTableAndLocationOptions) {
  DdlOptions o;
  o.database = "Lake";
  o.table = "Changes";
  o.location = "s3://archive/replica/";
  auto ddl = GenerateDdl(MakeConfig("ddb/{table}/dt={event_time:%Y-%m-%d}/"), o);
  ASSERT_TRUE(ddl.ok()) << ddl.status().message();
  EXPECT_EQ(ddl->create_table.rfind("CREATE EXTERNAL TABLE `lake`.`changes` (\n", 0), 0u);
  EXPECT_EQ(ddl->latest_view.rfind("CREATE OR REPLACE VIEW \"lake\".\"changes_latest\" AS\n", 0), 0u);
  EXPECT_NE(ddl->latest_view.find("FROM \"lake\".\"changes\"\n"), std::string::npos);
  EXPECT_EQ(ddl->layout.location, "s3://archive/replica/ddb/");
  EXPECT_EQ(ddl->layout.storage_location_template, "s3://archive/replica/ddb/${table_name}/dt=${dt}/");
  EXPECT_NE(ddl->create_table.find("LOCATION 's3://archive/replica/ddb/'\n"), std::string::npos);
}

TEST(AthenaDdl, BarePlaceholdersInjectedAndEnum) {
  Layout l = PlanOk("cdc/{table}/{event_name}/{stream}/{shard_id}/");
  EXPECT_EQ(Names(l), (std::vector<std::string>{"table_name", "event_name_part", "stream", "shard_id_part"}));
  EXPECT_EQ(l.storage_location_template, "s3://lake/cdc/${table_name}/${event_name_part}/${stream}/${shard_id_part}/");
  EXPECT_EQ(l.location, "s3://lake/cdc/");
  EXPECT_EQ(Column(l, "table_name")->type, ProjectionType::kInjected);
  EXPECT_EQ(Column(l, "event_name_part")->type, ProjectionType::kEnum);
  EXPECT_EQ(Column(l, "event_name_part")->values, (std::vector<std::string>{"INSERT", "MODIFY", "REMOVE"}));
  EXPECT_EQ(Column(l, "stream")->type, ProjectionType::kEnum);
  EXPECT_EQ(Column(l, "stream")->values, (std::vector<std::string>{"orders-stream"}));
  EXPECT_EQ(Column(l, "shard_id_part")->type, ProjectionType::kInjected);
  // Renames and injected columns are explained.
  std::string notes;
  for (const auto& n : l.notes) notes += n + "\n";
  EXPECT_NE(notes.find("event_name_part"), std::string::npos) << notes;
  EXPECT_NE(notes.find("shard_id_part is injected"), std::string::npos) << notes;

  auto ddl = GenerateDdl(MakeConfig("cdc/{table}/{event_name}/"), {});
  ASSERT_TRUE(ddl.ok());
  EXPECT_NE(ddl->create_table.find("  'projection.event_name_part.type'='enum',\n"
                                   "  'projection.event_name_part.values'='INSERT,MODIFY,REMOVE',\n"),
            std::string::npos)
      << ddl->create_table;
}

TEST(AthenaDdl, PartitionValuesMakeEnum) {
  DdlOptions o;
  o.enum_values = {{"table_name", {"orders", "user sessions", "orders"}}};
  Layout l = PlanOk("ddb/{table}/dt={event_time:%Y-%m-%d}/", o);
  const PartitionColumn* t = Column(l, "table_name");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, ProjectionType::kEnum);
  // Values are sanitised the way the prefix renders them; duplicates dropped.
  EXPECT_EQ(t->values, (std::vector<std::string>{"orders", "user_sessions"}));
  EXPECT_TRUE(l.notes.empty());

  o.enum_values = {{"tabel_name", {"orders"}}};
  std::string e = PlanError("ddb/{table}/dt={event_time:%Y-%m-%d}/", o);
  EXPECT_NE(e.find("tabel_name: no such partition column (columns: table_name, dt)"), std::string::npos) << e;
  o.enum_values = {{"dt", {"2024-01-01"}}};
  e = PlanError("ddb/{table}/dt={event_time:%Y-%m-%d}/", o);
  EXPECT_NE(e.find("time column"), std::string::npos) << e;
  o.enum_values = {{"table_name", {"orders", ""}}};
  e = PlanError("ddb/{table}/", o);
  EXPECT_NE(e.find("empty value"), std::string::npos) << e;
}

TEST(AthenaDdl, DateSplitOverSegments) {
  Layout l = PlanOk(
      "ddb/{table}/year={event_time:%Y}/month={event_time:%m}/day={event_time:%d}/"
      "{event_time:%H}/");
  EXPECT_EQ(Names(l), (std::vector<std::string>{"table_name", "year", "month", "day", "hour"}));
  EXPECT_EQ(l.storage_location_template, "s3://lake/ddb/${table_name}/year=${year}/month=${month}/day=${day}/${hour}/");
  const PartitionColumn* y = Column(l, "year");
  EXPECT_EQ(y->type, ProjectionType::kDate);
  EXPECT_EQ(y->format, "yyyy");
  EXPECT_EQ(y->range, "2020,NOW");
  EXPECT_EQ(y->interval_unit, "YEARS");
  const PartitionColumn* m = Column(l, "month");
  EXPECT_EQ(m->type, ProjectionType::kInteger);
  EXPECT_EQ(m->range, "1,12");
  EXPECT_EQ(m->digits, 2);
  EXPECT_EQ(Column(l, "day")->range, "1,31");
  EXPECT_EQ(Column(l, "hour")->range, "0,23");
  EXPECT_EQ(Column(l, "hour")->digits, 2);
}

TEST(AthenaDdl, OneConversionIntegers) {
  Layout l = PlanOk(
      "t/{event_time:%M}/{event_time:%S}/{event_time:%j}/{event_time:%V}/{event_time:%u}/"
      "{event_time:%y}/");
  EXPECT_EQ(Names(l), (std::vector<std::string>{"minute", "second", "day_of_year", "week", "weekday", "year"}));
  EXPECT_EQ(Column(l, "minute")->range, "0,59");
  EXPECT_EQ(Column(l, "second")->range, "0,59");
  EXPECT_EQ(Column(l, "day_of_year")->range, "1,366");
  EXPECT_EQ(Column(l, "day_of_year")->digits, 3);
  EXPECT_EQ(Column(l, "week")->range, "1,53");
  EXPECT_EQ(Column(l, "weekday")->range, "1,7");
  EXPECT_EQ(Column(l, "weekday")->digits, 0);
  EXPECT_EQ(Column(l, "year")->format, "yy");
  EXPECT_EQ(Column(l, "year")->range, "20,NOW");

  auto ddl = GenerateDdl(MakeConfig("t/{event_time:%u}/"), {});
  ASSERT_TRUE(ddl.ok());
  EXPECT_NE(ddl->create_table.find("'projection.weekday.range'='1,7',\n  'storage.location.template'"),
            std::string::npos)
      << "no digits property for an unpadded field\n"
      << ddl->create_table;
}

TEST(AthenaDdl, ArrivalTimeDateHour) {
  Layout l = PlanOk("by-arrival/{arrival_time:%Y/%m/%d/%H}/");
  ASSERT_EQ(Names(l), (std::vector<std::string>{"arrival_dt"}));
  const PartitionColumn& c = l.columns[0];
  EXPECT_EQ(c.placeholder, "arrival_time");
  EXPECT_EQ(c.type, ProjectionType::kDate);
  EXPECT_EQ(c.format, "yyyy/MM/dd/HH");
  EXPECT_EQ(c.range, "2020/01/01/00,NOW");
  EXPECT_EQ(c.interval_unit, "HOURS");
  EXPECT_EQ(l.storage_location_template, "s3://lake/by-arrival/${arrival_dt}/");

  l = PlanOk("a/ah={arrival_time:%H}/{arrival_time:%d}/");
  EXPECT_EQ(Names(l), (std::vector<std::string>{"ah", "arrival_day"}));
}

TEST(AthenaDdl, FormatLiteralsMoveToTheTemplate) {
  Layout l = PlanOk("x/{event_time:dt=%Y-%m-%d}/{event_time:h%H}/");
  EXPECT_EQ(Names(l), (std::vector<std::string>{"dt", "hour"}));
  EXPECT_EQ(l.storage_location_template, "s3://lake/x/dt=${dt}/h${hour}/");
  EXPECT_EQ(Column(l, "dt")->format, "yyyy-MM-dd");
  // A format reaching over '/' and literal text inside it.
  l = PlanOk("x/{event_time:%Y/%m/%dT%H}h/");
  EXPECT_EQ(Column(l, "dt")->format, "yyyy/MM/dd'T'HH");
  EXPECT_EQ(Column(l, "dt")->range, "2020/01/01T00,NOW");
  EXPECT_EQ(l.storage_location_template, "s3://lake/x/${dt}h/");
  // Object-name text after the last '/' is not part of the partition.
  l = PlanOk("x/{table}/part-");
  EXPECT_EQ(l.storage_location_template, "s3://lake/x/${table_name}/");
}

TEST(AthenaDdl, RangeStartRenderedInTheColumnFormat) {
  DdlOptions o;
  o.range_start_us = 1623764700LL * 1000000 + 123456;  // 2021-06-15T13:45:00.123456Z
  Layout l = PlanOk("x/dh={event_time:%Y%m%d%H}/m={event_time:%Y-%m}/d={event_time:%Y-%j}/", o);
  EXPECT_EQ(Column(l, "dh")->range, "2021061513,NOW");
  EXPECT_EQ(Column(l, "dh")->format, "yyyyMMddHH");
  EXPECT_EQ(Column(l, "m")->range, "2021-06,NOW");
  EXPECT_EQ(Column(l, "m")->interval_unit, "MONTHS");
  EXPECT_EQ(Column(l, "d")->range, "2021-166,NOW");
  EXPECT_EQ(Column(l, "d")->format, "yyyy-DDD");
  EXPECT_EQ(Column(l, "d")->interval_unit, "DAYS");
  l = PlanOk("x/ts={event_time:%Y-%m-%d %H:%M:%S}/", o);
  EXPECT_EQ(Column(l, "ts")->format, "yyyy-MM-dd HH:mm:ss");
  EXPECT_EQ(Column(l, "ts")->range, "2021-06-15 13:45:00,NOW");
  EXPECT_EQ(Column(l, "ts")->interval_unit, "SECONDS");
  l = PlanOk("x/{event_time:%Y-%m-%d-%H%M}/", o);
  EXPECT_EQ(Column(l, "dt")->interval_unit, "MINUTES");
}

TEST(AthenaDdl, HiveKeysNormalisedAndCollisions) {
  Layout l = PlanOk("x/Event-Date={event_time:%Y-%m-%d}/table={table}/");
  EXPECT_EQ(Names(l), (std::vector<std::string>{"event_date", "table_part"}));
  EXPECT_EQ(l.storage_location_template, "s3://lake/x/Event-Date=${event_date}/table=${table_part}/");
  // A segment with text after '=' is not a Hive key for the placeholder.
  l = PlanOk("x/v=1{table}/");
  EXPECT_EQ(Names(l), (std::vector<std::string>{"table_name"}));

  std::string e = PlanError("x/dt={event_time:%Y-%m-%d}/dt={arrival_time:%Y-%m-%d}/");
  EXPECT_NE(e.find("second partition column named dt"), std::string::npos) << e;
  e = PlanError("x/{table}/t={table}/{table}/");
  EXPECT_NE(e.find("second partition column named table_name"), std::string::npos) << e;
}

TEST(AthenaDdl, RawFormat) {
  auto ddl = GenerateDdl(
      MakeConfig("raw/{table}/eventname={event_name}/dt={event_time:%Y-%m-%d}/", config::OutputFormat::kRaw), {});
  ASSERT_TRUE(ddl.ok()) << ddl.status().message();
  EXPECT_TRUE(ddl->latest_view.empty());
  EXPECT_EQ(Names(ddl->layout), (std::vector<std::string>{"table_name", "eventname_part", "dt"}));
  const std::string& s = ddl->create_table;
  for (const char* col : {"  `awsRegion` string,\n", "  `eventID` string,\n", "  `tableName` string,\n",
                          "  `userIdentity` struct<type:string,principalId:string>",
                          "  `dynamodb` "
                          "struct<ApproximateCreationDateTime:bigint,ApproximateCreationDateTimePrecision:"
                          "string,Keys:string,NewImage:string,OldImage:string,SizeBytes:bigint>"}) {
    EXPECT_NE(s.find(col), std::string::npos) << col << "\n" << s;
  }
  EXPECT_EQ(s.find("`event_id`"), std::string::npos);
}

TEST(AthenaDdl, NoPlaceholders) {
  auto ddl = GenerateDdl(MakeConfig("static/out-"), {});
  ASSERT_TRUE(ddl.ok()) << ddl.status().message();
  EXPECT_EQ(ddl->layout.location, "s3://lake/static/");
  EXPECT_TRUE(ddl->layout.storage_location_template.empty());
  EXPECT_EQ(ddl->create_table.find("PARTITIONED BY"), std::string::npos);
  EXPECT_EQ(ddl->create_table.find("TBLPROPERTIES"), std::string::npos);
  EXPECT_NE(ddl->create_table.find("LOCATION 's3://lake/static/';\n"), std::string::npos) << ddl->create_table;
  EXPECT_EQ(ddl->latest_view.find("PARTITION BY \"table\", \"keys\"\n"), ddl->latest_view.find("PARTITION BY"));
}

TEST(AthenaDdl, Rejections) {
  struct Case {
    const char* prefix;
    const char* says;
  };
  const Case cases[] = {
      {"x/{event_time:%Y-%m-%e}/", "%e pads the day with a space"},
      {"x/{event_time:%e}/", "%e pads the day with a space"},
      {"x/{event_time:%G}/", "%G (ISO week-based year)"},
      {"x/{event_time:%G-%V}/", "%G (ISO week-based year)"},
      {"x/{event_time:%Y-%V}/", "%V and %u (ISO week fields)"},
      {"x/{event_time:%Y-%d}/", "lacks the month (%m) before the day %d"},
      {"x/{event_time:%m-%d}/", "lacks a year (%Y)"},
      {"x/{event_time:%H%M}/", "lacks a year (%Y)"},
      {"x/{event_time:%Y-%m-%H}/", "lacks the day (%d)"},
      {"x/{event_time:%Y-%m-%d-%M}/", "lacks the hour (%H)"},
      {"x/{event_time:%Y-%m-%d-%H%S}/", "lacks the minute (%M)"},
      {"x/{table}/dt={event_time:%Y-%m-%d}", "placeholder after the last '/'"},
      {"x/{table}", "placeholder after the last '/'"},
      {"x/${{x}}/{table}/", "\"${\""},
      {"x/it's/{table}/", "quote or a backslash"},
  };
  for (const Case& c : cases) {
    std::string e = PlanError(c.prefix);
    EXPECT_NE(e.find(c.says), std::string::npos) << c.prefix << " -> " << e;
    EXPECT_EQ(e.rfind("output.prefix: ", 0), 0u) << e;
  }
  // The message names the placeholder as written.
  EXPECT_NE(PlanError("x/{event_time:%Y-%d}/").find("{event_time:%Y-%d}"), std::string::npos);
}

TEST(AthenaDdl, OptionRejections) {
  auto config = MakeConfig("ddb/{table}/");
  DdlOptions o;
  o.database = "my-db";
  auto ddl = GenerateDdl(config, o);
  ASSERT_FALSE(ddl.ok());
  EXPECT_NE(ddl.status().message().find("database \"my-db\""), std::string::npos) << ddl.status().message();
  o = {};
  o.table = "a b";
  EXPECT_FALSE(GenerateDdl(config, o).ok());
  o = {};
  o.location = "https://lake/";
  ddl = GenerateDdl(config, o);
  ASSERT_FALSE(ddl.ok());
  EXPECT_NE(ddl.status().message().find("s3://bucket"), std::string::npos) << ddl.status().message();
  o.location = "s3:///root";
  EXPECT_FALSE(GenerateDdl(config, o).ok());
  o = {};
  config.output.bucket = "";
  config.output.endpoint_url = "file:///data/lake";
  ddl = GenerateDdl(config, o);
  ASSERT_FALSE(ddl.ok());
  EXPECT_NE(ddl.status().message().find("--location"), std::string::npos) << ddl.status().message();
  o.location = "s3://lake";
  EXPECT_TRUE(GenerateDdl(config, o).ok());
}

TEST(AthenaDdl, DefaultTableNameFromTheStream) {
  config::Config c = MakeConfig("ddb/{table}/");
  c.source.stream_name = "";
  c.source.stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/Orders.CDC";
  auto ddl = GenerateDdl(c, {});
  ASSERT_TRUE(ddl.ok()) << ddl.status().message();
  EXPECT_EQ(ddl->create_table.rfind("CREATE EXTERNAL TABLE `default`.`orders_cdc` (", 0), 0u) << ddl->create_table;
}

TEST(StrftimeToJava, Translations) {
  using F = std::vector<std::pair<char, std::string>>;
  auto java = [](const F& f) {
    auto r = StrftimeToJava(f);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::string();
  };
  EXPECT_EQ(java({{0, ""}, {'Y', "-"}, {'m', "-"}, {'d', " "}, {'H', ":"}, {'M', ":"}, {'S', ""}}),
            "yyyy-MM-dd HH:mm:ss");
  EXPECT_EQ(java({{0, ""}, {'y', ""}, {'j', ""}}), "yyDDD");
  EXPECT_EQ(java({{0, ""}, {'Y', "/"}, {'m', "/"}, {'d', "/"}, {'H', ""}}), "yyyy/MM/dd/HH");
  // Letters and Java's reserved characters are quoted; a quote is doubled.
  EXPECT_EQ(java({{0, "d="}, {'Y', "'T"}, {'H', "h"}}), "'d='yyyy'''T'HH'h'");
  EXPECT_EQ(java({{0, ""}, {'Y', "#"}, {'m', "_.,="}}), "yyyy'#'MM_.,=");
  EXPECT_EQ(java({{0, ""}, {'Y', "%"}}), "yyyy%");
  for (char c : std::string("eGVu")) {
    auto r = StrftimeToJava({{0, ""}, {c, ""}});
    EXPECT_FALSE(r.ok()) << c;
  }
}

TEST(KeyTemplateParts, Introspection) {
  auto t = partition::KeyTemplate::Parse("a{{/{table}/d={event_time:x%Y-%m%%}/", partition::TemplateKind::kRecord);
  ASSERT_TRUE(t.ok());
  auto parts = t->Parts();
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[0].name, "");
  EXPECT_EQ(parts[0].literal, "a{/");
  EXPECT_EQ(parts[1].name, "table");
  EXPECT_TRUE(parts[1].time_format.empty());
  EXPECT_EQ(parts[2].literal, "/d=");
  EXPECT_EQ(parts[3].name, "event_time");
  using F = std::vector<std::pair<char, std::string>>;
  EXPECT_EQ(parts[3].time_format, (F{{0, "x"}, {'Y', "-"}, {'m', "%"}}));
  EXPECT_EQ(parts[4].literal, "/");
}

}  // namespace
}  // namespace shardhose::athena

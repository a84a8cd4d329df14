#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

#include "config/options.h"

namespace shardhose::config {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using EnvMap = std::map<std::string, std::string>;

EnvLookup Env(EnvMap vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The minimum that makes a configuration valid.
const char kMinimal[] = R"(
[source]
stream_name = "orders"
[output]
bucket = "lake"
)";

class ConfigTest : public ::testing::Test {
 protected:
  // Writes `text` to a fresh file and returns its path.
  std::string WriteFile(const std::string& text) {
    std::string path = ::testing::TempDir() + "/config_test_" + std::to_string(::getpid()) + "_" +
                       std::to_string(counter_++) + ".toml";
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
  }

  Result<Config> LoadText(const std::string& text, EnvMap env = {}) { return Load(WriteFile(text), Env(env)); }

  // Loads `text` expecting failure; returns the problems, one per element.
  std::vector<std::string> Problems(const std::string& text, EnvMap env = {}) {
    auto r = LoadText(text, std::move(env));
    EXPECT_FALSE(r.ok()) << "loaded:\n" << text;
    if (r.ok()) return {};
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    std::vector<std::string> lines;
    std::istringstream in(r.status().message());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  // kMinimal with `extra` appended to the [section] table.
  std::string With(const std::string& section, const std::string& extra) {
    std::string text = kMinimal;
    if (section == "source") return "[source]\nstream_name = \"orders\"\n" + extra + "\n[output]\nbucket = \"lake\"\n";
    if (section == "output") return "[source]\nstream_name = \"orders\"\n[output]\nbucket = \"lake\"\n" + extra + "\n";
    return text + "[" + section + "]\n" + extra + "\n";
  }

  int counter_ = 0;
  std::vector<std::string> files_;
};

// --- defaults -------------------------------------------------------------

TEST_F(ConfigTest, DefaultsNeedOnlyAStreamAndABucket) {
  auto r = Load("", Env());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "source.stream_name: set source.stream_name or source.stream_arn (neither is set)\n"
            "output.bucket: required (or set output.endpoint_url = \"file:///dir\" to write to a local directory)");

  auto ok = Load("", Env({{"SHARDHOSE_SOURCE_STREAM_NAME", "orders"}, {"SHARDHOSE_OUTPUT_BUCKET", "lake"}}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  Config want;
  want.source.stream_name = "orders";
  want.output.bucket = "lake";
  EXPECT_EQ(*ok, want);
  EXPECT_EQ(ok->source.region, "us-east-1");
  EXPECT_EQ(ok->batch.max_bytes, 134217728);
  EXPECT_EQ(ok->output.compression, Compression::kGzip);
  EXPECT_EQ(ok->output.compression_level, 1);
  EXPECT_EQ(ok->source.initial_timestamp_ms, 0);
}

TEST(Config, CompressionLevelFromEnvironment) {
  auto ok = Load("", Env({{"SHARDHOSE_SOURCE_STREAM_NAME", "orders"},
                          {"SHARDHOSE_OUTPUT_BUCKET", "lake"},
                          {"SHARDHOSE_OUTPUT_COMPRESSION_LEVEL", "9"}}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->output.compression_level, 9);
  auto bad = Load("", Env({{"SHARDHOSE_SOURCE_STREAM_NAME", "orders"},
                           {"SHARDHOSE_OUTPUT_BUCKET", "lake"},
                           {"SHARDHOSE_OUTPUT_COMPRESSION_LEVEL", "12"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "output.compression_level: must be between 1 and 9, got 12 (from SHARDHOSE_OUTPUT_COMPRESSION_LEVEL)");
}

TEST_F(ConfigTest, MinimalFile) {
  auto r = LoadText(kMinimal);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Config want;
  want.source.stream_name = "orders";
  want.output.bucket = "lake";
  EXPECT_EQ(*r, want);
}

// --- a full file ----------------------------------------------------------

const char kFull[] = R"(# every key, none at its default
[source]
stream_arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders-changes"
region = "eu-west-1"
endpoint_url = ""
initial_position = "AT_TIMESTAMP"
initial_timestamp = "2024-05-01T02:00:00.250+02:00"
max_records_per_call = 500
poll_interval_ms = 0
idle_poll_interval_ms = 5000
shard_refresh_s = 30
poll_threads = 16

[batch]
max_bytes = 1048576
max_interval_s = 0
max_records = 1000
max_buffered_bytes = 1048576

[output]
bucket = "lake.example"
region = "eu-central-1"
endpoint_url = "https://s3.eu-central-1.amazonaws.com"
force_path_style = true
prefix = "{stream}/{table}/{event_name}/{shard_id}/{event_time:%Y/%m/%d}/"
error_prefix = "errors/{error}/{arrival_time:%Y%m%d}/"
format = "raw"
compression = "none"
compression_level = 9
sse = "aws:kms"
sse_kms_key_id = "arn:aws:kms:eu-central-1:123456789012:key/abc"
upload_threads = 32
upload_timeout_s = 600

[checkpoint]
path = "/data/shardhose/cp.json"

[shutdown]
grace_period_s = 90
)";

TEST_F(ConfigTest, FullFile) {
  auto r = LoadText(kFull);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.source.stream_name, "");
  EXPECT_EQ(c.source.stream_arn, "arn:aws:kinesis:eu-west-1:123456789012:stream/orders-changes");
  EXPECT_EQ(c.source.region, "eu-west-1");
  EXPECT_EQ(c.source.endpoint_url, "");
  EXPECT_EQ(c.source.initial_position, InitialPosition::kAtTimestamp);
  EXPECT_EQ(c.source.initial_timestamp, "2024-05-01T02:00:00.250+02:00");
  EXPECT_EQ(c.source.initial_timestamp_ms, 1714521600250);
  EXPECT_EQ(c.source.max_records_per_call, 500);
  EXPECT_EQ(c.source.poll_interval_ms, 0);
  EXPECT_EQ(c.source.idle_poll_interval_ms, 5000);
  EXPECT_EQ(c.source.shard_refresh_s, 30);
  EXPECT_EQ(c.source.poll_threads, 16);
  EXPECT_EQ(c.batch.max_bytes, 1048576);
  EXPECT_EQ(c.batch.max_interval_s, 0);
  EXPECT_EQ(c.batch.max_records, 1000);
  EXPECT_EQ(c.batch.max_buffered_bytes, 1048576);
  EXPECT_EQ(c.output.bucket, "lake.example");
  EXPECT_EQ(c.output.region, "eu-central-1");
  EXPECT_EQ(c.output.endpoint_url, "https://s3.eu-central-1.amazonaws.com");
  EXPECT_TRUE(c.output.force_path_style);
  EXPECT_EQ(c.output.prefix, "{stream}/{table}/{event_name}/{shard_id}/{event_time:%Y/%m/%d}/");
  EXPECT_EQ(c.output.error_prefix, "errors/{error}/{arrival_time:%Y%m%d}/");
  EXPECT_EQ(c.output.format, OutputFormat::kRaw);
  EXPECT_EQ(c.output.compression, Compression::kNone);
  EXPECT_EQ(c.output.compression_level, 9);
  EXPECT_EQ(c.output.sse, Sse::kKms);
  EXPECT_EQ(c.output.sse_kms_key_id, "arn:aws:kms:eu-central-1:123456789012:key/abc");
  EXPECT_EQ(c.output.upload_threads, 32);
  EXPECT_EQ(c.output.upload_timeout_s, 600);
  EXPECT_EQ(c.checkpoint.path, "/data/shardhose/cp.json");
  EXPECT_EQ(c.shutdown.grace_period_s, 90);
  EXPECT_EQ(c.StreamDisplayName(), "orders-changes");
  EXPECT_FALSE(c.OutputIsLocalDirectory());
  EXPECT_EQ(c.OutputDirectory(), "");
}

TEST_F(ConfigTest, InitialTimestampAsTomlDateTime) {
  auto r = LoadText(With("source", "initial_position = \"AT_TIMESTAMP\"\ninitial_timestamp = 2024-05-01T00:00:00.5Z"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.initial_timestamp_ms, 1714521600500);

  EXPECT_THAT(Problems(With("source", "initial_position = \"AT_TIMESTAMP\"\ninitial_timestamp = 2024-05-01T00:00:00")),
              ElementsAre("source.initial_timestamp: a date-time needs a UTC offset ('Z' or +hh:mm) (line 4)"));
}

// --- environment ----------------------------------------------------------

TEST_F(ConfigTest, ShardhoseVariablesWinOverTheFile) {
  auto r = LoadText(kFull, {{"SHARDHOSE_OUTPUT_BUCKET", "other"},
                            {"SHARDHOSE_BATCH_MAX_BYTES", "2097152"},
                            {"SHARDHOSE_BATCH_MAX_BUFFERED_BYTES", "4194304"},
                            {"SHARDHOSE_OUTPUT_FORCE_PATH_STYLE", "0"},
                            {"SHARDHOSE_SOURCE_REGION", "us-west-2"},
                            {"SHARDHOSE_SOURCE_STREAM_ARN", ""},
                            {"SHARDHOSE_SOURCE_STREAM_NAME", "s2"},
                            {"SHARDHOSE_OUTPUT_SSE_KMS_KEY_ID", ""},
                            {"SHARDHOSE_OUTPUT_SSE", "AES256"},
                            {"SHARDHOSE_SHUTDOWN_GRACE_PERIOD_S", "+5"}});
  // "+5" is not an integer for from_chars: reported, not silently taken.
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "shutdown.grace_period_s: expected an integer, got \"+5\" (from SHARDHOSE_SHUTDOWN_GRACE_PERIOD_S)");

  r = LoadText(kFull, {{"SHARDHOSE_OUTPUT_BUCKET", "other"},
                       {"SHARDHOSE_BATCH_MAX_BYTES", "2097152"},
                       {"SHARDHOSE_BATCH_MAX_BUFFERED_BYTES", "4194304"},
                       {"SHARDHOSE_OUTPUT_FORCE_PATH_STYLE", "0"},
                       {"SHARDHOSE_SOURCE_REGION", "us-west-2"},
                       {"SHARDHOSE_SOURCE_STREAM_ARN", ""},
                       {"SHARDHOSE_SOURCE_STREAM_NAME", "s2"},
                       {"SHARDHOSE_OUTPUT_SSE_KMS_KEY_ID", ""},
                       {"SHARDHOSE_OUTPUT_SSE", "AES256"},
                       {"SHARDHOSE_SHUTDOWN_GRACE_PERIOD_S", "5"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->output.bucket, "other");
  EXPECT_EQ(r->batch.max_bytes, 2097152);
  EXPECT_EQ(r->batch.max_buffered_bytes, 4194304);
  EXPECT_FALSE(r->output.force_path_style);
  EXPECT_EQ(r->source.region, "us-west-2");
  EXPECT_EQ(r->source.stream_arn, "");
  EXPECT_EQ(r->source.stream_name, "s2");
  EXPECT_EQ(r->output.sse, Sse::kAes256);
  EXPECT_EQ(r->shutdown.grace_period_s, 5);
}

TEST_F(ConfigTest, EnvironmentAloneAndBooleans) {
  for (auto [text, want] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"TRUE", true}, {"1", true}, {"false", false}, {"False", false}, {"0", false}}) {
    auto r = Load("", Env({{"SHARDHOSE_SOURCE_STREAM_NAME", "s"},
                           {"SHARDHOSE_OUTPUT_BUCKET", "lake"},
                           {"SHARDHOSE_OUTPUT_FORCE_PATH_STYLE", text}}));
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(r->output.force_path_style, want) << text;
  }
  auto r = Load("", Env({{"SHARDHOSE_SOURCE_STREAM_NAME", "s"},
                         {"SHARDHOSE_OUTPUT_BUCKET", "lake"},
                         {"SHARDHOSE_OUTPUT_FORCE_PATH_STYLE", "yes"},
                         {"SHARDHOSE_BATCH_MAX_BYTES", "128MiB"},
                         {"SHARDHOSE_BATCH_MAX_RECORDS", ""}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "batch.max_bytes: expected an integer, got \"128MiB\" (from SHARDHOSE_BATCH_MAX_BYTES)\n"
            "batch.max_records: expected an integer, got \"\" (from SHARDHOSE_BATCH_MAX_RECORDS)\n"
            "output.force_path_style: expected a boolean (true/false/1/0), got \"yes\" (from "
            "SHARDHOSE_OUTPUT_FORCE_PATH_STYLE)");
}

TEST_F(ConfigTest, EnvironmentValuesAreValidated) {
  auto r = Load("", Env({{"SHARDHOSE_SOURCE_STREAM_NAME", "s"},
                         {"SHARDHOSE_OUTPUT_BUCKET", "lake"},
                         {"SHARDHOSE_BATCH_MAX_BYTES", "0"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "batch.max_bytes: must be between 1 and 5497558138880, got 0 (from SHARDHOSE_BATCH_MAX_BYTES)");
}

TEST_F(ConfigTest, AwsRegionAppliesWhereTheFileIsSilent) {
  auto r = LoadText(kMinimal, {{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "ap-south-1"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.region, "eu-west-1");
  EXPECT_EQ(r->output.region, "eu-west-1");

  r = LoadText(kMinimal, {{"AWS_DEFAULT_REGION", "ap-south-1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source.region, "ap-south-1");
  EXPECT_EQ(r->output.region, "ap-south-1");

  r = LoadText(kMinimal, {{"AWS_REGION", ""}, {"AWS_DEFAULT_REGION", "ap-south-1"}});  // empty = unset
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source.region, "ap-south-1");

  r = LoadText(With("source", "region = \"us-west-2\""), {{"AWS_REGION", "eu-west-1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source.region, "us-west-2");  // set in the file
  EXPECT_EQ(r->output.region, "eu-west-1");  // not set in the file

  r = LoadText(With("source", "region = \"us-west-2\""), {{"AWS_REGION", "eu-west-1"},
                                                          {"SHARDHOSE_SOURCE_REGION", "sa-east-1"},
                                                          {"SHARDHOSE_OUTPUT_REGION", "af-south-1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source.region, "sa-east-1");  // SHARDHOSE_* wins over everything
  EXPECT_EQ(r->output.region, "af-south-1");
}

TEST_F(ConfigTest, AwsEndpointVariables) {
  auto r = LoadText(kMinimal, {{"AWS_ENDPOINT_URL", "http://localhost:4566"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.endpoint_url, "http://localhost:4566");
  EXPECT_EQ(r->output.endpoint_url, "http://localhost:4566");

  r = LoadText(kMinimal, {{"AWS_ENDPOINT_URL", "http://localhost:4566"},
                          {"AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:4568"},
                          {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4569"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source.endpoint_url, "http://127.0.0.1:4568");
  EXPECT_EQ(r->output.endpoint_url, "http://127.0.0.1:4569");

  r = LoadText(With("output", "endpoint_url = \"file:///srv/lake\""),
               {{"AWS_ENDPOINT_URL", "http://localhost:4566"}, {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4569"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source.endpoint_url, "http://localhost:4566");
  EXPECT_EQ(r->output.endpoint_url, "file:///srv/lake");

  r = LoadText(kMinimal, {{"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4569"},
                          {"SHARDHOSE_OUTPUT_ENDPOINT_URL", "http://10.0.0.1:9000"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.endpoint_url, "http://10.0.0.1:9000");

  // A bad AWS value is reported against the key, naming the variable.
  EXPECT_THAT(Problems(kMinimal, {{"AWS_ENDPOINT_URL_KINESIS", "localhost:4568"}}),
              ElementsAre("source.endpoint_url: must start with http:// or https://, got \"localhost:4568\" "
                          "(from AWS_ENDPOINT_URL_KINESIS)"));
}

// source.type = "dynamodb-streams": a table or a stream ARN, its own endpoint
// variables (Streams API, DescribeTable), and no Kinesis-only keys.
TEST_F(ConfigTest, DynamoDbStreamsSource) {
  const std::string table = R"(
[source]
type = "dynamodb-streams"
table_name = "orders"
[output]
bucket = "lake"
)";
  auto r = LoadText(table);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.type, SourceType::kDynamoDbStreams);
  EXPECT_EQ(r->StreamDisplayName(), "orders");
  EXPECT_EQ(r->LeaseTableName(), "shardhose-orders-leases");
  EXPECT_EQ(r->source.table_endpoint_url, "");

  r = LoadText(table, {{"AWS_ENDPOINT_URL", "http://localhost:4566"},
                       {"AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:4568"},
                       {"AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "http://127.0.0.1:8001"},
                       {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.endpoint_url, "http://127.0.0.1:8001");
  EXPECT_EQ(r->source.table_endpoint_url, "http://127.0.0.1:8000");
  r = LoadText(table, {{"AWS_ENDPOINT_URL", "http://localhost:4566"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source.endpoint_url, "http://localhost:4566");
  EXPECT_EQ(r->source.table_endpoint_url, "http://localhost:4566");
  // Set in the file (or by SHARDHOSE_SOURCE_ENDPOINT_URL): it serves both.
  r = LoadText(R"(
[source]
type = "dynamodb-streams"
stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-05-20T12:00:00.000"
endpoint_url = "http://127.0.0.1:8000"
[output]
bucket = "lake"
)",
               {{"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9999"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->StreamDisplayName(), "orders");
  EXPECT_EQ(r->source.table_endpoint_url, "http://127.0.0.1:8000");
  r = LoadText(table, {{"SHARDHOSE_SOURCE_ENDPOINT_URL", "http://10.0.0.1:8000"},
                       {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9999"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.endpoint_url, "http://10.0.0.1:8000");
  EXPECT_EQ(r->source.table_endpoint_url, "http://10.0.0.1:8000");

  EXPECT_THAT(Problems(R"(
[source]
type = "dynamodb-streams"
stream_name = "orders"
initial_position = "AT_TIMESTAMP"
initial_timestamp = "2024-05-20T12:00:00Z"
consumer = "efo"
max_records_per_call = 5000
[output]
bucket = "lake"
)"),
              ElementsAre(HasSubstr("source.stream_name: names a Kinesis stream and only applies to source.type = "
                                    "\"kinesis\""),
                          HasSubstr("source.table_name: set source.table_name or source.stream_arn (neither is set)"),
                          HasSubstr("source.initial_position: DynamoDB Streams has no AT_TIMESTAMP iterator"),
                          HasSubstr("source.consumer: \"efo\" (enhanced fan-out) only applies to source.type = "
                                    "\"kinesis\""),
                          HasSubstr("source.max_records_per_call: DynamoDB Streams answers at most 1000 records")));
  EXPECT_THAT(Problems(R"(
[source]
type = "dynamodb-streams"
stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
[output]
bucket = "lake"
)"),
              ElementsAre(HasSubstr("source.stream_arn: must look like arn:aws:dynamodb:")));
  EXPECT_THAT(Problems(R"(
[source]
stream_name = "orders"
table_name = "orders"
[output]
bucket = "lake"
)"),
              ElementsAre(HasSubstr("source.table_name: only applies to source.type = \"dynamodb-streams\"")));
}

// --- single errors ----------------------------------------------------------

TEST_F(ConfigTest, ChoiceErrors) {
  EXPECT_THAT(Problems(With("source", "initial_position = \"EARLIEST\"")),
              ElementsAre("source.initial_position: must be one of TRIM_HORIZON|LATEST|AT_TIMESTAMP, got "
                          "\"EARLIEST\" (line 3)"));
  EXPECT_THAT(Problems(With("output", "format = \"json\"")),
              ElementsAre(StartsWith("output.format: must be one of unmarshalled|raw, got \"json\"")));
  EXPECT_THAT(Problems(With("output", "compression = \"zstd\"")),
              ElementsAre(StartsWith("output.compression: must be one of gzip|none, got \"zstd\"")));
  EXPECT_THAT(Problems(With("output", "sse = \"aes256\"")),
              ElementsAre(StartsWith("output.sse: must be one of \"\"|AES256|aws:kms, got \"aes256\"")));
}

TEST_F(ConfigTest, TypeErrors) {
  EXPECT_THAT(Problems(With("batch", "max_bytes = \"128MiB\"")),
              ElementsAre("batch.max_bytes: expected an integer, got a string (line 7)"));
  EXPECT_THAT(Problems(With("batch", "max_interval_s = 1.5")),
              ElementsAre(StartsWith("batch.max_interval_s: expected an integer, got a floating-point number")));
  EXPECT_THAT(Problems(With("output", "force_path_style = \"true\"")),
              ElementsAre(StartsWith("output.force_path_style: expected a boolean, got a string")));
  EXPECT_THAT(Problems(With("output", "region = 5")),
              ElementsAre(StartsWith("output.region: expected a string, got an integer")));
  EXPECT_THAT(Problems(With("checkpoint", "path = [\"a\"]")),
              ElementsAre(StartsWith("checkpoint.path: expected a string, got an array")));
  EXPECT_THAT(Problems("batch = 5\n" + std::string(kMinimal)),
              ElementsAre(StartsWith("batch: expected a table ([batch]), got an integer")));
}

struct RangeCase {
  std::string section, key;
  int64_t bad;
  std::string message;  // after "section.key: "
};

TEST_F(ConfigTest, RangeErrors) {
  const std::vector<RangeCase> cases = {
      {"batch", "max_bytes", 0, "must be between 1 and 5497558138880, got 0"},
      {"batch", "max_bytes", 5497558138881, "must be between 1 and 5497558138880, got 5497558138881"},
      {"batch", "max_bytes", 5368709121,
       "above 5368709120 (S3's single PUT) needs batch.part_bytes (multipart upload), got 5368709121"},
      {"batch", "part_bytes", 5242879, "must be 0 or at least 5242880 (S3's smallest part), got 5242879"},
      {"batch", "part_bytes", 5368709121, "must be between 0 and 5368709120, got 5368709121"},
      {"batch", "max_interval_s", -1, "must be between 0 and 86400, got -1"},
      {"batch", "max_interval_s", 86401, "must be between 0 and 86400, got 86401"},
      {"batch", "max_records", -1, "must be at least 0, got -1"},
      {"output", "compression_level", 0, "must be between 1 and 9, got 0"},
      {"output", "compression_level", 10, "must be between 1 and 9, got 10"},
      {"source", "poll_threads", 0, "must be between 1 and 256, got 0"},
      {"source", "poll_threads", 257, "must be between 1 and 256, got 257"},
      {"output", "upload_threads", 0, "must be between 1 and 256, got 0"},
      {"output", "upload_timeout_s", 0, "must be between 1 and 3600, got 0"},
      {"output", "permanent_error_grace_s", 0, "must be between 1 and 86400, got 0"},
      {"shutdown", "grace_period_s", 0, "must be between 1 and 3600, got 0"},
      {"shutdown", "grace_period_s", 3601, "must be between 1 and 3600, got 3601"},
      {"source", "max_records_per_call", 0, "must be between 1 and 10000, got 0"},
      {"source", "max_records_per_call", 10001, "must be between 1 and 10000, got 10001"},
      {"source", "poll_interval_ms", -1, "must be at least 0, got -1"},
      {"source", "idle_poll_interval_ms", -5, "must be at least 0, got -5"},
      {"source", "shard_refresh_s", 0, "must be at least 1, got 0"},
  };
  for (const RangeCase& c : cases) {
    EXPECT_THAT(Problems(With(c.section, c.key + " = " + std::to_string(c.bad))),
                ElementsAre(StartsWith(c.section + "." + c.key + ": " + c.message + " (line ")))
        << c.key << " = " << c.bad;
  }
  // The edges are accepted.
  for (const char* ok : {"max_bytes = 5368709120\nmax_buffered_bytes = 5368709120", "max_bytes = 1",
                         "max_interval_s = 86400", "max_interval_s = 0"}) {
    auto r = LoadText(With("batch", ok));
    EXPECT_TRUE(r.ok()) << ok << ": " << r.status().ToString();
  }
}

TEST_F(ConfigTest, BufferedBytesMustHoldOneBatch) {
  EXPECT_THAT(Problems(With("batch", "max_bytes = 2000\nmax_buffered_bytes = 1000")),
              ElementsAre("batch.max_buffered_bytes: must be at least batch.max_bytes (2000), got 1000 (line 8)"));
  // Streamed in parts, a batch holds about a part, however big it gets.
  EXPECT_TRUE(
      LoadText(With("batch", "max_bytes = 107374182400\npart_bytes = 8388608\nmax_buffered_bytes = 16777216")).ok());
  EXPECT_THAT(Problems(With("batch", "max_bytes = 107374182400\npart_bytes = 8388608\nmax_buffered_bytes = 16777215")),
              ElementsAre(StartsWith("batch.max_buffered_bytes: must be at least 2 x batch.part_bytes (16777216), "
                                     "got 16777215")));
}

TEST_F(ConfigTest, StreamNameXorArn) {
  EXPECT_THAT(Problems("[output]\nbucket = \"lake\"\n"),
              ElementsAre("source.stream_name: set source.stream_name or source.stream_arn (neither is set)"));
  EXPECT_THAT(Problems(With("source", "stream_arn = \"arn:aws:kinesis:us-east-1:123456789012:stream/x\"")),
              ElementsAre(StartsWith("source.stream_arn: set only one of source.stream_name and "
                                     "source.stream_arn (both are set)")));
}

TEST_F(ConfigTest, StreamArnShape) {
  const std::string head = "[output]\nbucket = \"lake\"\n[source]\n";
  for (const char* good : {"arn:aws:kinesis:us-east-1:123456789012:stream/orders",
                           "arn:aws:kinesis:us-east-1:000000000000:stream/a.b_c-d"}) {
    auto r = LoadText(head + "stream_arn = \"" + good + "\"\n");
    EXPECT_TRUE(r.ok()) << good << ": " << r.status().ToString();
    if (r.ok()) {
      EXPECT_EQ(r->StreamDisplayName(), std::string(good).substr(std::string(good).rfind('/') + 1));
    }
  }
  auto cn = LoadText(head +
                     "region = \"cn-north-1\"\nstream_arn = \"arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s\"\n");
  EXPECT_TRUE(cn.ok()) << cn.status().ToString();
  for (const char* bad : {"orders", "arn:aws:kinesis:us-east-1:123456789012:orders",
                          "arn:aws:dynamodb:us-east-1:123456789012:stream/x", "arn:aws:kinesis:us-east-1:1234:stream/x",
                          "arn:aws:kinesis:us-east-1:123456789012:stream/", "arn:aws:kinesis::123456789012:stream/x"}) {
    EXPECT_THAT(Problems(head + "stream_arn = \"" + bad + "\"\n"),
                ElementsAre(StartsWith(std::string("source.stream_arn: must look like "
                                                   "arn:aws:kinesis:<region>:<account>:stream/<name>, got \"") +
                                       bad + "\"")))
        << bad;
  }
}

TEST_F(ConfigTest, StreamArnRegionMustMatchUnlessAnEndpointIsSet) {
  const std::string text =
      "[output]\nbucket = \"lake\"\n[source]\nstream_arn = \"arn:aws:kinesis:eu-west-1:123456789012:stream/x\"\n";
  EXPECT_THAT(Problems(text), ElementsAre("source.stream_arn: the stream is in region eu-west-1 but source.region is "
                                          "\"us-east-1\" (line 4)"));
  EXPECT_TRUE(LoadText(text, {{"AWS_REGION", "eu-west-1"}}).ok());
  EXPECT_TRUE(LoadText(text + "endpoint_url = \"http://127.0.0.1:4568\"\n").ok());
}

TEST_F(ConfigTest, AtTimestampRules) {
  EXPECT_THAT(Problems(With("source", "initial_position = \"AT_TIMESTAMP\"")),
              ElementsAre("source.initial_timestamp: required when source.initial_position = \"AT_TIMESTAMP\""));
  EXPECT_THAT(Problems(With("source", "initial_timestamp = \"2024-05-01T00:00:00Z\"")),
              ElementsAre("source.initial_timestamp: only allowed with source.initial_position = \"AT_TIMESTAMP\", "
                          "but initial_position is \"TRIM_HORIZON\" (line 3)"));
  EXPECT_THAT(Problems(With("source", "initial_position = \"AT_TIMESTAMP\"\ninitial_timestamp = \"2024-05-01\"")),
              ElementsAre(StartsWith("source.initial_timestamp: not an RFC 3339 timestamp")));
  // One mistake, one message: a bad position does not also complain about the timestamp.
  EXPECT_THAT(Problems(With("source", "initial_position = \"AT_TIME\"\ninitial_timestamp = \"2024-05-01T00:00:00Z\"")),
              ElementsAre(StartsWith("source.initial_position: must be one of")));

  auto r = LoadText(
      With("source", "initial_position = \"AT_TIMESTAMP\"\ninitial_timestamp = \"2024-04-30T19:00:00-05:00\""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.initial_timestamp_ms, 1714521600000);
}

TEST_F(ConfigTest, BucketRules) {
  EXPECT_THAT(Problems("[source]\nstream_name = \"s\"\n"), ElementsAre(StartsWith("output.bucket: required")));
  EXPECT_THAT(Problems("[source]\nstream_name = \"s\"\n[output]\nbucket = \"s3://lake/prefix\"\n"),
              ElementsAre(StartsWith("output.bucket: must be a bucket name only")));

  auto r = LoadText("[source]\nstream_name = \"s\"\n[output]\nendpoint_url = \"file:///srv/lake/\"\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->OutputIsLocalDirectory());
  EXPECT_EQ(r->OutputDirectory(), "/srv/lake");
}

TEST_F(ConfigTest, SseRules) {
  EXPECT_THAT(Problems(With("output", "sse_kms_key_id = \"k\"")),
              ElementsAre("output.sse_kms_key_id: requires output.sse = \"aws:kms\", but sse is \"\" (line 5)"));
  EXPECT_THAT(Problems(With("output", "sse = \"AES256\"\nsse_kms_key_id = \"k\"")),
              ElementsAre(StartsWith("output.sse_kms_key_id: requires output.sse = \"aws:kms\"")));
  EXPECT_TRUE(LoadText(With("output", "sse = \"aws:kms\"\nsse_kms_key_id = \"k\"")).ok());
  EXPECT_TRUE(LoadText(With("output", "sse = \"aws:kms\"")).ok());
  EXPECT_TRUE(LoadText(With("output", "sse = \"AES256\"")).ok());
}

TEST_F(ConfigTest, EndpointUrls) {
  for (const char* ok : {"http://127.0.0.1:4568", "https://kinesis.us-east-1.amazonaws.com", ""}) {
    EXPECT_TRUE(LoadText(With("source", std::string("endpoint_url = \"") + ok + "\"")).ok()) << ok;
  }
  EXPECT_THAT(Problems(With("source", "endpoint_url = \"file:///tmp/x\"")),
              ElementsAre(StartsWith("source.endpoint_url: file:// is only supported for output.endpoint_url")));
  EXPECT_THAT(Problems(With("source", "endpoint_url = \"127.0.0.1:4568\"")),
              ElementsAre(StartsWith("source.endpoint_url: must start with http:// or https://")));
  EXPECT_THAT(Problems(With("source", "endpoint_url = \"http://\"")),
              ElementsAre(StartsWith("source.endpoint_url: missing host")));
  EXPECT_THAT(Problems(With("output", "endpoint_url = \"ftp://host\"")),
              ElementsAre(StartsWith("output.endpoint_url: must start with http://, https:// or file:///")));
  EXPECT_THAT(Problems(With("output", "endpoint_url = \"file://relative/dir\"")),
              ElementsAre(StartsWith("output.endpoint_url: a file:// endpoint must name an absolute directory")));
  EXPECT_THAT(Problems(With("output", "endpoint_url = \"file:///\"")),
              ElementsAre(StartsWith("output.endpoint_url: a file:// endpoint must name a directory other than /")));
}

TEST_F(ConfigTest, ServerListen) {
  auto def = LoadText(kMinimal);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->server.listen, "127.0.0.1:9600");
  for (const char* ok : {"", "0.0.0.0:9600", "localhost:1", "[::1]:65535", "[::]:9600", "metrics.local:80"}) {
    auto r = LoadText(With("server", std::string("listen = \"") + ok + "\""));
    ASSERT_TRUE(r.ok()) << ok << ": " << r.status().ToString();
    EXPECT_EQ(r->server.listen, ok);
  }
  EXPECT_EQ(LoadText(kMinimal, {{"SHARDHOSE_SERVER_LISTEN", ""}})->server.listen, "");
  EXPECT_THAT(Problems(With("server", "listen = \"9600\"")),
              ElementsAre("server.listen: must be host:port or [v6addr]:port (e.g. \"127.0.0.1:9600\"), "
                          "got \"9600\" (line 7)"));
  EXPECT_THAT(Problems(kMinimal, {{"SHARDHOSE_SERVER_LISTEN", ":9600"}}),
              ElementsAre("server.listen: missing host in \":9600\" (from SHARDHOSE_SERVER_LISTEN)"));
  EXPECT_THAT(Problems(With("server", "listen = \"::1:9600\"")),
              ElementsAre(StartsWith("server.listen: an IPv6 address needs brackets")));
  EXPECT_THAT(Problems(With("server", "listen = \"127.0.0.1:0\"")),
              ElementsAre(StartsWith("server.listen: port must be between 1 and 65535")));
  EXPECT_THAT(Problems(With("server", "listen = \"127.0.0.1:65536\"")),
              ElementsAre(StartsWith("server.listen: port must be between 1 and 65535")));
  for (const char* bad : {"127.0.0.1:", "127.0.0.1:http", "host:+80", "[::1]9600", "[::1", "a b:80",
                          "http://127.0.0.1:80", "127.0.0.1:123456"}) {
    EXPECT_THAT(Problems(With("server", std::string("listen = \"") + bad + "\"")),
                ElementsAre(StartsWith("server.listen: ")))
        << bad;
  }
  EXPECT_THAT(Problems(With("server", "listen = 9600")), ElementsAre(StartsWith("server.listen: ")));
}

TEST(ConfigSplitListTest, KeepsEveryNameEmptyOnesIncluded) {
  EXPECT_THAT(SplitList(""), ElementsAre());
  EXPECT_THAT(SplitList("pk"), ElementsAre("pk"));
  EXPECT_THAT(SplitList("pk,sk"), ElementsAre("pk", "sk"));
  EXPECT_THAT(SplitList("pk,,sk,"), ElementsAre("pk", "", "sk", ""));
  EXPECT_THAT(SplitList(","), ElementsAre("", ""));
}

TEST(ConfigParseHostPortTest, SplitsHostAndPort) {
  auto a = ParseHostPort("127.0.0.1:9600");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9600);
  auto b = ParseHostPort("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  EXPECT_TRUE(ParseHostPort("x:65535").ok());
  EXPECT_TRUE(ParseHostPort("x:65536").status().IsInvalidArgument());
  EXPECT_TRUE(ParseHostPort("").status().IsInvalidArgument());
}

TEST_F(ConfigTest, NonEmptyStrings) {
  EXPECT_THAT(Problems(With("checkpoint", "path = \"\"")), ElementsAre("checkpoint.path: must not be empty (line 7)"));
  EXPECT_THAT(Problems(With("output", "region = \"\"")), ElementsAre(StartsWith("output.region: must not be empty")));
}

TEST_F(ConfigTest, Templates) {
  EXPECT_THAT(Problems(With("output", "prefix = \"ddb/{tabel}/\"")),
              ElementsAre(AllOf(StartsWith("output.prefix: "), HasSubstr("{tabel}"), HasSubstr("(line 5)"))));
  EXPECT_THAT(Problems(With("output", "prefix = \"ddb/{error}/\"")),
              ElementsAre(AllOf(StartsWith("output.prefix: "), HasSubstr("error"))));
  EXPECT_THAT(Problems(With("output", "error_prefix = \"e/{oops}/\"")),
              ElementsAre(AllOf(StartsWith("output.error_prefix: "), HasSubstr("{oops}"))));
  EXPECT_TRUE(LoadText(With("output", "prefix = \"\"\nerror_prefix = \"e/{error}/{table}/\"")).ok());
}

// --- unknown keys -------------------------------------------------------------

TEST_F(ConfigTest, UnknownKeysWithDidYouMean) {
  EXPECT_THAT(Problems(With("batch", "max_byte = 1")),
              ElementsAre("batch.max_byte: unknown key (did you mean batch.max_bytes?) (line 7)"));
  EXPECT_THAT(Problems(With("batch", "max-bytes = 1")),
              ElementsAre(StartsWith("batch.max-bytes: unknown key (did you mean batch.max_bytes?)")));
  EXPECT_THAT(Problems(With("source", "Region = \"x\"")),
              ElementsAre(StartsWith("source.Region: unknown key (did you mean source.region?)")));
  // The right key in the wrong section.
  EXPECT_THAT(Problems(With("source", "prefix = \"x/\"")),
              ElementsAre(StartsWith("source.prefix: unknown key (did you mean output.prefix?)")));
  // Nothing close: no suggestion.
  EXPECT_THAT(Problems(With("batch", "colour = \"blue\"")), ElementsAre("batch.colour: unknown key (line 7)"));
  // Sections.
  EXPECT_THAT(Problems(std::string(kMinimal) + "[ouput]\nbucket = \"x\"\n"),
              ElementsAre("ouput: unknown section (did you mean [output]?) (line 6)"));
  EXPECT_THAT(Problems(std::string(kMinimal) + "[metrics]\nport = 9100\n"),
              ElementsAre(StartsWith("metrics: unknown section (sections are source, batch, output, "
                                     "checkpoint, coordination, load, shutdown, server, log)")));
  EXPECT_THAT(Problems("bucket = \"lake\"\n[source]\nstream_name = \"s\"\n"),
              ElementsAre("bucket: unknown key at top level (did you mean output.bucket?) (line 1)",
                          StartsWith("output.bucket: required")));
  EXPECT_THAT(Problems(With("output", "bucket_name.x = 1")),
              ElementsAre(StartsWith("output.bucket_name: unknown key")));
}

// --- several at once ------------------------------------------------------------

TEST_F(ConfigTest, StallBoundMustExceedThePollGaps) {
  EXPECT_THAT(Problems(With("source", "stall_after_s = 1\nidle_poll_interval_ms = 1000")),
              ElementsAre("source.stall_after_s: must be longer than source.poll_interval_ms and "
                          "source.idle_poll_interval_ms (1000 ms), got 1 s (line 3)"));
  EXPECT_TRUE(LoadText(With("source", "stall_after_s = 2\nidle_poll_interval_ms = 1000")).ok());
  EXPECT_THAT(Problems(With("source", "stall_after_s = 0")),
              ElementsAre(StartsWith("source.stall_after_s: must be between 1 and 86400, got 0")));
  EXPECT_THAT(Problems(std::string(kMinimal) + "[log]\nprogress_interval_s = -2\n"),
              ElementsAre(StartsWith("log.progress_interval_s: must be between -1 and 86400, got -2")));
  auto cfg = Load(WriteFile(std::string(kMinimal) + "[log]\nprogress_interval_s = 0\n"), Env());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->log.progress_interval_s, 0);
  EXPECT_EQ(cfg->source.stall_after_s, 60);
  EXPECT_EQ(cfg->source.drain_give_up_after_s, 300);
}

TEST_F(ConfigTest, AllProblemsAreReportedTogether) {
  const std::vector<std::string> problems = Problems(R"(
[source]
stream_name = "a"
stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/b"
initial_position = "EARLIEST"
poll_threads = 0
[batch]
max_bytes = "big"
max_recods = 5
[output]
bucket = "lake"
compression = "zstd"
sse_kms_key_id = "k"
prefix = "{tabel}/"
[checkpoint]
path = ""
[extra]
)",
                                                     {{"SHARDHOSE_OUTPUT_UPLOAD_THREADS", "many"}});
  ASSERT_EQ(problems.size(), 11u) << ::testing::PrintToString(problems);
  const std::regex line_re(R"(^([a-z_]+)(\.[a-zA-Z_]+)?: .+)");
  for (const std::string& p : problems) EXPECT_TRUE(std::regex_match(p, line_re)) << p;
  EXPECT_THAT(
      problems,
      ::testing::UnorderedElementsAre(
          StartsWith("source.stream_arn: set only one of"), StartsWith("source.initial_position: must be one of"),
          StartsWith("source.poll_threads: must be between 1 and 256, got 0"),
          StartsWith("batch.max_bytes: expected an integer, got a string"),
          StartsWith("batch.max_recods: unknown key (did you mean batch.max_records?)"),
          StartsWith("output.compression: must be one of gzip|none"), StartsWith("output.sse_kms_key_id: requires"),
          StartsWith("output.prefix: "), "checkpoint.path: must not be empty (line 16)",
          "output.upload_threads: expected an integer, got \"many\" (from "
          "SHARDHOSE_OUTPUT_UPLOAD_THREADS)",
          "extra: unknown section (sections are source, batch, output, checkpoint, coordination, "
          "load, shutdown, server, log) (line 17)"));
}

// --- files ------------------------------------------------------------------------

TEST_F(ConfigTest, TomlSyntaxErrorHasLineAndColumn) {
  const std::string path = WriteFile("[source]\nstream_name = \"orders\n[output]\n");
  auto r = Load(path, Env());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_THAT(r.status().message(), StartsWith(path + ":2:"));
  EXPECT_THAT(r.status().message(), HasSubstr("TOML syntax error"));
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);

  const std::string path2 = WriteFile("[source]\nstream_name = \"s\"\n[source]\n");
  auto r2 = Load(path2, Env());
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.status().message(), StartsWith(path2 + ":3:"));
}

TEST_F(ConfigTest, MissingFile) {
  auto r = Load(::testing::TempDir() + "/no/such/config.toml", Env());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), StartsWith("config file: "));
}

// --- [load] -------------------------------------------------------------------------

TEST_F(ConfigTest, LoadSection) {
  auto r = LoadText(With("load",
                         "region = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:4569\"\n"
                         "dynamodb_endpoint_url = \"http://127.0.0.1:8000\"\nkey_attributes = [\"pk\", \"sk\"]"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->load.region, "eu-west-1");
  EXPECT_EQ(r->load.endpoint_url, "http://127.0.0.1:4569");
  EXPECT_EQ(r->load.dynamodb_endpoint_url, "http://127.0.0.1:8000");
  EXPECT_EQ(r->load.key_attributes, "pk,sk");
  // Written back as an array, and read again the same.
  const std::string toml = ToToml(*r);
  EXPECT_NE(toml.find("\nkey_attributes = [\"pk\", \"sk\"]\n"), std::string::npos) << toml;
  auto back = LoadText(toml);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *r);
  // One name, as an array or a string; the environment's "pk,sk".
  auto one = LoadText(With("load", "key_attributes = [\"id\"]"));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->load.key_attributes, "id");
  auto env = LoadText(kMinimal, {{"SHARDHOSE_LOAD_KEY_ATTRIBUTES", "user,created"}});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->load.key_attributes, "user,created");
  Config defaults;
  EXPECT_EQ(defaults.load.key_attributes, "");
}

TEST_F(ConfigTest, LoadKeyAttributesErrors) {
  EXPECT_THAT(Problems(With("load", "key_attributes = [\"a\", \"b\", \"c\"]")),
              ElementsAre(StartsWith("load.key_attributes: a key has one or two attributes")));
  EXPECT_THAT(Problems(With("load", "key_attributes = [\"a\", 5]")),
              ElementsAre(StartsWith("load.key_attributes: expected an array of strings, got an element of type")));
  EXPECT_THAT(Problems(With("load", "key_attributes = [\"a\", \"\"]")),
              ElementsAre(StartsWith("load.key_attributes: a name in the array is empty or holds a comma")));
  EXPECT_THAT(Problems(With("load", "key_attributes = 5")),
              ElementsAre(StartsWith("load.key_attributes: expected an array of strings, got an integer")));
  EXPECT_THAT(Problems(kMinimal, {{"SHARDHOSE_LOAD_KEY_ATTRIBUTES", "a,"}}),
              ElementsAre(StartsWith("load.key_attributes: a name is empty in \"a,\"")));
}

// --- ToToml -------------------------------------------------------------------------

TEST_F(ConfigTest, ToTomlRoundTrips) {
  auto full = LoadText(kFull);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  Config c = *full;
  c.checkpoint.path = "/tmp/odd \"name\" \\ with\ttab";
  c.output.sse_kms_key_id = "k\xc3\xa9y";  // UTF-8 passes through
  const std::string toml = ToToml(c);
  auto back = LoadText(toml);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << toml;
  EXPECT_EQ(*back, c);
  EXPECT_EQ(ToToml(*back), toml);

  auto minimal = LoadText(kMinimal);
  ASSERT_TRUE(minimal.ok());
  auto back2 = LoadText(ToToml(*minimal), {{"AWS_REGION", "eu-west-1"}});  // regions are now set in the file
  ASSERT_TRUE(back2.ok()) << back2.status().ToString();
  EXPECT_EQ(*back2, *minimal);
}

TEST_F(ConfigTest, ToTomlListsEveryOption) {
  const std::string toml = ToToml(Config{});
  for (const OptionInfo& o : ListOptions()) {
    EXPECT_THAT(toml, HasSubstr("\n" + o.key + " = " + o.default_toml + "\n")) << o.dotted();
    EXPECT_THAT(toml, HasSubstr("[" + o.section + "]"));
  }
  EXPECT_THAT(toml, ::testing::Not(HasSubstr("initial_timestamp_ms")));
}

TEST_F(ConfigTest, LogSectionTakesALevelAndAFormat) {
  auto r = LoadText(With("log", "level = \"debug\"\nformat = \"json\""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->log.level, "debug");
  EXPECT_EQ(r->log.format, "json");
  auto defaults = LoadText(kMinimal, {{"SHARDHOSE_LOG_LEVEL", "warn"}});
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->log.level, "warn");  // the variable run's --log-level reads too
  EXPECT_EQ(defaults->log.format, "text");
  EXPECT_THAT(
      Problems(With("log", "level = \"loud\"\nformat = \"xml\"")),
      ::testing::UnorderedElementsAre("log.level: must be one of trace|debug|info|warn|error, got \"loud\" (line 7)",
                                      "log.format: must be one of text|json, got \"xml\" (line 8)"));
}

TEST(ConfigDiffTest, NamesEveryChangedKeyWithBothValues) {
  Config a;
  Config b = a;
  EXPECT_TRUE(Diff(a, b).empty());
  b.batch.max_interval_s = 5;
  b.log.level = "debug";
  b.output.bucket = "other";
  const auto changes = Diff(a, b);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].key, "batch.max_interval_s");  // table order
  EXPECT_EQ(changes[0].before, "300");
  EXPECT_EQ(changes[0].after, "5");
  EXPECT_EQ(changes[1].key, "output.bucket");
  EXPECT_EQ(changes[1].before, "\"\"");
  EXPECT_EQ(changes[1].after, "\"other\"");
  EXPECT_EQ(changes[2].key, "log.level");
  EXPECT_EQ(changes[2].after, "\"debug\"");
}

TEST_F(ConfigTest, ListOptions) {
  const auto options = ListOptions();
  EXPECT_EQ(options.size(), 55u);
  const auto it =
      std::find_if(options.begin(), options.end(), [](const OptionInfo& o) { return o.dotted() == "batch.max_bytes"; });
  ASSERT_NE(it, options.end());
  EXPECT_EQ(it->type, "integer");
  EXPECT_EQ(it->default_toml, "134217728");
  EXPECT_EQ(it->allowed, "1..5497558138880");
  EXPECT_EQ(it->env_var, "SHARDHOSE_BATCH_MAX_BYTES");
  EXPECT_FALSE(it->description.empty());
  for (const OptionInfo& o : options) EXPECT_FALSE(o.description.empty()) << o.dotted();
}

// --- enum keys --------------------------------------------------------------------------

// Every name of every enum key, from the file and from the environment: parsed
// into its value once, printed back by ToToml() and by the value's name function.
TEST_F(ConfigTest, EnumKeysTakeEachOfTheirNames) {
  struct Case {
    std::string section, key, name;
    std::string extra;  // what the value needs besides
    std::function<bool(const Config&)> holds;
    std::string_view name_of_value;
  };
  const std::string ts = "initial_timestamp = \"2024-05-01T00:00:00Z\"";
  const std::vector<Case> cases = {
      {"source", "initial_position", "TRIM_HORIZON", "",
       [](const Config& c) { return c.source.initial_position == InitialPosition::kTrimHorizon; },
       InitialPositionName(InitialPosition::kTrimHorizon)},
      {"source", "initial_position", "LATEST", "",
       [](const Config& c) { return c.source.initial_position == InitialPosition::kLatest; },
       InitialPositionName(InitialPosition::kLatest)},
      {"source", "initial_position", "AT_TIMESTAMP", ts,
       [](const Config& c) { return c.source.initial_position == InitialPosition::kAtTimestamp; },
       InitialPositionName(InitialPosition::kAtTimestamp)},
      {"source", "consumer", "polling", "", [](const Config& c) { return c.source.consumer == ConsumerType::kPolling; },
       ConsumerTypeName(ConsumerType::kPolling)},
      {"source", "consumer", "efo", "", [](const Config& c) { return c.source.consumer == ConsumerType::kEfo; },
       ConsumerTypeName(ConsumerType::kEfo)},
      {"output", "format", "unmarshalled", "",
       [](const Config& c) { return c.output.format == OutputFormat::kUnmarshalled; },
       OutputFormatName(OutputFormat::kUnmarshalled)},
      {"output", "format", "raw", "", [](const Config& c) { return c.output.format == OutputFormat::kRaw; },
       OutputFormatName(OutputFormat::kRaw)},
      {"output", "compression", "gzip", "", [](const Config& c) { return c.output.compression == Compression::kGzip; },
       CompressionName(Compression::kGzip)},
      {"output", "compression", "none", "", [](const Config& c) { return c.output.compression == Compression::kNone; },
       CompressionName(Compression::kNone)},
      {"output", "sse", "", "", [](const Config& c) { return c.output.sse == Sse::kBucketDefault; },
       SseName(Sse::kBucketDefault)},
      {"output", "conditional_writes", "auto", "",
       [](const Config& c) { return c.output.conditional_writes == ConditionalWrites::kAuto; },
       ConditionalWritesName(ConditionalWrites::kAuto)},
      {"output", "conditional_writes", "on", "",
       [](const Config& c) { return c.output.conditional_writes == ConditionalWrites::kOn; },
       ConditionalWritesName(ConditionalWrites::kOn)},
      {"output", "conditional_writes", "off", "",
       [](const Config& c) { return c.output.conditional_writes == ConditionalWrites::kOff; },
       ConditionalWritesName(ConditionalWrites::kOff)},
      {"output", "sse", "AES256", "", [](const Config& c) { return c.output.sse == Sse::kAes256; },
       SseName(Sse::kAes256)},
      {"output", "sse", "aws:kms", "", [](const Config& c) { return c.output.sse == Sse::kKms; }, SseName(Sse::kKms)},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.section + "." + k.key + " = " + k.name);
    EXPECT_EQ(k.name_of_value, k.name);
    auto from_file = LoadText(With(k.section, k.key + " = \"" + k.name + "\"\n" + k.extra));
    ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
    EXPECT_TRUE(k.holds(*from_file));
    EXPECT_THAT(ToToml(*from_file), HasSubstr("\n" + k.key + " = \"" + k.name + "\"\n"));
    std::string env_var = "SHARDHOSE_" + k.section + "_" + k.key;
    for (char& ch : env_var) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto from_env = LoadText(With(k.section, k.extra), {{env_var, k.name}});
    ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
    EXPECT_TRUE(k.holds(*from_env));
  }
  // A name of another key's enum is not a value of this one.
  EXPECT_THAT(Problems(With("output", "compression = \"raw\"")),
              ElementsAre("output.compression: must be one of gzip|none, got \"raw\" (line 5)"));
  EXPECT_THAT(Problems(kMinimal, {{"SHARDHOSE_SOURCE_CONSUMER", "EFO"}}),
              ElementsAre("source.consumer: must be one of polling|efo, got \"EFO\" (from "
                          "SHARDHOSE_SOURCE_CONSUMER)"));
}

// --- the shipped examples ---------------------------------------------------------------

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(SHARDHOSE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(ConfigTest, ExampleConfigLoadsAndDocumentsEveryDefault) {
  const std::string path = std::string(SHARDHOSE_SOURCE_DIR) + "/config/shardhose.example.toml";
  auto r = Load(path, Env());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Config want;
  want.source.stream_name = r->source.stream_name;
  want.output.bucket = r->output.bucket;
  EXPECT_EQ(*r, want) << "the example should show the defaults";

  // Every key appears in its section, set or commented out, with its default.
  const std::string text = ReadSource("config/shardhose.example.toml");
  for (const OptionInfo& o : ListOptions()) {
    const size_t section = text.find("\n[" + o.section + "]\n");
    ASSERT_NE(section, std::string::npos) << o.section;
    const size_t next = text.find("\n[", section + 1);
    const std::string body = text.substr(section, next == std::string::npos ? std::string::npos : next - section);
    const bool set = body.find("\n" + o.key + " = ") != std::string::npos;
    const bool commented = body.find("\n# " + o.key + " = " + o.default_toml + "\n") != std::string::npos;
    EXPECT_TRUE(set || commented) << o.dotted() << " is not in the example";
  }
}

TEST_F(ConfigTest, LocalEmulatorsConfig) {
  auto r = Load(std::string(SHARDHOSE_SOURCE_DIR) + "/config/local-emulators.toml", Env({{"AWS_REGION", "eu-west-1"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.endpoint_url, "http://127.0.0.1:4568");
  EXPECT_EQ(r->output.endpoint_url, "http://127.0.0.1:4569");
  EXPECT_EQ(r->output.bucket, "lake");
  EXPECT_TRUE(r->output.force_path_style);
  EXPECT_EQ(r->checkpoint.path, "./state/checkpoint.json");
  EXPECT_EQ(r->source.region, "us-east-1");
}

// --- Config methods --------------------------------------------------------------------

TEST(ConfigMethodsTest, DisplayNameAndDirectory) {
  Config c;
  c.source.stream_name = "orders";
  EXPECT_EQ(c.StreamDisplayName(), "orders");
  c.source.stream_name.clear();
  c.source.stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders-2";
  EXPECT_EQ(c.StreamDisplayName(), "orders-2");

  EXPECT_FALSE(c.OutputIsLocalDirectory());
  EXPECT_EQ(c.OutputDirectory(), "");
  c.output.endpoint_url = "file:///var/lake";
  EXPECT_TRUE(c.OutputIsLocalDirectory());
  EXPECT_EQ(c.OutputDirectory(), "/var/lake");
  c.output.endpoint_url = "file:///var/lake//";
  EXPECT_EQ(c.OutputDirectory(), "/var/lake");
  c.output.endpoint_url = "http://127.0.0.1:4569";
  EXPECT_FALSE(c.OutputIsLocalDirectory());
}

}  // namespace
}  // namespace shardhose::config

// --- [source] consumer (enhanced fan-out) -----------------------------------

namespace shardhose::config {
namespace {

class ConsumerConfigTest : public ::testing::Test {
 protected:
  Result<Config> LoadSource(const std::string& extra, EnvMap env = {}) {
    path_ = ::testing::TempDir() + "/config_consumer_test_" + std::to_string(::getpid()) + ".toml";
    std::ofstream(path_) << "[source]\nstream_name = \"orders\"\n" << extra << "\n[output]\nbucket = \"lake\"\n";
    return Load(path_, Env(env));
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(ConsumerConfigTest, DefaultsToPolling) {
  auto r = LoadSource("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.consumer, ConsumerType::kPolling);
  EXPECT_EQ(r->source.consumer_name, "shardhose");
}

TEST_F(ConsumerConfigTest, EfoFromFileAndEnvironment) {
  auto r = LoadSource("consumer = \"efo\"\nconsumer_name = \"lake-loader.v2\"");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.consumer, ConsumerType::kEfo);
  EXPECT_EQ(r->source.consumer_name, "lake-loader.v2");
  auto e = LoadSource("consumer = \"polling\"", {{"SHARDHOSE_SOURCE_CONSUMER", "efo"}});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->source.consumer, ConsumerType::kEfo);
}

TEST_F(ConsumerConfigTest, RejectsBadValues) {
  auto r = LoadSource("consumer = \"fanout\"");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source.consumer:"), std::string::npos) << r.status().message();
  r = LoadSource("consumer = \"efo\"\nconsumer_name = \"has space\"");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source.consumer_name:"), std::string::npos) << r.status().message();
  r = LoadSource("consumer_name = \"\"");
  ASSERT_FALSE(r.ok());
  r = LoadSource("consumer = \"efo\"\nmax_records_per_call = 1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source.max_records_per_call: must be at least 2 with source.consumer = \"efo\""),
            std::string::npos)
      << r.status().message();
  EXPECT_TRUE(LoadSource("max_records_per_call = 1").ok());  // polling: any limit
}

}  // namespace
}  // namespace shardhose::config

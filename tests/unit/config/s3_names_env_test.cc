// What validate refuses because S3 or the environment would not do what the
// configuration says: key prefixes S3 should not be given, bucket names that
// break S3's naming rules, and unknown SHARDHOSE_* variables (config.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>

#include "config/config.h"
#include "config/options.h"
#include "load_env.h"

namespace shardhose::config {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using testing::EnvMap;
using testing::Problems;

std::vector<std::string> PrefixProblems(const std::string& prefix) {
  return Problems({{"SHARDHOSE_OUTPUT_PREFIX", prefix}});
}

TEST(KeyPrefix, RefusesWhatS3KeysShouldNotHold) {
  EXPECT_THAT(PrefixProblems("/ddb/{table}/"), ElementsAre(AllOf(StartsWith("output.prefix: must not start with '/'"),
                                                                 HasSubstr("(from SHARDHOSE_OUTPUT_PREFIX)"))));
  EXPECT_THAT(PrefixProblems("ddb//{table}/"), ElementsAre(StartsWith("output.prefix: must not contain \"//\"")));
  EXPECT_THAT(PrefixProblems("ddb/{table}//"), ElementsAre(StartsWith("output.prefix: must not contain \"//\"")));
  // A '/' inside a time format renders as written: the check sees it.
  EXPECT_THAT(PrefixProblems("{event_time:/%Y}/"), ElementsAre(StartsWith("output.prefix: must not start with '/'")));
  EXPECT_THAT(PrefixProblems("ddb/./{table}/"), ElementsAre(StartsWith("output.prefix: must not contain a \".\"")));
  EXPECT_THAT(PrefixProblems("../{table}/"), ElementsAre(StartsWith("output.prefix: must not contain a \"..\"")));
  EXPECT_THAT(PrefixProblems("ddb/\t{table}/"), ElementsAre(StartsWith("output.prefix: must not contain control")));
  for (char c : std::string("\\^%`[]\"<>~#|")) {
    EXPECT_THAT(PrefixProblems(std::string("ddb") + c + "/{table}/"),
                ElementsAre(StartsWith(std::string("output.prefix: must not contain '") + c + "'")))
        << c;
  }
  // Literal braces ({{ and }}) are braces in the key.
  EXPECT_THAT(PrefixProblems("ddb/{{x}}/"), ElementsAre(StartsWith("output.prefix: must not contain '{'")));
  // %% is a literal '%'.
  EXPECT_THAT(PrefixProblems("{event_time:%Y%%}/"), ElementsAre(StartsWith("output.prefix: must not contain '%'")));
  EXPECT_THAT(Problems({{"SHARDHOSE_OUTPUT_ERROR_PREFIX", "/errors/{error}/"}}),
              ElementsAre(StartsWith("output.error_prefix: must not start with '/'")));
}

TEST(KeyPrefix, AcceptsOrdinaryPrefixes) {
  for (const char* ok :
       {"", "ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/", "{table}", "a/b:c/{event_time:%Y/%m/%d}/",
        "lake+raw/{stream}/{shard_id}/", "données/{table}/", "x=1;y=2/{event_name}/"}) {
    EXPECT_THAT(PrefixProblems(ok), IsEmpty()) << ok;
  }
  EXPECT_THAT(Problems({{"SHARDHOSE_OUTPUT_ERROR_PREFIX", "errors/{error}/dt={arrival_time:%Y-%m-%d}/"}}), IsEmpty());
}

std::vector<std::string> BucketProblems(const std::string& bucket) {
  return Problems({{"SHARDHOSE_OUTPUT_BUCKET", bucket}});
}

TEST(BucketName, FollowsS3NamingRules) {
  const std::string longest(63, 'a');
  for (const std::string& ok : std::vector<std::string>{"lake", "my-data-lake", "lake.example.com", "a1b", longest,
                                                        "1lake9", "lake--x-s3", "192.168.5"}) {
    EXPECT_THAT(BucketProblems(ok), IsEmpty()) << ok;
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"ab", "must be 3 to 63 characters long"},
      {std::string(64, 'a'), "must be 3 to 63 characters long"},
      {"Lake", "may contain only lower-case letters"},
      {"my_lake", "may contain only lower-case letters"},
      {"-lake", "must begin and end with"},
      {"lake.", "must begin and end with"},
      {"my..lake", "two adjacent periods"},
      {"192.168.5.4", "IP address"},
      {"xn--lake", "must not start with \"xn--\""},
      {"sthree-lake", "must not start with \"sthree-\""},
      {"amzn-s3-demo-lake", "must not start with \"amzn-s3-demo-\""},
      {"lake-s3alias", "must not end with \"-s3alias\""},
      {"lake--ol-s3", "must not end with \"--ol-s3\""},
      {"lake.mrap", "must not end with \".mrap\""},
      {"s3://lake", "must be a bucket name only"},
  };
  for (const auto& [name, what] : bad) {
    EXPECT_THAT(BucketProblems(name), ElementsAre(AllOf(StartsWith("output.bucket: "), HasSubstr(what),
                                                        HasSubstr("(from SHARDHOSE_OUTPUT_BUCKET)"))))
        << name;
  }
}

TEST(Environment, UnknownShardhoseVariablesAreNamedWithASuggestion) {
  EXPECT_THAT(
      Problems({{"SHARDHOSE_BATCH_MAX_INTERVAL", "60"}}),
      ElementsAre("SHARDHOSE_BATCH_MAX_INTERVAL: unknown variable; did you mean SHARDHOSE_BATCH_MAX_INTERVAL_S?"));
  EXPECT_THAT(Problems({{"SHARDHOSE_OUTPUT_BUKCET", "lake"}}),
              ElementsAre("SHARDHOSE_OUTPUT_BUKCET: unknown variable; did you mean SHARDHOSE_OUTPUT_BUCKET?"));
  // The key without its section, or in the wrong one.
  EXPECT_THAT(Problems({{"SHARDHOSE_MAX_BYTES", "1"}}),
              ElementsAre("SHARDHOSE_MAX_BYTES: unknown variable; did you mean SHARDHOSE_BATCH_MAX_BYTES?"));
  EXPECT_THAT(Problems({{"SHARDHOSE_OUTPUT_MAX_BYTES", "1"}}),
              ElementsAre("SHARDHOSE_OUTPUT_MAX_BYTES: unknown variable; did you mean SHARDHOSE_BATCH_MAX_BYTES?"));
  // Near the command line's own variables too.
  EXPECT_THAT(Problems({{"SHARDHOSE_CONFG", "/etc/x.toml"}}),
              ElementsAre("SHARDHOSE_CONFG: unknown variable; did you mean SHARDHOSE_CONFIG?"));
  EXPECT_THAT(Problems({{"SHARDHOSE_WHATEVER", "1"}}),
              ElementsAre(AllOf(StartsWith("SHARDHOSE_WHATEVER: unknown variable (the variables are "),
                                HasSubstr("SHARDHOSE_<SECTION>_<KEY>"))));
  // Reported with the other problems, all at once.
  EXPECT_THAT(Problems({{"SHARDHOSE_OUTPUT_BUKCET", "lake"}, {"SHARDHOSE_BATCH_MAX_BYTES", "0"}}),
              ElementsAre(StartsWith("SHARDHOSE_OUTPUT_BUKCET: unknown variable"),
                          StartsWith("batch.max_bytes: must be between")));
}

TEST(Environment, KnownAndForeignVariablesPass) {
  EXPECT_THAT(Problems({{"SHARDHOSE_CONFIG", "x"},
                        {"SHARDHOSE_LOG_LEVEL", "debug"},
                        {"SHARDHOSE_LOG_FORMAT", "json"},
                        {"SHARDHOSE_KILL_AT", "x"},
                        {"SHARDHOSE_SERVER_LISTEN", "127.0.0.1:9601"}},
                       {"PATH", "HOME", "AWS_REGION", "shardhose_lower_case", "XSHARDHOSE_OUTPUT_BUKCET"}),
              IsEmpty());
  for (const OptionInfo& o : ListOptions()) {
    EXPECT_THAT(Problems({}, {o.env_var}), IsEmpty()) << o.env_var;
  }
}

// Every SHARDHOSE_* name the sources read (getenv, CLI11's envname) is a
// key's or in kOtherShardhoseVariables, so it is never refused as unknown.
TEST(Environment, EveryVariableTheSourcesReadIsKnown) {
  const std::regex read_var(R"re((?:getenv|envname)\(\s*"(SHARDHOSE_[A-Z0-9_]+)")re");
  int found = 0;
  for (const char* dir : {"/daemon", "/lib"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(SHARDHOSE_SOURCE_DIR) + dir)) {
      if (e.path().extension() != ".cc" && e.path().extension() != ".h") continue;
      std::ifstream in(e.path());
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      for (std::sregex_iterator m(text.begin(), text.end(), read_var), end; m != end; ++m) {
        ++found;
        EXPECT_THAT(Problems({}, {(*m)[1].str()}), IsEmpty()) << e.path() << " reads " << (*m)[1].str();
      }
    }
  }
  EXPECT_GE(found, 4);  // SHARDHOSE_CONFIG, _LOG_LEVEL, _LOG_FORMAT, _KILL_AT
}

}  // namespace
}  // namespace shardhose::config

// The daemon's exit statuses (commands.h) and the subcommands that need
// nothing but the configuration: validate, athena-ddl, and run's option
// checks (before it touches logging, the network or the checkpoint).
#include "commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "athena_command.h"
#include "command_fixture.h"

namespace shardhose::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ExitFor, MapsEveryStatusCodeToItsExitStatus) {
  EXPECT_EQ(ExitFor(Status::OK()), kExitOk);
  EXPECT_EQ(ExitFor(Status::InvalidArgument("bad key")), kExitUsage);
  EXPECT_EQ(ExitFor(Status::Corruption("checksum mismatch")), kExitCheckpoint);
  EXPECT_EQ(ExitFor(Status::FailedPrecondition("another stream")), kExitCheckpoint);
  for (Status st :
       {Status::NotFound("x"), Status::IOError("x"), Status::Unavailable("x"), Status::PermissionDenied("x"),
        Status(StatusCode::kAborted, "x"), Status(StatusCode::kInternal, "x")}) {
    EXPECT_EQ(ExitFor(st), kExitFailure) << st.ToString();
  }
  // The numbers are the documented interface (main.cc's --help, the units).
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitFailure, 1);
  EXPECT_EQ(kExitUsage, 2);
  EXPECT_EQ(kExitCheckpoint, 3);
}

TEST_F(CommandTest, ValidatePrintsTheEffectiveConfiguration) {
  EXPECT_EQ(Run([&] { return ValidateCommand(options_); }), kExitOk);
  EXPECT_THAT(out_, HasSubstr("stream_name = \"orders\"\n"));
  EXPECT_THAT(out_, HasSubstr("bucket = \"lake\"\n"));
  EXPECT_THAT(out_, HasSubstr("poll_threads = 4\n"));  // a default
  EXPECT_EQ(err_, "configuration OK\n");
}

TEST_F(CommandTest, ValidateNamesEveryProblem) {
  WriteConfig("[batch]\nmax_bytez = 1\n");
  EXPECT_EQ(Run([&] { return ValidateCommand(options_); }), kExitUsage);
  EXPECT_EQ(out_, "");
  EXPECT_THAT(err_, StartsWith("shardhose: invalid configuration in " + options_.config_path + ":\n"));
  EXPECT_THAT(err_, HasSubstr("batch.max_bytez: unknown key"));

  options_.config_path = dir_ + "/missing.toml";
  EXPECT_EQ(Run([&] { return ValidateCommand(options_); }), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("missing.toml"));
}

TEST_F(CommandTest, RunRejectsABadLogLevelOrFormat) {
  CommonOptions bad = options_;
  bad.log_level = "loud";
  EXPECT_EQ(Run([&] { return RunCommand(bad, /*drain=*/true); }), kExitUsage);
  EXPECT_THAT(err_, StartsWith("shardhose: "));
  EXPECT_THAT(err_, HasSubstr("loud"));

  bad = options_;
  bad.log_format = "xml";
  EXPECT_EQ(Run([&] { return RunCommand(bad, /*drain=*/true); }), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("xml"));
}

TEST_F(CommandTest, RunWithJsonLogsReportsConfigProblemsAsJsonLines) {
  WriteConfig("[batch]\nmax_bytez = 1\nmax_records = -1\n");
  CommonOptions json = options_;
  json.log_format = "json";
  EXPECT_EQ(Run([&] { return RunCommand(json, /*drain=*/true); }), kExitUsage);
  EXPECT_EQ(err_, "");
  // One line per problem, on stdout like every other log line.
  EXPECT_THAT(out_, HasSubstr("\"level\":\"error\",\"msg\":\"invalid configuration\",\"key\":\"batch.max_bytez\","
                              "\"problem\":\"unknown key (did you mean batch.max_bytes?) (line 8)\",\"config\":\"" +
                              options_.config_path + "\"}\n"));
  EXPECT_THAT(out_, HasSubstr("\"key\":\"batch.max_records\",\"problem\":\"must be "));
  size_t lines = 0;
  for (char c : out_) lines += c == '\n';
  EXPECT_EQ(lines, 2u) << out_;

  // Text stays as it was: the whole list on stderr.
  CommonOptions text = options_;
  EXPECT_EQ(Run([&] { return RunCommand(text, /*drain=*/true); }), kExitUsage);
  EXPECT_THAT(err_, StartsWith("shardhose: invalid configuration in " + options_.config_path + ":\n"));
  EXPECT_EQ(out_, "");
}

TEST_F(CommandTest, AthenaDdlPrintsStatementsOnStdoutAndNotesOnStderr) {
  AthenaOptions athena;
  EXPECT_EQ(Run([&] { return AthenaDdlCommand(options_, athena); }), kExitOk);
  EXPECT_THAT(out_, StartsWith("CREATE EXTERNAL TABLE `default`.`orders` ("));
  EXPECT_THAT(out_, HasSubstr("CREATE OR REPLACE VIEW"));
  EXPECT_THAT(err_, StartsWith("note: "));
  EXPECT_THAT(out_, ::testing::Not(HasSubstr("note:")));

  athena.database = "lake_db";
  athena.table = "t";
  athena.partition_values = {"table_name=orders,customers"};
  EXPECT_EQ(Run([&] { return AthenaDdlCommand(options_, athena); }), kExitOk);
  EXPECT_THAT(out_, StartsWith("CREATE EXTERNAL TABLE `lake_db`.`t` ("));
  EXPECT_THAT(out_, HasSubstr("orders,customers"));
}

TEST_F(CommandTest, AthenaDdlRejectsBadOptions) {
  AthenaOptions athena;
  athena.since = "yesterday";
  EXPECT_EQ(Run([&] { return AthenaDdlCommand(options_, athena); }), kExitUsage);
  EXPECT_THAT(err_, StartsWith("shardhose: --since \"yesterday\": "));
  EXPECT_EQ(out_, "");

  athena.since = "1969-12-31";
  EXPECT_EQ(Run([&] { return AthenaDdlCommand(options_, athena); }), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("before 1970"));

  for (const std::string spec : {"table_name", "=a,b"}) {
    athena = AthenaOptions{};
    athena.partition_values = {spec};
    EXPECT_EQ(Run([&] { return AthenaDdlCommand(options_, athena); }), kExitUsage) << spec;
    EXPECT_THAT(err_, HasSubstr("want COLUMN=V1,V2,..."));
  }

  WriteConfig("[source]\n");  // a duplicate table: invalid TOML
  EXPECT_EQ(Run([&] { return AthenaDdlCommand(options_, AthenaOptions{}); }), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("invalid configuration"));
}

}  // namespace
}  // namespace shardhose::daemon

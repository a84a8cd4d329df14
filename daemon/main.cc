// shardhose: DynamoDB change streams (via Kinesis) -> partitioned,
// newline-delimited gzip objects in S3. The command line only; the work is
// in commands.cc and lib/.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "shardhose/version.h"

int main(int argc, char** argv) {
  using namespace shardhose::daemon;
  CLI::App app{"shardhose: turns a DynamoDB change stream (Kinesis) into an Athena-ready data lake on S3.\n"
               "Exit status: 0 ok, 1 runtime failure, 2 bad configuration, 3 checkpoint corrupt or foreign."};
  app.set_version_flag("--version", std::string("shardhose ") + SHARDHOSE_VERSION);
  app.require_subcommand(1);

  CommonOptions common;
  auto add_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", common.config_path,
                    "TOML configuration file (optional: every key can come from SHARDHOSE_<SECTION>_<KEY>)")
        ->envname("SHARDHOSE_CONFIG");
  };

  bool drain = false;
  CLI::App* run = app.add_subcommand("run", "Poll every shard, batch, upload and checkpoint until SIGTERM/SIGINT");
  add_config(run);
  run->add_flag("--drain", drain, "Read every shard until caught up, flush, checkpoint and exit 0");
  run->add_option("--log-level", common.log_level, "trace|debug|info|warn|error")
      ->envname("SHARDHOSE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  run->add_option("--log-format", common.log_format, "text (for terminals) | json (one object per line, stdout)")
      ->envname("SHARDHOSE_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}));

  CLI::App* validate = app.add_subcommand("validate", "Check the configuration and print the effective values");
  add_config(validate);
  CLI::App* checkpoint = app.add_subcommand("checkpoint", "Print the per-shard checkpoint state");
  add_config(checkpoint);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (run->parsed()) return RunCommand(common, drain);
  if (validate->parsed()) return ValidateCommand(common);
  if (checkpoint->parsed()) return CheckpointCommand(common);
  return kExitUsage;
}

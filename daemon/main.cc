// shardhose: DynamoDB change streams (via Kinesis) -> partitioned,
// newline-delimited gzip objects in S3. The command line only; the work is
// in commands.cc and lib/.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "athena_command.h"
#include "commands.h"
#include "leases_command.h"
#include "load_command.h"
#include "shardhose/version.h"
#include "tap_command.h"

int main(int argc, char** argv) {
  using namespace shardhose::daemon;
  CLI::App app{
      "shardhose: turns a DynamoDB change stream (Kinesis) into an Athena-ready data lake on S3.\n"
      "Exit status: 0 ok, 1 runtime failure, 2 bad configuration, 3 checkpoint corrupt or foreign,\n"
      "4 checkpoint locked by another process, 5 checkpoint directory not writable, 6 server.listen port in use."};
  app.set_version_flag("--version", std::string("shardhose ") + SHARDHOSE_VERSION);
  app.require_subcommand(1);

  CommonOptions common;
  auto add_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", common.config_path,
                    "TOML configuration file (optional: every key can come from SHARDHOSE_<SECTION>_<KEY>)")
        ->envname("SHARDHOSE_CONFIG");
  };

  bool drain = false;
  CLI::App* run = app.add_subcommand(
      "run", "Poll every shard, batch, upload and checkpoint until SIGTERM/SIGINT; SIGHUP reloads the configuration");
  add_config(run);
  run->add_flag("--drain", drain, "Read every shard until caught up, flush, checkpoint and exit 0");
  run->add_option("--log-level", common.log_level,
                  "trace|debug|info|warn|error (default: log.level, else info; wins over log.level on SIGHUP too)")
      ->envname("SHARDHOSE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  run->add_option(
         "--log-format", common.log_format,
         "text (stderr) | json (one object per line, stdout; config errors too) (default: log.format, else text)")
      ->envname("SHARDHOSE_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}));

  CLI::App* validate = app.add_subcommand("validate", "Check the configuration and print the effective values");
  add_config(validate);
  CLI::App* checkpoint = app.add_subcommand("checkpoint", "Show, rewind or reset the checkpoint");
  add_config(checkpoint);
  checkpoint->require_subcommand(0, 1);
  CLI::App* show = checkpoint->add_subcommand("show", "Print the per-shard checkpoint state (the default)");
  add_config(show);
  RewindOptions rewind_opts;
  CLI::App* rewind =
      checkpoint->add_subcommand("rewind", "Move one shard's checkpoint; shows the change and asks for confirmation");
  add_config(rewind);
  rewind->add_option("--shard", rewind_opts.shard, "Shard id, e.g. shardId-000000000001")->required();
  rewind->add_option("--to-sequence", rewind_opts.to_sequence, "Resume after this sequence number");
  rewind->add_flag("--to-trim-horizon", rewind_opts.to_trim_horizon, "Resume at the oldest record");
  rewind->add_option("--to-timestamp", rewind_opts.to_timestamp, "Resume at this time (RFC 3339)");
  rewind->add_flag("--yes", rewind_opts.yes, "Apply without asking");
  bool reset_yes = false;
  CLI::App* reset = checkpoint->add_subcommand(
      "reset", "Move the checkpoint file aside (even a corrupt one): the next start begins at initial_position");
  add_config(reset);
  reset->add_flag("--yes", reset_yes, "Apply without asking");

  bool leases_json = false;
  CLI::App* leases = app.add_subcommand(
      "leases", "coordination.mode = \"dynamodb\": list the lease table (owner, counter, checkpoint, lag) and workers");
  add_config(leases);
  leases->add_flag("--json", leases_json, "One JSON object instead of tables");

  AthenaOptions athena_opts;
  CLI::App* athena = app.add_subcommand(
      "athena-ddl", "Print the Athena CREATE TABLE (partition projection) and <table>_latest view for the output");
  add_config(athena);
  athena->add_option("--database", athena_opts.database, "Athena database")->capture_default_str();
  athena->add_option("--table", athena_opts.table, "Athena table name (default: the stream name)");
  athena->add_option("--location", athena_opts.location,
                     "S3 root the prefix template starts at (default: s3://<output.bucket>)");
  athena->add_option("--since", athena_opts.since, "Start of the date projections (YYYY-MM-DD)")->capture_default_str();
  athena->add_option("--partition-values", athena_opts.partition_values,
                     "COLUMN=V1,V2,...: project these values (enum) instead of an injected column (repeatable)");

  TapOptions tap_opts;
  CLI::App* tap = app.add_subcommand(
      "tap", "Print N records of the stream as they would be written, with the key prefix; writes nothing");
  add_config(tap);
  tap->add_option("-n,--count", tap_opts.count, "Records to read")->capture_default_str()->check(CLI::PositiveNumber);
  tap->add_option("--shard", tap_opts.shard, "Read only this shard (default: every shard, round-robin)");
  tap->add_option("--from", tap_opts.from,
                  "trim_horizon (oldest), latest (wait for new records) or checkpoint (after the durable position)")
      ->capture_default_str()
      ->check(CLI::IsMember({"trim_horizon", "latest", "checkpoint"}));
  tap->add_option("--format", tap_opts.format,
                  "text (a header line per record, then the line) | json (one object per record)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));

  LoadOptions load_opts;
  CLI::App* load = app.add_subcommand(
      "load", "Write every item of a DynamoDB export (DYNAMODB_JSON) into the lake as SNAPSHOT lines; resumable");
  add_config(load);
  CLI::Option* export_opt =
      load->add_option("--export", load_opts.export_uri,
                       "The export's folder: s3://bucket/prefix/AWSDynamoDB/<export id>/ or a local directory");
  CLI::Option* start_export =
      load->add_option("--start-export", load_opts.start_export,
                       "s3://bucket[/prefix]: export the table now (ExportTableToPointInTime; point-in-time recovery "
                       "must be on), wait for it, then load it")
          ->excludes(export_opt);
  load->add_option("--table", load_opts.table, "With --start-export: the table (default: source.table_name)")
      ->needs(start_export);
  load->add_option("--key-attributes", load_opts.key_attributes,
                   "The table's key attributes, pk[,sk] (default: the table's KeySchema from DescribeTable)");
  CLI::Option* then_stream =
      load->add_flag("--then-stream", load_opts.then_stream,
                     "Then go on as `run`; with no checkpoint yet, from the export time minus the margin");
  load->add_flag("--drain", load_opts.drain, "With --then-stream: `run --drain` (exit once caught up)")
      ->needs(then_stream);
  load->add_option("--then-stream-margin-s", load_opts.margin_s,
                   "With --then-stream: how long before the export time the stream starts")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{23 * 3600}))
      ->needs(then_stream);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (run->parsed()) return RunCommand(common, drain);
  if (validate->parsed()) return ValidateCommand(common);
  if (athena->parsed()) return AthenaDdlCommand(common, athena_opts);
  if (tap->parsed()) return TapCommand(common, tap_opts);
  if (load->parsed()) {
    if (load_opts.export_uri.empty() && load_opts.start_export.empty()) {
      std::fprintf(stderr, "shardhose load: give --export URI or --start-export s3://bucket[/prefix]\n");
      return kExitUsage;
    }
    return LoadCommand(common, load_opts);
  }
  if (leases->parsed()) return LeasesCommand(common, leases_json);
  if (rewind->parsed()) return CheckpointRewindCommand(common, rewind_opts);
  if (reset->parsed()) return CheckpointResetCommand(common, reset_yes);
  if (checkpoint->parsed()) return CheckpointShowCommand(common);
  return kExitUsage;
}

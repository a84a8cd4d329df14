// File: daemon/commands.h
//
// The subcommands of the shardhose binary. Each returns the process exit
// status (README "Exit status", shardhose(1), systemd's
// RestartPreventExitStatus= in systemd/service-common.inc):
//   0  success
//   1  runtime failure (stream or bucket unreachable at shutdown, uploads
//      abandoned at the deadline, checkpoint write failed)
//   2  bad command line or configuration (every problem named, by key or
//      variable)
//   3  the checkpoint file is corrupt or belongs to another stream: an
//      operator must decide; nothing was read or written
//   4  the checkpoint is locked by another process (its pid is named): a
//      running shardhose or a `shardhose checkpoint` command; nothing was
//      read or written
//   5  the checkpoint directory is not writable by this user (EACCES,
//      EPERM, EROFS; the directory and uid are named); also `validate`'s
//   6  server.listen's port is already in use
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace shardhose::daemon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitCheckpoint = 3;
inline constexpr int kExitLocked = 4;
inline constexpr int kExitNotWritable = 5;
inline constexpr int kExitPortInUse = 6;

struct CommonOptions {
  std::string config_path;  // "" = environment only
  // "" = not given: the configuration's log.level / log.format decide
  // (default info / text). Given (flag or SHARDHOSE_LOG_*), they win.
  std::string log_level;
  std::string log_format;
};

// Where a first start begins instead of source.initial_position (`shardhose
// load --then-stream`); a checkpoint, once there, decides as always.
struct FirstStart {
  config::InitialPosition position = config::InitialPosition::kTrimHorizon;
  int64_t timestamp_ms = 0;  // with kAtTimestamp
};

int RunCommand(const CommonOptions& options, bool drain, const std::optional<FirstStart>& first_start = std::nullopt);
// Loads the configuration (as `run` does, environment included), checks
// that the checkpoint directory is writable (without leaving a file) and
// prints the effective configuration. Does not take the lock (a running
// daemon holds it) or reach AWS.
int ValidateCommand(const CommonOptions& options);

// `shardhose checkpoint [show]`: the per-shard state.
int CheckpointShowCommand(const CommonOptions& options);

// `shardhose checkpoint rewind --shard ID (--to-sequence N | --to-trim-horizon
// | --to-timestamp T) [--yes]`: moves one shard's checkpoint (and drops the
// journaled batch cuts that cover it, so its records are delivered again).
// `shardhose checkpoint reset [--yes]`: moves the whole file aside (also a
// corrupt one), so the next start begins at source.initial_position.
// Both print exactly what they change and apply it only after confirmation
// (--yes, or typing "yes" on a terminal); they take the checkpoint lock, so
// they refuse while a daemon runs with the file.
struct RewindOptions {
  std::string shard;
  std::string to_sequence;
  bool to_trim_horizon = false;
  std::string to_timestamp;  // RFC 3339
  bool yes = false;
};
int CheckpointRewindCommand(const CommonOptions& options, const RewindOptions& rewind);
int CheckpointResetCommand(const CommonOptions& options, bool yes);

// Shared by the commands. LoadConfig prints every problem: on stderr as
// text, or with log_format "json" as JSON lines through the logger (one per
// problem, the key as a field; InitLogging must have been called).
std::optional<config::Config> LoadConfig(const CommonOptions& options);
int ExitFor(const Status& st);
// The exit status for a failed CheckpointFile::Lock()/Acquire()/
// CheckWritable(): kExitLocked, kExitNotWritable or kExitFailure.
int ExitForCheckpointAccess(const Status& st);

}  // namespace shardhose::daemon

// File: daemon/commands.h
//
// The subcommands of the shardhose binary. Each returns the process exit
// status:
//   0  success
//   1  runtime failure (stream or bucket unreachable at shutdown, uploads
//      abandoned at the deadline, checkpoint write failed)
//   2  bad command line or configuration (every problem named, by key)
//   3  the checkpoint file is corrupt or belongs to another stream: an
//      operator must decide; nothing was read or written
#pragma once

#include <string>

namespace shardhose::daemon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitCheckpoint = 3;

struct CommonOptions {
  std::string config_path;  // "" = environment only
  std::string log_level = "info";
  std::string log_format = "text";
};

int RunCommand(const CommonOptions& options, bool drain);
int ValidateCommand(const CommonOptions& options);
int CheckpointCommand(const CommonOptions& options);

}  // namespace shardhose::daemon

// File: daemon/tap_command.h
//
// `shardhose tap [--config FILE] [-n N] [--shard ID]
//  [--from trim_horizon|latest|checkpoint] [--format text|json]`
//
// Reads up to N records (default 10) of the configured stream and prints
// each as the daemon would write it: the decoded line exactly (numbers as
// the record has them), with its shard, position (sequence number, or
// "seq.sub" for a KPL sub-record) and the key prefix it would go to -- the
// rendered output.prefix, or for a record that fails to decode the rendered
// output.error_prefix and the reason. The inspection tool `vector tap`
// users expect.
//
// It writes nothing: no object, no checkpoint, no lock (it can run next to
// a daemon). It reads through GetRecords (even with source.consumer =
// "efo": no consumer is registered), round-robin over the stream's shards
// (or only --shard), at most 5 calls per second per shard.
//   --from trim_horizon  every shard from its oldest record (the default);
//   --from latest        only records put from now on: waits for them
//                        (Ctrl-C stops it);
//   --from checkpoint    after each shard's durable position in
//                        checkpoint.path (read, never locked or written);
//                        shards it does not know start at
//                        source.initial_position.
// Except with latest, it stops once every shard is read to its tip.
//
// Output (stdout):
//   text  per record a header "# <shard> <position> -> <prefix>" (and
//         "  error: <reason>") then the line as written; a summary on
//         stderr.
//   json  one object per record and line: {"shard","position",
//         "arrival_time_ms","prefix","error" (null or the reason),"line"
//         (the written line as a JSON string, without its newline)}.
//
// Exit status: 0 read (even fewer than N records); 1 the stream could not be
// read; 2 bad configuration or options (an unknown --shard, --from
// checkpoint without a checkpoint file; a corrupt one: 3).
#pragma once

#include <string>

#include "commands.h"

namespace shardhose::daemon {

struct TapOptions {
  int64_t count = 10;
  std::string shard;                  // "" = every shard
  std::string from = "trim_horizon";  // trim_horizon | latest | checkpoint
  std::string format = "text";        // text | json
};

int TapCommand(const CommonOptions& options, const TapOptions& tap);

}  // namespace shardhose::daemon

// File: daemon/leases_command.h
//
// `shardhose leases [--config FILE] [--json]` (coordination.mode =
// "dynamodb"): the lease table as it is now, one row per lease (owner or
// free, counter, checkpoint, pending journaled cuts, parents) with how far
// each lease's checkpoint is behind the stream's tip (stream_probe.h; best
// effort) and when the shard was last seen read and durable to its tip
// (shCaughtUpMs: kept fresh while records come, refreshed hourly on a quiet
// shard), then one row per worker of `<table>-workers` (its lease count and
// heartbeat as it last wrote them; its clock, not ours).
//
// It reads the tables (Scan, strongly consistent) and the stream; it
// writes nothing and takes no lock, so it runs next to live workers. The
// tables are never created here: a missing table is an error.
//
// Output (stdout):
//   text  a header line, the lease table and the worker table;
//   json  one object: {"table","now_ms","stream_unreachable" (null or
//         why),"leases":[{"shard","owner" (null when free),"counter",
//         "checkpoint","checkpoint_sub","owner_switches","finished",
//         "stream_state" ("open"|"closed"|"gone"|null: unknown),
//         "millis_behind" (null: unknown),"caught_up" (bool|null),
//         "caught_up_at_ms" (null: never),"pending_cuts","parents",
//         "children"}],"workers":[{"worker_id","leases","beat",
//         "written_ms"}]}.
//
// Exit status: 0 listed; 1 the table could not be read; 2 bad
// configuration, or coordination.mode is not "dynamodb".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"
#include "lease/lease.h"
#include "lease/lease_table.h"
#include "stream_probe.h"

namespace shardhose::daemon {

// What the command shows; the renderers are pure (unit-tested).
struct LeasesView {
  std::string table;  // LeaseTable::Describe()
  int64_t now_ms = 0;
  std::vector<lease::Lease> leases;        // sorted by shard id
  std::vector<lease::WorkerBeat> workers;  // sorted by worker id
  StreamProbe stream;
};

std::string RenderLeasesText(const LeasesView& view);
std::string RenderLeasesJson(const LeasesView& view);

int LeasesCommand(const CommonOptions& options, bool json);

}  // namespace shardhose::daemon

// File: daemon/stream_probe.h
//
// For the commands that show positions (`checkpoint show`, `leases`): a
// best-effort look at the stream, as it is now. It lists the shards (open
// or closed), and for each position given, how far it is behind the
// stream's tip: the MillisBehindLatest of a one-record GetRecords just
// after it. A position whose read fails (trimmed, shard gone) gets no lag;
// an unreachable stream gets none at all and says why. Nothing is written.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "config/config.h"
#include "poll/kinesis_client.h"

namespace shardhose::daemon {

struct ShardLag {
  int64_t millis_behind = 0;
  bool caught_up = false;  // no record after the position and 0 ms behind
};

struct StreamProbe {
  std::map<std::string, bool> closed;   // every listed shard: id -> closed
  std::map<std::string, ShardLag> lag;  // the positions that could be read
  std::string unreachable;              // why the listing failed; "" if it did not
};

// `positions`: shard id -> where its durable position resumes. Shards the
// stream does not list are skipped. Calls time out after 5 s each.
StreamProbe ProbeStream(const config::Config& cfg, const std::map<std::string, poll::IteratorStart>& positions);

// "caught up", or "12.3 s".
std::string FormatLag(const ShardLag& lag);

}  // namespace shardhose::daemon

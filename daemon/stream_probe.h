// File: daemon/stream_probe.h
//
// For the commands that show positions (`checkpoint show`, `leases`): a
// best-effort look at the configured stream (daemon/source_factory.h), as
// it is now. It lists the shards (open or closed), and for each position
// given, how far it is behind the stream's tip:
//   Kinesis          the MillisBehindLatest of a one-record GetRecords just
//                    after the position;
//   DynamoDB Streams (no MillisBehindLatest) an estimate: the age of the
//                    first change after the position (now minus its
//                    ApproximateCreationDateTime), looked for in up to
//                    three pages, since the API may answer empty pages
//                    before records. None found: caught up.
// A position whose read fails (trimmed, shard gone) gets no lag; an
// unreachable stream gets none at all and says why. Nothing is written.
// Each probe is one more reader of the shard for a moment (DynamoDB
// Streams documents at most two at a time; the daemon is one).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "config/config.h"
#include "poll/kinesis_client.h"

namespace shardhose::daemon {

struct ShardLag {
  int64_t millis_behind = 0;
  bool caught_up = false;  // no record after the position (Kinesis: and 0 ms behind)
  bool estimated = false;  // millis_behind is a record's age, not MillisBehindLatest
};

struct StreamProbe {
  std::map<std::string, bool> closed;   // every listed shard: id -> closed
  std::map<std::string, ShardLag> lag;  // the positions that could be read
  std::string unreachable;              // why the listing failed; "" if it did not
};

// `positions`: shard id -> where its durable position resumes. Shards the
// stream does not list are skipped. Calls time out after 5 s each.
StreamProbe ProbeStream(const config::Config& cfg, const std::map<std::string, poll::IteratorStart>& positions);

// "caught up", "12.3 s", or "~12.3 s" for an estimate.
std::string FormatLag(const ShardLag& lag);

}  // namespace shardhose::daemon

// File: checkpoint/checkpoint.h
//
// The checkpoint: per shard, how far the stream has been durably written to
// the object store, so that a restart resumes exactly there. It lives in one
// local file, replaced atomically (write temp, fsync, rename, fsync dir) and
// protected by a checksum.
//
// Invariant (the one everything else relies on): a shard's `sequence` never
// names a record that is not durably in the object store, nor passes one.
// Every record of the shard up to and including `sequence` is durable.
//
// File format, version 1 or 2 (a single JSON document; the grammar of its
// bytes). Version 2 is version 1 where a cut's range may hold sub-record
// positions (KPL aggregation, decode/kpl.h); Encode writes 2 only when one
// does, so files without aggregated records stay version 1 and readable by
// older binaries, and an older binary refuses a version 2 file by name.
//   file     := '{"format":"shardhose-checkpoint","version":' ('1'|'2') ','
//               '"crc32c":"' HEX8 '","body":' BODY '}' '\n'
//   HEX8     := CRC-32C of the exact BODY bytes, 8 lowercase hex digits
//   BODY     := JSON object:
//     "stream_name":  string      stream the checkpoint belongs to
//     "stream_arn":   string      "" if unknown
//     "generation":   uint        incremented on every write (by the
//                                 caller; Save writes what it is given)
//     "written_at":   string      RFC 3339 UTC, informational
//     "shards":       { shard_id: SHARD, ... }
//     "pending":      [ CUT, ... ]  the journal of batch cuts (see
//                                   journal.h): a batch's cut is
//                                   written here before its upload starts
//   SHARD    := {
//     "state":     "open" | "finished"   finished = closed by a reshard and
//                                        every record durable
//     "sequence":  string                last durable sequence number, "" = none
//     "start":     "TRIM_HORIZON" | "AT_TIMESTAMP"
//                                        where to start when sequence is ""
//     "start_timestamp_ms": int          with AT_TIMESTAMP
//     "parent":    string                ParentShardId, "" if none
//     "adjacent_parent": string          AdjacentParentShardId, "" if none
//     "caught_up_ms": int                epoch ms at which the shard was last
//                                        seen fully read and durable (an
//                                        empty poll at the tip), 0 = never;
//                                        tells a trimmed-but-idle checkpoint
//                                        from one that lost records
//   }
//   CUT      := { "partition": string, "key": string, "uploaded": bool,
//                 "ranges": { shard_id: { "first": pos, "last": pos } } }
//               uploaded = the object is durable; the cut stays until every
//               range is at or below its shard's sequence
//   seq      := 1..128 decimal digits (common/seqnum.h IsValidSeq); a
//               shard's "sequence" is always a whole Kinesis record
//   pos      := seq | seq '.' sub  (common/seqnum.h IsValidPos; version 2
//               only for the second form): sub-record `sub` of an
//               aggregated record
//   shard_id := non-empty string
// Strings are byte strings (UTF-8 expected, not validated). Every field is
// required; unknown or duplicate fields in BODY, SHARD, CUT and ranges are an
// error in version 1 (a newer writer must bump the version). The exact bytes
// Encode writes (one shard per line) are specified in checkpoint.cc.
// A file whose framing, checksum, version or body does not parse is
// kCorruption, and the daemon stops: it never silently restarts from
// TRIM_HORIZON or LATEST.
//
// Thread-safety: values and pure functions. The file that holds a
// checkpoint is checkpoint_file.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace shardhose::checkpoint {

inline constexpr int kFormatVersion = 1;
// Written instead when a cut range holds a sub-record position.
inline constexpr int kFormatVersionSubPositions = 2;

struct ShardCheckpoint {
  enum class State { kOpen, kFinished };
  enum class Start { kTrimHorizon, kAtTimestamp };

  State state = State::kOpen;
  std::string sequence;  // "" = nothing durable yet
  Start start = Start::kTrimHorizon;
  int64_t start_timestamp_ms = 0;
  std::string parent;
  std::string adjacent_parent;
  int64_t caught_up_ms = 0;

  bool operator==(const ShardCheckpoint&) const = default;
};

struct SeqRange {
  std::string first;
  std::string last;
  bool operator==(const SeqRange&) const = default;
};

struct PendingCut {
  std::string partition;
  std::string key;
  bool uploaded = false;  // the object is durable; kept until every range is below its shard's sequence
  std::map<std::string, SeqRange> ranges;
  bool operator==(const PendingCut&) const = default;
};

struct Checkpoint {
  std::string stream_name;
  std::string stream_arn;
  uint64_t generation = 0;
  std::string written_at;
  std::map<std::string, ShardCheckpoint> shards;
  std::vector<PendingCut> pending;

  bool operator==(const Checkpoint&) const = default;
};

// Serialises `cp` in the format above (deterministic: same value, same bytes).
// REQUIRES (else Decode rejects the result): every shard id non-empty, every
// `sequence` "" or a valid seq, every range's first/last a valid pos.
std::string Encode(const Checkpoint& cp);

// Parses and verifies. kCorruption naming what is wrong ("checksum
// mismatch: file says 1a2b3c4d, body is 5e6f7a8b", "truncated", "shard
// shardId-0: sequence is not a number", "unsupported version 7").
Result<Checkpoint> Decode(std::string_view bytes);

// The journal alone: '[' CUTS ']', the bytes the file's "pending" array
// holds (the grammar in checkpoint.cc), e.g. the lease table's shJournal
// attribute (lease/lease.h). Deterministic. DecodeCuts accepts exactly what
// a CUT may hold in a version 2 file (sub-record positions allowed), any
// JSON whitespace, and is kCorruption naming what is wrong ("cuts[1] range
// shardId-0: first is not a position: \"x\"").
std::string EncodeCuts(const std::vector<PendingCut>& cuts);
Result<std::vector<PendingCut>> DecodeCuts(std::string_view json);

// CRC-32C (Castagnoli), exposed for tests.
uint32_t Crc32c(std::string_view data);

}  // namespace shardhose::checkpoint

// File: lease/checkpoint_import.h
//
// Moving a single-process deployment to lease mode without loss: the local
// checkpoint file it left at [checkpoint] path is imported into the lease
// table once, at the first start in coordination.mode = "dynamodb", and
// then moved aside (issue 11: "imported once ... for shards the table does
// not know yet").
//
// What a shard's lease gets (unowned, counter 0, as the coordinator would
// create it; lease.h):
//   checkpoint   SHARD_END for a finished shard; else the durable sequence;
//                else where the run started (TRIM_HORIZON, or AT_TIMESTAMP
//                with shStartMs)
//   parents      the checkpoint's parent and adjacent parent
//   shJournal    the checkpoint's cuts holding records of the shard. A cut
//                of one shard goes as it is (not yet uploaded: its batch is
//                re-formed under the same key by the lease's first owner,
//                as after a restart). A cut of several shards is split into
//                one cut per shard under the same key if it is uploaded
//                (its records are skipped when read again); one that is not
//                uploaded cannot be re-formed by the owners of separate
//                leases, so the import is refused (kFailedPrecondition,
//                saying how many and what to do: start once more in local
//                mode and stop with SIGTERM, which uploads every batch).
//   hash keys    empty (a checkpoint file has none; KCL tooling can do
//                without them)
// A shard the table already has a lease for keeps the table's state (its
// Create is refused): the table is the truth once it exists. So start the
// worker that holds the file first: a worker started before it, on an
// empty table, creates those leases at source.initial_position.
//
// The file is moved to "<path>.imported" only once every lease was created
// or found; a crash in between imports again at the next start, which is
// harmless (every Create is conditional). A corrupt file, or one of
// another stream, stops the start (kCorruption / kFailedPrecondition, as in
// local mode) and is left where it is.
//
// Thread-safety: functions of their arguments.
#pragma once

#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "common/fs.h"
#include "common/status.h"
#include "lease/lease.h"
#include "lease/lease_table.h"

namespace shardhose::lease {

// The leases that carry `cp` (see above), one per shard, in shard order.
Result<std::vector<Lease>> LeasesOfCheckpoint(const checkpoint::Checkpoint& cp);

struct ImportReport {
  bool found = false;    // there was a file to import
  int created = 0;       // leases made from it
  int known = 0;         // shards the table already had: left as they were
  std::string moved_to;  // where the file is now
};

// Imports the checkpoint file at `path` (nothing if there is none) for
// stream `stream_name` into `table`, then moves the file aside.
Result<ImportReport> ImportCheckpointFile(FileSystem* fs, const std::string& path, const std::string& stream_name,
                                          LeaseTable* table);

}  // namespace shardhose::lease

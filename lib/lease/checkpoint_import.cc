#include "lease/checkpoint_import.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "checkpoint/checkpoint_file.h"

namespace shardhose::lease {

Result<std::vector<Lease>> LeasesOfCheckpoint(const checkpoint::Checkpoint& cp) {
  std::map<std::string, Lease> leases;
  for (const auto& [id, sc] : cp.shards) {
    Lease& l = leases[id];
    l.key = id;
    SetCheckpoint(sc, &l);
    if (!sc.parent.empty()) l.parents.push_back(sc.parent);
    if (!sc.adjacent_parent.empty() && sc.adjacent_parent != sc.parent) l.parents.push_back(sc.adjacent_parent);
    std::sort(l.parents.begin(), l.parents.end());
    l.caught_up_ms = sc.caught_up_ms;
  }
  int unsplittable = 0;
  for (const checkpoint::PendingCut& cut : cp.pending) {
    if (cut.ranges.size() > 1 && !cut.uploaded) {
      ++unsplittable;
      continue;
    }
    for (const auto& [shard, range] : cut.ranges) {
      auto it = leases.find(shard);
      if (it == leases.end()) {
        return Status::Corruption(
            fmt::format("cut {} names shard {}, which the checkpoint does not have", cut.key, shard));
      }
      checkpoint::PendingCut one = cut;
      one.ranges = {{shard, range}};
      it->second.journal.push_back(std::move(one));
    }
  }
  if (unsplittable > 0) {
    return Status::FailedPrecondition(fmt::format(
        "{} batch(es) of several shards were being uploaded when the local daemon stopped; lease mode writes "
        "one shard per object and cannot re-form them. Start it once more with coordination.mode = \"local\" "
        "and stop it with SIGTERM (it uploads every batch), then switch",
        unsplittable));
  }
  std::vector<Lease> out;
  out.reserve(leases.size());
  for (auto& [_, l] : leases) out.push_back(std::move(l));
  return out;
}

Result<ImportReport> ImportCheckpointFile(FileSystem* fs, const std::string& path, const std::string& stream_name,
                                          LeaseTable* table) {
  ImportReport report;
  if (!fs->Exists(path)) return report;
  // Held while importing: a local daemon still running on the file is
  // said plainly ("in use"), not imported from under it.
  checkpoint::CheckpointFile file(fs, path);
  SHARDHOSE_RETURN_IF_ERROR(file.Acquire());
  Result<std::optional<checkpoint::Checkpoint>> loaded = file.Load();
  if (!loaded.ok()) return loaded.status();
  const std::optional<checkpoint::Checkpoint>& cp = *loaded;
  if (!cp) return report;
  report.found = true;
  if (!cp->stream_name.empty() && cp->stream_name != stream_name) {
    return Status::FailedPrecondition(
        fmt::format("the local checkpoint {} is of stream {}, not {}: not imported (move it away to start without it)",
                    path, cp->stream_name, stream_name));
  }
  auto leases = LeasesOfCheckpoint(*cp);
  if (!leases.ok()) return leases.status().WithContext("importing the local checkpoint " + path);
  for (const Lease& l : *leases) {
    Status st = table->Create(l);
    if (st.ok()) {
      ++report.created;
    } else if (st.code() == StatusCode::kFailedPrecondition) {
      ++report.known;
    } else {
      return st.WithContext(fmt::format("importing the local checkpoint {}: creating the lease of {}", path, l.key));
    }
  }
  report.moved_to = path + ".imported";
  SHARDHOSE_RETURN_IF_ERROR(fs->Rename(path, report.moved_to));
  return report;
}

}  // namespace shardhose::lease

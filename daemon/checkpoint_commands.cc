// `shardhose checkpoint ...`: look at and, deliberately, change the
// checkpoint file. Changes are shown before they are applied and need a
// confirmation; the checkpoint lock keeps them away from a running daemon.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_file.h"
#include "commands.h"
#include "common/seqnum.h"
#include "config/rfc3339.h"
#include "decode/change_record.h"
#include "poll/kinesis_client.h"
#include "stream_probe.h"

namespace shardhose::daemon {
namespace {

std::string Describe(const checkpoint::ShardCheckpoint& s) {
  std::string pos = !s.sequence.empty() ? "after " + s.sequence
                    : s.start == checkpoint::ShardCheckpoint::Start::kAtTimestamp
                        ? "at " + decode::FormatIsoMillis(s.start_timestamp_ms * 1000)
                        : std::string("at TRIM_HORIZON");
  return fmt::format("{}, resumes {}", s.state == checkpoint::ShardCheckpoint::State::kFinished ? "finished" : "open",
                     pos);
}

// True if the operator confirmed: --yes, or "yes" typed on a terminal.
bool Confirmed(bool yes) {
  if (yes) return true;
  if (!isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "not changed: pass --yes to apply\n");
    return false;
  }
  std::fprintf(stderr, "Type 'yes' to apply: ");
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "yes") return true;
  std::fprintf(stderr, "not changed\n");
  return false;
}

}  // namespace

int CheckpointShowCommand(const CommonOptions& options) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  checkpoint::CheckpointFile file(FileSystem::Default(), cfg->checkpoint.path);
  auto loaded = file.Load();
  if (!loaded.ok()) {
    std::fprintf(stderr, "shardhose: %s\n", loaded.status().ToString().c_str());
    return ExitFor(loaded.status());
  }
  if (!loaded->has_value()) {
    std::printf("no checkpoint at %s: the next start begins at source.initial_position (%s)\n",
                cfg->checkpoint.path.c_str(),
                std::string(config::InitialPositionName(cfg->source.initial_position)).c_str());
    return kExitOk;
  }
  const checkpoint::Checkpoint& cp = **loaded;
  std::printf("checkpoint %s\nstream     %s %s\ngeneration %llu, written %s\n\n", cfg->checkpoint.path.c_str(),
              cp.stream_name.c_str(), cp.stream_arn.c_str(), static_cast<unsigned long long>(cp.generation),
              cp.written_at.c_str());

  // Best effort, when the stream is reachable: which shards are closed, and
  // how far each checkpoint is behind the tip.
  std::map<std::string, poll::IteratorStart> positions;
  for (const auto& [id, s] : cp.shards) {
    if (s.state == checkpoint::ShardCheckpoint::State::kFinished) continue;
    poll::IteratorStart start;
    if (!s.sequence.empty()) {
      start = {poll::IteratorType::kAfterSequenceNumber, s.sequence, 0};
    } else if (s.start == checkpoint::ShardCheckpoint::Start::kAtTimestamp) {
      start = {poll::IteratorType::kAtTimestamp, "", s.start_timestamp_ms};
    }
    positions[id] = start;
  }
  const StreamProbe probe = ProbeStream(*cfg, positions);
  std::printf("%-24s %-9s %-58s %-10s %s\n", "SHARD", "STATE", "DURABLE THROUGH", "BEHIND", "PARENTS");
  for (const auto& [id, s] : cp.shards) {
    std::string seq = s.sequence.empty()
                          ? (s.start == checkpoint::ShardCheckpoint::Start::kAtTimestamp
                                 ? "(none yet; starts at " + decode::FormatIsoMillis(s.start_timestamp_ms * 1000) + ")"
                                 : std::string("(none yet; starts at TRIM_HORIZON)"))
                          : s.sequence;
    std::string parents = s.parent;
    if (!s.adjacent_parent.empty()) parents += "+" + s.adjacent_parent;
    auto listed = probe.closed.find(id);
    std::string st = s.state == checkpoint::ShardCheckpoint::State::kFinished ? "finished"
                     : listed != probe.closed.end()                           ? (listed->second ? "closed" : "open")
                     : probe.unreachable.empty()                              ? "gone"
                                                                              : "open";
    auto lagged = probe.lag.find(id);
    std::string lag = lagged != probe.lag.end() ? FormatLag(lagged->second) : (st == "finished" ? "-" : "?");
    std::printf("%-24s %-9s %-58s %-10s %s\n", id.c_str(), st.c_str(), seq.c_str(), lag.c_str(),
                parents.empty() ? "-" : parents.c_str());
  }
  if (!probe.unreachable.empty()) {
    std::printf("\n(stream not reachable, lag unknown: %s)\n", probe.unreachable.c_str());
  }
  size_t uploading = 0;
  for (const auto& c : cp.pending) uploading += !c.uploaded;
  if (!cp.pending.empty()) {
    std::printf("\njournal: %zu batch cut(s), %zu not yet confirmed uploaded (re-formed on the next start)\n",
                cp.pending.size(), uploading);
  }
  return kExitOk;
}

int CheckpointRewindCommand(const CommonOptions& options, const RewindOptions& r) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  const int targets = !r.to_sequence.empty() + r.to_trim_horizon + !r.to_timestamp.empty();
  if (targets != 1) {
    std::fprintf(stderr, "shardhose: give exactly one of --to-sequence, --to-trim-horizon, --to-timestamp\n");
    return kExitUsage;
  }
  if (!r.to_sequence.empty() && !IsValidSeq(r.to_sequence)) {
    std::fprintf(stderr, "shardhose: --to-sequence '%s' is not a sequence number\n", r.to_sequence.c_str());
    return kExitUsage;
  }
  int64_t ts_ms = 0;
  if (!r.to_timestamp.empty()) {
    auto ts = config::ParseRfc3339Millis(r.to_timestamp);
    if (!ts.ok()) {
      std::fprintf(stderr, "shardhose: --to-timestamp: %s\n", ts.status().message().c_str());
      return kExitUsage;
    }
    ts_ms = *ts;
  }
  checkpoint::CheckpointFile file(FileSystem::Default(), cfg->checkpoint.path);
  auto lock = file.Lock();
  if (!lock.ok()) {
    std::fprintf(stderr, "shardhose: %s\n", lock.status().message().c_str());
    return ExitForCheckpointAccess(lock.status());
  }
  auto loaded = file.Load();
  if (!loaded.ok() || !loaded->has_value()) {
    std::fprintf(
        stderr, "shardhose: %s\n",
        loaded.ok() ? ("no checkpoint at " + cfg->checkpoint.path).c_str() : loaded.status().ToString().c_str());
    return loaded.ok() ? kExitFailure : ExitFor(loaded.status());
  }
  checkpoint::Checkpoint cp = **loaded;
  auto it = cp.shards.find(r.shard);
  if (it == cp.shards.end()) {
    std::fprintf(stderr, "shardhose: shard '%s' is not in the checkpoint (see `shardhose checkpoint`)\n",
                 r.shard.c_str());
    return kExitUsage;
  }
  checkpoint::ShardCheckpoint after = it->second;
  after.state = checkpoint::ShardCheckpoint::State::kOpen;
  after.caught_up_ms = 0;
  if (!r.to_sequence.empty()) {
    after.sequence = r.to_sequence;
  } else {
    after.sequence.clear();
    after.start = r.to_trim_horizon ? checkpoint::ShardCheckpoint::Start::kTrimHorizon
                                    : checkpoint::ShardCheckpoint::Start::kAtTimestamp;
    after.start_timestamp_ms = r.to_trim_horizon ? 0 : ts_ms;
  }
  size_t dropped = 0;
  std::vector<checkpoint::PendingCut> kept;
  for (auto& c : cp.pending) {
    if (c.ranges.count(r.shard)) {
      ++dropped;
    } else {
      kept.push_back(std::move(c));
    }
  }
  std::printf("checkpoint %s, shard %s:\n  now:   %s\n  after: %s\n", cfg->checkpoint.path.c_str(), r.shard.c_str(),
              Describe(it->second).c_str(), Describe(after).c_str());
  if (dropped) std::printf("  and %zu journaled batch cut(s) covering this shard are forgotten\n", dropped);
  std::printf(
      "Records of this shard after the new position are delivered again; those already in S3 will be\n"
      "written again as new objects (duplicates, at your request). Moving forward skips records.\n");
  if (!Confirmed(r.yes)) return kExitUsage;
  it->second = after;
  cp.pending = std::move(kept);
  cp.generation++;
  Status st = file.Save(cp);
  if (!st.ok()) {
    std::fprintf(stderr, "shardhose: %s\n", st.ToString().c_str());
    return kExitFailure;
  }
  std::printf("done\n");
  return kExitOk;
}

int CheckpointResetCommand(const CommonOptions& options, bool yes) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  const std::string& path = cfg->checkpoint.path;
  checkpoint::CheckpointFile file(FileSystem::Default(), path);
  auto lock = file.Lock();
  if (!lock.ok()) {
    std::fprintf(stderr, "shardhose: %s\n", lock.status().message().c_str());
    return ExitForCheckpointAccess(lock.status());
  }
  FileSystem* fs = FileSystem::Default();
  if (!fs->Exists(path)) {
    std::printf("no checkpoint at %s: nothing to reset\n", path.c_str());
    return kExitOk;
  }
  auto loaded = file.Load();
  // A name no earlier reset took (two resets within one second would
  // otherwise overwrite the first one's copy).
  std::string aside = fmt::format("{}.reset-{}", path, ::time(nullptr));
  for (int n = 2; fs->Exists(aside); ++n) aside = fmt::format("{}.reset-{}-{}", path, ::time(nullptr), n);
  std::printf("checkpoint %s (%s)\n  will be moved to %s\n  and the next start begins at source.initial_position = %s",
              path.c_str(), loaded.ok() ? "valid" : loaded.status().message().c_str(), aside.c_str(),
              std::string(config::InitialPositionName(cfg->source.initial_position)).c_str());
  if (cfg->source.initial_position == config::InitialPosition::kAtTimestamp) {
    std::printf(" (%s)", cfg->source.initial_timestamp.c_str());
  }
  std::printf("\n");
  if (!Confirmed(yes)) return kExitUsage;
  Status st = fs->Rename(path, aside);
  if (st.ok()) st = fs->SyncDir(DirName(path));
  if (!st.ok()) {
    std::fprintf(stderr, "shardhose: %s\n", st.ToString().c_str());
    return kExitFailure;
  }
  std::printf("done\n");
  return kExitOk;
}

}  // namespace shardhose::daemon

#include "leases_command.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "aws/credentials_chain.h"
#include "aws/curl_http.h"
#include "aws/dynamodb.h"
#include "common/clock.h"
#include "common/logging.h"
#include "lease/dynamodb_lease_table.h"

namespace shardhose::daemon {
namespace {

// "open", "closed", "gone" (not listed by a stream that answered), or ""
// (unknown: the stream was not reachable).
std::string StreamState(const StreamProbe& probe, const std::string& shard) {
  if (!probe.unreachable.empty()) return "";
  auto it = probe.closed.find(shard);
  if (it == probe.closed.end()) return "gone";
  return it->second ? "closed" : "open";
}

std::string Ago(int64_t now_ms, int64_t then_ms) {
  const int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 120) return fmt::format("{} s ago", s);
  if (s < 7200) return fmt::format("{} min ago", s / 60);
  return fmt::format("{} h ago", s / 3600);
}

std::string Join(const std::vector<std::string>& v) {
  if (v.empty()) return "-";
  std::string out = v.front();
  for (size_t i = 1; i < v.size(); ++i) out.append("+").append(v[i]);
  return out;
}

// Where a lease's checkpoint resumes, for the lag probe; false when there is
// nothing left to read (SHARD_END).
bool ResumeAt(const lease::Lease& l, poll::IteratorStart* start) {
  if (l.finished()) return false;
  if (l.checkpoint == lease::kTrimHorizon) {
    *start = {poll::IteratorType::kTrimHorizon, "", 0};
  } else if (l.checkpoint == lease::kLatest) {
    *start = {poll::IteratorType::kLatest, "", 0};
  } else if (l.checkpoint == lease::kAtTimestamp) {
    *start = {poll::IteratorType::kAtTimestamp, "", l.start_ms};
  } else {
    *start = {poll::IteratorType::kAfterSequenceNumber, l.checkpoint, 0};
  }
  return true;
}

}  // namespace

std::string RenderLeasesText(const LeasesView& v) {
  std::map<std::string, int> held;
  size_t free = 0, finished = 0;
  for (const auto& l : v.leases) {
    if (l.finished()) {
      ++finished;
    } else if (l.owner.empty()) {
      ++free;
    } else {
      ++held[l.owner];
    }
  }
  std::string out = fmt::format("{}: {} leases ({} finished, {} free), {} workers\n\n", v.table, v.leases.size(),
                                finished, free, v.workers.size());
  out += fmt::format("{:<24} {:<9} {:<20} {:>7} {:<10} {:<12} {:>7} {:<28} {}\n", "SHARD", "STATE", "OWNER", "COUNTER",
                     "BEHIND", "CAUGHT UP", "PENDING", "PARENTS", "CHECKPOINT");
  for (const auto& l : v.leases) {
    const std::string listed = StreamState(v.stream, l.key);
    const std::string state = l.finished() ? "finished" : listed.empty() ? "?" : listed;
    auto lag = v.stream.lag.find(l.key);
    const std::string behind = l.finished() ? "-" : lag != v.stream.lag.end() ? FormatLag(lag->second) : "?";
    out += fmt::format("{:<24} {:<9} {:<20} {:>7} {:<10} {:<12} {:>7} {:<28} {}\n", l.key, state,
                       l.owner.empty() ? "(free)" : l.owner, l.counter, behind,
                       l.caught_up_ms > 0 ? Ago(v.now_ms, l.caught_up_ms) : "never", l.journal.size(), Join(l.parents),
                       l.checkpoint);
  }
  out += fmt::format("\n{:<32} {:>7} {}\n", "WORKER", "LEASES", "LAST HEARTBEAT (its clock)");
  for (const auto& w : v.workers) {
    auto h = held.find(w.worker_id);
    out += fmt::format("{:<32} {:>7} {}\n", w.worker_id, h == held.end() ? 0 : h->second, Ago(v.now_ms, w.written_ms));
  }
  if (!v.stream.unreachable.empty()) {
    out += fmt::format("\n(stream not reachable, lag unknown: {})\n", v.stream.unreachable);
  }
  return out;
}

std::string RenderLeasesJson(const LeasesView& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&w](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  auto str_or_null = [&](const std::string& s) {  // "" -> null
    if (s.empty()) {
      w.Null();
    } else {
      str(s);
    }
  };
  auto strings = [&](const std::vector<std::string>& v) {
    w.StartArray();
    for (const auto& s : v) str(s);
    w.EndArray();
  };
  w.StartObject();
  w.Key("table");
  str(v.table);
  w.Key("now_ms");
  w.Int64(v.now_ms);
  w.Key("stream_unreachable");
  str_or_null(v.stream.unreachable);
  w.Key("leases");
  w.StartArray();
  for (const auto& l : v.leases) {
    w.StartObject();
    w.Key("shard");
    str(l.key);
    w.Key("owner");
    str_or_null(l.owner);
    w.Key("counter");
    w.Int64(l.counter);
    w.Key("checkpoint");
    str(l.checkpoint);
    w.Key("checkpoint_sub");
    w.Int64(l.checkpoint_sub);
    w.Key("owner_switches");
    w.Int64(l.owner_switches);
    w.Key("finished");
    w.Bool(l.finished());
    w.Key("stream_state");
    str_or_null(StreamState(v.stream, l.key));
    auto lag = v.stream.lag.find(l.key);
    w.Key("millis_behind");
    if (lag == v.stream.lag.end()) {
      w.Null();
    } else {
      w.Int64(lag->second.millis_behind);
    }
    w.Key("caught_up");
    if (lag == v.stream.lag.end()) {
      w.Null();
    } else {
      w.Bool(lag->second.caught_up);
    }
    w.Key("millis_behind_estimated");  // DynamoDB Streams: the age of the first change after the checkpoint
    if (lag == v.stream.lag.end()) {
      w.Null();
    } else {
      w.Bool(lag->second.estimated);
    }
    w.Key("caught_up_at_ms");
    if (l.caught_up_ms > 0) {
      w.Int64(l.caught_up_ms);
    } else {
      w.Null();
    }
    w.Key("pending_cuts");
    w.Uint64(l.journal.size());
    w.Key("parents");
    strings(l.parents);
    w.Key("children");
    strings(l.children);
    w.EndObject();
  }
  w.EndArray();
  w.Key("workers");
  w.StartArray();
  for (const auto& b : v.workers) {
    w.StartObject();
    w.Key("worker_id");
    str(b.worker_id);
    w.Key("leases");
    w.Int64(b.leases);
    w.Key("beat");
    w.Int64(b.beat);
    w.Key("written_ms");
    w.Int64(b.written_ms);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

int LeasesCommand(const CommonOptions& options, bool json) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  if (cfg->coordination.mode != config::CoordinationMode::kDynamoDb) {
    std::fprintf(stderr,
                 "shardhose: coordination.mode is \"local\": there is no lease table (see `shardhose checkpoint "
                 "show`)\n");
    return kExitUsage;
  }
  auto http = aws::NewCurlHttpClient();
  auto creds = aws::NewDefaultCredentialsProvider(aws::ProcessEnv(), http.get(), Clock::Real());
  aws::DynamoDbOptions dopts;
  dopts.region = cfg->CoordinationRegion();
  dopts.endpoint_url = cfg->coordination.endpoint_url;
  aws::DynamoDbClient client(dopts, http.get(), creds.get(), Clock::Real());
  lease::DynamoDbLeaseTableOptions topts;
  topts.table = cfg->LeaseTableName();
  auto table = lease::NewDynamoDbLeaseTable(topts, &client, Clock::Real());

  LeasesView view;
  view.table = table->Describe();
  auto leases = table->List();
  if (!leases.ok()) {
    std::fprintf(stderr, "shardhose: %s: %s\n", view.table.c_str(), leases.status().ToString().c_str());
    return kExitFailure;
  }
  auto workers = table->ListWorkers();
  if (!workers.ok()) {
    std::fprintf(stderr, "shardhose: %s-workers: %s\n", topts.table.c_str(), workers.status().ToString().c_str());
    return kExitFailure;
  }
  view.leases = std::move(leases).value();
  view.workers = std::move(workers).value();
  std::sort(view.leases.begin(), view.leases.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  std::sort(view.workers.begin(), view.workers.end(),
            [](const auto& a, const auto& b) { return a.worker_id < b.worker_id; });
  std::map<std::string, poll::IteratorStart> positions;
  for (const auto& l : view.leases) {
    poll::IteratorStart start;
    if (ResumeAt(l, &start)) positions[l.key] = start;
  }
  view.stream = ProbeStream(*cfg, positions);
  view.now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::Real()->WallNow().time_since_epoch()).count();
  const std::string out = json ? RenderLeasesJson(view) : RenderLeasesText(view);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace shardhose::daemon

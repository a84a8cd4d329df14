// `shardhose tap` (tap_command.h): the reader's decode and partition steps
// (pipeline/reader.cc) without the batcher, the uploader or the checkpoint.
//
// One thread. Shards are polled round-robin; after a round that printed
// nothing it waits source.idle_poll_interval_ms, otherwise
// source.poll_interval_ms (>= 200 ms keeps within Kinesis's 5 GetRecords per
// second per shard). Retryable failures are retried with the daemon's
// backoff, a few times, then the command fails.
#include "tap_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aws/credentials_chain.h"
#include "aws/curl_http.h"
#include "checkpoint/checkpoint_file.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "decode/change_record.h"
#include "decode/json_text.h"
#include "decode/kpl.h"
#include "partition/template.h"
#include "source_factory.h"

namespace shardhose::daemon {
namespace {

constexpr int kAttempts = 5;

struct TapShard {
  std::string id;
  poll::IteratorStart start;
  std::string iterator;
  std::string last_seq;  // of the last record read: where a new iterator resumes
  // Since when polls have come back empty (the last record's poll, or the
  // first poll); a source without MillisBehindLatest is at its tip after
  // poll::kQuietCaughtUp of them.
  std::optional<std::chrono::steady_clock::time_point> empty_since;
  bool done = false;
};

// `call` until it succeeds, fails for good, or kAttempts retryable failures.
template <typename F>
auto Retry(const char* what, F call) -> decltype(call()) {
  Backoff backoff;
  for (int attempt = 1;; ++attempt) {
    auto r = call();
    if (r.ok() || !r.status().IsRetryable() || attempt == kAttempts) return r;
    const auto delay = backoff.Next(r.status().retry_class());
    std::fprintf(stderr, "shardhose tap: %s failed (%s), retrying in %lld ms\n", what, r.status().ToString().c_str(),
                 static_cast<long long>(delay.count()));
    std::this_thread::sleep_for(delay);
  }
}

// Status has no ok()-returning value; adapts it to Retry.
struct StatusResult {
  Status st;
  bool ok() const { return st.ok(); }
  const Status& status() const { return st; }
};

poll::IteratorStart FromConfig(const config::Config& cfg) {
  switch (cfg.source.initial_position) {
    case config::InitialPosition::kLatest:
      return {poll::IteratorType::kLatest, "", 0};
    case config::InitialPosition::kAtTimestamp:
      return {poll::IteratorType::kAtTimestamp, "", cfg.source.initial_timestamp_ms};
    case config::InitialPosition::kTrimHorizon:
      break;
  }
  return {};
}

class Printer {
 public:
  explicit Printer(bool json) : json_(json) {}

  void Print(std::string_view shard, std::string_view position, int64_t arrival_ms, const std::string& prefix,
             const decode::DecodedRecord& rec) {
    std::string out;
    std::string_view line = rec.line;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (json_) {
      out = "{\"shard\":";
      decode::AppendJsonStringLossy(shard, &out);
      out += ",\"position\":";
      decode::AppendJsonStringLossy(position, &out);
      out += fmt::format(",\"arrival_time_ms\":{},\"prefix\":", arrival_ms);
      decode::AppendJsonStringLossy(prefix, &out);
      out += ",\"error\":";
      if (rec.ok) {
        out += "null";
      } else {
        decode::AppendJsonStringLossy(rec.error, &out);
      }
      out += ",\"line\":";
      decode::AppendJsonStringLossy(line, &out);
      out += "}\n";
    } else {
      out = fmt::format("# {} {} -> {}\n", shard, position, prefix.empty() ? "(bucket root)" : prefix);
      if (!rec.ok) out += fmt::format("#   error: {}\n", rec.error);
      out.append(line);
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);  // Ctrl-C loses nothing already read
  }

 private:
  const bool json_;
};

}  // namespace

int TapCommand(const CommonOptions& options, const TapOptions& tap) {
  if (tap.count < 1) {
    std::fprintf(stderr, "shardhose tap: -n must be at least 1\n");
    return kExitUsage;
  }
  if (tap.from != "trim_horizon" && tap.from != "latest" && tap.from != "checkpoint") {
    std::fprintf(stderr, "shardhose tap: --from must be trim_horizon, latest or checkpoint\n");
    return kExitUsage;
  }
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;

  // What the records would be written under.
  auto record_prefix = partition::KeyTemplate::Parse(cfg->output.prefix, partition::TemplateKind::kRecord);
  auto error_prefix = partition::KeyTemplate::Parse(cfg->output.error_prefix, partition::TemplateKind::kError);
  if (!record_prefix.ok() || !error_prefix.ok()) return kExitUsage;  // Load() checked them

  // Where each shard starts, for --from checkpoint.
  std::optional<checkpoint::Checkpoint> cp;
  if (tap.from == "checkpoint") {
    checkpoint::CheckpointFile file(FileSystem::Default(), cfg->checkpoint.path);
    auto loaded = file.Load();  // read only: no lock, no write
    if (!loaded.ok()) {
      std::fprintf(stderr, "shardhose tap: %s\n", loaded.status().ToString().c_str());
      return ExitFor(loaded.status());
    }
    if (!loaded->has_value()) {
      std::fprintf(stderr, "shardhose tap: --from checkpoint: no checkpoint at %s\n", cfg->checkpoint.path.c_str());
      return kExitUsage;
    }
    cp = std::move(**loaded);
  }

  auto http = aws::NewCurlHttpClient();
  auto creds = aws::NewDefaultCredentialsProvider(aws::ProcessEnv(), http.get(), Clock::Real());
  if (auto c = creds->Get(); !c.ok()) {
    std::fprintf(stderr, "shardhose tap: no AWS credentials: %s\n", c.status().ToString().c_str());
    return kExitFailure;
  }
  ConfiguredSource configured = NewConfiguredSource(*cfg, http.get(), creds.get(), Clock::Real());
  poll::ChangeSource* source = configured.source.get();
  const bool streams = source->format() == poll::RecordFormat::kDynamoDbStreams;

  auto summary = Retry("Describe", [&] { return source->Describe(); });
  if (!summary.ok()) {
    std::fprintf(stderr, "shardhose tap: %s\n", summary.status().ToString().c_str());
    return kExitFailure;
  }
  const std::string stream = summary->name.empty() ? cfg->StreamDisplayName() : summary->name;
  auto listed = Retry("ListShards", [&] { return source->ListShards(); });
  if (!listed.ok()) {
    std::fprintf(stderr, "shardhose tap: %s\n", listed.status().ToString().c_str());
    return kExitFailure;
  }

  std::vector<TapShard> shards;
  for (const poll::ShardInfo& info : *listed) {
    if (!tap.shard.empty() && info.id != tap.shard) continue;
    TapShard s;
    s.id = info.id;
    if (tap.from == "latest") {
      s.start = {poll::IteratorType::kLatest, "", 0};
    } else if (tap.from == "checkpoint") {
      auto it = cp->shards.find(info.id);
      if (it == cp->shards.end()) {
        s.start = FromConfig(*cfg);
      } else if (it->second.state == checkpoint::ShardCheckpoint::State::kFinished) {
        continue;  // read to its end and durable: nothing left
      } else if (!it->second.sequence.empty()) {
        s.start = {poll::IteratorType::kAfterSequenceNumber, it->second.sequence, 0};
      } else if (it->second.start == checkpoint::ShardCheckpoint::Start::kAtTimestamp) {
        s.start = {poll::IteratorType::kAtTimestamp, "", it->second.start_timestamp_ms};
      }
    }
    shards.push_back(std::move(s));
  }
  if (!tap.shard.empty() && shards.empty()) {
    std::string known;
    for (const poll::ShardInfo& info : *listed) known += (known.empty() ? "" : ", ") + info.id;
    std::fprintf(
        stderr, "shardhose tap: --shard %s: %s\n", tap.shard.c_str(),
        std::any_of(listed->begin(), listed->end(), [&](const poll::ShardInfo& i) { return i.id == tap.shard; })
            ? "finished in the checkpoint: nothing left to read"
            : fmt::format("not a shard of {} (shards: {})", stream, known).c_str());
    return kExitUsage;
  }
  std::sort(shards.begin(), shards.end(), [](const TapShard& a, const TapShard& b) { return a.id < b.id; });

  decode::Decoder decoder(cfg->output.format == config::OutputFormat::kRaw ? decode::OutputFormat::kRaw
                                                                           : decode::OutputFormat::kUnmarshalled,
                          stream, streams ? decode::InputFormat::kStreamsRecord : decode::InputFormat::kKinesisData,
                          stream);
  decode::KplSplitter splitter(/*aggregation=*/!streams);
  decode::DecodedRecord rec;
  std::vector<decode::KplUnit> units;
  poll::RecordsPage page;
  std::string prefix;
  Printer printer(tap.format == "json");
  int64_t printed = 0;
  int64_t records = 0;
  int64_t errors = 0;
  const bool follow = tap.from == "latest";
  if (follow)
    std::fprintf(stderr, "shardhose tap: waiting for new records on %zu shard(s) (Ctrl-C stops)\n", shards.size());

  while (printed < tap.count) {
    bool active = false;
    bool got = false;
    for (TapShard& s : shards) {
      if (s.done || printed >= tap.count) continue;
      active = true;
      if (s.iterator.empty()) {
        poll::IteratorStart start = s.start;
        if (!s.last_seq.empty()) start = {poll::IteratorType::kAfterSequenceNumber, s.last_seq, 0};
        auto it = Retry("GetShardIterator", [&] { return source->GetShardIterator(s.id, start); });
        if (!it.ok()) {
          std::fprintf(stderr, "shardhose tap: shard %s: %s\n", s.id.c_str(), it.status().ToString().c_str());
          return kExitFailure;
        }
        s.iterator = std::move(it).value();
      }
      const int limit = static_cast<int>(std::min<int64_t>(tap.count - printed, cfg->source.max_records_per_call));
      auto got_page = Retry("GetRecords", [&] { return StatusResult{source->GetRecords(s.iterator, limit, &page)}; });
      if (!got_page.ok()) {
        if (got_page.st.peer_code() == "ExpiredIteratorException") {
          s.iterator.clear();
          continue;
        }
        std::fprintf(stderr, "shardhose tap: shard %s: %s\n", s.id.c_str(), got_page.st.ToString().c_str());
        return kExitFailure;
      }
      for (const poll::KinesisRecordView& r : page.records) {
        if (printed >= tap.count) break;
        ++records;
        splitter.Split(r, &units);
        for (const decode::KplUnit& u : units) {
          if (u.error.empty()) {
            decoder.Decode(u.view, s.id, &rec);
          } else {
            decoder.WriteErrorLine(decode::kBadAggregate, u.error, u.view, s.id, &rec);
          }
          prefix.clear();
          const partition::PartitionFields f{rec.table, rec.event_name,    stream,           s.id,
                                             rec.error, rec.event_time_us, u.view.arrival_ms};
          (rec.ok ? *record_prefix : *error_prefix).Render(f, &prefix);
          printer.Print(s.id, u.position, u.view.arrival_ms, prefix, rec);
          if (!rec.ok) ++errors;
        }
        ++printed;
        s.last_seq.assign(r.sequence_number);
        got = true;
      }
      // A page cut short by -n leaves the iterator behind: never reused.
      s.iterator = page.next_iterator;
      if (page.next_iterator.empty()) s.done = true;  // closed and read to its end
      const auto now = std::chrono::steady_clock::now();
      if (!page.records.empty() || !s.empty_since) s.empty_since = now;
      if (!follow && page.records.empty() &&  // at the tip (poll/change_source.h)
          (page.millis_behind == 0 || (page.millis_behind < 0 && now - *s.empty_since >= poll::kQuietCaughtUp))) {
        s.done = true;
      }
    }
    if (!active || printed >= tap.count) break;
    const int64_t wait_ms = got ? cfg->source.poll_interval_ms : cfg->source.idle_poll_interval_ms;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(wait_ms, 200)));
  }
  std::fprintf(stderr, "shardhose tap: %lld record(s) from %s%s; nothing was written\n",
               static_cast<long long>(records), stream.c_str(),
               errors ? fmt::format(", {} line(s) would go to the error prefix", errors).c_str() : "");
  return kExitOk;
}

}  // namespace shardhose::daemon

// The whole engine in one process (pipeline/pipeline.h: poller threads
// reading shards into shared batches, uploader threads finishing and
// putting them), run with source.poll_threads = 1 and then 2, to show
// whether it uses the cores it has. Issue target: with poll_threads = 2 on
// 2 cores, throughput >= 1.7x the same run on 1 core, with CPU-s/GB no worse.
//
//   source      N shards (--shards, default 4) served from GetRecords
//               response bodies generated up front (bench/change_records.h,
//               up to 1000 records a page, as bench/hot_path_bench.cc makes
//               them), ~--mb MB of decoded Data in all (default 400). Each
//               call copies the body into page->body, as a network read
//               would, and parses it with poll::ParseGetRecords. The last
//               page of a shard says MillisBehindLatest 0; after it the
//               shard stays open and empty, so Run(drain=true) ends.
//   store       discards what is Put and counts its bytes (no hashing, no
//               HTTP: the figures are the engine's own cost).
//   checkpoint  in memory (each Save encodes it, then keeps the bytes).
//   config      the daemon's defaults (config::Config{}), with
//               poll_interval_ms = 0 and idle_poll_interval_ms = 1 so polling
//               is never throttled, and the run's poll_threads.
//
// For each setting a round builds a Pipeline on Clock::Real() and times
// construction + Start() + Run(true) + destruction: wall time, and the
// process's CPU time (getrusage RUSAGE_SELF, user + sys). Settings
// alternate within each round, so a change in the machine's load hits both.
// Reports MB/s of decoded Data over wall time and CPU-s per GB of it, the
// median of --rounds (default 3), as a Markdown table, then the ratios
// setting 2 / setting 1. "cores busy" is CPU s / wall s: below the
// setting's poll_threads on an idle machine means the engine waits on
// itself; on a loaded one, that other processes had the cores.
//
// Usage: pipeline_bench [--mb MB] [--shards N] [--rounds R] [--threads T]
//   --threads T runs only poll_threads = T (no ratios), e.g. for the 1-core
//   figure: taskset -c 0 pipeline_bench --threads 1
// The header line gives the CPUs the process may run on and the load
// average, before and after. Figures are reported, never asserted.
#include <sched.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "change_records.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_store.h"
#include "common/base64.h"
#include "common/clock.h"
#include "config/config.h"
#include "pipeline/pipeline.h"
#include "poll/change_source.h"
#include "poll/kinesis_client.h"
#include "upload/object_store.h"

namespace {

using namespace shardhose;
using bench::CpuSeconds;
using bench::DiscardStore;
using bench::LoadAverage;

constexpr int kPageRecords = 1000;
const std::string kSeqPrefix = "4968047197856839626837198121063461017808541286720";
constexpr int64_t kSeqBase = 1000000;  // record i of a shard: kSeqPrefix + (kSeqBase + i), fixed width

std::string ShardId(size_t s) {
  char id[32];
  std::snprintf(id, sizeof id, "shardId-%012zu", s);
  return id;
}

// Iterators are "<shard>:<page>"; page == the shard's page count is the
// open, empty tip.
std::string Iterator(size_t shard, size_t page) { return std::to_string(shard) + ":" + std::to_string(page); }

// A stream of pre-generated shards. Stateless once built (an iterator says
// where it is), so one source serves every round. Thread-safe.
class ReplaySource : public poll::ChangeSource {
 public:
  // About `data_bytes` of decoded Data, split evenly over `shards`.
  ReplaySource(size_t shards, uint64_t data_bytes) {
    const uint64_t per_shard = data_bytes / shards;
    for (size_t s = 0; s < shards; ++s) {
      std::mt19937_64 rng(42 + s);
      Shard& shard = shards_.emplace_back();
      shard.id = ShardId(s);
      // The records first, then the pages (a page's MillisBehindLatest
      // depends on how many follow it).
      std::vector<std::string> data;
      uint64_t bytes = 0;
      for (int64_t i = 0; bytes < per_shard; ++i) {
        data.push_back(bench::ChangeRecord(rng, i));
        bytes += data.back().size();
      }
      data_bytes_ += bytes;
      records_ += data.size();
      const size_t pages = (data.size() + kPageRecords - 1) / kPageRecords;
      for (size_t p = 0; p < pages; ++p) {
        std::string body = "{\"Records\":[";
        for (size_t i = p * kPageRecords; i < std::min(data.size(), (p + 1) * kPageRecords); ++i) {
          if (i != p * kPageRecords) body += ',';
          body += "{\"Data\":\"" + Base64Encode(data[i]) + "\",\"PartitionKey\":\"pk\",\"SequenceNumber\":\"" + Seq(i) +
                  "\",\"ApproximateArrivalTimestamp\":1716200000.123}";
        }
        body += "],\"NextShardIterator\":\"" + Iterator(s, p + 1) +
                "\",\"MillisBehindLatest\":" + std::to_string((pages - 1 - p) * 1000) + "}";
        body_bytes_ += body.size();
        shard.pages.push_back(std::move(body));
      }
      shard.tip = "{\"Records\":[],\"NextShardIterator\":\"" + Iterator(s, pages) + "\",\"MillisBehindLatest\":0}";
    }
  }

  uint64_t data_bytes() const { return data_bytes_; }
  uint64_t records() const { return records_; }
  uint64_t body_bytes() const { return body_bytes_; }

  Result<poll::StreamSummary> Describe() override {
    return poll::StreamSummary{"bench-stream", "", "ACTIVE", 24, static_cast<int64_t>(shards_.size())};
  }

  Result<std::vector<poll::ShardInfo>> ListShards() override {
    std::vector<poll::ShardInfo> out;
    for (const Shard& s : shards_) out.push_back(poll::ShardInfo{s.id, "", "", Seq(0), "", "", ""});
    return out;
  }

  // TRIM_HORIZON, or after a sequence number that ends a page (all the
  // engine asks of a source that never fails).
  Result<std::string> GetShardIterator(const std::string& shard_id, const poll::IteratorStart& start) override {
    for (size_t s = 0; s < shards_.size(); ++s) {
      if (shards_[s].id != shard_id) continue;
      if (start.type == poll::IteratorType::kTrimHorizon) return Iterator(s, 0);
      if (start.type == poll::IteratorType::kAfterSequenceNumber && start.sequence.size() > kSeqPrefix.size()) {
        const int64_t next = std::atoll(start.sequence.c_str() + kSeqPrefix.size()) - kSeqBase + 1;
        if (next >= 0 && next % kPageRecords == 0) {
          return Iterator(s, std::min<size_t>(next / kPageRecords, shards_[s].pages.size()));
        }
      }
      return Status::InvalidArgument("pipeline_bench: unsupported iterator start for " + shard_id);
    }
    return Status::NotFound("pipeline_bench: no shard " + shard_id);
  }

  Status GetRecords(const std::string& iterator, int /*limit: pages hold 1000*/, poll::RecordsPage* page) override {
    const size_t colon = iterator.find(':');
    const size_t s = std::strtoul(iterator.c_str(), nullptr, 10);
    const size_t p = std::strtoul(iterator.c_str() + colon + 1, nullptr, 10);
    if (colon == std::string::npos || s >= shards_.size() || p > shards_[s].pages.size()) {
      return Status::InvalidArgument("pipeline_bench: bad iterator " + iterator);
    }
    const Shard& shard = shards_[s];
    page->body.assign(p < shard.pages.size() ? shard.pages[p] : shard.tip);  // the "network read"
    return poll::ParseGetRecords(page);
  }

  poll::RecordFormat format() const override { return poll::RecordFormat::kKinesisDynamoDb; }

 private:
  struct Shard {
    std::string id;
    std::vector<std::string> pages;
    std::string tip;  // the empty page after the last one
  };

  static std::string Seq(size_t i) { return kSeqPrefix + std::to_string(kSeqBase + static_cast<int64_t>(i)); }

  std::vector<Shard> shards_;
  uint64_t data_bytes_ = 0, records_ = 0, body_bytes_ = 0;
};

// The checkpoint in memory, encoded on every Save as the file store would.
class MemCheckpoint : public checkpoint::CheckpointStore {
 public:
  Status Acquire() override { return Status::OK(); }
  Result<std::optional<checkpoint::Checkpoint>> Load() override { return std::optional<checkpoint::Checkpoint>{}; }
  Status Save(const checkpoint::Checkpoint& cp) override {
    bytes_ = checkpoint::Encode(cp);
    return Status::OK();
  }
  std::string Describe() const override { return "memory"; }

 private:
  std::string bytes_;
};

int AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Figures {
  std::vector<double> wall_s, cpu_s;
  uint64_t out_bytes = 0, objects = 0;
};

// One drain of the whole stream with `poll_threads` pollers.
bool RunOnce(ReplaySource& source, int64_t poll_threads, Figures* f) {
  config::Config cfg;  // the daemon's defaults
  cfg.source.stream_name = "bench-stream";
  cfg.source.poll_interval_ms = 0;
  cfg.source.idle_poll_interval_ms = 1;
  cfg.source.poll_threads = poll_threads;
  cfg.output.bucket = "bench";
  DiscardStore store;
  MemCheckpoint checkpoint;

  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  Status st;
  {
    pipeline::Pipeline p(cfg, pipeline::Deps{&source, &store, &checkpoint, Clock::Real(), nullptr});
    st = p.Start();
    if (st.ok()) st = p.Run(/*drain=*/true);
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double cpu1 = CpuSeconds();
  if (!st.ok()) {
    std::fprintf(stderr, "poll_threads=%lld: %s\n", static_cast<long long>(poll_threads), st.ToString().c_str());
    return false;
  }
  f->wall_s.push_back(std::chrono::duration<double>(t1 - t0).count());
  f->cpu_s.push_back(cpu1 - cpu0);
  f->out_bytes = store.bytes();
  f->objects = store.objects();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t mb = 400, shards = 4, rounds = 3, only = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int64_t v = std::atoll(argv[i + 1]);
    if (a == "--mb")
      mb = v;
    else if (a == "--shards")
      shards = v;
    else if (a == "--rounds")
      rounds = v;
    else if (a == "--threads")
      only = v;
    else {
      std::fprintf(stderr, "usage: pipeline_bench [--mb MB] [--shards N] [--rounds R] [--threads T]\n");
      return 2;
    }
  }
  if (mb < 1 || shards < 1 || rounds < 1 || only < 0) {
    std::fprintf(stderr, "pipeline_bench: --mb, --shards and --rounds must be >= 1\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);  // the engine's info lines are not the figures

  ReplaySource source(static_cast<size_t>(shards), static_cast<uint64_t>(mb) * 1000000);
  const std::vector<int64_t> settings = only ? std::vector<int64_t>{only} : std::vector<int64_t>{1, 2};
  const std::string load_before = LoadAverage();
  std::vector<Figures> figures(settings.size());
  for (int64_t r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < settings.size(); ++k) {
      if (!RunOnce(source, settings[k], &figures[k])) return 1;
    }
  }

  const double data_mb = static_cast<double>(source.data_bytes()) / 1e6;
  std::printf(
      "pipeline_bench: %lld shards, %.1f MB decoded Data (%llu records, %.1f MB of responses), "
      "%d CPUs allowed, median of %lld; load average before %s, after %s\n\n",
      static_cast<long long>(shards), data_mb, static_cast<unsigned long long>(source.records()),
      static_cast<double>(source.body_bytes()) / 1e6, AllowedCpus(), static_cast<long long>(rounds),
      load_before.c_str(), LoadAverage().c_str());
  std::printf(
      "| poll_threads | MB/s (wall) | CPU-s/GB | wall s | CPU s | cores busy | output MB (gzip) | "
      "objects |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<double> mbs(settings.size()), cpu_per_gb(settings.size());
  for (size_t k = 0; k < settings.size(); ++k) {
    const Figures& f = figures[k];
    std::vector<double> rate, cpg;
    for (size_t i = 0; i < f.wall_s.size(); ++i) {
      rate.push_back(data_mb / f.wall_s[i]);
      cpg.push_back(f.cpu_s[i] / (data_mb / 1000));
    }
    mbs[k] = Median(rate);
    cpu_per_gb[k] = Median(cpg);
    std::printf("| %lld | %.1f | %.2f | %.2f | %.2f | %.2f | %.1f | %llu |\n", static_cast<long long>(settings[k]),
                mbs[k], cpu_per_gb[k], Median(f.wall_s), Median(f.cpu_s), Median(f.cpu_s) / Median(f.wall_s),
                static_cast<double>(f.out_bytes) / 1e6, static_cast<unsigned long long>(f.objects));
  }
  if (settings.size() == 2) {
    std::printf("\nthroughput(2)/throughput(1) = %.2f, cpu_per_gb(2)/cpu_per_gb(1) = %.2f\n", mbs[1] / mbs[0],
                cpu_per_gb[1] / cpu_per_gb[0]);
  }
  return 0;
}

// Memory of open batches held compressed (issue 5 item 4): RSS against the
// compressed bytes buffered, for 1, 100 and 1,000 open partitions.
//
// For each partition count N, a fresh BatchBuffer at the default encoding
// (gzip level 1, 64 KiB chunks) receives generated change records (the
// records of hot_path_bench, as NDJSON lines) from 4 shards, spread evenly
// over N partitions, until --mb MB of lines are buffered; nothing is sealed
// (max_bytes and the age limit are out of reach). Reported: the lines'
// size, what the buffer holds (open_bytes: compressed chunks + the
// uncompressed tail of each partition's shard run), the process RSS growth
// over the same run, and the target 64 MiB + 1.2 x held.
//
// Usage: memory_bench [--mb 512] [--partitions 1,100,1000] [--chunk-kib 64]
// Each N runs in a child process, so one run's freed memory does not hide
// the next one's growth.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "batch/batch_buffer.h"
#include "change_records.h"

namespace {

using namespace shardhose;

double RssMiB() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

void Run(int partitions, double mb, size_t chunk) {
  // Pre-generate a pool of lines so generation is not in the measurement.
  std::mt19937_64 rng(7);
  std::vector<std::string> pool;
  for (int i = 0; i < 4096; ++i) pool.push_back(bench::ChangeRecord(rng, i) + "\n");
  const double rss0 = RssMiB();
  batch::BatchBuffer buf({.max_bytes = ~0ull >> 1, .max_interval = Millis(1LL << 40), .max_records = 0}, 1,
                         {.gzip = true, .level = 1, .chunk_bytes = chunk});
  std::vector<batch::SealedBatch> sealed;
  uint64_t lines_bytes = 0;
  const uint64_t target = static_cast<uint64_t>(mb * 1e6);
  std::vector<std::string> names;
  for (int p = 0; p < partitions; ++p) names.push_back("ddb/orders/p=" + std::to_string(p) + "/");
  const char* shards[] = {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002",
                          "shardId-000000000003"};
  for (uint64_t i = 0; lines_bytes < target; ++i) {
    // Each record's line is made unique by its position so chunks do not
    // compress better than real data would.
    std::string line = pool[i % pool.size()];
    line.insert(1, "\"n\":" + std::to_string(i) + ",");
    buf.Append(names[i % names.size()], line, shards[(i / names.size()) % 4], std::to_string(1000000 + i), MonoTime{},
               &sealed);
    lines_bytes += line.size();
  }
  const double rss1 = RssMiB();
  const double held = static_cast<double>(buf.open_bytes()) / (1 << 20);
  std::printf("| %d | %.0f | %.1f | %.1f | %.1f | %.1f | %s |\n", partitions, lines_bytes / 1e6, held, rss1 - rss0,
              rss1, 64 + 1.2 * held, rss1 <= 64 + 1.2 * held ? "yes" : "no");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  double mb = 512;
  size_t chunk_kib = 64;
  std::string parts = "1,100,1000";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--mb")
      mb = std::atof(argv[i + 1]);
    else if (a == "--partitions")
      parts = argv[i + 1];
    else if (a == "--chunk-kib")
      chunk_kib = std::strtoul(argv[i + 1], nullptr, 10);
  }
  std::printf("open batches held compressed (gzip level 1, %zu KiB chunks), 4 shards, %.0f MB of lines\n", chunk_kib,
              mb);
  std::printf(
      "| open partitions | MB of lines | MiB held (open_bytes) | RSS growth MiB | RSS MiB | target 64 + 1.2 x held | "
      "within |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  std::stringstream ss(parts);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const pid_t pid = fork();
    if (pid == 0) {
      Run(std::atoi(item.c_str()), mb, chunk_kib * 1024);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }
  return 0;
}

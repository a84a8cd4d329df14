// The hot path, measured in memory on one core:
//   GetRecords response bytes -> records -> NDJSON lines -> batches held
//   gzip'd as they grow (batch/batch_buffer.h) -> finished gzip members
// next to baselines measured in the same run on the same bytes:
//   "decode only"          - parse + decode + serialise, no batching or compression
//   "shardhose chunks"     - the daemon's compressor alone: 64 KiB tails, each
//                            chunk after the first given the 4 KiB before it
//                            as history (batch/shard_run.h), at the same level
//   "one-shot igzip 8 MiB" - igzip at the same level over 8 MiB pieces into one
//                            reused buffer: no chunking, no output growth
//   "libdeflate" / "zlib"  - one-shot gzip of all the bytes at the same level
// and two limits: "decode then chunked gzip" (the daemon's compressor, so
// chunking's cost is inside the limit) and the stage limit of issue 14,
// "decode then one-shot igzip 8 MiB" (what the hot path would cost if
// batching cost nothing: full / stage limit is the share it reaches).
//
// Usage: hot_path_bench [--records N] [--rounds R] [--format unmarshalled|raw] [--level L]
//                       [--only full|decode] [--chunk-kib K] [--history-kib H] [--dump-pages DIR]
//                       [--event-times ordered|random] [--page-records 1000]
// --only runs just that pass R times and prints nothing else: for a profiler
// (`perf record -g ./hot_path_bench --only full`).
// --dump-pages writes the GetRecords answers (page-000000.json, ...) and
// exits; --only full then also prints the CPU per GB of Data of its rounds,
// the in-memory figure bench/node_peer/consumer.mjs --pages is compared with
// (bench/daemon_bench.py peer-memory).
// --chunk-kib / --history-kib set the batches' chunk and history sizes
// (batch::BodyEncoding; 0 history: independent chunks), in the full path and
// the "shardhose chunks" baseline alike.
// Prints one table; figures are MB/s of NDJSON output per core (1 MB = 1e6 bytes),
// the median of R rounds.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "batch/batch_buffer.h"
#include "bench_util.h"
#include "change_records.h"
#include "common/base64.h"
#include "compress/compress.h"
#include "compress/gzip_chunks.h"
#include "decode/change_record.h"
#include "partition/render_cache.h"
#include "partition/template.h"
#include "poll/kinesis_client.h"

namespace {

using WallClock = std::chrono::steady_clock;
using namespace shardhose;

// GetRecords response bodies of up to `per_page` records each, their event
// times spanning one day (bench::ChangeRecordInSpan: in stream order, or in
// any order, so that most lines go to another partition than the last).
std::vector<std::string> MakePages(int records, bool ordered, int per_page) {
  std::mt19937_64 rng(42);
  std::vector<std::string> pages;
  std::string seq_prefix = "4968047197856839626837198121063461017808541286720";
  for (int i = 0; i < records;) {
    std::string body = "{\"Records\":[";
    for (int k = 0; k < per_page && i < records; ++k, ++i) {
      if (k) body += ',';
      const std::string rec = bench::ChangeRecordInSpan(rng, i, records, 1716200000000, 86400000, ordered);
      body += "{\"Data\":\"" + Base64Encode(rec) + "\",\"PartitionKey\":\"pk\",\"SequenceNumber\":\"" + seq_prefix +
              std::to_string(1000000 + i) + "\",\"ApproximateArrivalTimestamp\":1716200000.123}";
    }
    body += "],\"NextShardIterator\":\"AAAA\",\"MillisBehindLatest\":0}";
    pages.push_back(std::move(body));
  }
  return pages;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Seconds(WallClock::time_point a, WallClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  int records = 100000, rounds = 5, level = 1, per_page = 1000;
  size_t chunk_bytes = batch::BodyEncoding{}.chunk_bytes;
  size_t history_bytes = batch::BodyEncoding{}.history_bytes;
  std::string format = "unmarshalled", only, dump, times = "ordered";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--records")
      records = std::atoi(argv[i + 1]);
    else if (a == "--rounds")
      rounds = std::atoi(argv[i + 1]);
    else if (a == "--level")
      level = std::atoi(argv[i + 1]);
    else if (a == "--format")
      format = argv[i + 1];
    else if (a == "--only")
      only = argv[i + 1];
    else if (a == "--dump-pages")
      dump = argv[i + 1];
    else if (a == "--page-records")
      per_page = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--event-times")
      times = argv[i + 1];
    else if (a == "--history-kib")
      history_bytes = static_cast<size_t>(std::atoi(argv[i + 1])) * 1024;
    else if (a == "--chunk-kib")
      chunk_bytes = static_cast<size_t>(std::atoi(argv[i + 1])) * 1024;
  }
  const auto fmt = format == "raw" ? decode::OutputFormat::kRaw : decode::OutputFormat::kUnmarshalled;
  if (times != "ordered" && times != "random") {
    std::fprintf(stderr, "--event-times: ordered or random\n");
    return 2;
  }
  const std::vector<std::string> pages = MakePages(records, times == "ordered", per_page);
  size_t response_bytes = 0;
  for (const auto& p : pages) response_bytes += p.size();
  if (!dump.empty()) {
    std::filesystem::create_directories(dump);
    for (size_t i = 0; i < pages.size(); ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "/page-%06zu.json", i);
      std::ofstream(dump + name, std::ios::binary) << pages[i];
    }
    return 0;
  }
  auto prefix = partition::KeyTemplate::Parse("ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/",
                                              partition::TemplateKind::kRecord);
  if (!prefix.ok()) return 1;

  // One pass of decode (+ optionally batch + gzip). Returns NDJSON bytes.
  std::string ndjson;   // the lines, kept for the baselines
  size_t gz_bytes = 0;  // compressed output of the full path
  auto run = [&](bool batch_and_compress, bool keep) {
    decode::Decoder decoder(fmt, "orders-changes");
    decode::DecodedRecord rec;
    poll::RecordsPage page;
    // Held compressed as the daemon does (batch/batch_buffer.h): sealed
    // bodies are finished gzip members.
    batch::BatchBuffer buffer(
        {.max_bytes = 128ull << 20, .max_interval = Millis(300000), .max_records = 0}, 1,
        {.gzip = true, .level = level, .chunk_bytes = chunk_bytes, .history_bytes = history_bytes});
    std::vector<batch::SealedBatch> sealed;
    partition::RenderCache render(&*prefix);  // as the pipeline's pollers do
    size_t out = 0;
    const MonoTime now{};
    for (const auto& body : pages) {
      page.body = body;
      if (!poll::ParseGetRecords(&page).ok()) std::abort();
      for (const auto& r : page.records) {
        decoder.Decode(r, "shardId-000000000000", &rec);
        out += rec.line.size();
        if (keep) ndjson += rec.line;
        if (!batch_and_compress) continue;
        const std::string& part = render.Render({rec.table, rec.event_name, "orders-changes", "shardId-000000000000",
                                                 rec.error, rec.event_time_us, r.arrival_ms});
        buffer.Append(part, rec.line, "shardId-000000000000", r.sequence_number, now, &sealed);
      }
      for (auto& b : sealed) {
        batch::Finish(&b);  // the uploader's step
        gz_bytes += b.body.size();
      }
      sealed.clear();
    }
    if (batch_and_compress) {
      buffer.SealAll(batch::FlushCause::kDrain, &sealed);
      for (auto& b : sealed) {
        batch::Finish(&b);
        gz_bytes += b.body.size();
      }
    }
    return out;
  };

  if (!only.empty()) {
    uint64_t data_bytes = 0;  // decoded Data, as shardhose_bytes_in_total counts it
    for (const auto& body : pages) {
      poll::RecordsPage page;
      page.body = body;
      if (!poll::ParseGetRecords(&page).ok()) return 1;
      data_bytes += page.data_bytes / 4 * 3;
    }
    std::vector<double> cpu;
    for (int r = 0; r < rounds; ++r) {
      const double c0 = bench::CpuSeconds();
      run(only == "full", false);
      cpu.push_back(bench::CpuSeconds() - c0);
    }
    std::printf("{\"data_bytes\": %llu, \"cpu_s_per_gb_median\": %.3f, \"cpu_s_per_gb_best\": %.3f}\n",
                static_cast<unsigned long long>(data_bytes), Median(cpu) / (static_cast<double>(data_bytes) / 1e9),
                *std::min_element(cpu.begin(), cpu.end()) / (static_cast<double>(data_bytes) / 1e9));
    return 0;
  }
  const size_t ndjson_bytes = run(false, true);
  std::vector<double> t_decode, t_full, t_gzip, t_zlib, t_chunk, t_shot;
  size_t gz_size = 0, zlib_size = 0, chunk_size = 0, shot_size = 0;
  // One-shot igzip over 8 MiB pieces into one reused buffer: the gzip half
  // of the stage limit (issue 14: no chunking, no output growth).
  constexpr size_t kShot = 8 << 20;
  std::unique_ptr<char[]> shot(new char[compress::ChunkBound(kShot)]);
  for (int r = 0; r < rounds; ++r) {
    auto a = WallClock::now();
    run(false, false);
    auto b = WallClock::now();
    run(true, false);
    auto c = WallClock::now();
    std::string gz;
    // gzip only, in 128 MiB-or-less pieces like the batches
    if (!compress::Compress(compress::Codec::kGzip, level, ndjson, &gz).ok()) return 1;
    auto d = WallClock::now();
    gz_size = gz.size();
    // gzip only, the daemon's way (batch/shard_run.h): tails of chunk_bytes,
    // each chunk after the first given the history before it, same level.
    std::string chunked;
    std::unique_ptr<char[]> chunk_out(new char[compress::ChunkBound(chunk_bytes)]);
    const std::string_view all(ndjson);
    const size_t hist = batch::BodyEncoding{.chunk_bytes = chunk_bytes, .history_bytes = history_bytes}.history();
    for (size_t off = 0; off < all.size();) {
      const size_t from = off > hist ? off - hist : 0;
      const std::string_view piece = all.substr(off, chunk_bytes - (off - from));
      auto n = compress::CompressChunkInto(level, all.substr(from, off - from), piece, chunk_out.get(),
                                           compress::ChunkBound(piece.size()));
      if (!n.ok()) return 1;
      chunked.append(chunk_out.get(), *n);
      off += piece.size();
    }
    auto d2 = WallClock::now();
    chunk_size = chunked.size();
    shot_size = 0;
    for (size_t off = 0; off < ndjson.size(); off += kShot) {
      const std::string_view piece = std::string_view(ndjson).substr(off, kShot);
      auto n = compress::CompressChunkInto(level, piece, shot.get(), compress::ChunkBound(piece.size()));
      if (!n.ok()) return 1;
      shot_size += *n;
    }
    auto d3 = WallClock::now();
    uLongf zlen = compressBound(ndjson.size()) + 32;
    std::string z(zlen, '\0');
    z_stream zs{};
    deflateInit2(&zs, level > 9 ? 9 : level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = reinterpret_cast<Bytef*>(ndjson.data());
    zs.avail_in = static_cast<uInt>(ndjson.size());
    zs.next_out = reinterpret_cast<Bytef*>(z.data());
    zs.avail_out = static_cast<uInt>(z.size());
    deflate(&zs, Z_FINISH);
    zlib_size = zs.total_out;
    deflateEnd(&zs);
    auto e = WallClock::now();
    t_decode.push_back(Seconds(a, b));
    t_full.push_back(Seconds(b, c));
    t_gzip.push_back(Seconds(c, d));
    t_chunk.push_back(Seconds(d, d2));
    t_shot.push_back(Seconds(d2, d3));
    t_zlib.push_back(Seconds(d3, e));
  }
  const double mb = static_cast<double>(ndjson_bytes) / 1e6;
  const double decode_mbs = mb / Median(t_decode), full_mbs = mb / Median(t_full);
  const double gzip_mbs = mb / Median(t_gzip), zlib_mbs = mb / Median(t_zlib);
  const double chunk_mbs = mb / Median(t_chunk), shot_mbs = mb / Median(t_shot);
  // The limit if decode and the daemon's gzip were the only costs:
  // 1 / (1/decode + 1/gzip).
  const double limit = 1.0 / (1.0 / decode_mbs + 1.0 / chunk_mbs);
  // The stage limit (issue 14): the same decode, then one-shot igzip over
  // 8 MiB; what the hot path could cost if batching cost nothing.
  const double stage_limit = 1.0 / (1.0 / decode_mbs + 1.0 / shot_mbs);
  std::printf(
      "hot path, one core, format=%s, gzip level %d, %d records, event times %s, %.1f MB NDJSON (%.1f MB of "
      "responses), median of %d\n",
      format.c_str(), level, records, times.c_str(), mb, static_cast<double>(response_bytes) / 1e6, rounds);
  std::printf("%-46s %10s %10s\n", "stage", "MB/s", "ratio");
  std::printf("%-46s %10.1f %10s\n", "full hot path (decode+partition+batch+gzip)", full_mbs, "");
  std::printf("%-46s %10.1f %10.2f\n", "decode only (parse+unmarshal+serialise)", decode_mbs, full_mbs / decode_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "gzip only, shardhose chunks (same bytes)", chunk_mbs, full_mbs / chunk_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "gzip only, one-shot igzip 8 MiB (same bytes)", shot_mbs, full_mbs / shot_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "gzip only, libdeflate (same bytes)", gzip_mbs, full_mbs / gzip_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "gzip only, zlib (same bytes)", zlib_mbs, full_mbs / zlib_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "limit: decode then chunked gzip, serially", limit, full_mbs / limit);
  std::printf("%-46s %10.1f %10.2f\n", "stage limit: decode then one-shot igzip 8 MiB", stage_limit,
              full_mbs / stage_limit);
  // This host's speed drifts (a neighbour on the same cores) and only ever
  // slows a round down: the best rounds are the steadiest comparison.
  const double best = mb / *std::min_element(t_decode.begin(), t_decode.end());
  const double best_full = mb / *std::min_element(t_full.begin(), t_full.end());
  const double best_shot = mb / *std::min_element(t_shot.begin(), t_shot.end());
  const double best_limit = 1.0 / (1.0 / best + 1.0 / best_shot);
  std::printf("best rounds: full %.1f, decode %.1f, one-shot igzip %.1f MB/s; full / stage limit %.3f\n", best_full,
              best, best_shot, best_full / best_limit);
  std::printf("compression ratio: full path %.3f, chunks %.3f, one-shot igzip 8 MiB %.3f, libdeflate %.3f, zlib %.3f\n",
              static_cast<double>(ndjson_bytes) * rounds / static_cast<double>(gz_bytes),
              static_cast<double>(ndjson_bytes) / static_cast<double>(chunk_size),
              static_cast<double>(ndjson_bytes) / static_cast<double>(shot_size),
              static_cast<double>(ndjson_bytes) / static_cast<double>(gz_size),
              static_cast<double>(ndjson_bytes) / static_cast<double>(zlib_size));
  return 0;
}

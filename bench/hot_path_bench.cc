// The hot path, measured in memory on one core:
//   GetRecords response bytes -> records -> NDJSON lines -> batches -> gzip
// next to baselines measured in the same run on the same bytes:
//   "gzip only"   - shardhose's gzip (compress::Compress) of the NDJSON the
//                   pipeline produced, at the configured compression_level
//   "libdeflate"  - libdeflate gzip at the same native level
//   "zlib gzip"   - zlib deflate (gzip wrapper) at the same level
//   "decode only" - parse + decode + serialise, no batching or compression
// and then every compressor candidate on the same NDJSON (compress only):
// ISA-L igzip 0..3, libdeflate 1/2/3/4/6/9/12, zlib 1/6/9, speed and ratio.
//
// Usage: hot_path_bench [--records N] [--rounds R] [--format unmarshalled|raw] [--level L]
//                       [--candidates 0|1]
// Prints two tables; figures are MB/s of NDJSON output per core (1 MB = 1e6 bytes),
// the median of R rounds. --level is compression_level (1..9, default 1).
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "batch/batch_buffer.h"
#include "common/base64.h"
#include "compress/compress.h"
#include "decode/change_record.h"
#include "partition/template.h"
#include "poll/kinesis_client.h"

namespace {

using WallClock = std::chrono::steady_clock;
using namespace shardhose;

// A realistic change record: an order with nested items, a few types.
std::string ChangeRecord(std::mt19937_64& rng, int i) {
  const char* names[] = {"INSERT", "MODIFY", "REMOVE"};
  const char* ev = names[rng() % 3];
  std::string id = std::to_string(rng());
  int64_t ms = 1716200000000 + static_cast<int64_t>(rng() % 86400000);
  std::string image = R"({"pk":{"S":"order#)" + id + R"("},"sk":{"N":")" + std::to_string(i) +
                      R"("},"status":{"S":"SHIPPED"},"total":{"N":"1234.56"},"customer":{"M":{"name":{"S":"Ada Lovelace"},"email":{"S":"ada@example.com"},"vip":{"BOOL":true}}},"items":{"L":[)";
  for (int k = 0; k < 3; ++k) {
    if (k) image += ',';
    image += R"({"M":{"sku":{"S":"SKU-)" + std::to_string(rng() % 100000) + R"("},"qty":{"N":")" +
             std::to_string(1 + rng() % 5) + R"("},"price":{"N":"19.99"}}})";
  }
  image += R"(]},"tags":{"SS":["gift","express"]},"note":{"NULL":true}})";
  std::string r = R"({"awsRegion":"us-east-1","eventID":")" + id + R"(","eventName":")" + ev +
                  R"(","userIdentity":null,"recordFormat":"application/json","tableName":"orders","dynamodb":{"ApproximateCreationDateTime":)" +
                  std::to_string(ms) + R"(,"Keys":{"pk":{"S":"order#)" + id + R"("},"sk":{"N":")" + std::to_string(i) +
                  R"("}},)";
  if (std::strcmp(ev, "REMOVE") != 0) r += R"("NewImage":)" + image + ",";
  if (std::strcmp(ev, "INSERT") != 0) r += R"("OldImage":)" + image + ",";
  r += R"("SizeBytes":512},"eventSource":"aws:dynamodb"})";
  return r;
}

// GetRecords response bodies of up to 1000 records each.
std::vector<std::string> MakePages(int records) {
  std::mt19937_64 rng(42);
  std::vector<std::string> pages;
  std::string seq_prefix = "4968047197856839626837198121063461017808541286720";
  for (int i = 0; i < records;) {
    std::string body = "{\"Records\":[";
    for (int k = 0; k < 1000 && i < records; ++k, ++i) {
      if (k) body += ',';
      body += "{\"Data\":\"" + Base64Encode(ChangeRecord(rng, i)) +
              "\",\"PartitionKey\":\"pk\",\"SequenceNumber\":\"" + seq_prefix + std::to_string(1000000 + i) +
              "\",\"ApproximateArrivalTimestamp\":1716200000.123}";
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

double Seconds(WallClock::time_point a, WallClock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// zlib deflate with a gzip wrapper, in one call; returns the compressed size.
size_t ZlibGzip(const std::string& in, int level, std::string* z) {
  z->resize(compressBound(static_cast<uLong>(in.size())) + 32);
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(z->data());
  zs.avail_out = static_cast<uInt>(z->size());
  deflate(&zs, Z_FINISH);
  const size_t n = zs.total_out;
  deflateEnd(&zs);
  return n;
}

// Compress-only candidates: MB/s and ratio of each on the same NDJSON.
void Candidates(const std::string& ndjson, int rounds) {
  struct Candidate {
    const char* name;
    bool zlib;
    compress::Backend backend;
  };
  using compress::Engine;
  const Candidate all[] = {
      {"ISA-L igzip 0", false, {Engine::kIgzip, 0}},      {"ISA-L igzip 1", false, {Engine::kIgzip, 1}},
      {"ISA-L igzip 2", false, {Engine::kIgzip, 2}},      {"ISA-L igzip 3", false, {Engine::kIgzip, 3}},
      {"libdeflate 1", false, {Engine::kLibdeflate, 1}},  {"libdeflate 2", false, {Engine::kLibdeflate, 2}},
      {"libdeflate 3", false, {Engine::kLibdeflate, 3}},  {"libdeflate 4", false, {Engine::kLibdeflate, 4}},
      {"libdeflate 6", false, {Engine::kLibdeflate, 6}},  {"libdeflate 9", false, {Engine::kLibdeflate, 9}},
      {"libdeflate 12", false, {Engine::kLibdeflate, 12}}, {"zlib 1", true, {Engine::kLibdeflate, 1}},
      {"zlib 6", true, {Engine::kLibdeflate, 6}},         {"zlib 9", true, {Engine::kLibdeflate, 9}},
  };
  const double mb = static_cast<double>(ndjson.size()) / 1e6;
  std::printf("\ncompress only, same %.1f MB of NDJSON, median of %d\n", mb, rounds);
  std::printf("%-46s %10s %10s\n", "compressor", "MB/s", "ratio");
  std::string gz;
  for (const Candidate& c : all) {
    std::vector<double> t;
    size_t size = 0;
    for (int r = 0; r < rounds; ++r) {
      auto a = WallClock::now();
      if (c.zlib) {
        size = ZlibGzip(ndjson, c.backend.native_level, &gz);
      } else {
        if (!compress::GzipWith(c.backend, ndjson, &gz).ok()) std::abort();
        size = gz.size();
      }
      t.push_back(Seconds(a, WallClock::now()));
    }
    std::printf("%-46s %10.1f %10.2f\n", c.name, mb / Median(t), static_cast<double>(ndjson.size()) / size);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int records = 100000, rounds = 5, level = compress::kDefaultLevel, candidates = 1;
  std::string format = "unmarshalled";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--records") records = std::atoi(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--level") level = std::atoi(argv[i + 1]);
    else if (a == "--format") format = argv[i + 1];
    else if (a == "--candidates") candidates = std::atoi(argv[i + 1]);
  }
  const auto fmt = format == "raw" ? decode::OutputFormat::kRaw : decode::OutputFormat::kUnmarshalled;
  const std::vector<std::string> pages = MakePages(records);
  size_t response_bytes = 0;
  for (const auto& p : pages) response_bytes += p.size();
  auto prefix = partition::KeyTemplate::Parse("ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/",
                                              partition::TemplateKind::kRecord);
  if (!prefix.ok()) return 1;

  // One pass of decode (+ optionally batch + gzip). Returns NDJSON bytes.
  std::string ndjson;  // the lines, kept for the baselines
  auto run = [&](bool batch_and_compress, bool keep) {
    decode::Decoder decoder(fmt, "orders-changes");
    decode::DecodedRecord rec;
    poll::RecordsPage page;
    batch::BatchBuffer buffer({.max_bytes = 128ull << 20, .max_interval = Millis(300000), .max_records = 0});
    std::vector<batch::SealedBatch> sealed;
    std::string part, gz;
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
        part.clear();
        prefix->Render({rec.table, rec.event_name, "orders-changes", "shardId-000000000000", rec.error,
                        rec.event_time_us, r.arrival_ms},
                       &part);
        buffer.Append(part, rec.line, "shardId-000000000000", r.sequence_number, now, &sealed);
      }
      for (auto& b : sealed) {
        if (!compress::Compress(compress::Codec::kGzip, level, b.body, &gz).ok()) std::abort();
      }
      sealed.clear();
    }
    if (batch_and_compress) {
      buffer.SealAll(batch::FlushCause::kDrain, &sealed);
      for (auto& b : sealed) {
        if (!compress::Compress(compress::Codec::kGzip, level, b.body, &gz).ok()) std::abort();
      }
    }
    return out;
  };

  if (!compress::CheckLevel(compress::Codec::kGzip, level).ok()) {
    std::fprintf(stderr, "--level must be %d..%d\n", compress::kMinLevel, compress::kMaxLevel);
    return 2;
  }
  const compress::Backend backend = compress::BackendFor(level);
  const size_t ndjson_bytes = run(false, true);
  std::vector<double> t_decode, t_full, t_gzip, t_ldf, t_zlib;
  size_t gz_size = 0, ldf_size = 0, zlib_size = 0;
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
    std::string ldf;
    if (!compress::GzipWith({compress::Engine::kLibdeflate, level}, ndjson, &ldf).ok()) return 1;
    ldf_size = ldf.size();
    auto d2 = WallClock::now();
    std::string z;
    zlib_size = ZlibGzip(ndjson, level, &z);
    auto e = WallClock::now();
    t_decode.push_back(Seconds(a, b));
    t_full.push_back(Seconds(b, c));
    t_gzip.push_back(Seconds(c, d));
    t_ldf.push_back(Seconds(d, d2));
    t_zlib.push_back(Seconds(d2, e));
  }
  const double mb = static_cast<double>(ndjson_bytes) / 1e6;
  const double decode_mbs = mb / Median(t_decode), full_mbs = mb / Median(t_full);
  const double gzip_mbs = mb / Median(t_gzip), ldf_mbs = mb / Median(t_ldf), zlib_mbs = mb / Median(t_zlib);
  // The limit if decode and gzip were the only costs: 1 / (1/decode + 1/gzip).
  const double limit = 1.0 / (1.0 / decode_mbs + 1.0 / gzip_mbs);
  std::printf("hot path, one core, format=%s, compression_level %d (%s %d), %d records, %.1f MB NDJSON "
              "(%.1f MB of responses), median of %d\n",
              format.c_str(), level, std::string(compress::EngineName(backend.engine)).c_str(), backend.native_level,
              records, mb, static_cast<double>(response_bytes) / 1e6, rounds);
  std::printf("%-46s %10s %10s\n", "stage", "MB/s", "ratio");
  std::printf("%-46s %10.1f %10s\n", "full hot path (decode+partition+batch+gzip)", full_mbs, "");
  std::printf("%-46s %10.1f %10.2f\n", "decode only (parse+unmarshal+serialise)", decode_mbs, full_mbs / decode_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "gzip only, shardhose level (same bytes)", gzip_mbs, full_mbs / gzip_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "gzip only, libdeflate (same bytes)", ldf_mbs, full_mbs / ldf_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "gzip only, zlib (same bytes)", zlib_mbs, full_mbs / zlib_mbs);
  std::printf("%-46s %10.1f %10.2f\n", "limit: decode then shardhose gzip, serially", limit, full_mbs / limit);
  std::printf("compression ratio: shardhose %.2f, libdeflate %.2f, zlib %.2f\n",
              static_cast<double>(ndjson_bytes) / gz_size, static_cast<double>(ndjson_bytes) / ldf_size,
              static_cast<double>(ndjson_bytes) / zlib_size);
  if (candidates) Candidates(ndjson, rounds);
  return 0;
}

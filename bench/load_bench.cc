// `shardhose load` against its stage limit (issue 13 item 4): CPU per MB of
// export data, gzip'd DynamoDB JSON in -> the default output (unmarshalled
// JSON lines, igzip level 1, event-time partitions), and peak memory
// against the export's size.
//
// The export is generated once into a temporary directory, in the
// documented layout (manifest-summary.json, manifest-files.json with each
// file's MD5, data/<n>.json.gz of {"Item": ...} lines, gzip at zlib's
// default level as an export's are): `--files` data files of `--file-mb`
// MB of lines each (bench/change_records.h's order item, ~0.45 KB a line).
// Every measurement runs in a child process (fork), so each one's peak RSS
// (ru_maxrss) and CPU time (getrusage) are its own:
//
//   load     load::Loader::Run, as `shardhose load` runs it: local reader,
//            progress file, a store that counts what it is given and keeps
//            nothing;
//   gunzip   the same data files through load::ForEachGzipLine, lines
//            counted and dropped (the decompression the load must do);
//   md5      the MD5 of each data file (the verification it must do);
//   decode   the same lines, already decompressed into memory, through the
//            same decoder into one reused output buffer (no growth);
//   gzip     that output, one-shot igzip level 1 over each 8 MiB piece
//            into one reused buffer.
// The stage limit is gunzip + md5 + decode + gzip (CPU-s); the figure of
// merit is MB/s per core = export MB (decompressed) / load CPU-s, and
// limit / load, as medians and as the best round (this host's speed drifts). `--memory` adds peak RSS for exports of 1x
// and 8x the files, at the default max_bytes and at --small-max-bytes: the bound is one data file as stored plus the
// open batch (<= max_bytes) plus its compressed cut, not the export's size.
//
// Usage: load_bench [--files 4] [--file-mb 64] [--rounds 3] [--memory]
//                   [--small-max-bytes 16777216] [--dir /tmp] [--keep]
// --keep leaves the generated export (its folder is printed) for profiling
// `shardhose load` itself on it.
// Figures, never assertions (bench/README.md).
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "change_records.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/fs.h"
#include "compress/gzip_chunks.h"
#include "config/config.h"
#include "decode/change_record.h"
#include "load/export_manifest.h"
#include "load/gzip_lines.h"
#include "load/loader.h"
#include "upload/object_store.h"

namespace {

using namespace shardhose;
using bench::CpuSeconds;
using bench::DiscardStore;
using bench::LoadAverage;

constexpr char kExportId[] = "01716200000000-0bench00";
constexpr int64_t kExportTimeMs = 1716200000000;

double MaxRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

std::string GzipFile(const std::string& data) {  // zlib's default level, one member
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Md5Base64(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_md5(), nullptr);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(md), n));
}

struct Export {
  std::string dir;                // the export's folder
  std::vector<std::string> data;  // data file paths
  uint64_t raw_bytes = 0;         // decompressed, newlines included
  uint64_t gz_bytes = 0;
  uint64_t items = 0;
};

// Writes `files` data files of `file_mb` MB of lines each under `dir`.
Export WriteExport(const std::string& dir, int files, double file_mb) {
  Export e;
  e.dir = dir;
  std::filesystem::create_directories(dir + "/data");
  std::mt19937_64 rng(13);
  std::string manifest;
  int64_t sk = 0;
  for (int f = 0; f < files; ++f) {
    std::string raw;
    raw.reserve(static_cast<size_t>(file_mb * 1e6) + 4096);
    uint64_t n = 0;
    while (raw.size() < static_cast<size_t>(file_mb * 1e6)) {
      raw += bench::ExportItemLine(rng, sk++);
      raw += '\n';
      ++n;
    }
    const std::string gz = GzipFile(raw);
    const std::string name = "data/" + std::to_string(f) + ".json.gz";
    FILE* out = std::fopen((dir + "/" + name).c_str(), "wb");
    std::fwrite(gz.data(), 1, gz.size(), out);
    std::fclose(out);
    manifest += R"({"itemCount":)" + std::to_string(n) + R"(,"md5Checksum":")" + Md5Base64(gz) +
                R"(","etag":"bench","dataFileS3Key":"AWSDynamoDB/)" + kExportId + "/" + name + "\"}\n";
    e.data.push_back(dir + "/" + name);
    e.raw_bytes += raw.size();
    e.gz_bytes += gz.size();
    e.items += n;
  }
  auto write = [&](const std::string& name, const std::string& text) {
    FILE* out = std::fopen((dir + "/" + name).c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), out);
    std::fclose(out);
  };
  write("manifest-files.json", manifest);
  write("manifest-summary.json",
        std::string(
            R"({"version":"2020-06-30","exportArn":"arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/)") +
            kExportId + R"(","startTime":"2024-05-20T10:13:20.000Z","endTime":"2024-05-20T10:20:00.000Z",)" +
            R"("tableArn":"arn:aws:dynamodb:us-east-1:123456789012:table/orders","tableId":"bench",)" +
            R"("exportTime":"2024-05-20T10:13:20.000Z","s3Bucket":"bench","s3Prefix":null,"s3SseAlgorithm":"AES256",)" +
            R"("s3SseKmsKeyId":null,"manifestFilesS3Key":"AWSDynamoDB/)" + kExportId +
            R"(/manifest-files.json","billedSizeBytes":0,"itemCount":)" + std::to_string(e.items) +
            R"(,"outputFormat":"DYNAMODB_JSON","exportType":"FULL_EXPORT"})");
  return e;
}

// What one measurement reports back through its pipe.
struct Figures {
  double cpu_s = 0;
  double rss_mib = 0;
  uint64_t out_bytes = 0;  // what the stage produced (load: uploaded bytes)
  uint64_t objects = 0;
  bool ok = false;
};

template <typename Fn>
Figures InChild(Fn fn) {
  int p[2];
  if (pipe(p) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    Figures f = fn();
    f.rss_mib = MaxRssMiB();
    if (write(p[1], &f, sizeof f) != static_cast<ssize_t>(sizeof f)) _exit(1);
    _exit(0);
  }
  close(p[1]);
  Figures f;
  if (read(p[0], &f, sizeof f) != static_cast<ssize_t>(sizeof f)) f.ok = false;
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return f;
}

config::Config LoadConfig(const std::string& work, int64_t max_bytes) {
  config::Config cfg;
  cfg.checkpoint.path = work + "/checkpoint.json";
  cfg.batch.max_bytes = max_bytes;
  return cfg;  // output: unmarshalled, gzip level 1, the default prefixes
}

Figures RunLoad(const Export& e, const std::string& work, int64_t max_bytes) {
  return InChild([&] {
    Figures f;
    const config::Config cfg = LoadConfig(work, max_bytes);
    FileSystem* fs = FileSystem::Default();
    std::filesystem::remove_all(work);
    std::filesystem::create_directories(work);
    auto reader = load::NewLocalExportReader(fs);
    DiscardStore store;
    load::Loader loader(cfg, reader.get(), &store, fs, Clock::Real());
    load::LoadOptions opts;
    opts.location = *load::ParseExportLocation(e.dir);
    opts.key_attributes = {"pk", "sk"};
    opts.progress_path = work + "/load-progress.json";
    const double c0 = CpuSeconds();
    auto summary = loader.ReadSummary(opts.location);
    if (!summary.ok()) {
      std::fprintf(stderr, "load_bench: %s\n", summary.status().ToString().c_str());
      return f;
    }
    auto stats = loader.Run(opts, *summary);
    f.cpu_s = CpuSeconds() - c0;
    if (!stats.ok()) {
      std::fprintf(stderr, "load_bench: %s\n", stats.status().ToString().c_str());
      return f;
    }
    f.out_bytes = store.bytes();
    f.objects = store.objects();
    f.ok = stats->items == e.items;
    return f;
  });
}

Figures RunGunzip(const Export& e) {
  return InChild([&] {
    Figures f;
    const double c0 = CpuSeconds();
    for (const std::string& path : e.data) {
      auto bytes = FileSystem::Default()->ReadFile(path);
      if (!bytes.ok()) return f;
      Status st = load::ForEachGzipLine(*bytes, [&](std::string_view line) {
        f.out_bytes += line.size() + 1;
        return Status::OK();
      });
      if (!st.ok()) return f;
    }
    f.cpu_s = CpuSeconds() - c0;
    f.ok = f.out_bytes == e.raw_bytes;
    return f;
  });
}

Figures RunMd5(const Export& e) {
  return InChild([&] {
    Figures f;
    const double c0 = CpuSeconds();
    for (const std::string& path : e.data) {
      auto bytes = FileSystem::Default()->ReadFile(path);
      if (!bytes.ok()) return f;
      f.out_bytes += Md5Base64(*bytes).size();
    }
    f.cpu_s = CpuSeconds() - c0;
    f.ok = true;
    return f;
  });
}

// decode and gzip: the lines decompressed first (outside the measurement).
// decode: each line through the same decoder, appended to one output buffer
// reserved up front and reused every 8 MiB (no growth, no page faults past
// the first). gzip: the decoded lines, one-shot igzip at level 1 over each
// 8 MiB piece into one reused buffer (compress::CompressChunkInto).
Figures RunDecodeOrGzip(const Export& e, bool gzip_stage) {
  return InChild([&] {
    Figures f;
    std::vector<std::string> raw;
    for (const std::string& path : e.data) {
      auto bytes = FileSystem::Default()->ReadFile(path);
      if (!bytes.ok()) return f;
      std::string text;
      text.reserve(e.raw_bytes / e.data.size() + 4096);
      (void)load::ForEachGzipLine(*bytes, [&](std::string_view line) {
        text.append(line);
        text += '\n';
        return Status::OK();
      });
      raw.push_back(std::move(text));
    }
    decode::Decoder decoder(decode::OutputFormat::kUnmarshalled, "orders", decode::InputFormat::kExportItem, "orders");
    decoder.SetExport(decode::ExportSpec{kExportTimeMs * 1000, {"pk", "sk"}, false});
    decode::DecodedRecord rec;
    constexpr size_t kPiece = 8 << 20;
    std::string out;
    out.reserve(kPiece + (1 << 20));
    std::vector<std::string> pieces;  // gzip stage: the decoded lines, 8 MiB at a time
    std::string id;
    const double c0 = CpuSeconds();
    for (size_t fi = 0; fi < raw.size(); ++fi) {
      std::string_view text = raw[fi];
      uint64_t n = 0;
      while (!text.empty()) {
        const size_t nl = text.find('\n');
        id.assign(kExportId).append(":").append(std::to_string(fi)).append(":").append(std::to_string(++n));
        decoder.DecodeExportLine(text.substr(0, nl), id, "data", &rec);
        out.append(rec.line);
        f.out_bytes += rec.line.size();
        if (out.size() >= kPiece) {
          if (gzip_stage) pieces.push_back(out);
          out.clear();
        }
        text.remove_prefix(nl + 1);
      }
    }
    if (gzip_stage && !out.empty()) pieces.push_back(out);
    const double decode_s = CpuSeconds() - c0;
    if (!gzip_stage) {
      f.cpu_s = decode_s;
      f.ok = true;
      return f;
    }
    f.out_bytes = 0;
    std::unique_ptr<char[]> compressed(new char[compress::ChunkBound(kPiece + (1 << 20))]);
    const double c1 = CpuSeconds();
    for (const std::string& piece : pieces) {
      auto n = compress::CompressChunkInto(1, piece, compressed.get(), compress::ChunkBound(piece.size()));
      if (!n.ok()) return f;
      f.out_bytes += *n;
    }
    f.cpu_s = CpuSeconds() - c1;
    f.ok = true;
    return f;
  });
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int files = 4, rounds = 3;
  double file_mb = 64;
  bool memory = false, keep = false;
  int64_t small_max = 16 << 20;
  std::string tmp = "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--files") {
      files = std::atoi(next().c_str());
    } else if (a == "--file-mb") {
      file_mb = std::atof(next().c_str());
    } else if (a == "--rounds") {
      rounds = std::atoi(next().c_str());
    } else if (a == "--memory") {
      memory = true;
    } else if (a == "--small-max-bytes") {
      small_max = std::atoll(next().c_str());
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--dir") {
      tmp = next();
    } else {
      std::fprintf(stderr,
                   "usage: load_bench [--files 4] [--file-mb 64] [--rounds 3] [--memory] "
                   "[--small-max-bytes 16777216] [--dir /tmp] [--keep]\n");
      return 2;
    }
  }
  if (files < 1 || file_mb <= 0 || rounds < 1) return 2;
  char templ[4096];
  std::snprintf(templ, sizeof templ, "%s/load_bench.XXXXXX", tmp.c_str());
  if (!mkdtemp(templ)) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string root = templ;
  const int64_t max_bytes = config::BatchConfig{}.max_bytes;
  const std::string load_before = LoadAverage();

  const Export e = WriteExport(root + "/AWSDynamoDB/" + kExportId, files, file_mb);
  const double raw_mb = static_cast<double>(e.raw_bytes) / 1e6;
  std::printf("load_bench: %d data files, %.1f MB of DynamoDB JSON (%.1f MB gzip'd, %.2fx), %llu items\n", files,
              raw_mb, static_cast<double>(e.gz_bytes) / 1e6, static_cast<double>(e.raw_bytes) / e.gz_bytes,
              static_cast<unsigned long long>(e.items));
  std::printf("CPUs allowed: %ld; load average before %s\n\n", sysconf(_SC_NPROCESSORS_ONLN), load_before.c_str());

  std::vector<double> load_s, gunzip_s, md5_s, decode_s, gzip_s;
  Figures last_load;
  for (int r = 0; r < rounds; ++r) {
    Figures l = RunLoad(e, root + "/work", max_bytes);
    Figures g = RunGunzip(e);
    Figures m = RunMd5(e);
    Figures d = RunDecodeOrGzip(e, false);
    Figures z = RunDecodeOrGzip(e, true);
    if (!l.ok || !g.ok || !m.ok || !d.ok || !z.ok) {
      std::fprintf(stderr, "load_bench: a measurement failed (load %d gunzip %d md5 %d decode %d gzip %d)\n", l.ok,
                   g.ok, m.ok, d.ok, z.ok);
      std::filesystem::remove_all(root);
      return 1;
    }
    load_s.push_back(l.cpu_s);
    gunzip_s.push_back(g.cpu_s);
    md5_s.push_back(m.cpu_s);
    decode_s.push_back(d.cpu_s);
    gzip_s.push_back(z.cpu_s);
    last_load = l;
    const double limit = g.cpu_s + m.cpu_s + d.cpu_s + z.cpu_s;
    std::printf(
        "round %d: load %.3f CPU-s (%.1f MB/s per core); limit %.3f (gunzip %.3f, md5 %.3f, decode %.3f, "
        "gzip %.3f); load/limit %.2f\n",
        r + 1, l.cpu_s, raw_mb / l.cpu_s, limit, g.cpu_s, m.cpu_s, d.cpu_s, z.cpu_s, l.cpu_s / limit);
  }
  // This host's CPU speed drifts between windows of seconds (a neighbour
  // on the same cores), so both the median and the best round are given.
  const double L = Median(load_s), Lmin = *std::min_element(load_s.begin(), load_s.end());
  const double limit = Median(gunzip_s) + Median(md5_s) + Median(decode_s) + Median(gzip_s);
  const double limit_min =
      *std::min_element(gunzip_s.begin(), gunzip_s.end()) + *std::min_element(md5_s.begin(), md5_s.end()) +
      *std::min_element(decode_s.begin(), decode_s.end()) + *std::min_element(gzip_s.begin(), gzip_s.end());
  std::printf(
      "\nmedian of %d: load %.1f MB/s per core (%.2f CPU-s/GB of export data; %.1f MB/s of gzip'd input);\n"
      "  stage limit %.1f MB/s per core; load at %.2f of it (limit CPU / load CPU)\n"
      "best of %d:   load %.1f MB/s per core; stage limit %.1f; load at %.2f of it\n"
      "  output: %llu objects, %.1f MB gzip'd (%.1f%% of the export's gzip'd size); peak RSS %.0f MiB\n",
      rounds, raw_mb / L, L / raw_mb * 1000, static_cast<double>(e.gz_bytes) / 1e6 / L, raw_mb / limit, limit / L,
      rounds, raw_mb / Lmin, raw_mb / limit_min, limit_min / Lmin, static_cast<unsigned long long>(last_load.objects),
      static_cast<double>(last_load.out_bytes) / 1e6,
      100.0 * static_cast<double>(last_load.out_bytes) / static_cast<double>(e.gz_bytes), last_load.rss_mib);

  if (memory) {
    // Peak RSS against the export's size: the same files, 8x as many.
    const Export big = WriteExport(root + "/big/AWSDynamoDB/" + kExportId, files * 8, file_mb);
    std::printf("\npeak RSS (MiB), data files of %.0f MB (%.1f MB gzip'd each):\n", file_mb,
                static_cast<double>(e.gz_bytes) / files / 1e6);
    std::printf("| max_bytes | %d files (%.0f MB) | %d files (%.0f MB) |\n|---|---|---|\n", files, raw_mb, files * 8,
                static_cast<double>(big.raw_bytes) / 1e6);
    for (int64_t mb : {max_bytes, small_max}) {
      Figures a = RunLoad(e, root + "/work", mb);
      Figures b = RunLoad(big, root + "/work", mb);
      std::printf("| %lld | %.0f | %.0f |\n", static_cast<long long>(mb), a.rss_mib, b.rss_mib);
    }
  }
  std::printf("\nload average after %s\n", LoadAverage().c_str());
  if (keep) {
    std::printf("export kept: %s (shardhose load --export it)\n", e.dir.c_str());
  } else {
    std::filesystem::remove_all(root);
  }
  return 0;
}

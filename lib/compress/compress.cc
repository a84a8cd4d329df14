#include "compress/compress.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>
#include <fmt/format.h>

namespace shardhose::compress {
namespace {

// libdeflate compressors, one per level, per thread.
struct LibdeflateCache {
  std::array<libdeflate_compressor*, 13> by_level{};
  ~LibdeflateCache() {
    for (auto* c : by_level) {
      if (c) libdeflate_free_compressor(c);
    }
  }
  libdeflate_compressor* Get(int level) {
    auto*& c = by_level[static_cast<size_t>(level)];
    if (!c) c = libdeflate_alloc_compressor(level);
    return c;
  }
};

// ISA-L stream state plus the per-level work buffer it requires, one per
// native level, per thread. isal_zstream is large (its history buffer is in
// the struct), so it lives on the heap.
struct IgzipState {
  isal_zstream zs;
  std::unique_ptr<uint8_t[]> level_buf;
  uint32_t level_buf_size = 0;
};

constexpr std::array<uint32_t, 4> kIgzipLevelBufSize = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                                        ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};

struct IgzipCache {
  std::array<std::unique_ptr<IgzipState>, 4> by_level;
  IgzipState* Get(int level) {
    auto& s = by_level[static_cast<size_t>(level)];
    if (!s) {
      s = std::make_unique<IgzipState>();
      s->level_buf_size = kIgzipLevelBufSize[static_cast<size_t>(level)];
      if (s->level_buf_size) s->level_buf.reset(new uint8_t[s->level_buf_size]);
    }
    return s.get();
  }
};

// Input is handed to ISA-L in pieces of at most this much (its counters are
// 32-bit). A constant, so that the calls, and so the bytes, depend only on
// the input.
constexpr size_t kIgzipInputPiece = size_t{1} << 30;

void PutLe32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

Result<Codec> ParseCodec(std::string_view name) {
  if (name == "gzip") return Codec::kGzip;
  if (name == "none") return Codec::kNone;
  return Status::InvalidArgument(fmt::format("compression '{}' is not one of gzip|none", name));
}

std::string_view ObjectSuffix(Codec codec) { return codec == Codec::kGzip ? ".json.gz" : ".json"; }

std::string_view ContentEncoding(Codec codec) { return codec == Codec::kGzip ? "gzip" : ""; }

Status CheckLevel(Codec codec, int level) {
  if (codec == Codec::kNone) return Status::OK();
  if (level < kMinLevel || level > kMaxLevel) {
    return Status::InvalidArgument(fmt::format("gzip level {} not in {}..{}", level, kMinLevel, kMaxLevel));
  }
  return Status::OK();
}

std::string_view EngineName(Engine e) { return e == Engine::kIgzip ? "igzip" : "libdeflate"; }

Backend BackendFor(int level) {
  if (level <= 2) return {Engine::kIgzip, level};
  return {Engine::kLibdeflate, level};
}

std::string Describe(Codec codec, int level) {
  if (codec == Codec::kNone) return "none";
  if (!CheckLevel(codec, level).ok()) return fmt::format("gzip level {} (invalid)", level);
  const Backend b = BackendFor(level);
  return fmt::format("gzip level {} ({} {})", level, EngineName(b.engine), b.native_level);
}

void AppendGzipHeader(std::string* out) {
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown)
  static constexpr char kHeader[10] = {'\x1f', '\x8b', '\x08', 0, 0, 0, 0, 0, 0, '\xff'};
  out->append(kHeader, sizeof kHeader);
}

void AppendGzipTrailer(uint32_t crc, uint64_t size, std::string* out) {
  PutLe32(crc, out);
  PutLe32(static_cast<uint32_t>(size & 0xffffffffu), out);
}

uint32_t Crc32(uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t left = data.size();
  while (left > 0) {
    const size_t n = std::min<size_t>(left, kIgzipInputPiece);
    crc = crc32_gzip_refl(crc, p, n);
    p += n;
    left -= n;
  }
  return crc;
}

Status IgzipDeflateChunk(int native_level, std::string_view in, bool final, std::string* out) {
  if (native_level < ISAL_DEF_MIN_LEVEL || native_level > ISAL_DEF_MAX_LEVEL) {
    return Status::InvalidArgument(fmt::format("igzip level {} not in 0..3", native_level));
  }
  thread_local IgzipCache cache;
  IgzipState* st = cache.Get(native_level);
  if (st->level_buf_size && !st->level_buf) return Status::Internal("igzip level buffer allocation failed");
  isal_zstream& zs = st->zs;
  isal_deflate_init(&zs);
  zs.level = static_cast<uint32_t>(native_level);
  zs.level_buf = st->level_buf.get();
  zs.level_buf_size = st->level_buf_size;
  zs.gzip_flag = IGZIP_DEFLATE;
  zs.flush = final ? NO_FLUSH : FULL_FLUSH;
  zs.end_of_stream = 0;

  const auto* next = reinterpret_cast<const uint8_t*>(in.data());
  size_t left = in.size();
  const size_t start = out->size();
  size_t used = start;  // end of the bytes ISA-L has written
  // NDJSON compresses at least 2:1 at any level; growth covers the rest.
  out->resize(start + in.size() / 2 + 4096);
  for (;;) {
    if (zs.avail_in == 0 && left > 0) {
      const size_t n = std::min(left, kIgzipInputPiece);
      zs.next_in = const_cast<uint8_t*>(next);
      zs.avail_in = static_cast<uint32_t>(n);
      next += n;
      left -= n;
    }
    if (final && left == 0) zs.end_of_stream = 1;
    if (used == out->size()) out->resize(out->size() + out->size() / 2 + 4096);
    zs.next_out = reinterpret_cast<uint8_t*>(out->data()) + used;
    zs.avail_out = static_cast<uint32_t>(std::min<size_t>(out->size() - used, UINT32_MAX));
    const uint32_t before = zs.avail_out;
    const int rc = isal_deflate(&zs);
    used += before - zs.avail_out;
    if (rc != COMP_OK) {
      out->resize(start);
      return Status::Internal(fmt::format("isal_deflate failed ({})", rc));
    }
    if (left > 0 || zs.avail_in > 0) continue;
    if (final ? zs.internal_state.state == ZSTATE_END
              : (zs.internal_state.state == ZSTATE_NEW_HDR && zs.avail_out > 0)) {
      break;
    }
  }
  out->resize(used);
  return Status::OK();
}

Status GzipWith(Backend backend, std::string_view in, std::string* out) {
  if (backend.engine == Engine::kIgzip) {
    out->clear();
    AppendGzipHeader(out);
    Status st = IgzipDeflateChunk(backend.native_level, in, /*final=*/true, out);
    if (!st.ok()) return st;
    AppendGzipTrailer(Crc32(0, in), in.size(), out);
    return Status::OK();
  }
  if (backend.native_level < 1 || backend.native_level > 12) {
    return Status::InvalidArgument(fmt::format("libdeflate level {} not in 1..12", backend.native_level));
  }
  thread_local LibdeflateCache cache;
  libdeflate_compressor* c = cache.Get(backend.native_level);
  if (!c) return Status::Internal("libdeflate_alloc_compressor failed");
  out->resize(libdeflate_gzip_compress_bound(c, in.size()));
  size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out->data(), out->size());
  if (n == 0) return Status::Internal("libdeflate_gzip_compress: output buffer too small");
  out->resize(n);
  return Status::OK();
}

Status Compress(Codec codec, int level, std::string_view in, std::string* out) {
  if (codec == Codec::kNone) {
    out->assign(in);
    return Status::OK();
  }
  if (Status st = CheckLevel(codec, level); !st.ok()) return st;
  return GzipWith(BackendFor(level), in, out);
}

Status Gunzip(std::string_view in, std::string* out) {
  out->clear();
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[65536];
  int rc = Z_OK;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out->append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // next member
      continue;
    }
    if (rc != Z_OK) break;
    if (zs.avail_in == 0 && zs.avail_out != 0) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Corruption(fmt::format("not a complete gzip stream (zlib {})", rc));
  return Status::OK();
}

}  // namespace shardhose::compress

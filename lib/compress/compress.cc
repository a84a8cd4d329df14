#include "compress/compress.h"

#include <fmt/format.h>
#include <libdeflate.h>
#include <zlib.h>

#include <array>

namespace shardhose::compress {
namespace {

struct CompressorCache {
  std::array<libdeflate_compressor*, 13> by_level{};
  ~CompressorCache() {
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

}  // namespace

Result<Codec> ParseCodec(std::string_view name) {
  if (name == "gzip") return Codec::kGzip;
  if (name == "none") return Codec::kNone;
  return Status::InvalidArgument(fmt::format("compression '{}' is not one of gzip|none", name));
}

std::string_view ObjectSuffix(Codec codec) { return codec == Codec::kGzip ? ".json.gz" : ".json"; }

std::string_view ContentEncoding(Codec codec) { return codec == Codec::kGzip ? "gzip" : ""; }

Status Compress(Codec codec, int level, std::string_view in, std::string* out) {
  if (codec == Codec::kNone) {
    out->assign(in);
    return Status::OK();
  }
  if (level < 1 || level > 12) return Status::InvalidArgument(fmt::format("gzip level {} not in 1..12", level));
  thread_local CompressorCache cache;
  libdeflate_compressor* c = cache.Get(level);
  if (!c) return Status::Internal("libdeflate_alloc_compressor failed");
  out->resize(libdeflate_gzip_compress_bound(c, in.size()));
  size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out->data(), out->size());
  if (n == 0) return Status::Internal("libdeflate_gzip_compress: output buffer too small");
  out->resize(n);
  return Status::OK();
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

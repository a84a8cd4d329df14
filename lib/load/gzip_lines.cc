#include "load/gzip_lines.h"

#include <fmt/format.h>

#include <memory>

namespace shardhose::load {
namespace {

constexpr size_t kChunk = 1 << 20;

struct Inflater {
  z_stream zs{};
  bool ok = false;
  Inflater() { ok = inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK; }
  ~Inflater() {
    if (ok) inflateEnd(&zs);
  }
};

}  // namespace

Status ForEachGzipLine(std::string_view file, const std::function<Status(std::string_view)>& line) {
  if (file.empty()) return Status::OK();  // an empty partition's file
  Inflater inf;
  if (!inf.ok) return Status::Internal("inflateInit2 failed");
  z_stream& zs = inf.zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(file.data()));
  zs.avail_in = static_cast<uInt>(file.size());
  std::string pending;  // the start of a line not yet ended
  auto out = std::make_unique<char[]>(kChunk);
  int rc = Z_OK;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(out.get());
    zs.avail_out = kChunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    std::string_view got(out.get(), kChunk - zs.avail_out);
    while (!got.empty()) {
      const size_t nl = got.find('\n');
      if (nl == std::string_view::npos) {
        pending.append(got);
        break;
      }
      Status st;
      if (pending.empty()) {
        st = line(got.substr(0, nl));
      } else {
        pending.append(got.substr(0, nl));
        st = line(pending);
        pending.clear();
      }
      if (!st.ok()) return st;
      got.remove_prefix(nl + 1);
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // the next member
      continue;
    }
    if (rc == Z_BUF_ERROR || (zs.avail_in == 0 && zs.avail_out != 0)) {
      rc = Z_BUF_ERROR;  // input ended inside a member
      break;
    }
  }
  if (rc != Z_STREAM_END) {
    return Status::Corruption(fmt::format("not a complete gzip file ({})", rc == Z_BUF_ERROR ? "truncated"
                                                                           : zs.msg          ? zs.msg
                                                                                             : "zlib error"));
  }
  if (!pending.empty()) return line(pending);
  return Status::OK();
}

}  // namespace shardhose::load

#include "compress/gzip_chunks.h"

#include <fmt/format.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

namespace shardhose::compress {
namespace {

constexpr int kMaxIgzipLevel = 2;
constexpr size_t kHistory = 32 * 1024;  // deflate's window: the most a chunk can refer back

// igzip's level buffers, one per level, allocated on first use.
struct IgzipState {
  std::array<std::vector<uint8_t>, 4> level_buf;
  uint8_t* Buffer(int level, uint32_t* size) {
    static constexpr std::array<uint32_t, 4> kSizes = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                                       ISAL_DEF_LVL3_DEFAULT};
    auto& b = level_buf[static_cast<size_t>(level)];
    if (b.size() != kSizes[static_cast<size_t>(level)]) b.resize(kSizes[static_cast<size_t>(level)]);
    *size = static_cast<uint32_t>(b.size());
    return b.empty() ? nullptr : b.data();
  }
};

// zlib streams for levels 4..9, raw deflate, reset per chunk.
struct ZlibState {
  std::array<std::unique_ptr<z_stream>, 10> by_level;
  ~ZlibState() {
    for (auto& z : by_level) {
      if (z) deflateEnd(z.get());
    }
  }
  z_stream* Get(int level) {
    auto& z = by_level[static_cast<size_t>(level)];
    if (!z) {
      auto fresh = std::make_unique<z_stream>();
      std::memset(fresh.get(), 0, sizeof(z_stream));
      if (deflateInit2(fresh.get(), level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return nullptr;
      z = std::move(fresh);
    } else if (deflateReset(z.get()) != Z_OK) {
      return nullptr;
    }
    return z.get();
  }
};

// What both igzip paths set alike: level, its buffer (this thread's),
// a raw deflate stream ending in a full flush, input and output.
void SetUpIgzip(isal_zstream* s, int level, std::string_view in, char* out, size_t cap) {
  thread_local IgzipState state;
  s->level = static_cast<uint32_t>(level);
  s->level_buf = state.Buffer(level, &s->level_buf_size);
  s->gzip_flag = IGZIP_DEFLATE;
  s->flush = FULL_FLUSH;
  s->end_of_stream = 0;
  s->next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in.data()));
  s->avail_in = static_cast<uint32_t>(in.size());
  s->next_out = reinterpret_cast<uint8_t*>(out);
  s->avail_out = static_cast<uint32_t>(std::min<size_t>(cap, UINT32_MAX));
}

Result<size_t> IgzipChunk(int level, std::string_view in, char* out, size_t cap) {
  // Zeroed first: isal_deflate_stateless_init() sets only some fields, and
  // isal_deflate_stateless() reads others (internal_state.has_wrap_hdr,
  // and in some versions hist_bits, which sets the match window) that a
  // stack variable would leave as garbage -- the same chunk could then
  // compress to other (valid) bytes. Seen in pipeline_test under load: a
  // batch re-formed after a crash, same lines, one run 180 bytes instead of
  // 179. Re-formed batches must be byte-identical.
  // (Everything before internal_state.buffer: the history buffer and the
  // level-0 hash, tens of KiB, serve stateful compression only.)
  isal_zstream s;
  std::memset(&s, 0, offsetof(isal_zstream, internal_state) + offsetof(isal_zstate, buffer));
  isal_deflate_stateless_init(&s);
  SetUpIgzip(&s, level, in, out, cap);
  const int rc = isal_deflate_stateless(&s);
  if (rc != COMP_OK) return Status::Internal(fmt::format("isal_deflate_stateless failed ({})", rc));
  return static_cast<size_t>(s.total_out);
}

// A chunk that may refer back into `history` (the stream's bytes just
// before it): igzip's stateful API, the only one that takes a dictionary.
// One stream per thread, re-initialised per chunk, so a chunk's bytes depend
// only on (history, in, level), as without history.
Result<size_t> IgzipChunkAfter(int level, std::string_view history, std::string_view in, char* out, size_t cap) {
  thread_local std::unique_ptr<isal_zstream> stream;  // ~80 KiB: its window
  if (!stream) stream = std::make_unique<isal_zstream>();
  isal_zstream& s = *stream;
  isal_deflate_init(&s);  // every field the stateful path reads, hist_bits included
  SetUpIgzip(&s, level, in, out, cap);
  int rc = isal_deflate_set_dict(&s, reinterpret_cast<uint8_t*>(const_cast<char*>(history.data())),
                                 static_cast<uint32_t>(history.size()));
  if (rc != COMP_OK) return Status::Internal(fmt::format("isal_deflate_set_dict failed ({})", rc));
  rc = isal_deflate(&s);
  if (rc != COMP_OK) return Status::Internal(fmt::format("isal_deflate failed ({})", rc));
  // Everything in, and the full flush written (the output did not run out).
  if (s.avail_in != 0 || s.internal_state.state != ZSTATE_NEW_HDR || s.avail_out == 0)
    return Status::Internal("isal_deflate did not finish the chunk");
  return static_cast<size_t>(s.total_out);
}

Result<size_t> ZlibChunk(int level, std::string_view history, std::string_view in, char* out, size_t cap) {
  thread_local ZlibState state;
  z_stream* z = state.Get(level);
  if (z == nullptr) return Status::Internal("deflateInit2/deflateReset failed");
  if (!history.empty() && deflateSetDictionary(z, reinterpret_cast<const Bytef*>(history.data()),
                                               static_cast<uInt>(history.size())) != Z_OK)
    return Status::Internal("deflateSetDictionary failed");
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z->avail_in = static_cast<uInt>(in.size());
  z->next_out = reinterpret_cast<Bytef*>(out);
  z->avail_out = static_cast<uInt>(std::min<size_t>(cap, UINT_MAX));
  const int rc = deflate(z, Z_FULL_FLUSH);
  if (rc != Z_OK || z->avail_in != 0 || z->avail_out == 0)
    return Status::Internal(fmt::format("deflate failed ({})", rc));
  return static_cast<size_t>(z->total_out);
}

void PutLe32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

size_t ChunkBound(size_t n) {
  // Stored blocks bound the expansion: igzip adds 5 bytes per 64 KiB stored
  // block, zlib's deflateBound about n/4096 + n/16384 + 13, plus the full
  // flush's empty stored block; n/2048 + 1 KiB covers both.
  return n + n / 2048 + 1024;
}

Result<size_t> CompressChunkInto(int level, std::string_view in, char* out, size_t capacity) {
  return CompressChunkInto(level, {}, in, out, capacity);
}

Result<size_t> CompressChunkInto(int level, std::string_view history, std::string_view in, char* out, size_t capacity) {
  if (level < kMinChunkLevel || level > kMaxChunkLevel) {
    return Status::InvalidArgument(fmt::format("gzip level {} not in {}..{}", level, kMinChunkLevel, kMaxChunkLevel));
  }
  if (in.empty()) return size_t{0};
  if (in.size() > UINT_MAX / 2) return Status::InvalidArgument("chunk too large");
  if (capacity < ChunkBound(in.size())) return Status::InvalidArgument("chunk output buffer below ChunkBound");
  if (history.size() > kHistory) history.remove_prefix(history.size() - kHistory);
  if (level > kMaxIgzipLevel) return ZlibChunk(level, history, in, out, capacity);
  return history.empty() ? IgzipChunk(level, in, out, capacity) : IgzipChunkAfter(level, history, in, out, capacity);
}

Status CompressChunk(int level, std::string_view in, std::string* out) {
  const size_t old = out->size();
  const size_t bound = ChunkBound(in.size());
  out->resize(old + bound);
  Result<size_t> n = CompressChunkInto(level, in, out->data() + old, bound);
  out->resize(n.ok() ? old + *n : old);
  return n.status();
}

std::string ChunkEngine(int level) { return fmt::format("{} {}", level <= kMaxIgzipLevel ? "igzip" : "zlib", level); }

uint32_t Crc32(uint32_t crc, std::string_view data) {
  // ISA-L's (carry-less multiply): the same CRC as zlib's crc32, about 4x
  // as fast here (25 vs 5.5 GB/s), which matters at igzip's speed.
  return crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

uint32_t Crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  return static_cast<uint32_t>(crc32_combine64(crc_a, crc_b, static_cast<z_off64_t>(len_b)));
}

void AppendGzipHeader(std::string* out) {
  static constexpr char kHeader[10] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, '\xff'};
  out->append(kHeader, sizeof(kHeader));
}

void AppendGzipTrailer(uint32_t crc, uint64_t size, std::string* out) {
  out->push_back('\x03');  // BFINAL=1, fixed Huffman, end-of-block
  out->push_back('\x00');
  PutLe32(crc, out);
  PutLe32(static_cast<uint32_t>(size & 0xffffffffu), out);
}

}  // namespace shardhose::compress

#include "compress/gzip_chunks.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "compress/compress.h"

namespace shardhose::compress {
namespace {

// NDJSON-like text with some repetition and some noise.
std::string Text(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) {
    s += "{\"pk\":\"order#" + std::to_string(rng() % 100000) +
         "\",\"status\":\"SHIPPED\",\"total\":" + std::to_string(rng() % 10000) + "}\n";
  }
  s.resize(n);
  return s;
}

// header + chunks + trailer, the way batch_buffer.cc puts a member together.
std::string Member(int level, const std::vector<std::string>& chunks) {
  std::string out;
  AppendGzipHeader(&out);
  uint32_t crc = 0;
  uint64_t size = 0;
  for (const auto& c : chunks) {
    EXPECT_TRUE(CompressChunk(level, c, &out).ok());
    crc = Crc32Combine(crc, Crc32(0, c), c.size());
    size += c.size();
  }
  AppendGzipTrailer(crc, size, &out);
  return out;
}

TEST(GzipChunks, ChunksMakeOneMemberAtEveryLevel) {
  const std::vector<std::string> chunks = {Text(70000, 1), Text(1, 2), Text(65536, 3), Text(300000, 4)};
  std::string all;
  for (const auto& c : chunks) all += c;
  for (int level = kMinChunkLevel; level <= kMaxChunkLevel; ++level) {
    SCOPED_TRACE(level);
    const std::string gz = Member(level, chunks);
    EXPECT_LT(gz.size(), all.size() / 2);
    std::string back;
    ASSERT_TRUE(Gunzip(gz, &back).ok());
    EXPECT_EQ(back, all);
    // Exactly one member: zlib's single-member inflate consumes every byte.
    z_stream zs{};
    ASSERT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    std::string out(all.size() + 1, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
    EXPECT_EQ(zs.avail_in, 0u);
    EXPECT_EQ(zs.total_out, all.size());
    inflateEnd(&zs);
  }
}

TEST(GzipChunks, DeterministicAndIndependentOfOtherChunks) {
  const std::string a = Text(100000, 7), b = Text(50000, 8);
  for (int level : {1, 2, 3, 6, 9}) {
    std::string x, y, z;
    ASSERT_TRUE(CompressChunk(level, a, &x).ok());
    ASSERT_TRUE(CompressChunk(level, b, &y).ok());
    ASSERT_TRUE(CompressChunk(level, a, &y).ok());  // after another chunk, into a non-empty string
    ASSERT_TRUE(CompressChunk(level, a, &z).ok());
    EXPECT_EQ(x, z) << level;
    EXPECT_EQ(y.substr(y.size() - x.size()), x) << level;
  }
}

// A chunk compressed after `history` (CompressChunkInto with history) may
// refer back into it: put after those bytes, it decodes to itself; and
// where it repeats the history it is far smaller than alone.
std::string ChunkAfter(int level, std::string_view history, std::string_view in) {
  std::string out(ChunkBound(in.size()), '\0');
  Result<size_t> n = CompressChunkInto(level, history, in, out.data(), out.size());
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  out.resize(n.ok() ? *n : 0);
  return out;
}

TEST(GzipChunks, AChunkWithHistoryRefersBackIntoIt) {
  const std::string a = Text(40000, 11);
  const std::string b = a.substr(30000, 6000) + Text(20000, 12);  // starts with 6,000 bytes of a's last 10,000
  for (int level : {1, 2, 3, 6, 9}) {
    SCOPED_TRACE(level);
    std::string gz;
    AppendGzipHeader(&gz);
    ASSERT_TRUE(CompressChunk(level, a, &gz).ok());
    const std::string after = ChunkAfter(level, a, b);
    gz += after;
    AppendGzipTrailer(Crc32(0, a + b), a.size() + b.size(), &gz);
    std::string back;
    ASSERT_TRUE(Gunzip(gz, &back).ok());
    EXPECT_EQ(back, a + b);
    // Only the last 32 KiB of history count (deflate's window), and the
    // 6,000 bytes b repeats are in them.
    std::string alone;
    ASSERT_TRUE(CompressChunk(level, b, &alone).ok());
    EXPECT_LT(after.size() + 300, alone.size());
    EXPECT_EQ(ChunkAfter(level, a.substr(a.size() - 32768), b), after);
    // No history is a chunk on its own.
    EXPECT_EQ(ChunkAfter(level, "", b), alone);
  }
}

// A chunk's bytes depend only on (history, input, level), not on what the
// thread compressed before: a fresh thread gives the same bytes (what makes
// a batch re-formed after a crash byte-identical).
TEST(GzipChunks, AChunkWithHistoryIsDeterministic) {
  const std::string h = Text(9000, 21), x = Text(70000, 22);
  for (int level : {1, 2, 6}) {
    SCOPED_TRACE(level);
    std::string fresh;
    std::thread([&] { fresh = ChunkAfter(level, h, x); }).join();
    ChunkAfter(level, Text(33000, 23), Text(100, 24));  // other state left behind
    ChunkAfter(level, "", Text(200000, 25));
    std::string other;
    ASSERT_TRUE(CompressChunk(level == 1 ? 2 : 1, x, &other).ok());
    EXPECT_EQ(ChunkAfter(level, h, x), fresh);
  }
}

TEST(GzipChunks, EmptyInputsAndBadLevels) {
  std::string out = "keep";
  EXPECT_TRUE(CompressChunk(1, "", &out).ok());
  EXPECT_EQ(out, "keep");
  EXPECT_FALSE(CompressChunk(0, "x", &out).ok());
  EXPECT_FALSE(CompressChunk(10, "x", &out).ok());
  // A member with no chunks is the empty file's gzip.
  std::string gz, back = "x";
  AppendGzipHeader(&gz);
  AppendGzipTrailer(0, 0, &gz);
  ASSERT_TRUE(Gunzip(gz, &back).ok());
  EXPECT_EQ(back, "");
}

TEST(GzipChunks, Crc32MatchesZlib) {
  const std::string a = Text(1000, 1), b = Text(3333, 2);
  const uint32_t whole = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>((a + b).data()), static_cast<uInt>(a.size() + b.size())));
  EXPECT_EQ(Crc32(0, a + b), whole);
  EXPECT_EQ(Crc32(Crc32(0, a), b), whole);
  EXPECT_EQ(Crc32Combine(Crc32(0, a), Crc32(0, b), b.size()), whole);
  EXPECT_EQ(Crc32Combine(0, Crc32(0, b), b.size()), Crc32(0, b));
}

}  // namespace
}  // namespace shardhose::compress

#include "compress/gzip_chunks.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
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

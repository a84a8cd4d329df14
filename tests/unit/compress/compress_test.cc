#include "compress/compress.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

namespace shardhose::compress {
namespace {

std::string SampleNdjson(size_t lines) {
  std::string s;
  std::mt19937 rng(7);
  for (size_t i = 0; i < lines; ++i) {
    s += "{\"event_id\":\"" + std::to_string(rng()) + "\",\"table\":\"orders\",\"n\":" + std::to_string(i) + "}\n";
  }
  return s;
}

TEST(Compress, GzipRoundTripsThroughZlib) {
  const std::string in = SampleNdjson(5000);
  for (int level : {1, 6, 9}) {
    std::string gz, back;
    ASSERT_TRUE(Compress(Codec::kGzip, level, in, &gz).ok());
    EXPECT_LT(gz.size(), in.size() / 3);
    EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
    EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
    ASSERT_TRUE(Gunzip(gz, &back).ok());
    EXPECT_EQ(back, in);
  }
}

// Inflates exactly one gzip member that must span all of `gz` (no trailing
// bytes, no second member).
testing::AssertionResult OneMember(const std::string& gz, const std::string& want) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    return testing::AssertionFailure() << "inflateInit2";
  std::string out(want.size() + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  const uInt left = zs.avail_in;
  out.resize(zs.total_out);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return testing::AssertionFailure() << "inflate returned " << rc;
  if (left != 0) return testing::AssertionFailure() << left << " bytes after the first member";
  if (out != want) return testing::AssertionFailure() << "content differs";
  return testing::AssertionSuccess();
}

// NDJSON with a stretch of random bytes in the middle: exercises output
// growth past the initial estimate (random bytes do not compress).
std::string Mixed(size_t bytes) {
  std::string s = SampleNdjson(bytes / 160);
  std::mt19937 rng(11);
  std::string noise(bytes / 4, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  s.insert(s.size() / 2, noise);
  s.resize(bytes, 'x');
  return s;
}

const std::vector<Backend>& AllBackends() {
  static const std::vector<Backend> kAll = [] {
    std::vector<Backend> v;
    for (int l = 0; l <= 3; ++l) v.push_back({Engine::kIgzip, l});
    for (int l = 1; l <= 12; ++l) v.push_back({Engine::kLibdeflate, l});
    return v;
  }();
  return kAll;
}

TEST(Compress, EveryLevelIsOneGzipMember) {
  const std::string in = SampleNdjson(5000);
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    SCOPED_TRACE(level);
    std::string gz;
    ASSERT_TRUE(Compress(Codec::kGzip, level, in, &gz).ok());
    EXPECT_LT(gz.size(), in.size() / 3);
    EXPECT_TRUE(OneMember(gz, in));
  }
}

TEST(Compress, EveryBackendIsOneGzipMember) {
  const std::string in = Mixed(1 << 20);
  for (const Backend& b : AllBackends()) {
    SCOPED_TRACE(std::string(EngineName(b.engine)) + " " + std::to_string(b.native_level));
    std::string gz;
    ASSERT_TRUE(GzipWith(b, in, &gz).ok());
    EXPECT_TRUE(OneMember(gz, in));
  }
}

TEST(Compress, IgzipWritesAFixedHeader) {
  std::string gz;
  ASSERT_TRUE(Compress(Codec::kGzip, 1, SampleNdjson(10), &gz).ok());
  EXPECT_EQ(gz.substr(0, 10),
            std::string("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10));  // mtime 0, OS unknown
}

TEST(Compress, LevelScaleAndChecks) {
  EXPECT_EQ(kDefaultLevel, 1);
  EXPECT_EQ(BackendFor(1).engine, Engine::kIgzip);
  EXPECT_EQ(BackendFor(1).native_level, 1);
  EXPECT_EQ(BackendFor(2).engine, Engine::kIgzip);
  EXPECT_EQ(BackendFor(3).engine, Engine::kLibdeflate);
  EXPECT_EQ(BackendFor(3).native_level, 3);
  EXPECT_EQ(BackendFor(9).engine, Engine::kLibdeflate);
  EXPECT_EQ(BackendFor(9).native_level, 9);
  EXPECT_TRUE(CheckLevel(Codec::kGzip, 1).ok());
  EXPECT_TRUE(CheckLevel(Codec::kGzip, 9).ok());
  EXPECT_TRUE(CheckLevel(Codec::kGzip, 0).IsInvalidArgument());
  EXPECT_TRUE(CheckLevel(Codec::kGzip, 10).IsInvalidArgument());
  EXPECT_TRUE(CheckLevel(Codec::kNone, 0).ok());
  std::string gz;
  EXPECT_TRUE(Compress(Codec::kGzip, 10, "a\n", &gz).IsInvalidArgument());
  EXPECT_TRUE(GzipWith({Engine::kIgzip, 4}, "a\n", &gz).IsInvalidArgument());
  EXPECT_TRUE(GzipWith({Engine::kLibdeflate, 13}, "a\n", &gz).IsInvalidArgument());
}

// The exactly-once protocol re-forms a batch after a crash and expects the
// same bytes: same input -> same output, whatever the thread and whatever
// was compressed before on it.
TEST(Compress, Deterministic) {
  const std::string a = Mixed(3 << 20), b = SampleNdjson(777);
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    SCOPED_TRACE(level);
    std::string first, other, again, threaded;
    ASSERT_TRUE(Compress(Codec::kGzip, level, a, &first).ok());
    ASSERT_TRUE(Compress(Codec::kGzip, level, b, &other).ok());
    ASSERT_TRUE(Compress(Codec::kGzip, level, a, &again).ok());
    std::thread t([&] { ASSERT_TRUE(Compress(Codec::kGzip, level, a, &threaded).ok()); });
    t.join();
    EXPECT_EQ(first, again);
    EXPECT_EQ(first, threaded);
  }
}

TEST(Compress, ConcurrentThreadsAgree) {
  const std::string in = Mixed(1 << 20);
  std::vector<std::string> want(kMaxLevel + 1);
  for (int level = kMinLevel; level <= kMaxLevel; ++level)
    ASSERT_TRUE(Compress(Codec::kGzip, level, in, &want[level]).ok());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string gz;
      for (int round = 0; round < 3; ++round) {
        for (int level = kMinLevel; level <= kMaxLevel; ++level) {
          if (!Compress(Codec::kGzip, level, in, &gz).ok() || gz != want[level]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(Compress, EmptyInputAtEveryBackend) {
  for (const Backend& b : AllBackends()) {
    SCOPED_TRACE(std::string(EngineName(b.engine)) + " " + std::to_string(b.native_level));
    std::string gz;
    ASSERT_TRUE(GzipWith(b, "", &gz).ok());
    EXPECT_TRUE(OneMember(gz, ""));
  }
}

TEST(Compress, SixteenMiBAtEveryLevel) {
  const std::string in = Mixed(16 << 20);
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    SCOPED_TRACE(level);
    std::string gz, back;
    ASSERT_TRUE(Compress(Codec::kGzip, level, in, &gz).ok());
    EXPECT_TRUE(OneMember(gz, in));
    ASSERT_TRUE(Gunzip(gz, &back).ok());
    EXPECT_EQ(back.size(), in.size());
  }
}

TEST(Compress, IncompressibleInputGrowsTheOutput) {
  std::string in(1 << 20, '\0');
  std::mt19937 rng(3);
  for (char& c : in) c = static_cast<char>(rng());
  for (int level = 0; level <= 3; ++level) {
    std::string gz;
    ASSERT_TRUE(GzipWith({Engine::kIgzip, level}, in, &gz).ok());
    EXPECT_TRUE(OneMember(gz, in));
  }
}

// The pieces a streaming batch will be built from: a header, independent
// non-final byte-aligned chunks, a final chunk, and a trailer whose CRC is
// combined from the chunks' CRCs, make one gzip member.
TEST(Compress, IgzipChunksConcatenateIntoOneMember) {
  const std::string in = Mixed(2 << 20);
  const size_t cuts[] = {0, 100000, 100000, 1500000, in.size()};  // includes an empty chunk
  for (int level = 0; level <= 3; ++level) {
    SCOPED_TRACE(level);
    std::string gz;
    AppendGzipHeader(&gz);
    uLong crc = crc32(0, nullptr, 0);
    for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
      const std::string_view piece = std::string_view(in).substr(cuts[i], cuts[i + 1] - cuts[i]);
      const bool final = i + 2 == std::size(cuts);
      ASSERT_TRUE(IgzipDeflateChunk(level, piece, final, &gz).ok());
      const uint32_t piece_crc = Crc32(0, piece);
      EXPECT_EQ(piece_crc, crc32(0, reinterpret_cast<const Bytef*>(piece.data()),
                                 static_cast<uInt>(piece.size())));
      crc = crc32_combine(crc, piece_crc, static_cast<z_off_t>(piece.size()));
    }
    AppendGzipTrailer(static_cast<uint32_t>(crc), in.size(), &gz);
    EXPECT_TRUE(OneMember(gz, in));
  }
}

TEST(Compress, ReadableByGzipCommand) {
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    SCOPED_TRACE(level);
    const std::string in = SampleNdjson(100);
    std::string gz;
    ASSERT_TRUE(Compress(Codec::kGzip, level, in, &gz).ok());
    char path[] = "/tmp/shardhose-gz-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, gz.data(), gz.size()), static_cast<ssize_t>(gz.size()));
    close(fd);
    std::string cmd = std::string("gzip -dc < ") + path;
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0);
    unlink(path);
    EXPECT_EQ(out, in);
  }
}

TEST(Compress, EmptyAndNone) {
  std::string gz, back;
  ASSERT_TRUE(Compress(Codec::kGzip, 6, "", &gz).ok());
  ASSERT_TRUE(Gunzip(gz, &back).ok());
  EXPECT_EQ(back, "");
  ASSERT_TRUE(Compress(Codec::kNone, 6, "a\n", &back).ok());
  EXPECT_EQ(back, "a\n");
  EXPECT_EQ(ObjectSuffix(Codec::kGzip), ".json.gz");
  EXPECT_EQ(ObjectSuffix(Codec::kNone), ".json");
  EXPECT_FALSE(ParseCodec("zstd").ok());
}

TEST(Compress, GunzipDetectsTruncation) {
  std::string gz, back;
  ASSERT_TRUE(Compress(Codec::kGzip, 6, SampleNdjson(100), &gz).ok());
  gz.resize(gz.size() - 5);
  EXPECT_TRUE(Gunzip(gz, &back).IsCorruption());
}

}  // namespace
}  // namespace shardhose::compress

#include "compress/compress.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

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

TEST(Compress, ReadableByGzipCommand) {
  const std::string in = SampleNdjson(100);
  std::string gz;
  ASSERT_TRUE(Compress(Codec::kGzip, 6, in, &gz).ok());
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

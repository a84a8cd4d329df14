// The lines of a gzip'd data file (load/gzip_lines.h) and the load's
// progress file (load/load_progress.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compress/compress.h"
#include "load/gzip_lines.h"
#include "load/load_progress.h"
#include "testing/mem_fs.h"

namespace shardhose::load {
namespace {

std::string Gzip(std::string_view text) {
  std::string out;
  EXPECT_TRUE(compress::Compress(compress::Codec::kGzip, 1, text, &out).ok());
  return out;
}

Result<std::vector<std::string>> Lines(std::string_view file) {
  std::vector<std::string> lines;
  Status st = ForEachGzipLine(file, [&](std::string_view l) {
    lines.emplace_back(l);
    return Status::OK();
  });
  if (!st.ok()) return st;
  return lines;
}

TEST(GzipLinesTest, LinesAcrossChunksAndMembers) {
  std::string text;
  for (int i = 0; i < 30000; ++i) text += std::string(static_cast<size_t>(i % 97), 'x') + std::to_string(i) + "\n";
  const std::string file = Gzip(text.substr(0, 700001)) + Gzip(text.substr(700001)) + Gzip("last, no newline");
  auto lines = Lines(file);
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  ASSERT_EQ(lines->size(), 30001u);
  EXPECT_EQ((*lines)[29999], std::string(29999 % 97, 'x') + "29999");
  EXPECT_EQ(lines->back(), "last, no newline");
}

TEST(GzipLinesTest, EmptyFileNoLines) {
  auto lines = Lines("");
  ASSERT_TRUE(lines.ok());
  EXPECT_TRUE(lines->empty());
  lines = Lines(Gzip(""));
  ASSERT_TRUE(lines.ok());
  EXPECT_TRUE(lines->empty());
}

TEST(GzipLinesTest, TruncatedOrNotGzipIsCorruption) {
  const std::string file = Gzip("a\nb\nc\n");
  auto lines = Lines(std::string_view(file).substr(0, file.size() - 4));
  ASSERT_FALSE(lines.ok());
  EXPECT_TRUE(lines.status().IsCorruption()) << lines.status().ToString();
  lines = Lines("{\"Item\":{}}\n");
  ASSERT_FALSE(lines.ok());
  EXPECT_TRUE(lines.status().IsCorruption());
}

TEST(GzipLinesTest, TheCallersErrorStopsTheRead) {
  int seen = 0;
  Status st = ForEachGzipLine(
      Gzip("a\nb\nc\n"), [&](std::string_view) { return ++seen == 2 ? Status::Unavailable("stop") : Status::OK(); });
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(st.message(), "stop");
}

TEST(LoadProgressTest, RoundTripBesideTheCheckpoint) {
  test::MemFileSystem fs;
  const std::string path = LoadProgressPath("/var/lib/shardhose/checkpoint.json", "0171-ab");
  EXPECT_EQ(path, "/var/lib/shardhose/load-0171-ab.json");
  auto none = ReadLoadProgress(&fs, path);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  LoadProgress p{"0171-ab", "format=raw;keys=pk", {0, 2, 7}};
  ASSERT_TRUE(WriteLoadProgress(&fs, path, p).ok());
  auto back = ReadLoadProgress(&fs, path);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->export_id, "0171-ab");
  EXPECT_EQ((*back)->settings, "format=raw;keys=pk");
  EXPECT_EQ((*back)->files_done, (std::set<size_t>{0, 2, 7}));
}

TEST(LoadProgressTest, ACorruptFileIsCorruptionNamingIt) {
  test::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  for (const char* text :
       {"{garbage", "{\"format\":\"x\"}", "[]",
        R"({"format":"shardhose-load-progress","version":1,"export_id":"e","settings":"s","files_done":[-1]})"}) {
    ASSERT_TRUE(fs.WriteFile("/d/load-e.json", text, false).ok());
    auto p = ReadLoadProgress(&fs, "/d/load-e.json");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_TRUE(p.status().IsCorruption());
    EXPECT_NE(p.status().message().find("/d/load-e.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace shardhose::load

// One object of the load (load/object_builder.h): the lines back out
// exactly, across chunks, with and without gzip; the same lines give the
// same bytes; Reset() starts a new object.
#include "load/object_builder.h"

#include <gtest/gtest.h>

#include <string>

#include "compress/compress.h"

namespace shardhose::load {
namespace {

std::string Lines(int from, int n) {
  std::string text;
  for (int i = from; i < from + n; ++i) {
    text += "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(static_cast<size_t>(i % 211), 'p') + "\"}\n";
  }
  return text;
}

std::string Build(ObjectBuilder* b, std::string_view text) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    EXPECT_TRUE(b->Append(text.substr(0, nl + 1)).ok());
    text.remove_prefix(nl + 1);
  }
  Result<std::string_view> body = b->Finish();
  EXPECT_TRUE(body.ok()) << body.status().ToString();
  return body.ok() ? std::string(*body) : std::string();
}

TEST(ObjectBuilderTest, GzipObjectOfManyChunksGunzipsToItsLines) {
  const std::string text = Lines(0, 40000);  // ~5 MB: five chunks and a tail
  ASSERT_GT(text.size(), 4 * ObjectBuilder::kChunkBytes);
  ObjectBuilder b(/*gzip=*/true, 1);
  const std::string object = Build(&b, text);
  EXPECT_EQ(b.records(), 40000);
  EXPECT_EQ(b.uncompressed_bytes(), text.size());
  std::string back;
  ASSERT_TRUE(compress::Gunzip(object, &back).ok());
  EXPECT_EQ(back, text);
  EXPECT_LT(object.size(), text.size() / 4);
}

TEST(ObjectBuilderTest, SameLinesSameBytesAtEveryLevel) {
  const std::string text = Lines(7, 12000);
  for (int level : {1, 2, 6}) {
    ObjectBuilder a(true, level), b(true, level);
    const std::string first = Build(&a, text);
    EXPECT_EQ(first, Build(&b, text)) << "level " << level;
    std::string back;
    ASSERT_TRUE(compress::Gunzip(first, &back).ok()) << "level " << level;
    EXPECT_EQ(back, text) << "level " << level;
  }
}

TEST(ObjectBuilderTest, ResetStartsAFreshObject) {
  ObjectBuilder b(true, 1);
  const std::string first = Build(&b, Lines(0, 9000));
  b.Reset();
  EXPECT_EQ(b.records(), 0);
  EXPECT_EQ(b.uncompressed_bytes(), 0u);
  const std::string second = Build(&b, Lines(100, 10));
  std::string back;
  ASSERT_TRUE(compress::Gunzip(second, &back).ok());
  EXPECT_EQ(back, Lines(100, 10));
  ObjectBuilder fresh(true, 1);
  EXPECT_EQ(second, Build(&fresh, Lines(100, 10)));
  EXPECT_NE(first, second);
}

TEST(ObjectBuilderTest, LineLongerThanAChunk) {
  const std::string text = "{\"big\":\"" + std::string(3 * ObjectBuilder::kChunkBytes, 'b') + "\"}\n" + Lines(0, 3);
  ObjectBuilder b(true, 1);
  std::string back;
  ASSERT_TRUE(compress::Gunzip(Build(&b, text), &back).ok());
  EXPECT_EQ(back, text);
}

TEST(ObjectBuilderTest, WithoutGzipTheBodyIsTheLines) {
  const std::string text = Lines(0, 3000);
  ObjectBuilder b(/*gzip=*/false, 1);
  EXPECT_EQ(Build(&b, text), text);
  b.Reset();
  EXPECT_EQ(Build(&b, Lines(5, 2)), Lines(5, 2));
}

}  // namespace
}  // namespace shardhose::load

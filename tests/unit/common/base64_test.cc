#include "common/base64.h"

#include <gtest/gtest.h>

namespace shardhose {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : cases) {
    EXPECT_EQ(Base64Encode(plain), enc);
    std::string out;
    ASSERT_TRUE(Base64Decode(enc, &out)) << enc;
    EXPECT_EQ(out, plain);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string out;
  ASSERT_TRUE(Base64Decode(Base64Encode(all), &out));
  EXPECT_EQ(out, all);
}

TEST(Base64, RejectsInvalid) {
  std::string out;
  EXPECT_FALSE(Base64Decode("Zg=", &out));       // bad length
  EXPECT_FALSE(Base64Decode("Z!==", &out));      // bad character
  EXPECT_FALSE(Base64Decode("Zg==Zg==", &out));  // padding in the middle
  EXPECT_FALSE(Base64Decode("Zm9v\n", &out));
}

}  // namespace
}  // namespace shardhose

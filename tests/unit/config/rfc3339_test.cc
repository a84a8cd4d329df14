#include "config/rfc3339.h"

#include <gtest/gtest.h>

namespace shardhose::config {
namespace {

int64_t Ms(const char* s) {
  auto r = ParseRfc3339Millis(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : -42;
}

TEST(Rfc3339Test, Utc) {
  EXPECT_EQ(Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Ms("2024-05-01T00:00:00Z"), 1714521600000);
  EXPECT_EQ(Ms("2024-05-01t00:00:00z"), 1714521600000);
  EXPECT_EQ(Ms("2024-05-01 00:00:00Z"), 1714521600000);
  EXPECT_EQ(Ms("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(Ms("2000-02-29T12:00:00Z"), 951825600000);
}

TEST(Rfc3339Test, FractionsAreTruncatedToMillis) {
  EXPECT_EQ(Ms("2024-05-01T00:00:00.5Z"), 1714521600500);
  EXPECT_EQ(Ms("2024-05-01T00:00:00.123456789Z"), 1714521600123);
  EXPECT_EQ(Ms("2024-05-01T00:00:00.007Z"), 1714521600007);
}

TEST(Rfc3339Test, Offsets) {
  EXPECT_EQ(Ms("2024-05-01T02:00:00+02:00"), 1714521600000);
  EXPECT_EQ(Ms("2024-04-30T18:30:00.250-05:30"), 1714521600250);
  EXPECT_EQ(Ms("2024-05-01T00:00:00+00:00"), 1714521600000);
}

TEST(Rfc3339Test, LeapSecond) { EXPECT_EQ(Ms("2016-12-31T23:59:60Z"), 1483228799999); }

TEST(Rfc3339Test, Rejects) {
  for (const char* bad :
       {"", "2024-05-01", "2024-05-01T00:00:00", "2024-05-01T00:00Z", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T00:00:00.Z", "2024-05-01T00:00:00Zjunk",
        "2024-05-01T00:00:00+0200", "yesterday", "2024/05/01T00:00:00Z"}) {
    auto r = ParseRfc3339Millis(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_TRUE(r.status().IsInvalidArgument());
    }
  }
}

}  // namespace
}  // namespace shardhose::config

#include "common/seqnum.h"

#include <gtest/gtest.h>

namespace shardhose {
namespace {

TEST(SeqNum, OrdersNumerically) {
  EXPECT_LT(CompareSeq("9", "10"), 0);
  EXPECT_GT(CompareSeq("49680471978568396268371981210634610178085412867208642562",
                       "49680471978568396268371981210634610178085412867208642561"),
            0);
  EXPECT_EQ(CompareSeq("123", "123"), 0);
  EXPECT_TRUE(IsValidSeq("0123"));
  EXPECT_FALSE(IsValidSeq(""));
  EXPECT_FALSE(IsValidSeq("12a"));
}

TEST(SeqNum, PositionsOrderBySeqThenSub) {
  EXPECT_EQ(SeqOfPos("123.4"), "123");
  EXPECT_EQ(SeqOfPos("123"), "123");
  EXPECT_EQ(SubOfPos("123.4"), "4");
  EXPECT_EQ(SubOfPos("123"), "");
  EXPECT_LT(ComparePos("99.7", "100"), 0);
  EXPECT_LT(ComparePos("100", "100.0"), 0);
  EXPECT_LT(ComparePos("100.0", "100.1"), 0);
  EXPECT_LT(ComparePos("100.9", "100.10"), 0);  // numeric, not lexicographic
  EXPECT_LT(ComparePos("100.10", "101"), 0);
  EXPECT_EQ(ComparePos("100.3", "100.3"), 0);
  EXPECT_EQ(ComparePos("100", "100"), 0);
  EXPECT_GT(ComparePos("101.0", "100.99"), 0);
}

TEST(SeqNum, ValidPositions) {
  EXPECT_TRUE(IsValidPos("123"));
  EXPECT_TRUE(IsValidPos("123.0"));
  EXPECT_TRUE(IsValidPos("123.45"));
  EXPECT_FALSE(IsValidPos("123."));
  EXPECT_FALSE(IsValidPos(".1"));
  EXPECT_FALSE(IsValidPos("123.01"));
  EXPECT_FALSE(IsValidPos("123.1.2"));
  EXPECT_FALSE(IsValidPos("123.1a"));
  EXPECT_FALSE(IsValidPos("123.123456789012345678901"));
  EXPECT_FALSE(IsValidPos(""));
}

}  // namespace
}  // namespace shardhose

#include "common/seqnum.h"

#include <gtest/gtest.h>

namespace shardhose {
namespace {

TEST(SeqNum, OrdersNumerically) {
  EXPECT_LT(CompareSeq("9", "10"), 0);
  EXPECT_GT(CompareSeq("49680471978568396268371981210634610178085412867208642562",
                       "49680471978568396268371981210634610178085412867208642561"), 0);
  EXPECT_EQ(CompareSeq("123", "123"), 0);
  EXPECT_TRUE(IsValidSeq("0123"));
  EXPECT_FALSE(IsValidSeq(""));
  EXPECT_FALSE(IsValidSeq("12a"));
}

}  // namespace
}  // namespace shardhose

#include "batch/byte_chain.h"

#include <gtest/gtest.h>

#include <string>

namespace shardhose::batch {
namespace {

// Pieces of every size around a block's end come out whole and in order.
TEST(ByteChain, KeepsEveryByteInOrderAcrossBlocks) {
  ByteChain chain;
  std::string want;
  for (size_t i = 0; i < 400; ++i) {
    std::string piece(i * 97 % 5000 + 1, static_cast<char>('a' + i % 26));
    chain.Append(piece);
    want += piece;
  }
  chain.Append(std::string(3 * ByteChain::kMinBlock, 'z'));  // bigger than any block so far
  want += std::string(3 * ByteChain::kMinBlock, 'z');
  EXPECT_EQ(chain.size(), want.size());
  std::string out = "head:";
  chain.CopyTo(&out);
  EXPECT_EQ(out, "head:" + want);
  EXPECT_EQ(chain.Take(), want);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.Take(), "");
}

// Blocks grow with the chain (a quarter of it at a time), so 8 MB in
// 1,000-byte pieces take a few dozen blocks, not one per piece or per 16 KiB.
TEST(ByteChain, BlocksGrowWithTheChain) {
  ByteChain chain;
  for (int i = 0; i < 8000; ++i) chain.Append(std::string(1000, 'x'));
  EXPECT_EQ(chain.size(), 8000u * 1000u);
  EXPECT_LE(chain.blocks(), 30u);
}

// A single block is handed over without a copy.
TEST(ByteChain, TakeOfOneBlockMovesIt) {
  ByteChain chain;
  chain.Append("abc");
  chain.Append("def");
  std::string s = chain.Take();
  EXPECT_EQ(s, "abcdef");
  EXPECT_GE(s.capacity(), ByteChain::kMinBlock);  // the block itself
}

}  // namespace
}  // namespace shardhose::batch

// File: batch/byte_chain.h
//
// Bytes held in blocks that never move: what a ShardRun (shard_run.h) has
// finished so far. Appending copies only the new bytes -- never what is
// already held, as a string growing by reallocation would -- so a run's
// compressed body costs one copy in and one copy out (CopyTo) whatever its
// size.
//
// Blocks grow with the chain: a new block holds at least kMinBlock bytes,
// at least a quarter of what the chain holds, and at least the piece being
// appended, so the unused tail of the last block is at most about a quarter
// of the chain (the slack a string grown by a quarter at a time would have)
// and a chain of n bytes has O(log n) blocks.
//
// Thread-safety: a value; used by one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace shardhose::batch {

class ByteChain {
 public:
  static constexpr size_t kMinBlock = 16 * 1024;

  ByteChain() = default;
  ByteChain(ByteChain&&) noexcept = default;
  ByteChain& operator=(ByteChain&&) noexcept = default;
  ByteChain(const ByteChain&) = delete;
  ByteChain& operator=(const ByteChain&) = delete;

  void Append(std::string_view bytes);
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t blocks() const { return blocks_.size(); }

  // Appends every byte held to *out, in order.
  void CopyTo(std::string* out) const;
  // The bytes as one string, and the chain empty: no copy when they are in
  // one block (the common case for small runs), else CopyTo.
  std::string Take();

 private:
  std::vector<std::string> blocks_;  // each filled up to its capacity, never past it
  size_t size_ = 0;
};

}  // namespace shardhose::batch

// File: decode/arena.h
//
// Arena: a bump allocator that satisfies rapidjson's Allocator concept and
// keeps its blocks across Reset(), so that a Decoder that parses record after
// record stops calling malloc once its blocks are big enough for the largest
// record seen (steady state: zero allocations per record).
//
// Internal to decode/. Free() is a no-op (kNeedFree = false); memory is
// reclaimed all at once by Reset(). Realloc() of the most recent allocation
// grows in place when the current block has room (rapidjson's parse stacks
// grow this way).
//
// Thread-safety: none; owned by one Decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace shardhose::decode {

class Arena {
 public:
  static const bool kNeedFree = false;
  static constexpr size_t kMinBlock = 64 * 1024;

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* Malloc(size_t size) {
    if (size == 0) return nullptr;
    size = Align(size);
    if (cur_ < blocks_.size() && used_ + size <= blocks_[cur_].size) {
      void* p = blocks_[cur_].data.get() + used_;
      last_ = static_cast<char*>(p);
      used_ += size;
      return p;
    }
    return SlowMalloc(size);
  }

  void* Realloc(void* original, size_t original_size, size_t new_size) {
    if (original == nullptr) return Malloc(new_size);
    if (new_size == 0) return nullptr;
    original_size = Align(original_size);
    const size_t aligned_new = Align(new_size);
    if (aligned_new <= original_size) return original;
    // Grow in place if `original` is the latest allocation of this block.
    if (original == last_ && cur_ < blocks_.size() &&
        used_ - original_size + aligned_new <= blocks_[cur_].size) {
      used_ = used_ - original_size + aligned_new;
      return original;
    }
    void* p = Malloc(new_size);
    std::memcpy(p, original, original_size);
    return p;
  }

  static void Free(void*) {}

  // Forgets every allocation; keeps the blocks for reuse.
  void Reset() {
    cur_ = 0;
    used_ = 0;
    last_ = nullptr;
  }

  // Bytes held (for tests and diagnostics).
  size_t capacity() const {
    size_t n = 0;
    for (const Block& b : blocks_) n += b.size;
    return n;
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };

  static size_t Align(size_t n) { return (n + 7) & ~size_t{7}; }

  void* SlowMalloc(size_t size) {
    // Move to the next retained block that fits; otherwise add one.
    while (++cur_ < blocks_.size()) {
      if (blocks_[cur_].size >= size) {
        used_ = size;
        last_ = blocks_[cur_].data.get();
        return last_;
      }
    }
    size_t want = blocks_.empty() ? kMinBlock : blocks_.back().size * 2;
    if (want < size) want = size;
    blocks_.push_back(Block{std::unique_ptr<char[]>(new char[want]), want});
    cur_ = blocks_.size() - 1;
    used_ = size;
    last_ = blocks_[cur_].data.get();
    return last_;
  }

  std::vector<Block> blocks_;
  size_t cur_ = 0;   // index of the block being filled
  size_t used_ = 0;  // bytes used in blocks_[cur_]
  char* last_ = nullptr;
};

}  // namespace shardhose::decode

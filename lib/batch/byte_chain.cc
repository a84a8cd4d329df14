#include "batch/byte_chain.h"

#include <algorithm>

namespace shardhose::batch {

void ByteChain::Append(std::string_view bytes) {
  size_ += bytes.size();
  if (!blocks_.empty()) {
    std::string& last = blocks_.back();
    const size_t fits = std::min(bytes.size(), last.capacity() - last.size());
    last.append(bytes.data(), fits);
    bytes.remove_prefix(fits);
  }
  if (bytes.empty()) return;
  // A new block: reserve() allocates without writing, append() fills it;
  // nothing already held moves.
  std::string block;
  block.reserve(std::max({kMinBlock, size_ / 4, bytes.size()}));
  block.append(bytes);
  blocks_.push_back(std::move(block));
}

void ByteChain::CopyTo(std::string* out) const {
  for (const std::string& b : blocks_) out->append(b);
}

std::string ByteChain::Take() {
  std::string out;
  if (blocks_.size() == 1) {
    out = std::move(blocks_.front());
  } else {
    out.reserve(size_);
    CopyTo(&out);
  }
  blocks_.clear();
  size_ = 0;
  return out;
}

}  // namespace shardhose::batch

// File: decode/out_buffer.h
//
// The buffer the decoder writes an image (and userIdentity) into while it
// reads a record: bytes appended through inline calls. std::string's
// push_back and short appends are out-of-line calls into libstdc++ (its
// extern template), one per brace, comma and colon of every image, and were
// ~9 % of the decode's CPU.
//
// Growth doubles the capacity and never zero-fills; clear() keeps it, so a
// reused buffer stops allocating once it has held the largest output. The
// bytes are not NUL-terminated: view() is the way to read them.
//
// Thread-safety: none (one per decoder, like the decoder).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace shardhose::decode {

class OutBuffer {
 public:
  OutBuffer() : buf_(new char[kInitial]), cap_(kInitial) {}
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;

  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {buf_.get(), size_}; }

  void push_back(char c) {
    if (size_ == cap_) [[unlikely]]
      Grow(1);
    buf_[size_++] = c;
  }
  void append(const char* s, size_t n) {
    if (cap_ - size_ < n) [[unlikely]]
      Grow(n);
    std::memcpy(buf_.get() + size_, s, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }

 private:
  static constexpr size_t kInitial = 256;

  // Makes room for `more` bytes past size_.
  [[gnu::noinline]] void Grow(size_t more) {
    size_t cap = cap_ * 2;
    while (cap - size_ < more) cap *= 2;
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), buf_.get(), size_);
    buf_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t cap_;
};

}  // namespace shardhose::decode

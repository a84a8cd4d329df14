#include "common/base64.h"

#include <array>
#include <cstdint>

namespace shardhose {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeReverse() {
  std::array<int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (int i = 0; i < 64; ++i) r[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return r;
}
constexpr std::array<int8_t, 256> kReverse = MakeReverse();

}  // namespace

void Base64Encode(std::string_view in, std::string* out) {
  const size_t start = out->size();
  out->resize(start + (in.size() + 2) / 3 * 4);
  char* p = out->data() + start;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{s[i]} << 16) | (uint32_t{s[i + 1]} << 8) | s[i + 2];
    *p++ = kAlphabet[(v >> 18) & 63];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = kAlphabet[(v >> 6) & 63];
    *p++ = kAlphabet[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{s[i]} << 16;
    *p++ = kAlphabet[(v >> 18) & 63];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = '=';
    *p++ = '=';
  } else if (rest == 2) {
    uint32_t v = (uint32_t{s[i]} << 16) | (uint32_t{s[i + 1]} << 8);
    *p++ = kAlphabet[(v >> 18) & 63];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = kAlphabet[(v >> 6) & 63];
    *p++ = '=';
  }
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  Base64Encode(in, &out);
  return out;
}

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0) return false;
  out->resize(in.size() / 4 * 3);
  char* p = out->data();
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    if (last) {
      if (s[i + 3] == '=') pad = (s[i + 2] == '=') ? 2 : 1;
    }
    int a = kReverse[s[i]], b = kReverse[s[i + 1]];
    int c = pad == 2 ? 0 : kReverse[s[i + 2]];
    int d = pad >= 1 ? 0 : kReverse[s[i + 3]];
    if ((a | b | c | d) < 0) return false;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    *p++ = static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) *p++ = static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) *p++ = static_cast<char>(v & 0xff);
  }
  out->resize(static_cast<size_t>(p - out->data()));
  return true;
}

}  // namespace shardhose

#include "decode/fast_base64.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace shardhose::decode {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint32_t kBad = 0x01000000;

// kTable[k][c]: the 6 bits of character c placed for position k of a group
// of four, or kBad.
constexpr std::array<std::array<uint32_t, 256>, 4> MakeTables() {
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (auto& row : t) {
    for (auto& v : row) v = kBad;
  }
  for (uint32_t i = 0; i < 64; ++i) {
    const auto c = static_cast<unsigned char>(kAlphabet[i]);
    t[0][c] = i << 18;
    t[1][c] = i << 12;
    t[2][c] = i << 6;
    t[3][c] = i;
  }
  return t;
}
constexpr auto kTable = MakeTables();

}  // namespace

bool DecodeBase64(std::string_view in, std::string* out) {
  const size_t n = in.size();
  if (n % 4 != 0) return false;
  out->resize(n / 4 * 3);
  if (n == 0) return true;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  auto* d = reinterpret_cast<unsigned char*>(out->data());
  // All groups but the last (which may hold padding).
  const size_t full = n - 4;
  uint32_t bad = 0;
  size_t i = 0;
  for (; i < full; i += 4) {
    const uint32_t v = kTable[0][s[i]] | kTable[1][s[i + 1]] | kTable[2][s[i + 2]] | kTable[3][s[i + 3]];
    bad |= v;
    d[0] = static_cast<unsigned char>(v >> 16);
    d[1] = static_cast<unsigned char>(v >> 8);
    d[2] = static_cast<unsigned char>(v);
    d += 3;
  }
  if (bad & kBad) return false;
  // The last group: "xxxx", "xxx=" or "xx==".
  int pad = 0;
  if (s[i + 3] == '=') pad = s[i + 2] == '=' ? 2 : 1;
  uint32_t v = kTable[0][s[i]] | kTable[1][s[i + 1]];
  if (pad < 2) v |= kTable[2][s[i + 2]];
  if (pad < 1) v |= kTable[3][s[i + 3]];
  if (v & kBad) return false;
  d[0] = static_cast<unsigned char>(v >> 16);
  if (pad < 2) d[1] = static_cast<unsigned char>(v >> 8);
  if (pad < 1) d[2] = static_cast<unsigned char>(v);
  out->resize(out->size() - static_cast<size_t>(pad));
  return true;
}

}  // namespace shardhose::decode

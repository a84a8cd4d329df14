#include "decode/fast_base64.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SHARDHOSE_BASE64_AVX2 1
#endif

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

#ifdef SHARDHOSE_BASE64_AVX2
// Decodes 32 characters at a time into 24 bytes (storing 32: the caller
// leaves 8 bytes of slack) while i + 32 <= end, the vectorised decoder of
// W. Muła and D. Lemire ("Faster Base64 Encoding and Decoding Using AVX2
// Instructions", 2018): a nibble-indexed bitmask lookup accepts exactly the
// 64 alphabet characters, then the 6-bit values are packed with
// multiply-adds. Returns the number of characters consumed (a multiple of
// 32), or SIZE_MAX if a block held a character outside the alphabet.
__attribute__((target("avx2"))) size_t DecodeAvx2(const unsigned char* s, size_t end, unsigned char* d) {
  const __m256i lut_lo =
      _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
                       0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
  const __m256i lut_hi =
      _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
                       0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  const __m256i lut_roll = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4, -65,
                                            -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i mask_2f = _mm256_set1_epi8(0x2f);
  const __m256i pack_shuffle = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5,
                                                4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m256i pack_lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1);
  size_t i = 0;
  for (; i + 32 <= end; i += 32, d += 24) {
    const __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(in, 4), mask_2f);
    const __m256i lo_nibbles = _mm256_and_si256(in, mask_2f);
    const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
    const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
    if (!_mm256_testz_si256(lo, hi)) return SIZE_MAX;
    const __m256i eq_2f = _mm256_cmpeq_epi8(in, mask_2f);
    const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles));
    const __m256i values = _mm256_add_epi8(in, roll);
    const __m256i ab_bc = _mm256_maddubs_epi16(values, _mm256_set1_epi32(0x01400140));
    __m256i out = _mm256_madd_epi16(ab_bc, _mm256_set1_epi32(0x00011000));
    out = _mm256_shuffle_epi8(out, pack_shuffle);
    out = _mm256_permutevar8x32_epi32(out, pack_lanes);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), out);
  }
  return i;
}

const bool kHaveAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();
#endif

}  // namespace

bool DecodeBase64(std::string_view in, std::string* out) {
  const size_t n = in.size();
  if (n % 4 != 0) return false;
  if (n == 0) {
    out->clear();
    return true;
  }
  // Room for the vector loop's 8-byte overshoot. Shrinking back at the end
  // writes nothing; growing fills only what this record needs beyond the
  // last one.
  constexpr size_t kSlack = 8;
  const size_t decoded = n / 4 * 3;
  if (out->size() < decoded + kSlack) out->resize(decoded + kSlack);
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  auto* d = reinterpret_cast<unsigned char*>(out->data());
  // All groups but the last (which may hold padding).
  const size_t full = n - 4;
  uint32_t bad = 0;
  size_t i = 0;
#ifdef SHARDHOSE_BASE64_AVX2
  if (kHaveAvx2) {
    i = DecodeAvx2(s, full, d);
    if (i == SIZE_MAX) return false;
    d += i / 4 * 3;
  }
#endif
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
  out->resize(decoded - static_cast<size_t>(pad));
  return true;
}

}  // namespace shardhose::decode

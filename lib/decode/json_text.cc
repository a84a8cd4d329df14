#include "decode/json_text.h"

#include <algorithm>
#include <array>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/civil_time.h"
#include "decode/out_buffer.h"

namespace shardhose::decode {
namespace {

// 0: copy as is; otherwise the character after '\\' ('u' = \u00XX).
constexpr std::array<char, 256> MakeEscapeTable() {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}
constexpr std::array<char, 256> kEscape = MakeEscapeTable();
constexpr char kHex[] = "0123456789abcdef";

template <class Out>
inline void AppendEscape(unsigned char c, Out* out) {
  const char e = kEscape[c];
  if (e == 'u') {
    const char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
    out->append(buf, 6);
  } else {
    const char buf[2] = {'\\', e};
    out->append(buf, 2);
  }
}

constexpr std::array<bool, 256> MakeBase64Table() {
  std::array<bool, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  t['+'] = true;
  t['/'] = true;
  return t;
}
constexpr std::array<bool, 256> kBase64 = MakeBase64Table();

// Bytes that end a plain run outside strings: whitespace and '"'.
constexpr std::array<unsigned char, 256> MakeCompactStop() {
  std::array<unsigned char, 256> t{};
  t[' '] = t['\n'] = t['\r'] = t['\t'] = t['"'] = 1;
  return t;
}
constexpr std::array<unsigned char, 256> kCompactStop = MakeCompactStop();

// Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid.
size_t Utf8SequenceLength(const unsigned char* p, size_t n) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](size_t i) { return i < n && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
    if (c == 0xED && p[1] >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && p[1] >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

void Append2(unsigned v, std::string* out) {
  const char buf[2] = {static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
  out->append(buf, 2);
}

}  // namespace

namespace {

// Index of the first byte at or after i that AppendJsonString escapes, or n.
inline size_t NextEscape(const unsigned char* p, size_t i, size_t n) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i below_space = _mm_set1_epi8(0x1f);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // max(v, 0x1f) == 0x1f iff v <= 0x1f (unsigned).
    const __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space);
    const int mask =
        _mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i) {
    if (kEscape[p[i]] != 0) return i;
  }
  return n;
}

template <class Out>
void AppendJsonStringTo(std::string_view s, Out* out) {
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t run = 0;  // start of the pending run of bytes copied as is
  for (size_t i = NextEscape(p, 0, n); i < n; i = NextEscape(p, i + 1, n)) {
    out->append(s.data() + run, i - run);
    AppendEscape(p[i], out);
    run = i + 1;
  }
  out->append(s.data() + run, n - run);
  out->push_back('"');
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) { AppendJsonStringTo(s, out); }
void AppendJsonString(std::string_view s, OutBuffer* out) { AppendJsonStringTo(s, out); }

void AppendJsonStringLossy(std::string_view s, std::string* out) {
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      if (kEscape[p[i]] != 0) {
        AppendEscape(p[i], out);
        ++i;
        continue;
      }
      // A run of ASCII bytes copied as is.
      size_t end = i + 1;
      while (end < n && p[end] < 0x80 && kEscape[p[end]] == 0) ++end;
      out->append(s.data() + i, end - i);
      i = end;
      continue;
    }
    const size_t len = Utf8SequenceLength(p + i, n - i);
    if (len == 0) {
      out->append("\\ufffd");
      ++i;
    } else {
      out->append(s.data() + i, len);
      i += len;
    }
  }
  out->push_back('"');
}

bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  auto digit = [&](size_t k) { return k < n && s[k] >= '0' && s[k] <= '9'; };
  if (i < n && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == n;
}

bool IsBase64(std::string_view s) {
  const size_t n = s.size();
  if (n % 4 != 0) return false;
  if (n == 0) return true;
  size_t data_end = n;
  if (s[n - 1] == '=') data_end = (s[n - 2] == '=') ? n - 2 : n - 1;
  for (size_t i = 0; i < data_end; ++i) {
    if (!kBase64[static_cast<unsigned char>(s[i])]) return false;
  }
  return true;
}

namespace {

// Index of the first byte at or after i that is '"' or '\\' (in a string),
// or n.
inline size_t NextStringStop(const char* p, size_t i, size_t n) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i) {
    if (p[i] == '"' || p[i] == '\\') return i;
  }
  return n;
}

}  // namespace

namespace {

// The name of a member ("name":value) as written, without its quotes.
std::string_view MemberName(std::string_view member) {
  size_t i = 1;
  while (i < member.size() && member[i] != '"') i += member[i] == '\\' ? 2 : 1;
  return member.substr(1, std::min(i, member.size()) - 1);
}

}  // namespace

void SplitMembers(std::string_view object, std::vector<std::string_view>* members) {
  if (object.size() < 2) return;
  const std::string_view body = object.substr(1, object.size() - 2);
  int depth = 0;
  bool in_string = false;
  size_t start = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      members->push_back(body.substr(start, i - start));
      start = i + 1;
    }
  }
  if (!body.empty()) members->push_back(body.substr(start));
}

void AppendMembersByName(std::vector<std::string_view>* members, std::string* out) {
  // An insertion sort: stable, in place, and no work for the one or two
  // members keys have, already in order. (Not std::stable_sort: its
  // temporary buffer trips ASan's alloc-dealloc-mismatch check with gcc 12's
  // libstdc++.)
  std::vector<std::string_view>& m = *members;
  for (size_t i = 1; i < m.size(); ++i) {
    const std::string_view member = m[i];
    const std::string_view name = MemberName(member);
    size_t j = i;
    for (; j > 0 && name < MemberName(m[j - 1]); --j) m[j] = m[j - 1];
    m[j] = member;
  }
  out->push_back('{');
  for (size_t i = 0; i < members->size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append((*members)[i]);
  }
  out->push_back('}');
}

void AppendCompactJson(std::string_view in, std::string* out) {
  const char* p = in.data();
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const size_t n = in.size();
  size_t i = 0;
  size_t run = 0;  // start of the pending run copied as is
  while (i < n) {
    const unsigned char c = u[i];
    if (kCompactStop[c] == 0) {
      ++i;
      continue;
    }
    if (c != '"') {  // whitespace outside a string: drop it
      out->append(p + run, i - run);
      run = ++i;
      continue;
    }
    // A string: skip to its closing quote (escaped bytes included).
    ++i;
    for (;;) {
      i = NextStringStop(p, i, n);
      if (i >= n || p[i] == '"') break;
      i += 2;  // a backslash and the byte it escapes
    }
    ++i;
  }
  if (run < n) out->append(p + run, n - run);
}

size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 16 then 8 bytes at a time.
#ifdef __SSE2__
    while (i + 16 <= n && _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))) == 0) {
      i += 16;
    }
#endif
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(p + i, n - i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

size_t FindControlByte(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto is_control = [](unsigned char c) { return c < 0x20 && c != '\t' && c != '\n' && c != '\r'; };
  size_t i = 0;
#ifdef __SSE2__
  // 16 bytes at a time: max(v, 0x1f) == 0x1f iff v <= 0x1f (unsigned).
  const __m128i below_space = _mm_set1_epi8(0x1f);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space)) == 0) continue;
    for (size_t j = i; j < i + 16; ++j) {
      if (is_control(p[j])) return j;
    }
  }
#endif
  // 8 bytes at a time: (w - 0x20..) & ~w & 0x80.. is non-zero iff some byte
  // is below 0x20 (bytes >= 0x80 never set it: ~w clears their high bit).
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (((w - 0x20 * kOnes) & ~w & kHigh) == 0) continue;
    for (size_t j = i; j < i + 8; ++j) {
      if (is_control(p[j])) return j;
    }
  }
  for (; i < n; ++i) {
    if (is_control(p[i])) return i;
  }
  return std::string_view::npos;
}

void AppendIsoMillis(int64_t epoch_us, std::string* out) {
  // Floor to milliseconds, then split into days and ms-of-day.
  int64_t ms = epoch_us / 1000;
  if (epoch_us % 1000 < 0) --ms;
  int64_t days = ms / 86400000;
  int64_t ms_of_day = ms % 86400000;
  if (ms_of_day < 0) {
    ms_of_day += 86400000;
    --days;
  }
  const CivilDate date = CivilFromDays(days);
  const int64_t y = date.year;
  const unsigned m = date.month;
  const unsigned d = date.day;

  if (y >= 0 && y <= 9999) {
    const unsigned yy = static_cast<unsigned>(y);
    Append2(yy / 100, out);
    Append2(yy % 100, out);
  } else {
    out->append(std::to_string(y));  // outside ISO's 4 digits; never for valid records
  }
  const unsigned msd = static_cast<unsigned>(ms_of_day);
  const unsigned msec = msd % 1000;
  const unsigned sec = msd / 1000;
  char buf[20] = {'-', 0, 0, '-', 0, 0, 'T', 0, 0, ':', 0, 0, ':', 0, 0, '.', 0, 0, 0, 'Z'};
  buf[1] = static_cast<char>('0' + m / 10);
  buf[2] = static_cast<char>('0' + m % 10);
  buf[4] = static_cast<char>('0' + d / 10);
  buf[5] = static_cast<char>('0' + d % 10);
  buf[7] = static_cast<char>('0' + sec / 36000);
  buf[8] = static_cast<char>('0' + sec / 3600 % 10);
  buf[10] = static_cast<char>('0' + sec / 60 % 60 / 10);
  buf[11] = static_cast<char>('0' + sec / 60 % 10);
  buf[13] = static_cast<char>('0' + sec % 60 / 10);
  buf[14] = static_cast<char>('0' + sec % 10);
  buf[16] = static_cast<char>('0' + msec / 100);
  buf[17] = static_cast<char>('0' + msec / 10 % 10);
  buf[18] = static_cast<char>('0' + msec % 10);
  out->append(buf, 20);
}

}  // namespace shardhose::decode

// File: tests/fuzz/fuzz_util.h
//
// Helpers shared by the libFuzzer targets (tests only).
//   FUZZ_CHECK(cond, what): an invariant; on failure prints `what` and the
//     condition and aborts, which libFuzzer reports as a crash and saves the
//     input as crash-<sha1>.
//   ParseJson(text, doc): rapidjson parse of a padded copy. The build defines
//     RAPIDJSON_SSE2, whose whitespace scanning may read up to 15 bytes past
//     the terminating NUL; the padding keeps that inside the allocation so
//     ASan reports only real bugs. Iterative, so depth cannot overflow the
//     stack of the checker itself.
//   ParseJsonAnyNumbers(text, doc): the same, but numbers of any size are
//     accepted (RFC 8259 sets no limit; rapidjson 1.1 rejects numbers beyond
//     double range, even with kParseNumbersAsStringsFlag): every number
//     token outside strings is checked against the RFC 8259 grammar and
//     replaced by 0 before rapidjson parses the rest.
//   IsValidUtf8(s): strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, what)                                                                   \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "%s:%d: invariant failed: %s (%.2000s)\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                                   \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

namespace shardhose::fuzz {

inline bool ParseJson(std::string_view text, rapidjson::Document* doc) {
  std::string padded(text);
  padded.append(16, '\0');
  doc->Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
             rapidjson::kParseNumbersAsStringsFlag>(padded.data(), text.size());
  return !doc->HasParseError();
}

inline bool ParseJsonAnyNumbers(std::string_view text, rapidjson::Document* doc) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '"') {  // copy the string, escapes included
      const size_t start = i++;
      while (i < n && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      if (i >= n) return false;
      out.append(text.substr(start, ++i - start));
    } else if (c == '-' || digit(c)) {
      if (text[i] == '-') ++i;
      if (i < n && text[i] == '0') {
        ++i;
      } else if (i < n && digit(text[i])) {
        while (i < n && digit(text[i])) ++i;
      } else {
        return false;
      }
      if (i < n && text[i] == '.') {
        if (++i >= n || !digit(text[i])) return false;
        while (i < n && digit(text[i])) ++i;
      }
      if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
        if (i >= n || !digit(text[i])) return false;
        while (i < n && digit(text[i])) ++i;
      }
      out.push_back('0');
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return ParseJson(out, doc);
}

inline bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace shardhose::fuzz

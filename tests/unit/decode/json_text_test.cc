#include "decode/json_text.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "decode/out_buffer.h"

namespace shardhose::decode {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

std::string Lossy(std::string_view s) {
  std::string out;
  AppendJsonStringLossy(s, &out);
  return out;
}

std::string Compact(std::string_view s) {
  std::string out;
  AppendCompactJson(s, &out);
  return out;
}

// Parses a JSON string literal back.
std::string Unquote(const std::string& json) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(json.c_str(), json.size());
  EXPECT_FALSE(d.HasParseError()) << json;
  if (d.HasParseError() || !d.IsString()) return "<invalid>";
  return std::string(d.GetString(), d.GetStringLength());
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Str(""), "\"\"");
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Str("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(Str(std::string_view("\0\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(Str("/"), "\"/\"");
  EXPECT_EQ(Str("caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

TEST(JsonStringTest, RoundTripsEveryByteBelow0x80) {
  std::string s;
  for (int c = 0; c < 0x80; ++c) s.push_back(static_cast<char>(c));
  EXPECT_EQ(Unquote(Str(s)), s);
}

TEST(JsonStringTest, OutBufferGetsTheSameBytesAsAString) {
  // Every escape, and runs longer than the SSE2 scan's 16 bytes, written
  // past the buffer's first capacity (256) so that it grows mid-string.
  std::string s;
  for (int i = 0; i < 40; ++i) s += "plain run of twenty \"q\" \\ \n\x01\x1f caf\xc3\xa9 ";
  OutBuffer buf;
  AppendJsonString(s, &buf);
  EXPECT_EQ(buf.view(), Str(s));
  EXPECT_EQ(Unquote(std::string(buf.view())), s);
}

TEST(OutBufferTest, GrowsWithoutLosingBytesAndClearKeepsNothing) {
  OutBuffer buf;
  EXPECT_TRUE(buf.empty());
  std::string expect;
  for (int i = 0; i < 5000; ++i) {  // crosses 256, 512, ... 16 KiB by bytes and by runs
    buf.push_back(static_cast<char>('a' + i % 26));
    expect.push_back(static_cast<char>('a' + i % 26));
    if (i % 7 == 0) {
      buf.append("{\"k\":");
      expect.append("{\"k\":");
    }
  }
  buf.append(std::string(3000, 'z'));  // one append bigger than double the capacity's headroom
  expect.append(3000, 'z');
  EXPECT_EQ(buf.view(), expect);
  EXPECT_EQ(buf.size(), expect.size());
  buf.clear();
  EXPECT_TRUE(buf.empty());
  EXPECT_EQ(buf.view(), "");
  buf.append("x", 1);
  buf.append("", 0);
  EXPECT_EQ(buf.view(), "x");
}

TEST(JsonStringTest, LossyReplacesInvalidUtf8) {
  EXPECT_EQ(Lossy("ok\xc3\xa9"), "\"ok\xc3\xa9\"");
  EXPECT_EQ(Lossy("a\xff"
                  "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(Lossy("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(Lossy("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(Lossy("\xe2\x82"), "\"\\ufffd\\ufffd\"");             // truncated
  EXPECT_EQ(Lossy("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(Lossy(std::string_view("\0\n", 2)), R"("\u0000\n")");
  EXPECT_EQ(Unquote(Lossy("x\xfe\xff\"\\")), "x\xef\xbf\xbd\xef\xbf\xbd\"\\");
}

TEST(IsJsonNumberTest, AcceptsRfc8259Numbers) {
  for (const char* s :
       {"0", "-0", "1", "-1", "10", "0.5", "-0.000001", "1E+3", "1e3", "1E-130", "2.5e-130",
        "9.9999999999999999999999999999999999999E+125", "12345678901234567890123456789012345678", "0e0", "1.0E+00"}) {
    EXPECT_TRUE(IsJsonNumber(s)) << s;
  }
}

TEST(IsJsonNumberTest, RejectsEverythingElse) {
  for (const char* s : {"",   "-",   "+1",       "01",        "-01",  "1.",    ".5",  "1e",  "1e+",   "1E+3.5", " 1",
                        "1 ", "NaN", "Infinity", "-Infinity", "0x10", "1_000", "1,5", "--1", "1e1e1", "abc",    "١"}) {
    EXPECT_FALSE(IsJsonNumber(s)) << s;
  }
}

TEST(IsBase64Test, Padding) {
  for (const char* s : {"", "AAEC", "/w==", "iVBORw0KGgo=", "+/+/", "QUJD"}) {
    EXPECT_TRUE(IsBase64(s)) << s;
  }
  for (const char* s : {"A", "AAE", "AAEC=", "====", "A===", "=AAA", "AA=A", "AA AA", "AA-_", "AAE\n", "AA==AAAA"}) {
    EXPECT_FALSE(IsBase64(s)) << s;
  }
}

TEST(CompactJsonTest, RemovesWhitespaceOutsideStringsOnly) {
  EXPECT_EQ(Compact(" { \"a b\" : [ 1 ,\t2.50E+3 ] ,\n\r\"c\" : \"x \\\" y\" } "),
            R"({"a b":[1,2.50E+3],"c":"x \" y"})");
  // Escaped backslash before the closing quote.
  EXPECT_EQ(Compact(R"({ "k" : "a\\" , "m" : "\\\"" })"), R"({"k":"a\\","m":"\\\""})");
  // Escapes are kept as written.
  EXPECT_EQ(Compact(R"([ "\u00e9\/" ])"), R"(["\u00e9\/"])");
  EXPECT_EQ(Compact(""), "");
}

TEST(IsoMillisTest, Formats) {
  auto iso = [](int64_t us) {
    std::string s;
    AppendIsoMillis(us, &s);
    return s;
  };
  EXPECT_EQ(iso(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso(999), "1970-01-01T00:00:00.000Z");  // truncation
  EXPECT_EQ(iso(1716200000123456), "2024-05-20T10:13:20.123Z");
  EXPECT_EQ(iso(951782400000000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(iso(1709251199999999), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(iso(1704067199999000), "2023-12-31T23:59:59.999Z");
  EXPECT_EQ(iso(1704067200000000), "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(iso(-1), "1969-12-31T23:59:59.999Z");  // floor, not toward zero
  EXPECT_EQ(iso(253402300799999999), "9999-12-31T23:59:59.999Z");
}

TEST(FindControlByteTest, Offsets) {
  const size_t npos = std::string_view::npos;
  EXPECT_EQ(FindControlByte(""), npos);
  EXPECT_EQ(FindControlByte("{\"a\":\t1,\r\n \"b\": \"caf\xc3\xa9 \x7f\xff\"}"), npos);
  EXPECT_EQ(FindControlByte(std::string_view("ab\0", 3)), 2u);
  EXPECT_EQ(FindControlByte("0123456789abcdef\x1b"), 16u);
  EXPECT_EQ(FindControlByte("01234567\x1f"), 8u);
  EXPECT_EQ(FindControlByte("\t\t\t\t\t\t\t\x01"), 7u);
  for (int c = 0; c < 0x20; ++c) {
    std::string s = "0123456789abcdefXYZ";
    s[17] = static_cast<char>(c);
    const bool allowed = c == '\t' || c == '\n' || c == '\r';
    EXPECT_EQ(FindControlByte(s), allowed ? npos : 17u) << c;
  }
}

TEST(MembersTest, SplitsTopLevelMembersOnly) {
  std::vector<std::string_view> m;
  SplitMembers(R"({"b":{"x":[1,{"y":","}]},"a":"q\",}","c":null})", &m);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], R"("b":{"x":[1,{"y":","}]})");
  EXPECT_EQ(m[1], R"("a":"q\",}")");
  EXPECT_EQ(m[2], R"("c":null)");
  m.clear();
  SplitMembers("{}", &m);
  EXPECT_TRUE(m.empty());
}

TEST(MembersTest, AppendsByNameStably) {
  std::vector<std::string_view> m = {R"("sk":1)", R"("pk":"a")", R"("p\"k":2)", R"("pk":"dup")"};
  std::string out;
  AppendMembersByName(&m, &out);
  EXPECT_EQ(out, R"({"p\"k":2,"pk":"a","pk":"dup","sk":1})");
  std::vector<std::string_view> none;
  out.clear();
  AppendMembersByName(&none, &out);
  EXPECT_EQ(out, "{}");
}

}  // namespace
}  // namespace shardhose::decode

#include <random>

#include "common/base64.h"
#include "decode/fast_base64.h"

namespace shardhose::decode {
namespace {

TEST(FastBase64Test, AgreesWithCommonBase64) {
  std::mt19937 rng(42);
  std::string a, b;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string text = Base64Encode(bytes);
    ASSERT_TRUE(DecodeBase64(text, &a));
    EXPECT_EQ(a, bytes);
    // Corrupt one character (sometimes into another valid one).
    if (!text.empty()) {
      text[rng() % text.size()] = "A=*\n/-_ \xff"[rng() % 9];
      const bool ok_common = Base64Decode(text, &b);
      const bool ok_fast = DecodeBase64(text, &a);
      ASSERT_EQ(ok_fast, ok_common) << text;
      if (ok_fast) {
        EXPECT_EQ(a, b) << text;
      }
    }
  }
  EXPECT_TRUE(DecodeBase64("", &a));
  EXPECT_EQ(a, "");
  EXPECT_FALSE(DecodeBase64("QUJ", &a));
  EXPECT_FALSE(DecodeBase64("=AAA", &a));
  EXPECT_FALSE(DecodeBase64("AA==AAAA", &a));
  EXPECT_TRUE(DecodeBase64("QUJD", &a));
  EXPECT_EQ(a, "ABC");
}

}  // namespace
}  // namespace shardhose::decode

namespace shardhose::decode {
namespace {

TEST(FindInvalidUtf8Test, Offsets) {
  const size_t npos = std::string_view::npos;
  EXPECT_EQ(FindInvalidUtf8(""), npos);
  EXPECT_EQ(FindInvalidUtf8("plain ascii text that is longer than eight bytes"), npos);
  EXPECT_EQ(FindInvalidUtf8("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"), npos);
  EXPECT_EQ(FindInvalidUtf8("0123456789\xff"), 10u);
  EXPECT_EQ(FindInvalidUtf8("0123456789abcdef\xc0\xaf"), 16u);  // overlong
  EXPECT_EQ(FindInvalidUtf8("ab\xed\xa0\x80"), 2u);             // surrogate
  EXPECT_EQ(FindInvalidUtf8("ab\xf4\x90\x80\x80"), 2u);         // > U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("abcdefgh\xe2\x82"), 8u);           // truncated
  EXPECT_EQ(FindInvalidUtf8("\x80"), 0u);                       // stray continuation
  EXPECT_EQ(FindInvalidUtf8("\xc3\xa9\xc3"), 2u);
}

}  // namespace
}  // namespace shardhose::decode

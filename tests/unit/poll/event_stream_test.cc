#include "poll/event_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shardhose::poll {
namespace {

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// One message exactly as kinesis-local (kinesis-mock 0.6.2) sent it on a
// SubscribeToShard stream.
const std::string kCaptured = FromHex(
    "000000fb0000005ba67f36590d3a6d6573736167652d747970650700056576656e740b3a6576656e742d7479706507001553"
    "7562736372696265546f53686172644576656e740d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a"
    "736f6e7b225265636f726473223a5b5d2c22436f6e74696e756174696f6e53657175656e63654e756d626572223a22343936"
    "3830343736313439363939373738323031353339373333363033343736353634383230303535333637383637373136303735"
    "353232222c224d696c6c6973426568696e644c6174657374223a302c224368696c64536861726473223a6e756c6c7d1878dc"
    "0d");

EventHeader H(std::string name, EventHeaderType type, int64_t integer = 0, std::string bytes = "") {
  EventHeader h;
  h.name = std::move(name);
  h.type = type;
  h.integer = integer;
  h.bytes = std::move(bytes);
  return h;
}

EventMessage AllTypes() {
  EventMessage m;
  m.headers = {H("t", EventHeaderType::kBoolTrue, 1),
               H("f", EventHeaderType::kBoolFalse, 0),
               H("byte", EventHeaderType::kByte, -5),
               H("short", EventHeaderType::kShort, -300),
               H("int", EventHeaderType::kInteger, -70000),
               H("long", EventHeaderType::kLong, -5000000000LL),
               H("bytes", EventHeaderType::kByteArray, 0, std::string("\x00\x01\xff", 3)),
               H(":event-type", EventHeaderType::kString, 0, "SubscribeToShardEvent"),
               H("ts", EventHeaderType::kTimestamp, 0, ""),
               H("uuid", EventHeaderType::kUuid, 0, std::string(16, '\x7f'))};
  m.headers[8].integer = 1716200000123;
  m.payload = R"({"Records":[]})";
  return m;
}

void ExpectSame(const EventMessage& a, const EventMessage& b) {
  ASSERT_EQ(a.headers.size(), b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    EXPECT_EQ(a.headers[i].name, b.headers[i].name);
    EXPECT_EQ(a.headers[i].type, b.headers[i].type) << a.headers[i].name;
    EXPECT_EQ(a.headers[i].integer, b.headers[i].integer) << a.headers[i].name;
    EXPECT_EQ(a.headers[i].bytes, b.headers[i].bytes) << a.headers[i].name;
  }
  EXPECT_EQ(a.payload, b.payload);
}

TEST(EventStream, DecodesCapturedKinesisMessage) {
  EventStreamDecoder dec;
  std::vector<EventMessage> out;
  ASSERT_TRUE(dec.Feed(kCaptured, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].StringHeader(":message-type"), "event");
  EXPECT_EQ(out[0].StringHeader(":event-type"), "SubscribeToShardEvent");
  EXPECT_EQ(out[0].StringHeader(":content-type"), "application/json");
  EXPECT_EQ(out[0].StringHeader("missing"), "");
  EXPECT_EQ(out[0].payload.rfind(R"({"Records":[],"ContinuationSequenceNumber":"49680)", 0), 0u);
  EXPECT_EQ(dec.buffered(), 0u);
  // Our encoder produces the same bytes.
  EXPECT_EQ(EncodeEventMessage(out[0]), kCaptured);
}

TEST(EventStream, EveryHeaderTypeRoundTrips) {
  const EventMessage m = AllTypes();
  EventStreamDecoder dec;
  std::vector<EventMessage> out;
  ASSERT_TRUE(dec.Feed(EncodeEventMessage(m), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  ExpectSame(m, out[0]);
  EXPECT_EQ(out[0].StringHeader("int"), "");  // not a string header
}

TEST(EventStream, SplitAtEveryByte) {
  const std::string wire = EncodeEventMessage(AllTypes()) + kCaptured + EncodeEventMessage(EventMessage{});
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{12}, size_t{13}, size_t{100}}) {
    EventStreamDecoder dec;
    std::vector<EventMessage> out;
    for (size_t i = 0; i < wire.size(); i += chunk) {
      ASSERT_TRUE(dec.Feed(std::string_view(wire).substr(i, chunk), &out).ok()) << chunk;
    }
    ASSERT_EQ(out.size(), 3u) << chunk;
    ExpectSame(out[0], AllTypes());
    EXPECT_EQ(out[1].StringHeader(":event-type"), "SubscribeToShardEvent");
    EXPECT_TRUE(out[2].headers.empty());
    EXPECT_TRUE(out[2].payload.empty());
    EXPECT_EQ(dec.buffered(), 0u);
  }
}

TEST(EventStream, PartialMessageIsHeldBack) {
  EventStreamDecoder dec;
  std::vector<EventMessage> out;
  ASSERT_TRUE(dec.Feed(std::string_view(kCaptured).substr(0, 20), &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(dec.buffered(), 20u);
  ASSERT_TRUE(dec.Feed(std::string_view(kCaptured).substr(20), &out).ok());
  EXPECT_EQ(out.size(), 1u);
}

Status FeedAll(const std::string& wire, size_t max = EventStreamDecoder::kDefaultMaxMessageBytes) {
  EventStreamDecoder dec(max);
  std::vector<EventMessage> out;
  return dec.Feed(wire, &out);
}

TEST(EventStream, PreludeCrcMismatch) {
  std::string wire = kCaptured;
  wire[9] ^= 1;
  Status st = FeedAll(wire);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("prelude CRC"), std::string::npos);
  wire = kCaptured;
  wire[3] ^= 1;  // a length byte: prelude no longer matches its CRC
  EXPECT_TRUE(FeedAll(wire).IsCorruption());
}

TEST(EventStream, MessageCrcMismatch) {
  for (size_t at : {size_t{20}, size_t{150}, kCaptured.size() - 1}) {
    std::string wire = kCaptured;
    wire[at] ^= 0x40;
    Status st = FeedAll(wire);
    EXPECT_TRUE(st.IsCorruption()) << at;
    EXPECT_NE(st.message().find("message CRC"), std::string::npos) << at;
  }
}

TEST(EventStream, ErrorIsSticky) {
  std::string bad = kCaptured;
  bad[150] ^= 1;
  EventStreamDecoder dec;
  std::vector<EventMessage> out;
  ASSERT_TRUE(dec.Feed(kCaptured, &out).ok());
  EXPECT_FALSE(dec.Feed(bad, &out).ok());
  EXPECT_FALSE(dec.Feed(kCaptured, &out).ok());
  EXPECT_FALSE(dec.error().ok());
  EXPECT_EQ(out.size(), 1u);
}

// A message with a valid prelude CRC but the given lengths, and a valid
// message CRC over whatever follows.
std::string Framed(uint32_t total, uint32_t headers_len, const std::string& body) {
  auto be = [](std::string* s, uint32_t v) {
    for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  std::string out;
  be(&out, total);
  be(&out, headers_len);
  // CRC32 (IEEE, reflected), bitwise, independent of the code under test.
  auto crc = [](std::string_view d) {
    uint32_t c = 0xffffffffu;
    for (unsigned char ch : d) {
      c ^= ch;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
  };
  be(&out, crc(out));
  out += body;
  be(&out, crc(out));
  return out;
}

TEST(EventStream, BoundsAreChecked) {
  // Below the minimum length.
  EXPECT_TRUE(FeedAll(Framed(15, 0, "")).IsCorruption());
  // Above the cap: rejected from the prelude alone, before buffering it.
  {
    EventStreamDecoder dec(1024);
    std::vector<EventMessage> out;
    Status st = dec.Feed(Framed(4096, 0, "").substr(0, 12), &out);
    EXPECT_TRUE(st.IsCorruption());
    EXPECT_NE(st.message().find("outside"), std::string::npos);
  }
  // Headers longer than the message.
  EXPECT_TRUE(FeedAll(Framed(20, 5, "abcd")).IsCorruption());
  // A well-framed message whose headers are malformed.
  EXPECT_TRUE(FeedAll(Framed(16 + 1, 1, std::string("\x00", 1))).IsCorruption());  // empty name
  EXPECT_TRUE(FeedAll(Framed(16 + 3, 3,
                             std::string("\x01"
                                         "a"
                                         "\x0a",
                                         3)))
                  .IsCorruption());  // unknown type
  EXPECT_TRUE(FeedAll(Framed(16 + 4, 4,
                             std::string("\x01"
                                         "a"
                                         "\x04"
                                         "\x00",
                                         4)))
                  .IsCorruption());  // short int32
  EXPECT_TRUE(FeedAll(Framed(16 + 6, 6,
                             std::string("\x01"
                                         "a"
                                         "\x07"
                                         "\x00\x05"
                                         "x",
                                         6)))
                  .IsCorruption());
  EXPECT_TRUE(FeedAll(Framed(16 + 5, 5,
                             std::string("\x01"
                                         "a"
                                         "\x09"
                                         "\x00\x00",
                                         5)))
                  .IsCorruption());  // uuid
  EXPECT_TRUE(FeedAll(Framed(16 + 2, 2,
                             std::string("\x05"
                                         "a",
                                         2)))
                  .IsCorruption());  // name past headers
  // The same shapes, well-formed, decode.
  EXPECT_TRUE(FeedAll(Framed(16 + 7, 7,
                             std::string("\x01"
                                         "a"
                                         "\x04"
                                         "\x00\x00\x00\x01",
                                         7)))
                  .ok());
  EXPECT_TRUE(FeedAll(Framed(16 + 3 + 2, 3,
                             std::string("\x01"
                                         "a"
                                         "\x00"
                                         "{}",
                                         5)))
                  .ok());
}

}  // namespace
}  // namespace shardhose::poll

#include "checkpoint/checkpoint.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "checkpoint/checkpoint_file.h"

namespace shardhose::checkpoint {
namespace {

using State = ShardCheckpoint::State;
using Start = ShardCheckpoint::Start;

// The value stored in tests/data/checkpoint/valid.json.
Checkpoint Sample() {
  Checkpoint cp;
  cp.stream_name = "orders-ddb-stream";
  cp.stream_arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders-ddb-stream";
  cp.generation = 42;
  cp.written_at = "2026-11-22T21:56:47.123Z";
  cp.shards["shardId-000000000000"] = {
      State::kFinished, "49590338271490256608559692538361571095921575989136588802", Start::kTrimHorizon, 0, "", ""};
  cp.shards["shardId-000000000001"] = {
      State::kFinished, "49590338271490256608559692538361571095921575989136588999", Start::kTrimHorizon, 0, "", ""};
  cp.shards["shardId-000000000002"] = {
      State::kOpen,           "49590338271512557353758223161503106772880289227698159650",
      Start::kTrimHorizon,    0,
      "shardId-000000000000", "shardId-000000000001"};
  cp.shards["shardId-000000000003"] = {State::kOpen, "", Start::kAtTimestamp, 1795384607123, "", ""};
  return cp;
}

// Sample() plus everything else the format can hold.
Checkpoint Rich() {
  Checkpoint cp = Sample();
  cp.generation = UINT64_MAX;
  cp.shards["shardId-000000000004"] = {State::kOpen, "1", Start::kAtTimestamp, -5, "p", "q"};
  cp.shards["shardId-000000000005"] = {State::kFinished, "", Start::kAtTimestamp, INT64_MIN, "", "x"};
  cp.shards["shardId-000000000006"] = {State::kOpen, std::string(128, '9'), Start::kTrimHorizon, INT64_MAX, "", ""};
  PendingCut a;
  a.partition = "table=orders/dt=2026-11-22/hr=21";
  a.key = "orders/dt=2026-11-22/hr=21/part-00042.ndjson.gz";
  a.ranges["shardId-000000000002"] = {"100", "200"};
  a.ranges["shardId-000000000003"] = {"7", "7"};
  PendingCut b;
  b.partition = "";
  b.key = "k";
  cp.pending = {a, b};
  return cp;
}

std::string DataFile(const std::string& name) {
  std::ifstream in(std::string(SHARDHOSE_SOURCE_DIR) + "/tests/data/checkpoint/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A version 1 file around an arbitrary body, with a correct checksum: lets a
// test reach the body parser with anything.
std::string Frame(std::string_view body) {
  return fmt::format(R"({{"format":"shardhose-checkpoint","version":1,"crc32c":"{:08x}","body":{}}})", Crc32c(body),
                     body) +
         "\n";
}

// A valid body, to edit.
constexpr std::string_view kShard = R"({"state":"open","sequence":"5","start":"TRIM_HORIZON","start_timestamp_ms":0,)"
                                    R"("parent":"","adjacent_parent":"","caught_up_ms":0})";
std::string Body(std::string_view shard = kShard, std::string_view pending = "[]", std::string_view generation = "1") {
  return fmt::format(R"({{"stream_name":"s","stream_arn":"","generation":{},"written_at":"",)"
                     R"("shards":{{"shardId-1":{}}},"pending":{}}})",
                     generation, shard, pending);
}

// Decodes a framed body and returns the corruption message ("" if it decoded).
std::string BodyError(std::string_view body) {
  Result<Checkpoint> r = Decode(Frame(body));
  if (r.ok()) return "";
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  return r.status().message();
}

// --- CRC -------------------------------------------------------------------

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  // RFC 3720 B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

// --- Encode / Decode -------------------------------------------------------

TEST(Checkpoint, RoundTripRich) {
  const Checkpoint cp = Rich();
  Result<Checkpoint> back = Decode(Encode(cp));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, cp);
}

TEST(Checkpoint, RoundTripEmpty) {
  const Checkpoint cp;
  const std::string bytes = Encode(cp);
  EXPECT_EQ(bytes, R"({"format":"shardhose-checkpoint","version":1,"crc32c":"7fe55395","body":)"
                   R"({"stream_name":"","stream_arn":"","generation":0,"written_at":"","shards":{},)"
                   R"("pending":[]}})"
                   "\n")
      << "if only the crc differs, recompute it: " << bytes;
  Result<Checkpoint> back = Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, cp);
}

// The journal alone (the lease table's shJournal): the same CUT bytes as
// the file's "pending" array, and back.
TEST(Checkpoint, CutsRoundTrip) {
  std::vector<PendingCut> cuts = Rich().pending;
  cuts[1].uploaded = true;
  cuts[1].ranges["shardId-000000000009"] = {"5.1", "9.0"};  // sub-record positions
  const std::string json = EncodeCuts(cuts);
  EXPECT_NE(Encode(Rich()).find(EncodeCuts(Rich().pending).substr(1)), std::string::npos) << "not the file's bytes";
  Result<std::vector<PendingCut>> back = DecodeCuts(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, cuts);
  EXPECT_EQ(EncodeCuts({}), "[]");
  ASSERT_TRUE(DecodeCuts(" [ ] ").ok());
  EXPECT_TRUE(DecodeCuts(" [ ] ")->empty());
}

TEST(Checkpoint, CutsDecodeErrors) {
  EXPECT_TRUE(DecodeCuts("").status().IsCorruption());
  EXPECT_TRUE(DecodeCuts("{}").status().IsCorruption());
  Result<std::vector<PendingCut>> r =
      DecodeCuts(R"([{"partition":"p","key":"k","uploaded":false,"ranges":{"s":{"first":"x","last":"1"}}}])");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("cuts[0]"), std::string::npos) << r.status().message();
  EXPECT_TRUE(DecodeCuts(R"([{"partition":"p","key":"k","uploaded":false}])").status().IsCorruption());
}

TEST(Checkpoint, RoundTripAwkwardStrings) {
  Checkpoint cp;
  cp.stream_name = std::string("q\"b\\s/\b\f\n\r\t\x01\x1f\x7f", 14) + std::string(1, '\0') + "z\xff\xfe" +
                   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  cp.written_at = std::string(3, '\0');
  cp.shards[std::string("id\"\n\0x", 6)] = {State::kOpen, "", Start::kTrimHorizon, 0, "\\u0041", "\xff"};
  PendingCut cut;
  cut.key = "\xe2\x82\xac";
  cut.ranges["\t"] = {"1", "2"};
  cp.pending.push_back(cut);
  const std::string bytes = Encode(cp);
  EXPECT_EQ(bytes.find('\0'), std::string::npos);
  Result<Checkpoint> back = Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, cp);
}

TEST(Checkpoint, EncodeIsDeterministic) {
  const Checkpoint cp = Rich();
  EXPECT_EQ(Encode(cp), Encode(cp));
  // Same value built in another order: same bytes.
  Checkpoint other;
  for (auto it = cp.shards.rbegin(); it != cp.shards.rend(); ++it) other.shards.insert(*it);
  other.pending = cp.pending;
  other.written_at = cp.written_at;
  other.generation = cp.generation;
  other.stream_arn = cp.stream_arn;
  other.stream_name = cp.stream_name;
  EXPECT_EQ(Encode(other), Encode(cp));
  // And a decoded value re-encodes to the same bytes.
  EXPECT_EQ(Encode(*Decode(Encode(cp))), Encode(cp));
}

TEST(Checkpoint, OneShardPerLine) {
  const std::string bytes = Encode(Rich());
  std::vector<std::string> lines;
  std::stringstream ss(bytes);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  // header + 7 shards + "}" closing shards and opening pending + 2 cuts + "]}}".
  ASSERT_EQ(lines.size(), 1u + 7 + 1 + 2 + 1) << bytes;
  EXPECT_EQ(lines[1].rfind(R"("shardId-000000000000":{"state":"finished",)", 0), 0u) << lines[1];
  EXPECT_EQ(lines[8], R"(},"pending":[)");
  EXPECT_EQ(lines.back(), "]}}");
}

TEST(Checkpoint, SampleFileIsTheEncodingOfSample) {
  const std::string bytes = DataFile("valid.json");
  Result<Checkpoint> cp = Decode(bytes);
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  EXPECT_EQ(*cp, Sample());
  // Catches an accidental change of the on-disk format.
  EXPECT_EQ(Encode(Sample()), bytes);
}

TEST(Checkpoint, SampleBadCrcFile) {
  Result<Checkpoint> cp = Decode(DataFile("bad-crc.json"));
  ASSERT_FALSE(cp.ok());
  EXPECT_TRUE(cp.status().IsCorruption());
  EXPECT_NE(cp.status().message().find("checksum mismatch: file says "), std::string::npos) << cp.status().message();
}

TEST(Checkpoint, SampleTruncatedFile) {
  Result<Checkpoint> cp = Decode(DataFile("truncated.json"));
  ASSERT_FALSE(cp.ok());
  EXPECT_TRUE(cp.status().IsCorruption());
  EXPECT_NE(cp.status().message().find("truncated"), std::string::npos) << cp.status().message();
}

// --- Corruption detection --------------------------------------------------

// Every single-byte change is detected: the framing is matched byte for byte,
// the checksum hex must be lowercase, and CRC-32C catches every error burst of
// up to 32 bits in BODY.
TEST(Checkpoint, EveryByteFlipIsDetected) {
  const std::string good = Encode(Rich());
  int decoded = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (int mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      Result<Checkpoint> r = Decode(bad);
      if (r.ok()) {
        ++decoded;
        ADD_FAILURE() << "flip " << mask << " at byte " << i << " went undetected";
      } else {
        ASSERT_TRUE(r.status().IsCorruption()) << i << ": " << r.status().ToString();
      }
    }
  }
  EXPECT_EQ(decoded, 0);
}

TEST(Checkpoint, EveryTruncationIsDetected) {
  for (const std::string& good : {Encode(Rich()), Encode(Checkpoint())}) {
    for (size_t n = 0; n < good.size(); ++n) {
      Result<Checkpoint> r = Decode(std::string_view(good).substr(0, n));
      ASSERT_FALSE(r.ok()) << "length " << n;
      ASSERT_TRUE(r.status().IsCorruption()) << n << ": " << r.status().ToString();
    }
  }
  EXPECT_EQ(Decode("").status().message(), "empty file");
  EXPECT_NE(Decode(R"({"format":"shardhose-check)").status().message().find("truncated"), std::string::npos);
}

TEST(Checkpoint, TrailingBytesAreDetected) {
  const std::string good = Encode(Rich());
  EXPECT_TRUE(Decode(good + "\n").status().IsCorruption());
  EXPECT_TRUE(Decode(good + "x").status().IsCorruption());
  EXPECT_TRUE(Decode(good + std::string(1, '\0')).status().IsCorruption());
  EXPECT_TRUE(Decode(good.substr(0, good.size() - 1) + "\r\n").status().IsCorruption());
}

TEST(Checkpoint, ChecksumMismatchMessage) {
  std::string bytes = Frame(Body());
  const size_t at = bytes.find(R"("sequence":"5")");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 12] = '6';
  Result<Checkpoint> r = Decode(bytes);
  ASSERT_TRUE(r.status().IsCorruption());
  EXPECT_EQ(
      r.status().message(),
      fmt::format("checksum mismatch: file says {:08x}, body is {:08x}", Crc32c(Body()),
                  Crc32c(bytes.substr(bytes.find(R"("body":)") + 7, bytes.size() - bytes.find(R"("body":)") - 7 - 2))));
  // Uppercase hex is not what Encode writes.
  std::string upper = Frame(Body());
  for (size_t i = upper.find(R"("crc32c":")") + 10, e = i + 8; i < e; ++i) {
    upper[i] = static_cast<char>(toupper(upper[i]));
  }
  if (upper != Frame(Body())) {
    EXPECT_NE(Decode(upper).status().message().find("bad crc32c"), std::string::npos);
  }
}

TEST(Checkpoint, WrongVersion) {
  std::string v3 = Frame(Body());
  v3.replace(v3.find(R"("version":1)") + 10, 1, "3");
  EXPECT_EQ(Decode(v3).status().message(), "unsupported version 3");
  std::string v7 = Frame(Body());
  v7.replace(v7.find(R"("version":1)") + 10, 1, "7");
  EXPECT_EQ(Decode(v7).status().message(), "unsupported version 7");
  std::string v01 = Frame(Body());
  v01.replace(v01.find(R"("version":1)") + 10, 1, "01");
  EXPECT_EQ(Decode(v01).status().message(), "unsupported version 01");
  std::string huge = Frame(Body());
  huge.replace(huge.find(R"("version":1)") + 10, 1, std::string(5000, '9'));
  Result<Checkpoint> r = Decode(huge);
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_EQ(r.status().message().rfind("unsupported version 999", 0), 0u);
  EXPECT_LT(r.status().message().size(), 200u);
  std::string none = Frame(Body());
  none.replace(none.find(R"("version":1)") + 10, 1, "\"1\"");
  EXPECT_TRUE(Decode(none).status().IsCorruption());
  // A version 3 file may have any framing after the version; still "unsupported".
  EXPECT_EQ(Decode(R"({"format":"shardhose-checkpoint","version":3,"whatever":[]})"
                   "\n")
                .status()
                .message(),
            "unsupported version 3");
}

// KPL sub-record positions ("seq.sub") in cut ranges: version 2, written only
// when one is present, so files without them stay version 1.
TEST(Checkpoint, SubRecordPositionsAreVersion2) {
  Checkpoint cp = Rich();
  EXPECT_NE(Encode(cp).find(R"("version":1,)"), std::string::npos);
  cp.pending[0].ranges["shardId-000000000002"] = {"100.3", "200"};
  cp.pending[1].ranges["shardId-000000000009"] = {"7", "7.12"};
  const std::string bytes = Encode(cp);
  EXPECT_NE(bytes.find(R"("version":2,)"), std::string::npos);
  Result<Checkpoint> back = Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, cp);

  // Version 1 never holds one.
  const std::string pending =
      R"([{"partition":"p","key":"k","uploaded":false,"ranges":{"s":{"first":"1.0","last":"2"}}}])";
  EXPECT_EQ(BodyError(Body(kShard, pending)), "version 1 file with a sub-record position (\"seq.sub\") in a cut");
  // Malformed positions.
  for (std::string_view bad : {"1.", "1.01", "1.2.3", ".1", "1.x"}) {
    const std::string p = fmt::format(
        R"([{{"partition":"p","key":"k","uploaded":false,"ranges":{{"s":{{"first":"1","last":"{}"}}}}}}])", bad);
    EXPECT_EQ(BodyError(Body(kShard, p)), fmt::format("pending[0] range s: last is not a position: \"{}\"", bad))
        << bad;
  }
  // A shard's sequence is always a whole record.
  std::string shard(kShard);
  shard.replace(shard.find(R"("sequence":"5")"), 14, R"("sequence":"5.1")");
  EXPECT_EQ(BodyError(Body(shard)), "shard shardId-1: sequence is not a number: \"5.1\"");
}

TEST(Checkpoint, BadFraming) {
  EXPECT_TRUE(Decode("not json at all\n").status().IsCorruption());
  EXPECT_TRUE(Decode(R"({"format":"other","version":1})"
                     "\n")
                  .status()
                  .IsCorruption());
  // Same JSON value, other bytes: not what Encode writes.
  std::string spaced = Frame(Body());
  spaced.replace(0, 1, "{ ");
  EXPECT_TRUE(Decode(spaced).status().IsCorruption());
}

TEST(Checkpoint, BodyValidation) {
  // The helpers themselves produce a valid file.
  ASSERT_EQ(BodyError(Body()), "");
  ASSERT_EQ(BodyError(" \n" + Body() + "\n\t "), "");  // any JSON whitespace, if the crc says so

  auto has = [](const std::string& msg, std::string_view want) { return msg.find(want) != std::string::npos; };
  auto shard_with = [](std::string_view from, std::string_view to) {
    std::string s(kShard);
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return Body(s);
  };

  // Unknown, duplicate, missing fields.
  EXPECT_PRED2(has, BodyError(R"({"stream_name":"s","extra":1})"), "unknown field \"extra\"");
  EXPECT_PRED2(has, BodyError(shard_with(R"("parent":"")", R"("parent":"","color":"red")")),
               "shard shardId-1: unknown field \"color\"");
  EXPECT_PRED2(has, BodyError(shard_with(R"("parent":"")", R"("parent":"","parent":"")")),
               "shard shardId-1: duplicate field \"parent\"");
  EXPECT_PRED2(has, BodyError(shard_with(R"("parent":"",)", "")), "shard shardId-1: missing field \"parent\"");
  EXPECT_PRED2(has, BodyError(R"({"stream_name":"s","stream_name":"t"})"), "body: duplicate field \"stream_name\"");
  EXPECT_PRED2(has, BodyError(R"({"stream_name":"s"})"), "body: missing field \"stream_arn\"");
  EXPECT_PRED2(has, BodyError(Body(kShard, R"([{"partition":"p","key":"k","ranges":{},"x":0}])")),
               "pending[0]: unknown field \"x\"");
  EXPECT_PRED2(has,
               BodyError(Body(kShard, R"([{"partition":"p","key":"k","ranges":)"
                                      R"({"s":{"first":"1","last":"2","mid":"1"}}}])")),
               "pending[0] range s: unknown field \"mid\"");
  EXPECT_PRED2(has,
               BodyError(Body(kShard, R"([{"partition":"p","key":"k","ranges":)"
                                      R"({"s":{"first":"1","last":"2"},"s":{"first":"1","last":"2"}}}])")),
               "pending[0]: duplicate range for shard s");
  std::string dup_shard = Body();
  dup_shard.replace(dup_shard.find(R"("shardId-1")"), 0, std::string(R"("shardId-1":)") + std::string(kShard) + ",");
  EXPECT_PRED2(has, BodyError(dup_shard), "duplicate shard shardId-1");

  // Sequence numbers.
  EXPECT_PRED2(has, BodyError(shard_with(R"("sequence":"5")", R"("sequence":"12a")")),
               "shard shardId-1: sequence is not a number: \"12a\"");
  EXPECT_PRED2(has, BodyError(shard_with(R"("sequence":"5")", R"("sequence":" 5")")),
               "shard shardId-1: sequence is not a number");
  EXPECT_PRED2(has, BodyError(shard_with(R"("sequence":"5")", R"("sequence":"-5")")),
               "shard shardId-1: sequence is not a number");
  EXPECT_PRED2(has, BodyError(shard_with(R"("sequence":"5")", R"("sequence":")" + std::string(129, '1') + "\"")),
               "shard shardId-1: sequence is not a number");
  EXPECT_PRED2(has, BodyError(shard_with(R"("sequence":"5")", R"("sequence":5)")),
               "shard shardId-1: sequence is not a string");
  EXPECT_EQ(BodyError(shard_with(R"("sequence":"5")", R"("sequence":"")")), "");
  EXPECT_PRED2(has,
               BodyError(Body(kShard, R"([{"partition":"p","key":"k","ranges":)"
                                      R"({"s":{"first":"","last":"2"}}}])")),
               "pending[0] range s: first is not a position");
  EXPECT_PRED2(has,
               BodyError(Body(kShard, R"([{"partition":"p","key":"k","ranges":)"
                                      R"({"s":{"first":"1","last":"x"}}}])")),
               "pending[0] range s: last is not a position");

  // Enums.
  EXPECT_PRED2(has, BodyError(shard_with(R"("state":"open")", R"("state":"closed")")),
               "shard shardId-1: state is \"closed\"");
  EXPECT_PRED2(has, BodyError(shard_with(R"("state":"open")", R"("state":"OPEN")")),
               "shard shardId-1: state is \"OPEN\"");
  EXPECT_PRED2(has, BodyError(shard_with(R"("start":"TRIM_HORIZON")", R"("start":"LATEST")")),
               "shard shardId-1: start is \"LATEST\"");
  EXPECT_PRED2(has, BodyError(shard_with(R"("start":"TRIM_HORIZON")", R"("start":null)")),
               "shard shardId-1: start is not a string");

  // Numbers.
  for (std::string_view ts : {"1.5", "1e3", "\"0\"", "true", "9223372036854775808", "-1e300"}) {
    EXPECT_PRED2(has, BodyError(shard_with(R"("start_timestamp_ms":0)", fmt::format(R"("start_timestamp_ms":{})", ts))),
                 "shard shardId-1: start_timestamp_ms")
        << ts;
  }
  EXPECT_EQ(BodyError(shard_with(R"("start_timestamp_ms":0)", R"("start_timestamp_ms":-9223372036854775808)")), "");
  for (std::string_view g : {"-1", "1.0", "\"1\"", "18446744073709551616", "1e30", "null"}) {
    EXPECT_PRED2(has, BodyError(Body(kShard, "[]", g)), "body: generation is not an unsigned") << g;
  }
  EXPECT_PRED2(has, BodyError(Body(kShard, "[]", "1e999")), "body: JSON error");
  EXPECT_EQ(BodyError(Body(kShard, "[]", "18446744073709551615")), "");

  // Shapes.
  EXPECT_PRED2(has, BodyError("[]"), "body: is not an object");
  EXPECT_PRED2(has, BodyError("\"x\""), "body: is not an object");
  EXPECT_PRED2(has, BodyError(""), "body: JSON error");
  EXPECT_PRED2(has, BodyError(Body() + "{}"), "body: JSON error");
  EXPECT_PRED2(has, BodyError(Body() + std::string(1, '\0') + "junk"), "NUL byte");
  EXPECT_PRED2(has, BodyError(Body("[]")), "shard shardId-1: is not an object");
  EXPECT_PRED2(has, BodyError(Body(kShard, "{}")), "body: pending is not an array");
  EXPECT_PRED2(has, BodyError(Body(kShard, "[1]")), "pending[0]: is not an object");
  EXPECT_PRED2(has, BodyError(Body(kShard, R"([{"partition":"p","key":"k","ranges":[]}])")),
               "pending[0]: ranges is not an object");
  std::string empty_id = Body();
  empty_id.replace(empty_id.find(R"("shardId-1")"), 11, R"("")");
  EXPECT_PRED2(has, BodyError(empty_id), "empty shard id");
  EXPECT_PRED2(has, BodyError(R"({"stream_name":"s","shards":[]})"), "body: shards is not an object");
  // Unescaped control character inside a string.
  EXPECT_PRED2(has, BodyError(shard_with(R"("parent":"")", "\"parent\":\"\n\"")), "body: JSON error");
}

TEST(Checkpoint, DeepNestingDoesNotCrash) {
  for (size_t depth : {1000u, 200000u}) {
    const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
    EXPECT_TRUE(Decode(Frame(arrays)).status().IsCorruption());
    const std::string objects =
        fmt::format(R"({{"stream_name":{}}})", std::string(depth, '[') + std::string(depth, ']'));
    EXPECT_NE(BodyError(objects).find("stream_name is not a string"), std::string::npos);
    EXPECT_NE(BodyError(std::string(depth, '[')).find("JSON error"), std::string::npos);
    std::string nested;
    for (size_t i = 0; i < depth; ++i) nested += R"({"a":)";
    nested += "1" + std::string(depth, '}');
    EXPECT_NE(BodyError(nested).find("unknown field \"a\""), std::string::npos);
  }
}

TEST(Checkpoint, RandomInputNeverCrashes) {
  std::mt19937_64 rng(20261122);
  const std::string good = Encode(Rich());
  for (int iter = 0; iter < 20000; ++iter) {
    std::string input;
    switch (iter % 4) {
      case 0: {  // random bytes
        input.resize(rng() % 300);
        for (char& c : input) c = static_cast<char>(rng());
        break;
      }
      case 1: {  // a valid header followed by random bytes
        input = good.substr(0, good.find(R"("body":)") + 7);
        const size_t n = rng() % 200;
        for (size_t i = 0; i < n; ++i) input.push_back(static_cast<char>(rng()));
        break;
      }
      case 2: {  // several random edits of a valid file
        input = good;
        for (int k = 1 + rng() % 8; k > 0; --k) {
          const size_t at = rng() % input.size();
          switch (rng() % 3) {
            case 0:
              input[at] = static_cast<char>(rng());
              break;
            case 1:
              input.erase(at, 1 + rng() % 16);
              break;
            default:
              input.insert(at, 1, static_cast<char>(rng()));
              break;
          }
          if (input.empty()) input = "{";
        }
        break;
      }
      default: {  // random JSON-ish bodies that pass the checksum
        static constexpr std::string_view kAlphabet = "{}[]\":,0123456789-.eE \\u\"tfnrsa";
        std::string body;
        const size_t n = rng() % 120;
        for (size_t i = 0; i < n; ++i) body.push_back(kAlphabet[rng() % kAlphabet.size()]);
        input = Frame(body);
        break;
      }
    }
    Result<Checkpoint> r = Decode(input);
    if (r.ok()) {
      // Anything accepted must survive its own round trip.
      Result<Checkpoint> again = Decode(Encode(*r));
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_EQ(*again, *r);
    } else {
      ASSERT_TRUE(r.status().IsCorruption()) << r.status().ToString();
    }
  }
}

// --- CheckpointFile --------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/shardhose-ckpt-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Fails the one step named by `fail`, after doing what a real failure would
// leave behind (a partial temp file for ENOSPC).
class FaultyFs : public FileSystemWrapper {
 public:
  enum class Step { kNone, kWriteFile, kRename, kSyncDir, kCreateDirs, kReadFile };
  FaultyFs(FileSystem* target, Step fail) : FileSystemWrapper(target), target_(target), fail_(fail) {}

  Status WriteFile(const std::string& p, std::string_view d, bool s) override {
    if (fail_ == Step::kWriteFile) {
      target_->WriteFile(p, d.substr(0, d.size() / 2), false).IgnoreError();
      return Status::IOError("write " + p + ": No space left on device");
    }
    return FileSystemWrapper::WriteFile(p, d, s);
  }
  Status Rename(const std::string& f, const std::string& t) override {
    if (fail_ == Step::kRename) return Status::IOError("rename: injected EIO");
    return FileSystemWrapper::Rename(f, t);
  }
  Status SyncDir(const std::string& d) override {
    if (fail_ == Step::kSyncDir) return Status::IOError("fsync " + d + ": injected EIO");
    return FileSystemWrapper::SyncDir(d);
  }
  Status CreateDirs(const std::string& d) override {
    if (fail_ == Step::kCreateDirs) return Status::IOError("mkdir: injected EACCES");
    return FileSystemWrapper::CreateDirs(d);
  }
  Result<std::string> ReadFile(const std::string& p) override {
    if (fail_ == Step::kReadFile) return Status::IOError("read: injected EIO");
    return FileSystemWrapper::ReadFile(p);
  }

 private:
  FileSystem* target_;
  Step fail_;
};

TEST(CheckpointFile, MissingFileIsNullopt) {
  TempDir dir;
  CheckpointFile file(FileSystem::Default(), dir.path() + "/no/such/dir/checkpoint.json");
  Result<std::optional<Checkpoint>> r = file.Load();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
}

TEST(CheckpointFile, SaveCreatesDirsAndLoads) {
  TempDir dir;
  const std::string path = dir.path() + "/state/sub/checkpoint.json";
  CheckpointFile file(FileSystem::Default(), path);
  EXPECT_EQ(file.path(), path);
  ASSERT_TRUE(file.Save(Rich()).ok());
  Result<std::optional<Checkpoint>> r = file.Load();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, Rich());
  EXPECT_EQ(*FileSystem::Default()->ReadFile(path), Encode(Rich()));
  EXPECT_FALSE(FileSystem::Default()->Exists(path + ".tmp"));

  Checkpoint next = Rich();
  next.generation = 1;
  next.shards.erase("shardId-000000000000");
  ASSERT_TRUE(file.Save(next).ok());
  EXPECT_EQ(**file.Load(), next);
}

TEST(CheckpointFile, FailedSaveLeavesOldFileAndReturnsIOError) {
  using Step = FaultyFs::Step;
  for (Step step : {Step::kWriteFile, Step::kRename, Step::kSyncDir, Step::kCreateDirs}) {
    SCOPED_TRACE(static_cast<int>(step));
    TempDir dir;
    const std::string path = dir.path() + "/checkpoint.json";
    Checkpoint old_cp = Sample();
    ASSERT_TRUE(CheckpointFile(FileSystem::Default(), path).Save(old_cp).ok());

    FaultyFs faulty(FileSystem::Default(), step);
    CheckpointFile file(&faulty, path);
    Checkpoint new_cp = Rich();
    Status st = file.Save(new_cp);
    ASSERT_TRUE(st.IsIOError()) << st.ToString();
    EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
    EXPECT_TRUE(st.message().find("injected") != std::string::npos ||
                st.message().find("No space left") != std::string::npos)
        << st.message();

    Result<std::optional<Checkpoint>> r = CheckpointFile(FileSystem::Default(), path).Load();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->has_value());
    if (step == Step::kSyncDir) {
      // The rename happened before the directory fsync failed: the file holds
      // the new checkpoint, but its durability across power loss is unknown.
      EXPECT_EQ(**r, new_cp);
    } else {
      EXPECT_EQ(**r, old_cp);
    }
    EXPECT_FALSE(FileSystem::Default()->Exists(path + ".tmp"));

    // A later Save on a healthy filesystem works.
    ASSERT_TRUE(CheckpointFile(FileSystem::Default(), path).Save(new_cp).ok());
    EXPECT_EQ(**CheckpointFile(FileSystem::Default(), path).Load(), new_cp);
  }
}

TEST(CheckpointFile, LeftoverTempFileIsIgnoredAndOverwritten) {
  TempDir dir;
  const std::string path = dir.path() + "/checkpoint.json";
  FileSystem* fs = FileSystem::Default();
  CheckpointFile file(fs, path);
  // A crash before the first rename: only a partial temp file exists.
  ASSERT_TRUE(fs->WriteFile(path + ".tmp", Encode(Rich()).substr(0, 50), false).ok());
  Result<std::optional<Checkpoint>> r = file.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());

  ASSERT_TRUE(file.Save(Sample()).ok());
  // A crash after writing a newer temp file but before renaming it.
  ASSERT_TRUE(fs->WriteFile(path + ".tmp", "garbage", false).ok());
  EXPECT_EQ(**file.Load(), Sample());
  ASSERT_TRUE(file.Save(Rich()).ok());
  EXPECT_EQ(**file.Load(), Rich());
  EXPECT_FALSE(fs->Exists(path + ".tmp"));
}

TEST(CheckpointFile, CorruptFileIsCorruptionNamingThePath) {
  TempDir dir;
  const std::string path = dir.path() + "/checkpoint.json";
  FileSystem* fs = FileSystem::Default();
  std::string bytes = Encode(Sample());
  bytes[bytes.size() / 2] ^= 0x01;
  ASSERT_TRUE(fs->WriteFile(path, bytes, false).ok());
  Result<std::optional<Checkpoint>> r = CheckpointFile(fs, path).Load();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_EQ(r.status().message().rfind(path + ": checksum mismatch", 0), 0u) << r.status().message();

  ASSERT_TRUE(fs->WriteFile(path, "", false).ok());
  r = CheckpointFile(fs, path).Load();
  EXPECT_EQ(r.status().message(), path + ": empty file");
}

TEST(CheckpointFile, ReadErrorIsIOErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.path() + "/checkpoint.json";
  ASSERT_TRUE(CheckpointFile(FileSystem::Default(), path).Save(Sample()).ok());
  FaultyFs faulty(FileSystem::Default(), FaultyFs::Step::kReadFile);
  Result<std::optional<Checkpoint>> r = CheckpointFile(&faulty, path).Load();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();

  // A directory where the file should be: a real read error.
  const std::string as_dir = dir.path() + "/is-a-dir";
  ASSERT_TRUE(FileSystem::Default()->CreateDirs(as_dir).ok());
  r = CheckpointFile(FileSystem::Default(), as_dir).Load();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
}

}  // namespace
}  // namespace shardhose::checkpoint

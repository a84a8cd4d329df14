#include "decode/kpl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/base64.h"
#include "kpl_aggregate.h"

namespace shardhose::decode {
namespace {

using kpltest::Aggregate;
using kpltest::Key;
using kpltest::Len;
using kpltest::Record;
using kpltest::Uint;
using kpltest::Varint;

std::string TwoKeysThreeRecords() {
  return Len(1, "pk-a") + Len(1, "pk-b") + Len(3, Record(0, "one")) + Len(3, Record(1, "two")) +
         Len(3, Record(0, std::string("th\0ree", 6)));
}

TEST(Kpl, MagicAndLength) {
  EXPECT_FALSE(IsAggregated(""));
  EXPECT_FALSE(IsAggregated("{\"eventID\":\"1\"}"));
  EXPECT_FALSE(IsAggregated(std::string(kKplMagic) + std::string(15, 'x')));  // no room for the MD5
  EXPECT_TRUE(IsAggregated(std::string(kKplMagic) + std::string(16, 'x')));
}

TEST(Kpl, Base64PrefixMatchesTheMagic) {
  for (const std::string& tail : {std::string(16, '\0'), std::string(40, '\xff'), std::string("abc")}) {
    EXPECT_TRUE(MayBeAggregatedBase64(Base64Encode(std::string(kKplMagic) + tail)));
  }
  EXPECT_FALSE(MayBeAggregatedBase64(Base64Encode("{\"eventID\":\"1\"}")));
  EXPECT_FALSE(MayBeAggregatedBase64("84ma"));
}

TEST(Kpl, SplitsValidAggregate) {
  const std::string data = Aggregate(TwoKeysThreeRecords());
  std::vector<KplSubRecord> subs;
  ASSERT_TRUE(Deaggregate(data, &subs).ok());
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs[0].data, "one");
  EXPECT_EQ(subs[0].partition_key, "pk-a");
  EXPECT_EQ(subs[0].index, 0u);
  EXPECT_EQ(subs[1].data, "two");
  EXPECT_EQ(subs[1].partition_key, "pk-b");
  EXPECT_EQ(subs[2].data, std::string("th\0ree", 6));
  EXPECT_EQ(subs[2].partition_key, "pk-a");
  EXPECT_EQ(subs[2].index, 2u);
}

TEST(Kpl, SingleRecordWithTagsHashKeysAndUnknownFields) {
  const std::string tag = Len(1, "k") + Len(2, "v");
  const std::string rec = Uint(1, 0) + Uint(2, 0) + Len(3, "payload") + Len(4, tag) + Uint(9, 300);
  const std::string proto =
      Len(2, "12345") + Len(1, "key") + Len(3, rec) + Key(15, 5) + "abcd" + Key(16, 1) + "abcdefgh";
  const std::string data = Aggregate(proto);  // the views point into it
  std::vector<KplSubRecord> subs;
  Status st = Deaggregate(data, &subs);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].data, "payload");
  EXPECT_EQ(subs[0].partition_key, "key");
}

TEST(Kpl, AggregateOfHelperRoundTrips) {
  const std::string data = kpltest::AggregateOf({{"a", "1"}, {"b", "2"}, {"a", "3"}});
  std::vector<KplSubRecord> subs;
  ASSERT_TRUE(Deaggregate(data, &subs).ok());
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs[2].partition_key, "a");
  EXPECT_EQ(subs[2].data, "3");
}

TEST(Kpl, EmptyDataIsAllowed) {
  const std::string data = Aggregate(Len(1, "k") + Len(3, Record(0, "")));
  std::vector<KplSubRecord> subs;
  ASSERT_TRUE(Deaggregate(data, &subs).ok());
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].data, "");
}

Status DeaggregateError(const std::string& data) {
  std::vector<KplSubRecord> subs;
  Status st = Deaggregate(data, &subs);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  return st;
}

TEST(Kpl, BadMd5) {
  std::string data = Aggregate(TwoKeysThreeRecords());
  data.back() ^= 1;
  EXPECT_NE(DeaggregateError(data).message().find("MD5 mismatch"), std::string::npos);
  data = Aggregate(TwoKeysThreeRecords());
  data[10] ^= 1;  // the body changed, the digest did not
  EXPECT_NE(DeaggregateError(data).message().find("MD5 mismatch"), std::string::npos);
}

TEST(Kpl, EmptyAggregateIsAnError) {
  EXPECT_NE(DeaggregateError(Aggregate("")).message().find("no records"), std::string::npos);
  EXPECT_NE(DeaggregateError(Aggregate(Len(1, "k"))).message().find("no records"), std::string::npos);
}

TEST(Kpl, TruncatedVarints) {
  // A key varint cut short.
  EXPECT_NE(DeaggregateError(Aggregate("\x8a")).message().find("truncated varint"), std::string::npos);
  // A length varint cut short.
  EXPECT_NE(DeaggregateError(Aggregate("\x0a\xff")).message().find("truncated varint"), std::string::npos);
  // Inside a record: partition_key_index's value cut short.
  const std::string rec = Key(1, 0) + "\x80";
  EXPECT_NE(DeaggregateError(Aggregate(Len(1, "k") + Len(3, rec))).message().find("truncated varint"),
            std::string::npos);
  // Longer than 10 bytes / over 64 bits.
  EXPECT_FALSE(DeaggregateError(Aggregate(Key(1, 0) + std::string(11, '\xff') + "\x01")).ok());
  EXPECT_NE(DeaggregateError(Aggregate(Key(9, 0) + std::string(9, '\xff') + "\x02")).message().find("overflow"),
            std::string::npos);
}

TEST(Kpl, LengthsPastTheEnd) {
  std::string proto = Len(1, "k") + Len(3, Record(0, "data"));
  proto.pop_back();
  EXPECT_NE(DeaggregateError(Aggregate(proto)).message().find("runs past the end"), std::string::npos);
  // A record's data length larger than the record.
  const std::string rec = Uint(1, 0) + Key(3, 2) + Varint(100) + "xy";
  EXPECT_NE(DeaggregateError(Aggregate(Len(1, "k") + Len(3, rec))).message().find("record 0"), std::string::npos);
  // Truncated fixed-width unknown field.
  EXPECT_NE(DeaggregateError(Aggregate(Key(9, 1) + "abc")).message().find("truncated fixed-width"), std::string::npos);
}

TEST(Kpl, IndexOutOfRange) {
  const std::string proto = Len(1, "k0") + Len(1, "k1") + Len(3, Record(0, "a")) + Len(3, Record(2, "b"));
  Status st = DeaggregateError(Aggregate(proto));
  EXPECT_NE(st.message().find("record 1: partition_key_index 2 out of range (2 keys)"), std::string::npos)
      << st.ToString();
  const std::string hashed = Len(1, "k") + Len(3, Uint(1, 0) + Uint(2, 0) + Len(3, "a"));
  EXPECT_NE(DeaggregateError(Aggregate(hashed)).message().find("explicit_hash_key_index"), std::string::npos);
  // No keys at all.
  EXPECT_FALSE(DeaggregateError(Aggregate(Len(3, Record(0, "a")))).ok());
}

TEST(Kpl, MissingRequiredFieldsAndBadWireTypes) {
  EXPECT_NE(DeaggregateError(Aggregate(Len(1, "k") + Len(3, Len(3, "a")))).message().find("no partition_key_index"),
            std::string::npos);
  EXPECT_NE(DeaggregateError(Aggregate(Len(1, "k") + Len(3, Uint(1, 0)))).message().find("no data"), std::string::npos);
  // records as a varint; partition_key_index as bytes; a group; field 0.
  EXPECT_NE(DeaggregateError(Aggregate(Len(1, "k") + Uint(3, 1))).message().find("wire type"), std::string::npos);
  EXPECT_NE(DeaggregateError(Aggregate(Len(1, "k") + Len(3, Len(1, "x") + Len(3, "a")))).message().find("wire type"),
            std::string::npos);
  EXPECT_NE(DeaggregateError(Aggregate(Key(5, 3) + Key(5, 4))).message().find("invalid wire type 3"),
            std::string::npos);
  EXPECT_NE(DeaggregateError(Aggregate(Uint(0, 1))).message().find("invalid field number"), std::string::npos);
}

TEST(Kpl, EveryTruncationIsAnErrorNeverACrash) {
  const std::string proto = TwoKeysThreeRecords();
  for (size_t n = 0; n < proto.size(); ++n) {
    std::vector<KplSubRecord> subs;
    // Re-digested, so only the protobuf framing can catch the truncation.
    const std::string data = Aggregate(proto.substr(0, n));
    Status st = Deaggregate(data, &subs);
    if (st.ok()) {  // a cut exactly between fields is a valid, shorter aggregate
      EXPECT_LT(subs.size(), 3u);
    }
  }
}

TEST(Kpl, SplitterPlainRecordIsOneUnit) {
  KplSplitter splitter;
  std::vector<KplUnit> units;
  const std::string b64 = Base64Encode("{\"eventID\":\"1\"}");
  poll::KinesisRecordView r{b64, "4968", "pk", 1700000000000};
  splitter.Split(r, &units);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].position, "4968");
  EXPECT_EQ(units[0].view.data_base64, b64);
  EXPECT_TRUE(units[0].ends_record);
  EXPECT_TRUE(units[0].error.empty());
  // Not base64 at all, with the magic's prefix: left to the decoder (bad_base64).
  poll::KinesisRecordView bad{"84maw!!", "4969", "pk", 0};
  splitter.Split(bad, &units);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_TRUE(units[0].error.empty());
}

TEST(Kpl, SplitterAggregateIsOneUnitPerSubRecord) {
  KplSplitter splitter;
  std::vector<KplUnit> units;
  const std::string b64 = Base64Encode(Aggregate(TwoKeysThreeRecords()));
  poll::KinesisRecordView r{b64, "4968", "outer", 1700000000000};
  splitter.Split(r, &units);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].position, "4968.0");
  EXPECT_EQ(units[0].view.sequence_number, "4968.0");
  EXPECT_EQ(units[0].view.data_base64, Base64Encode("one"));
  EXPECT_EQ(units[0].view.partition_key, "pk-a");
  EXPECT_EQ(units[0].view.arrival_ms, 1700000000000);
  EXPECT_FALSE(units[0].ends_record);
  EXPECT_EQ(units[1].position, "4968.1");
  EXPECT_EQ(units[1].view.partition_key, "pk-b");
  EXPECT_FALSE(units[1].ends_record);
  EXPECT_EQ(units[2].position, "4968.2");
  EXPECT_EQ(units[2].view.data_base64, Base64Encode(std::string("th\0ree", 6)));
  EXPECT_TRUE(units[2].ends_record);
}

TEST(Kpl, SplitterBadAggregateIsOneErrorUnitWithTheOriginalBytes) {
  KplSplitter splitter;
  std::vector<KplUnit> units;
  std::string data = Aggregate(TwoKeysThreeRecords());
  data.back() ^= 0x55;
  const std::string b64 = Base64Encode(data);
  poll::KinesisRecordView r{b64, "4968", "outer", 5};
  splitter.Split(r, &units);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].position, "4968");
  EXPECT_EQ(units[0].view.data_base64, b64);
  EXPECT_EQ(units[0].view.partition_key, "outer");
  EXPECT_TRUE(units[0].ends_record);
  EXPECT_NE(units[0].error.find("MD5 mismatch"), std::string::npos);
}

TEST(Kpl, BadAggregateErrorLine) {
  Decoder decoder(OutputFormat::kUnmarshalled, "orders");
  DecodedRecord out;
  poll::KinesisRecordView r{"84mawQ==", "4968", "pk", 0};
  decoder.WriteErrorLine(kBadAggregate, "KPL aggregate: MD5 mismatch", r, "shardId-000000000001", &out);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "bad_aggregate");
  EXPECT_EQ(out.line,
            "{\"error\":\"bad_aggregate\",\"message\":\"KPL aggregate: MD5 "
            "mismatch\",\"stream\":\"orders\","
            "\"shard_id\":\"shardId-000000000001\",\"sequence_number\":\"4968\",\"partition_key\":\"pk\","
            "\"arrival_time\":\"1970-01-01T00:00:00.000Z\",\"data_base64\":\"84mawQ==\"}\n");
}

}  // namespace
}  // namespace shardhose::decode

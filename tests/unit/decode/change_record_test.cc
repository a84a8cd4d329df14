#include "decode/change_record.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "common/base64.h"

// Heap allocations so far (alloc_counter.cc replaces operator new).
long AllocationCount();

namespace shardhose::decode {
namespace {

constexpr char kShard[] = "shardId-000000000007";
constexpr char kSeq[] = "49650000000000000000000000000000000000000000000000000001";

std::string RecordsDir() { return std::string(SHARDHOSE_SOURCE_DIR) + "/tests/data/records/"; }

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Corpus(const std::string& name) {
  std::string s = ReadFile(RecordsDir() + name);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

class DecodeTest : public ::testing::Test {
 protected:
  DecodedRecord DecodeData(std::string_view data_base64, OutputFormat format = OutputFormat::kUnmarshalled) {
    Decoder& d = format == OutputFormat::kRaw ? raw_ : unmarshalled_;
    poll::KinesisRecordView rec;
    rec.data_base64 = data_base64;
    rec.sequence_number = kSeq;
    rec.partition_key = "pk-1";
    rec.arrival_ms = 1716200001000;
    DecodedRecord out;
    d.Decode(rec, kShard, &out);
    return out;
  }
  DecodedRecord DecodeJson(std::string_view json, OutputFormat format = OutputFormat::kUnmarshalled) {
    b64_ = Base64Encode(json);
    return DecodeData(b64_, format);
  }

  Decoder unmarshalled_{OutputFormat::kUnmarshalled, "ddb-stream"};
  Decoder raw_{OutputFormat::kRaw, "ddb-stream"};
  std::string b64_;
};

// A change record around the given NewImage attributes (a JSON object body).
std::string WithNewImage(std::string_view attrs) {
  return std::string(
             R"({"eventID":"e-1","eventName":"INSERT","tableName":"t","dynamodb":{"ApproximateCreationDateTime":1716200000123,"Keys":{"pk":{"S":"k"}},"NewImage":{)") +
         std::string(attrs) + "}}}";
}

// Parses an output line (without its '\n'); numbers as strings so that huge
// numbers parse too.
rapidjson::Document ParseLine(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one line";
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag>(line.c_str(), line.size() - 1);
  EXPECT_FALSE(d.HasParseError()) << line.substr(0, 500);
  return d;
}

std::string S(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

void ExpectError(const DecodedRecord& r, std::string_view reason, std::string_view message_part = "") {
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, reason);
  EXPECT_EQ(r.table, "");
  EXPECT_EQ(r.event_name, "");
  EXPECT_EQ(r.event_id, "");
  EXPECT_EQ(r.event_time_us, 0);
  rapidjson::Document d = ParseLine(r.line);
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(S(d["error"]), reason);
  EXPECT_NE(S(d["message"]).find(message_part), std::string::npos) << S(d["message"]);
}

// --- the corpus -----------------------------------------------------------

TEST_F(DecodeTest, AllTypesUnmarshalledExactly) {
  DecodedRecord r = DecodeJson(Corpus("orders_insert_all_types.json"));
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.table, "orders");
  EXPECT_EQ(r.event_name, "INSERT");
  EXPECT_EQ(r.event_id, "3b8c5f2a-6c1e-4a0e-9f7d-1a2b3c4d5e01");
  EXPECT_EQ(r.event_time_us, 1716200000123000);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.line,
            std::string(R"({"event_id":"3b8c5f2a-6c1e-4a0e-9f7d-1a2b3c4d5e01","event_name":"INSERT",)"
                        R"("table":"orders","event_time":"2024-05-20T10:13:20.123Z",)"
                        R"("sequence_number":")") +
                kSeq + R"(","shard_id":")" + kShard + "\"," +
                R"("keys":{"pk":"o#1","sk":1},)"
                R"("new_image":{"pk":"o#1","sk":1,"customer":"Ada Lovelace","total":129.95,)"
                R"("paid":true,"gift":false,"coupon":null,"thumbnail":"iVBORw0KGgo=",)"
                R"("address":{"street":"12 Analytical Way","zip":"02139","geo":{"lat":42.3601,"lon":-71.0942}},)"
                R"("lines":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1},"note",3],)"
                R"("tags":["new","priority"],"scores":[1,2.5,-3],"blobs":["AAEC","/w=="]},)"
                R"("old_image":null,"user_identity":null})"
                "\n");
  ParseLine(r.line);
}

TEST_F(DecodeTest, EveryCorpusRecordDecodesInBothFormats) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(RecordsDir())) {
    if (entry.path().extension() != ".json") continue;
    ++n;
    const std::string json = ReadFile(entry.path());
    SCOPED_TRACE(entry.path().filename().string());
    DecodedRecord u = DecodeJson(json);
    ASSERT_TRUE(u.ok) << u.line;
    rapidjson::Document d = ParseLine(u.line);
    const char* fields[] = {"event_id", "event_name", "table",     "event_time", "sequence_number",
                            "shard_id", "keys",       "new_image", "old_image",  "user_identity"};
    ASSERT_EQ(d.MemberCount(), 10u);
    int i = 0;
    for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it, ++i) EXPECT_EQ(S(it->name), fields[i]);
    EXPECT_EQ(S(d["table"]), u.table);
    EXPECT_EQ(S(d["event_name"]), u.event_name);
    EXPECT_EQ(S(d["event_id"]), u.event_id);
    EXPECT_EQ(S(d["event_time"]), FormatIsoMillis(u.event_time_us));
    EXPECT_TRUE(u.table == "orders" || u.table == "sessions");

    DecodedRecord raw = DecodeJson(json, OutputFormat::kRaw);
    ASSERT_TRUE(raw.ok) << raw.line;
    ParseLine(raw.line);
    EXPECT_EQ(raw.table, u.table);
    EXPECT_EQ(raw.event_time_us, u.event_time_us);
  }
  EXPECT_GE(n, 10);
}

TEST_F(DecodeTest, RawIsTheCompactRecordByteForByte) {
  for (const char* name : {"orders_insert_all_types.json", "orders_insert_unicode.json", "orders_insert_numbers.json",
                           "sessions_ttl_remove.json"}) {
    const std::string json = Corpus(name);
    DecodedRecord r = DecodeJson(json, OutputFormat::kRaw);
    ASSERT_TRUE(r.ok) << name;
    EXPECT_EQ(r.line, json + "\n") << name;
  }
}

TEST_F(DecodeTest, RawCompactsWhitespaceButNotStringsOrDigits) {
  DecodedRecord r = DecodeJson(Corpus("orders_modify_pretty.json"), OutputFormat::kRaw);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(
      r.line,
      R"({"awsRegion":"us-east-1","eventID":"3b8c5f2a-6c1e-4a0e-9f7d-1a2b3c4d5e11","eventName":"MODIFY",)"
      R"("userIdentity":null,"recordFormat":"application/json","tableName":"orders","dynamodb":{)"
      R"("ApproximateCreationDateTime":1716200300000,"ApproximateCreationDateTimePrecision":"MILLISECOND",)"
      R"("Keys":{"pk":{"S":"o#4"},"sk":{"N":"1"}},"NewImage":{"pk":{"S":"o#4"},"sk":{"N":"1"},)"
      R"("status":{"S":"PAID  twice spaced\tand tab"},"total":{"N":"1.50E+2"}},"OldImage":{"pk":{"S":"o#4"},)"
      R"("sk":{"N":"1"},"status":{"S":"NEW"},"total":{"N":"1.50E+2"}},"SizeBytes":120},"eventSource":"aws:dynamodb"})"
      "\n");
  EXPECT_EQ(r.event_name, "MODIFY");
  EXPECT_EQ(r.event_time_us, 1716200300000000);
}

TEST_F(DecodeTest, ModifyHasBothImages) {
  DecodedRecord r = DecodeJson(Corpus("orders_modify.json"));
  ASSERT_TRUE(r.ok);
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_EQ(S(d["new_image"]["status"]), "SHIPPED");
  EXPECT_EQ(S(d["old_image"]["status"]), "PENDING");
  EXPECT_EQ(S(d["event_time"]), "2024-05-20T10:14:20.456Z");
}

TEST_F(DecodeTest, RemoveHasNoNewImage) {
  DecodedRecord r = DecodeJson(Corpus("orders_remove.json"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.event_name, "REMOVE");
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_TRUE(d["new_image"].IsNull());
  EXPECT_EQ(S(d["old_image"]["status"]), "CANCELLED");
  EXPECT_EQ(S(d["keys"]["pk"]), "o#2");
  EXPECT_TRUE(d["user_identity"].IsNull());
}

// `keys` in name order, whatever order the record gave them in: one item,
// one text (the <table>_latest view groups by it). Images keep their order.
TEST_F(DecodeTest, KeysAreInNameOrder) {
  DecodedRecord r = DecodeJson(
      R"({"eventID":"e-1","eventName":"INSERT","tableName":"t","dynamodb":{"ApproximateCreationDateTime":1716200000123,)"
      R"("Keys":{"sk":{"N":"7"},"pk":{"S":"a,\"b\"}"},"created":{"M":{"x":{"L":[{"S":","}]}}}},)"
      R"("NewImage":{"sk":{"N":"7"},"pk":{"S":"a"}}}})");
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(r.line.find(R"("keys":{"created":{"x":[","]},"pk":"a,\"b\"}","sk":7},"new_image":{"sk":7,"pk":"a"})"),
            std::string::npos)
      << r.line;
}

TEST_F(DecodeTest, TtlDeleteKeepsUserIdentity) {
  DecodedRecord r = DecodeJson(Corpus("sessions_ttl_remove.json"));
  ASSERT_TRUE(r.ok);
  EXPECT_NE(r.line.find(R"("user_identity":{"type":"Service","principalId":"dynamodb.amazonaws.com"}})"),
            std::string::npos)
      << r.line;
}

TEST_F(DecodeTest, MicrosecondPrecision) {
  DecodedRecord r = DecodeJson(Corpus("sessions_insert_micros.json"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.event_time_us, 1716203600123456);
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_EQ(S(d["event_time"]), "2024-05-20T11:13:20.123Z");
}

TEST_F(DecodeTest, NestedMapsAndLists) {
  DecodedRecord r = DecodeJson(Corpus("sessions_modify_nested.json"));
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(
      r.line.find(
          R"("new_image":{"session_id":"s-8b1c","state":{"cart":[{"sku":"A-1","options":{"size":"M","colors":["red","blue"],"history":[[1,[{"deep":true}]]]}}],"flags":{},"visits":[]}},"old_image":{"session_id":"s-8b1c","state":{}})"),
      std::string::npos)
      << r.line;
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_TRUE(d["new_image"]["state"]["cart"][0]["options"]["history"][0][1][0]["deep"].IsTrue());
}

TEST_F(DecodeTest, NumbersKeepTheirDigits) {
  DecodedRecord r = DecodeJson(Corpus("orders_insert_numbers.json"));
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(r.line.find(R"("big":12345678901234567890123456789012345678,)"
                        R"("neg_big":-99999999999999999999999999999999999999,"exp":1E+3,)"
                        R"("exp_lower":2.5e-130,"small":-0.000001,"zero":0,"frac":0.1,)"
                        R"("max":9.9999999999999999999999999999999999999E+125,)"
                        R"("nums":[12345678901234567890123456789012345678,1E-130,-1]})"),
            std::string::npos)
      << r.line;
  // It is valid JSON for an ordinary (double-based) parser too.
  rapidjson::Document d;
  d.Parse(r.line.data(), r.line.size());
  EXPECT_FALSE(d.HasParseError());
  EXPECT_DOUBLE_EQ(d["new_image"]["small"].GetDouble(), -0.000001);
  EXPECT_DOUBLE_EQ(d["new_image"]["exp"].GetDouble(), 1000.0);
}

TEST_F(DecodeTest, UnicodeAndEscapesRoundTrip) {
  DecodedRecord r = DecodeJson(Corpus("orders_insert_unicode.json"));
  ASSERT_TRUE(r.ok) << r.line;
  rapidjson::Document d = ParseLine(r.line);
  const auto& img = d["new_image"];
  EXPECT_EQ(S(img["pk"]), "o#\xc3\xa9\xe4\xb8\xad");
  EXPECT_EQ(S(d["keys"]["pk"]), "o#\xc3\xa9\xe4\xb8\xad");
  EXPECT_EQ(S(img["note"]),
            std::string("line1\nline2\ttab \"quoted\" back\\slash nul") + '\0' + "end bell\x07 del\x7f");
  EXPECT_EQ(S(img["emoji"]), "\xf0\x9f\x98\x80 caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80");
  EXPECT_EQ(S(img["escaped_slash"]), "a/b");
  EXPECT_EQ(S(img["ctrl"]), "\b\f\r\x1f");
  EXPECT_EQ(S(img["attr with spaces & \"quotes\""]), "ok");
  EXPECT_NE(r.line.find(R"(nul\u0000end bell\u0007 del)"), std::string::npos);
}

TEST_F(DecodeTest, EmptyValues) {
  DecodedRecord r = DecodeJson(Corpus("sessions_insert_empty.json"));
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(
      r.line.find(
          R"("new_image":{"session_id":"s-0000","empty_s":"","empty_b":"","empty_m":{},"empty_l":[],"":"empty name"})"),
      std::string::npos)
      << r.line;
}

TEST_F(DecodeTest, SequenceAndShardAreEscaped) {
  poll::KinesisRecordView rec;
  const std::string b64 = Base64Encode(Corpus("orders_remove.json"));
  rec.data_base64 = b64;
  rec.sequence_number = "1\"2";
  DecodedRecord out;
  unmarshalled_.Decode(rec, "shard\\x", &out);
  ASSERT_TRUE(out.ok);
  rapidjson::Document d = ParseLine(out.line);
  EXPECT_EQ(S(d["sequence_number"]), "1\"2");
  EXPECT_EQ(S(d["shard_id"]), "shard\\x");
}

// --- sizes ------------------------------------------------------------------

TEST_F(DecodeTest, WideItemWithThousandAttributes) {
  std::string attrs = R"("pk":{"S":"k"})";
  for (int i = 0; i < 1000; ++i) {
    attrs += ",\"a" + std::to_string(i) + "\":{\"N\":\"" + std::to_string(i * 7) + "\"}";
  }
  DecodedRecord r = DecodeJson(WithNewImage(attrs));
  ASSERT_TRUE(r.ok);
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_EQ(d["new_image"].MemberCount(), 1001u);
  EXPECT_EQ(S(d["new_image"]["a999"]), "6993");  // parsed as number-as-string
}

TEST_F(DecodeTest, FourHundredKilobyteItem) {
  std::string big(400 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = '"';  // escaped in the input
  std::string escaped;
  for (char c : big) {
    if (c == '"')
      escaped += "\\\"";
    else
      escaped += c;
  }
  DecodedRecord r = DecodeJson(WithNewImage(R"("pk":{"S":"k"},"blob":{"S":")" + escaped + "\"}"));
  ASSERT_TRUE(r.ok);
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_EQ(S(d["new_image"]["blob"]), big);
}

TEST_F(DecodeTest, OneMebibyteRecord) {
  std::string attrs = R"("pk":{"S":"k"})";
  int i = 0;
  while (attrs.size() < 1024 * 1024) {
    attrs += ",\"attr" + std::to_string(i++) + "\":{\"L\":[{\"S\":\"" + std::string(200, 'v') +
             "\"},{\"N\":\"-1.5E-7\"},{\"B\":\"AAEC\"},{\"BOOL\":false}]}";
  }
  DecodedRecord r = DecodeJson(WithNewImage(attrs));
  ASSERT_TRUE(r.ok);
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_EQ(d["new_image"].MemberCount(), static_cast<unsigned>(i + 1));
  DecodedRecord raw = DecodeJson(WithNewImage(attrs), OutputFormat::kRaw);
  ASSERT_TRUE(raw.ok);
  EXPECT_EQ(raw.line, WithNewImage(attrs) + "\n");
}

TEST_F(DecodeTest, TenThousandDigitNumberIsKeptExactly) {
  // A valid JSON number, so it is written as given (DynamoDB itself allows
  // 38 significant digits; the decoder does not enforce that).
  std::string digits = "9" + std::string(9999, '1');
  DecodedRecord r = DecodeJson(WithNewImage(R"("pk":{"S":"k"},"n":{"N":")" + digits + "\"}"));
  ASSERT_TRUE(r.ok);
  const size_t at = r.line.find("\"n\":" + digits + "}");
  ASSERT_NE(at, std::string::npos);
  // rapidjson 1.1 refuses numbers beyond double range even when asked to keep
  // them as text, so check the rest of the line with the number replaced.
  std::string line = r.line;
  line.replace(at + 4, digits.size(), "0");
  ParseLine(line);
}

// --- event time ---------------------------------------------------------------

TEST_F(DecodeTest, EventTimeForms) {
  auto with_time = [](std::string_view t, std::string_view precision = "") {
    std::string p =
        precision.empty() ? "" : ",\"ApproximateCreationDateTimePrecision\":\"" + std::string(precision) + "\"";
    return R"({"eventID":"e","eventName":"INSERT","tableName":"t","dynamodb":{"ApproximateCreationDateTime":)" +
           std::string(t) + p + "}}";
  };
  EXPECT_EQ(DecodeJson(with_time("1716200000123")).event_time_us, 1716200000123000);
  EXPECT_EQ(DecodeJson(with_time("1716200000123.999")).event_time_us, 1716200000123000);
  EXPECT_EQ(DecodeJson(with_time("1.716200000123E12")).event_time_us, 1716200000123000);
  EXPECT_EQ(DecodeJson(with_time("1.7162000001239e12")).event_time_us, 1716200000123000);
  EXPECT_EQ(DecodeJson(with_time("0")).event_time_us, 0);
  EXPECT_EQ(DecodeJson(with_time("1716203600123456", "MICROSECOND")).event_time_us, 1716203600123456);
  EXPECT_EQ(DecodeJson(with_time("1716203600123456.7", "MICROSECOND")).event_time_us, 1716203600123456);
  EXPECT_EQ(DecodeJson(with_time("1716200000123", "MILLISECOND")).event_time_us, 1716200000123000);
  DecodedRecord r = DecodeJson(with_time("1716200000123"));
  ASSERT_TRUE(r.ok);
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_TRUE(d["keys"].IsNull());
  EXPECT_TRUE(d["new_image"].IsNull());
  EXPECT_EQ(S(d["event_time"]), "2024-05-20T10:13:20.123Z");

  ExpectError(DecodeJson(with_time("-1")), "not_change_record", "ApproximateCreationDateTime");
  ExpectError(DecodeJson(with_time("\"1716200000123\"")), "not_change_record", "ApproximateCreationDateTime");
  ExpectError(DecodeJson(with_time("1e300")), "not_change_record", "year 9999");
  ExpectError(DecodeJson(with_time("253402300800000")), "not_change_record", "year 9999");
  EXPECT_TRUE(DecodeJson(with_time("253402300799999")).ok);
  ExpectError(DecodeJson(with_time("1716200000123", "NANOSECOND")), "not_change_record", "Precision");
}

// --- errors -------------------------------------------------------------------

TEST_F(DecodeTest, ErrorLineFormat) {
  DecodedRecord r = DecodeData("not*base64");
  ExpectError(r, "bad_base64", "base64");
  EXPECT_EQ(r.line,
            std::string(R"x({"error":"bad_base64","message":"Data is not valid base64 (10 characters)",)x"
                        R"("stream":"ddb-stream","shard_id":")") +
                kShard + R"(","sequence_number":")" + kSeq +
                R"(","partition_key":"pk-1","arrival_time":"2024-05-20T10:13:21.000Z","data_base64":"not*base64"})"
                "\n");
}

TEST_F(DecodeTest, BadBase64KeepsTheGivenTextEvenIfNotUtf8) {
  for (std::string_view data :
       {std::string_view("AAE"), std::string_view("AA\nAA=="), std::string_view("\"quote\\\xff\x01")}) {
    DecodedRecord r = DecodeData(data);
    ExpectError(r, "bad_base64");
    rapidjson::Document d = ParseLine(r.line);
    if (data[0] != '"') {
      EXPECT_EQ(S(d["data_base64"]), data);
    }
  }
  DecodedRecord r = DecodeData("\"quote\\\xff\x01");
  EXPECT_EQ(S(ParseLine(r.line)["data_base64"]), "\"quote\\\xef\xbf\xbd\x01");
}

TEST_F(DecodeTest, ErrorLineWithAbsurdArrivalTime) {
  poll::KinesisRecordView rec;
  rec.data_base64 = "!!!!";
  rec.arrival_ms = std::numeric_limits<int64_t>::max();
  DecodedRecord out;
  unmarshalled_.Decode(rec, kShard, &out);
  ExpectError(out, "bad_base64");
  rec.arrival_ms = std::numeric_limits<int64_t>::min();
  unmarshalled_.Decode(rec, kShard, &out);
  ExpectError(out, "bad_base64");
}

TEST_F(DecodeTest, ErrorLinesKeepTheOriginalBase64) {
  const std::string json = "{\"not\":\"a record\"}";
  DecodedRecord r = DecodeJson(json);
  ExpectError(r, "not_change_record");
  EXPECT_EQ(S(ParseLine(r.line)["data_base64"]), Base64Encode(json));
}

TEST_F(DecodeTest, NotJson) {
  ExpectError(DecodeJson(""), "not_json", "empty");
  ExpectError(DecodeJson("   "), "not_json");
  ExpectError(DecodeJson("{\"eventID\":"), "not_json");
  ExpectError(DecodeJson("{\"a\":1} trailing"), "not_json", "offset");
  ExpectError(DecodeJson("{'a':1}"), "not_json");
  ExpectError(DecodeJson("{\"a\":1e400}"), "not_json");  // rapidjson 1.1 rejects it even as text
  ExpectError(DecodeJson("{\"a\":\"raw\ncontrol\"}"), "not_json");
}

TEST_F(DecodeTest, InvalidUtf8IsNotJson) {
  for (std::string bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    ExpectError(DecodeJson(WithNewImage(R"("pk":{"S":")" + bad + "\"}")), "not_json", "invalid UTF-8 at offset");
    ExpectError(DecodeJson(WithNewImage(R"("pk":{"S":"x"},")" + bad + R"(":{"S":"x"})")), "not_json");
  }
}

TEST_F(DecodeTest, UnpairedSurrogateEscapesAreNotJson) {
  ExpectError(DecodeJson(WithNewImage(R"("pk":{"S":"\ud800"})")), "not_json");
  ExpectError(DecodeJson(WithNewImage(R"("pk":{"S":"\udc00"})")), "not_json", "surrogate");
  ExpectError(DecodeJson(WithNewImage(R"("\udfff":{"S":"x"})")), "not_json", "surrogate");
  EXPECT_TRUE(DecodeJson(WithNewImage(R"("pk":{"S":"\ud83d\ude00 \ud7ff \ue000"})")).ok);
}

TEST_F(DecodeTest, NulBytesInsideData) {
  std::string json = Corpus("orders_remove.json");
  ExpectError(DecodeJson(json + std::string(1, '\0')), "not_json", "NUL byte at offset");
  ExpectError(DecodeJson(json + std::string("\0{\"x\":1}", 8)), "not_json", "NUL");
  std::string inside = WithNewImage(R"("pk":{"S":"a_b"})");
  inside[inside.find("a_b") + 1] = '\0';
  ExpectError(DecodeJson(inside), "not_json", "NUL");
  // An escaped NUL is fine.
  EXPECT_TRUE(DecodeJson(WithNewImage(R"("pk":{"S":"a\u0000b"})")).ok);
}

// rapidjson 1.1's SSE2 string scan lets 0x1a..0x1f through; the decoder
// rejects every unescaped control byte itself (found by decode_fuzz).
TEST_F(DecodeTest, UnescapedControlBytesAreNotJson) {
  for (int c = 1; c < 0x20; ++c) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    // Long enough that the string reaches rapidjson's 16-byte SIMD loop.
    std::string bad = WithNewImage(R"("pk":{"S":"0123456789abcdef0123456789abcdef_x"})");
    bad[bad.find("_x")] = static_cast<char>(c);
    ExpectError(DecodeJson(bad), "not_json", "unescaped control character 0x");
    std::string in_key = WithNewImage(R"("0123456789abcdef0123456789abcdef_k":{"S":"x"})");
    in_key[in_key.find("_k")] = static_cast<char>(c);
    ExpectError(DecodeJson(in_key), "not_json", "unescaped control character");
  }
  // Escaped, they are fine; whitespace between tokens is fine.
  EXPECT_TRUE(DecodeJson(WithNewImage(R"("pk":{"S":"a\u001bb\tc"})")).ok);
  EXPECT_TRUE(DecodeJson(WithNewImage("\"pk\":\t{\"S\":\r\n\"x\"}")).ok);
}

TEST_F(DecodeTest, DeepNesting) {
  const int n = 100000;
  std::string deep = std::string(n, '[') + std::string(n, ']');
  ExpectError(DecodeJson(deep), "not_json", "nesting deeper than 128");
  std::string deep_obj;
  for (int i = 0; i < n; ++i) deep_obj += "{\"a\":";
  deep_obj += "1" + std::string(n, '}');
  ExpectError(DecodeJson(deep_obj), "not_json", "nesting");
  // Unterminated deep nesting too.
  ExpectError(DecodeJson(std::string(n, '[')), "not_json");
}

TEST_F(DecodeTest, DepthLimitBoundary) {
  // Root object (1) + "extra" arrays: total depth exactly kMaxDepth is fine.
  auto record = [](int arrays) {
    return R"({"eventID":"e","eventName":"INSERT","tableName":"t","dynamodb":{"ApproximateCreationDateTime":1},"extra":)" +
           std::string(arrays, '[') + std::string(arrays, ']') + "}";
  };
  EXPECT_TRUE(DecodeJson(record(kMaxDepth - 1)).ok);
  ExpectError(DecodeJson(record(kMaxDepth)), "not_json", "nesting");
  // DynamoDB's own limit (32 levels of M) fits.
  std::string nested = R"({"S":"leaf"})";
  for (int i = 0; i < 32; ++i) nested = R"({"M":{"m":)" + nested + "}}";
  DecodedRecord r = DecodeJson(WithNewImage(R"("pk":)" + nested));
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(r.line.find(R"("pk":{"m":{"m":{"m":)"), std::string::npos);
  EXPECT_NE(r.line.find(R"({"m":"leaf"})"), std::string::npos);
}

TEST_F(DecodeTest, NotChangeRecord) {
  const std::string dyn = R"("dynamodb":{"ApproximateCreationDateTime":1716200000123})";
  ExpectError(DecodeJson("[1,2]"), "not_change_record", "object");
  ExpectError(DecodeJson("\"str\""), "not_change_record");
  ExpectError(DecodeJson("42"), "not_change_record");
  ExpectError(DecodeJson(R"({"eventName":"INSERT","tableName":"t",)" + dyn + "}"), "not_change_record", "eventID");
  ExpectError(DecodeJson(R"({"eventID":7,"eventName":"INSERT","tableName":"t",)" + dyn + "}"), "not_change_record",
              "eventID");
  ExpectError(DecodeJson(R"({"eventID":"e","tableName":"t",)" + dyn + "}"), "not_change_record", "eventName");
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"UPSERT","tableName":"t",)" + dyn + "}"), "not_change_record",
              "eventName");
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"INSERT",)" + dyn + "}"), "not_change_record", "tableName");
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"INSERT","tableName":"",)" + dyn + "}"), "not_change_record",
              "tableName");
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"INSERT","tableName":null,)" + dyn + "}"), "not_change_record",
              "tableName");
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"INSERT","tableName":"t"})"), "not_change_record", "dynamodb");
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"INSERT","tableName":"t","dynamodb":[]})"), "not_change_record",
              "dynamodb");
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"INSERT","tableName":"t","dynamodb":{}})"), "not_change_record",
              "ApproximateCreationDateTime");
  ExpectError(
      DecodeJson(
          R"({"eventID":"e","eventName":"INSERT","tableName":"t","dynamodb":{"ApproximateCreationDateTime":1,"NewImage":[]}})"),
      "not_change_record", "NewImage");
  // The raw format applies the same checks.
  ExpectError(DecodeJson(R"({"eventID":"e","eventName":"INSERT","tableName":"t"})", OutputFormat::kRaw),
              "not_change_record", "dynamodb");
}

TEST_F(DecodeTest, BadAttributes) {
  struct Case {
    const char* attrs;
    const char* message;
  };
  const Case cases[] = {
      {R"("n":{"N":"abc"})", "NewImage.n: N value is not a JSON number string (got abc)"},
      {R"("n":{"N":"01"})", "NewImage.n: N value"},
      {R"("n":{"N":"1."})", "NewImage.n: N value"},
      {R"("n":{"N":".5"})", "NewImage.n: N value"},
      {R"("n":{"N":"+1"})", "NewImage.n: N value"},
      {R"("n":{"N":"NaN"})", "NewImage.n: N value"},
      {R"("n":{"N":" 1"})", "NewImage.n: N value"},
      {R"("n":{"N":""})", "NewImage.n: N value"},
      {R"("n":{"N":1})", "NewImage.n: N value is not a JSON number string"},
      {R"("s":{"S":1})", "NewImage.s: S value is not a string"},
      {R"("s":{"S":null})", "NewImage.s: S value"},
      {R"("b":{"B":"AAE"})", "NewImage.b: B value is not a base64 string (got AAE)"},
      {R"("b":{"B":"AA-_"})", "NewImage.b: B value"},
      {R"("t":{"BOOL":"true"})", "NewImage.t: BOOL value"},
      {R"("z":{"NULL":false})", "NewImage.z: NULL value is not true"},
      {R"("m":{"M":[]})", "NewImage.m: M value is not an object"},
      {R"("l":{"L":{}})", "NewImage.l: L value is not an array"},
      {R"("ss":{"SS":["a",1]})", "NewImage.ss[1]: S value is not a string"},
      {R"("ns":{"NS":["1","x"]})", "NewImage.ns[1]: N value"},
      {R"("bs":{"BS":["AAEC","!!!!"]})", "NewImage.bs[1]: B value"},
      {R"("ss":{"SS":"a"})", "NewImage.ss: SS value is not an array"},
      {R"("x":{"X":"1"})", "NewImage.x: unknown type tag (got X)"},
      {R"("x":{"s":"1"})", "unknown type tag (got s)"},
      {R"("x":{"S":"a","N":"1"})", "NewImage.x: not a DynamoDB typed value"},
      {R"("x":{})", "NewImage.x: not a DynamoDB typed value"},
      {R"("x":"plain")", "NewImage.x: not a DynamoDB typed value"},
      {R"("x":{"L":[{"M":{"a":{"M":{"b":{"L":[{"S":"ok"},{"N":"bad"}]}}}}}]})", "NewImage.x[0].a.b[1]: N value"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.attrs);
    ExpectError(DecodeJson(WithNewImage(std::string(R"("pk":{"S":"k"},)") + c.attrs)), "bad_attribute", c.message);
    ExpectError(DecodeJson(WithNewImage(std::string(R"("pk":{"S":"k"},)") + c.attrs), OutputFormat::kRaw),
                "bad_attribute", c.message);
  }
  ExpectError(
      DecodeJson(
          R"({"eventID":"e","eventName":"INSERT","tableName":"t","dynamodb":{"ApproximateCreationDateTime":1,"Keys":{"pk":{"Q":"x"}}}})"),
      "bad_attribute", "Keys.pk: unknown type tag");
  ExpectError(
      DecodeJson(
          R"({"eventID":"e","eventName":"REMOVE","tableName":"t","dynamodb":{"ApproximateCreationDateTime":1,"OldImage":{"pk":{"N":"1e"}}}})"),
      "bad_attribute", "OldImage.pk: N value");
  // Long offending values are cut in the message.
  DecodedRecord r = DecodeJson(WithNewImage(R"("n":{"N":")" + std::string(5000, 'x') + "\"}"));
  ExpectError(r, "bad_attribute", "... 5000 bytes");
  EXPECT_LT(r.line.size(), 5000u + 200 + Base64Encode(WithNewImage(std::string(5000, 'x'))).size());
}

// --- reuse --------------------------------------------------------------------

TEST_F(DecodeTest, DeterministicAcrossReuseAndErrors) {
  const std::string a = Corpus("orders_insert_all_types.json");
  const std::string first = DecodeJson(a).line;
  DecodeJson(std::string(1000, '['));
  DecodeJson(Corpus("orders_insert_unicode.json"));
  DecodedRecord after_error = DecodeJson(WithNewImage(R"("x":{"X":1})"));
  EXPECT_FALSE(after_error.ok);
  DecodedRecord again = DecodeJson(a);
  EXPECT_TRUE(again.ok);
  EXPECT_EQ(again.line, first);
  EXPECT_EQ(again.error, "");

  // *out is fully replaced, whatever it held.
  DecodedRecord out;
  out.ok = true;
  out.table = "stale";
  out.line = "stale";
  out.event_time_us = 5;
  poll::KinesisRecordView rec;
  rec.data_base64 = "!!!!";
  unmarshalled_.Decode(rec, kShard, &out);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.table, "");
  EXPECT_EQ(out.event_time_us, 0);
  EXPECT_EQ(out.line.rfind("{\"error\":\"bad_base64\"", 0), 0u);
}

TEST_F(DecodeTest, SteadyStateDecodeDoesNotAllocate) {
  std::vector<std::string> data;
  for (const auto& entry : std::filesystem::directory_iterator(RecordsDir())) {
    if (entry.path().extension() == ".json") data.push_back(Base64Encode(ReadFile(entry.path())));
  }
  for (OutputFormat format : {OutputFormat::kUnmarshalled, OutputFormat::kRaw}) {
    Decoder decoder(format, "s");
    DecodedRecord out;
    auto run = [&] {
      for (const std::string& d : data) {
        poll::KinesisRecordView rec;
        rec.data_base64 = d;
        rec.sequence_number = kSeq;
        decoder.Decode(rec, kShard, &out);
        ASSERT_TRUE(out.ok);
      }
    };
    run();
    run();  // warm up: buffers reach their steady sizes
    const long before = AllocationCount();
    { std::string probe(1000, 'x'); }  // the counter works
    ASSERT_GT(AllocationCount(), before);
    run();
    run();
    EXPECT_EQ(AllocationCount() - before, 1) << (format == OutputFormat::kRaw ? "raw" : "unmarshalled");
  }
}

// --- DynamoDB Streams records (InputFormat::kStreamsRecord) ---------------

class StreamsDecodeTest : public ::testing::Test {
 protected:
  DecodedRecord Decode(std::string_view record_json, OutputFormat format = OutputFormat::kUnmarshalled) {
    Decoder& d = format == OutputFormat::kRaw ? raw_ : unmarshalled_;
    poll::KinesisRecordView rec;
    rec.data_base64 = record_json;  // the record's text as GetRecords returned it
    rec.sequence_number = "000000000000000000042";
    rec.arrival_ms = 1716200000000;
    DecodedRecord out;
    d.Decode(rec, "shardId-00000001716200000000-abcdef01", &out);
    return out;
  }
  Decoder unmarshalled_{OutputFormat::kUnmarshalled, "orders", InputFormat::kStreamsRecord, "orders"};
  Decoder raw_{OutputFormat::kRaw, "orders", InputFormat::kStreamsRecord, "orders"};
};

constexpr char kStreamsRecord[] =
    R"({"awsRegion":"eu-west-1","dynamodb":{"ApproximateCreationDateTime":1716200000,)"
    R"("Keys":{"pk":{"S":"customer#1"}},"NewImage":{"pk":{"S":"customer#1"},"n":{"N":"12345678901234567890123456789012345678"}},)"
    R"("SequenceNumber":"000000000000000000042","SizeBytes":60,"StreamViewType":"NEW_AND_OLD_IMAGES"},)"
    R"("eventID":"e-1","eventName":"INSERT","eventSource":"aws:dynamodb","eventVersion":"1.1"})";

TEST_F(StreamsDecodeTest, SameLineAsKinesisTableFromTheStreamTimeInSeconds) {
  DecodedRecord r = Decode(kStreamsRecord);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.table, "orders");
  EXPECT_EQ(r.event_time_us, 1716200000000000);
  EXPECT_EQ(r.line,
            R"({"event_id":"e-1","event_name":"INSERT","table":"orders","event_time":"2024-05-20T10:13:20.000Z",)"
            R"("sequence_number":"000000000000000000042","shard_id":"shardId-00000001716200000000-abcdef01",)"
            R"("keys":{"pk":"customer#1"},"new_image":{"pk":"customer#1","n":12345678901234567890123456789012345678},)"
            R"("old_image":null,"user_identity":null})"
            "\n");
}

TEST_F(StreamsDecodeTest, RawIsTheRecordAsReceivedWithoutATableName) {
  DecodedRecord r = Decode(kStreamsRecord, OutputFormat::kRaw);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.line, std::string(kStreamsRecord) + "\n");
  EXPECT_EQ(r.line.find("tableName"), std::string::npos);
}

TEST_F(StreamsDecodeTest, FractionalSecondsKeepTheMillisecond) {
  std::string rec = kStreamsRecord;
  rec.replace(rec.find("1716200000,"), 11, "1716200000.1239,");
  DecodedRecord r = Decode(rec);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.event_time_us, 1716200000123000);
  EXPECT_NE(r.line.find("\"event_time\":\"2024-05-20T10:13:20.123Z\""), std::string::npos);
  rec.replace(rec.find("1716200000.1239,"), 16, "1.7162000001E9,");
  r = Decode(rec);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.event_time_us, 1716200000100000);
}

// The Streams API names the identity's members PrincipalId and Type
// (Kinesis records and Lambda events: principalId, type); the line names
// them as the Kinesis source does. Deeper members are not renamed.
TEST_F(StreamsDecodeTest, TtlDeleteKeepsUserIdentityNamedAsFromKinesis) {
  const std::string rec =
      R"({"dynamodb":{"ApproximateCreationDateTime":1716200000,"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"}},)"
      R"("SequenceNumber":"43"},"eventID":"e-2","eventName":"REMOVE",)"
      R"("userIdentity":{"PrincipalId":"dynamodb.amazonaws.com","Type":"Service","x":{"Type":1}}})";
  DecodedRecord r = Decode(rec);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(r.line.find(R"("user_identity":{"principalId":"dynamodb.amazonaws.com","type":"Service","x":{"Type":1}})"),
            std::string::npos)
      << r.line;
}

TEST_F(StreamsDecodeTest, ErrorLinesCarryTheRecordsBytesAsBase64) {
  const std::string bad =
      R"({"eventID":"e-3","eventName":"INSERT","dynamodb":{"Keys":{"pk":{"X":"1"}},"ApproximateCreationDateTime":1}})";
  DecodedRecord r = Decode(bad);
  ExpectError(r, "bad_attribute", "Keys.pk");
  rapidjson::Document d = ParseLine(r.line);
  EXPECT_EQ(S(d["data_base64"]), Base64Encode(bad));
  EXPECT_EQ(S(d["stream"]), "orders");

  r = Decode("{not json");
  ExpectError(r, "not_json");
  d = ParseLine(r.line);
  EXPECT_EQ(S(d["data_base64"]), Base64Encode("{not json"));

  r = Decode(R"({"eventID":"e","eventName":"INSERT","dynamodb":{}})");
  ExpectError(r, "not_change_record", "ApproximateCreationDateTime");
}

}  // namespace
}  // namespace shardhose::decode

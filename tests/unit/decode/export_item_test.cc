// Lines of a DynamoDB export's data files (InputFormat::kExportItem) into
// SNAPSHOT lines: decode/change_record.h has the contract.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

#include "common/base64.h"
#include "decode/change_record.h"

namespace shardhose::decode {
namespace {

constexpr int64_t kExportTimeUs = 1716200000123000;  // 2024-05-20T10:13:20.123Z

class ExportItemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (Decoder* d : {&unmarshalled_, &raw_}) d->SetExport(ExportSpec{kExportTimeUs, {"pk", "sk"}});
  }
  DecodedRecord Decode(std::string_view line, OutputFormat format = OutputFormat::kUnmarshalled) {
    DecodedRecord out;
    (format == OutputFormat::kRaw ? raw_ : unmarshalled_)
        .DecodeExportLine(line, "01716200000000-abcdef12:3:17", "AWSDynamoDB/01716200000000-abcdef12/data/x.json.gz",
                          &out);
    return out;
  }
  static rapidjson::Document Parse(const std::string& line) {
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one line";
    rapidjson::Document d;
    d.Parse<rapidjson::kParseNumbersAsStringsFlag>(line.c_str(), line.size() - 1);
    EXPECT_FALSE(d.HasParseError()) << line;
    return d;
  }
  static std::string S(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }
  // An error line, in both formats alike.
  void ExpectError(std::string_view line, std::string_view reason, std::string_view message_part) {
    for (OutputFormat f : {OutputFormat::kUnmarshalled, OutputFormat::kRaw}) {
      DecodedRecord r = Decode(line, f);
      EXPECT_FALSE(r.ok) << r.line;
      EXPECT_EQ(r.error, reason) << r.line;
      rapidjson::Document d = Parse(r.line);
      EXPECT_NE(S(d["message"]).find(message_part), std::string::npos) << S(d["message"]);
      EXPECT_EQ(S(d["data_base64"]), Base64Encode(line));
      EXPECT_EQ(S(d["sequence_number"]), "01716200000000-abcdef12:3:17");
      EXPECT_EQ(S(d["shard_id"]), "AWSDynamoDB/01716200000000-abcdef12/data/x.json.gz");
      EXPECT_EQ(S(d["stream"]), "orders");
    }
  }
  Decoder unmarshalled_{OutputFormat::kUnmarshalled, "orders", InputFormat::kExportItem, "orders"};
  Decoder raw_{OutputFormat::kRaw, "orders", InputFormat::kExportItem, "orders"};
};

// Key attributes anywhere in the item, in name order in `keys`;
// numbers with every digit.
constexpr char kItem[] = R"({"Item":{"n":{"N":"12345678901234567890123456789012345678"},"sk":{"N":"7"},)"
                         R"("tags":{"SS":["a","b"]},"pk":{"S":"customer#1"},"m":{"M":{"pk":{"S":"not the key"}}}}})";

TEST_F(ExportItemTest, AnItemIsASnapshotLine) {
  DecodedRecord r = Decode(kItem);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.event_name, "SNAPSHOT");
  EXPECT_EQ(r.table, "orders");
  EXPECT_EQ(r.event_id, "01716200000000-abcdef12:3:17");
  EXPECT_EQ(r.event_time_us, kExportTimeUs);
  EXPECT_EQ(r.line,
            R"({"event_id":"01716200000000-abcdef12:3:17","event_name":"SNAPSHOT","table":"orders",)"
            R"("event_time":"2024-05-20T10:13:20.123Z","sequence_number":null,"shard_id":null,)"
            R"("keys":{"pk":"customer#1","sk":7},"new_image":{"n":12345678901234567890123456789012345678,"sk":7,)"
            R"("tags":["a","b"],"pk":"customer#1","m":{"pk":"not the key"}},"old_image":null,"user_identity":null})"
            "\n");
}

// A key schema whose sort key's name comes first: `keys` in name order, as
// a stream line of the same item has them.
TEST_F(ExportItemTest, KeysAreInNameOrderWhateverTheKeySchema) {
  Decoder d{OutputFormat::kUnmarshalled, "orders", InputFormat::kExportItem, "orders"};
  d.SetExport(ExportSpec{kExportTimeUs, {"user", "created"}});
  DecodedRecord r;
  d.DecodeExportLine(R"({"Item":{"user":{"S":"u1"},"x":{"N":"1"},"created":{"N":"20240520"}}})", "e:0:1", "f", &r);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(r.line.find(R"("keys":{"created":20240520,"user":"u1"},)"), std::string::npos) << r.line;
}

TEST_F(ExportItemTest, RawIsTheExportLineAsItIs) {
  DecodedRecord r = Decode(kItem, OutputFormat::kRaw);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.line, std::string(kItem) + "\n");
  EXPECT_EQ(r.event_name, "SNAPSHOT");
  EXPECT_EQ(r.event_time_us, kExportTimeUs);
}

TEST_F(ExportItemTest, AHashKeyOnlyTable) {
  unmarshalled_.SetExport(ExportSpec{kExportTimeUs, {"pk"}});
  DecodedRecord r = Decode(R"({"Item":{"v":{"BOOL":true},"pk":{"B":"AAE="}}})");
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(r.line.find(R"("keys":{"pk":"AAE="},"new_image":{"v":true,"pk":"AAE="})"), std::string::npos) << r.line;
}

TEST_F(ExportItemTest, BadLinesAreErrorLinesWithTheirBytes) {
  ExpectError(R"({"Item":{"pk":{"S":"a"}}})", "not_export_item", "Item has no key attribute sk");
  ExpectError(R"({"Item":{"pk":{"S":"a"},"m":{"M":{"sk":{"N":"1"}}}}})", "not_export_item", "no key attribute sk");
  ExpectError(R"({"Items":{}})", "not_export_item", "no Item object");
  ExpectError(R"({"Item":[1]})", "not_export_item", "no Item object");
  ExpectError(R"([{"Item":{}}])", "not_export_item", "not a JSON object");
  ExpectError(R"({"Item":{"pk":{"S":"a"},"sk":{"N":"x"}}})", "bad_attribute", "Item.sk: N value");
  ExpectError(R"({"Item":{"pk":{"S":"a"},"sk":{"N":"1","S":"2"}}})", "bad_attribute", "Item.sk");
  ExpectError(R"({"Item":{"pk":{"S":"a"},"sk":{"N":"1"}})", "not_json", "offset");
}

// A Decoder reused line after line keeps no state from the line before.
TEST_F(ExportItemTest, OneDecoderManyLines) {
  ASSERT_FALSE(Decode(R"({"Item":{"pk":{"S":"a"}}})").ok);
  DecodedRecord r = Decode(R"({"Item":{"sk":{"N":"2"},"pk":{"S":"b"}}})");
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_NE(r.line.find(R"("keys":{"pk":"b","sk":2})"), std::string::npos) << r.line;
}

// --- incremental exports (ExportSpec::incremental) -----------------------

class IncrementalExportTest : public ExportItemTest {
 protected:
  void SetUp() override {
    for (Decoder* d : {&unmarshalled_, &raw_}) d->SetExport(ExportSpec{kExportTimeUs, {"pk", "sk"}, true});
  }
};

constexpr char kMeta[] = R"("Metadata":{"WriteTimestampMicros":{"N":"1716200001234567"}})";

TEST_F(IncrementalExportTest, ChangesWithTheirOwnTimeAndImages) {
  const std::string modify = std::string("{") + kMeta +
                             R"(,"Keys":{"pk":{"S":"a"},"sk":{"N":"1"}},"OldImage":{"pk":{"S":"a"},"sk":{"N":"1"},)"
                             R"("v":{"N":"1"}},"NewImage":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"N":"2"}}})";
  DecodedRecord r = Decode(modify);
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.event_name, "MODIFY");
  EXPECT_EQ(r.event_time_us, 1716200001234567);
  EXPECT_EQ(r.line,
            R"({"event_id":"01716200000000-abcdef12:3:17","event_name":"MODIFY","table":"orders",)"
            R"("event_time":"2024-05-20T10:13:21.234Z","sequence_number":null,"shard_id":null,)"
            R"("keys":{"pk":"a","sk":1},"new_image":{"pk":"a","sk":1,"v":2},"old_image":{"pk":"a","sk":1,"v":1},)"
            R"("user_identity":null})"
            "\n");
  DecodedRecord raw = Decode(modify, OutputFormat::kRaw);
  ASSERT_TRUE(raw.ok);
  EXPECT_EQ(raw.line, modify + "\n");
  EXPECT_EQ(raw.event_time_us, 1716200001234567);

  r = Decode(std::string("{") + kMeta + R"(,"Keys":{"pk":{"S":"a"},"sk":{"N":"1"}},"NewImage":{"pk":{"S":"a"}}})");
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.event_name, "INSERT");
  r = Decode(std::string(R"({"Keys":{"pk":{"S":"a"},"sk":{"N":"1"}},)") + kMeta + "}");
  ASSERT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.event_name, "REMOVE");
  EXPECT_NE(r.line.find(R"("new_image":null,"old_image":null)"), std::string::npos) << r.line;
}

TEST_F(IncrementalExportTest, BadChangesAreErrorLines) {
  ExpectError(R"({"Keys":{"pk":{"S":"a"}},"NewImage":{}})", "not_export_item", "WriteTimestampMicros");
  ExpectError(std::string("{") + kMeta + R"(,"NewImage":{}})", "not_export_item", "no Keys object");
  ExpectError(R"({"Metadata":{"WriteTimestampMicros":{"S":"1"}},"Keys":{"pk":{"S":"a"}}})", "not_export_item",
              "WriteTimestampMicros");
  ExpectError(std::string("{") + kMeta + R"(,"Keys":{"pk":{"S":"a"}},"OldImage":{"v":{"N":"x"}}})", "bad_attribute",
              "OldImage.v");
  // An Item in an incremental export is no change.
  ExpectError(R"({"Item":{"pk":{"S":"a"},"sk":{"N":"1"}}})", "not_export_item", "");
}

}  // namespace
}  // namespace shardhose::decode

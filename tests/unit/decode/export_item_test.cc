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

// Key attributes anywhere in the item, in key-schema order in `keys`;
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

}  // namespace
}  // namespace shardhose::decode

// DynamoDB items: the accessors and the JSON wire form, both ways.
#include "aws/dynamodb_item.h"

#include <gtest/gtest.h>

namespace shardhose::aws {
namespace {

std::string ToJson(const Item& item) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  WriteItemJson(w, item);
  return std::string(sb.GetString(), sb.GetSize());
}

Result<Item> FromJson(const std::string& json) {
  std::string padded(json);  // RAPIDJSON_SSE2 reads whole 16-byte blocks
  padded.append(16, '\0');
  rapidjson::Document d;
  d.Parse(padded.data(), json.size());
  if (d.HasParseError()) return Status::InvalidArgument("test JSON does not parse: " + json);
  return ItemFromJson(d);
}

TEST(DynamoDbItem, StringSetIsSortedAndUnique) {
  AttributeValue v = AttributeValue::SS({"b", "a", "b", "c"});
  EXPECT_EQ(v.type, AttributeValue::Type::kSS);
  EXPECT_EQ(v.ss, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(DynamoDbItem, Accessors) {
  Item item{{"s", AttributeValue::S("x")},
            {"n", AttributeValue::N(-42)},
            {"big", AttributeValue{AttributeValue::Type::kN, "123456789012345678901234567890", {}, false}},
            {"frac", AttributeValue{AttributeValue::Type::kN, "1.5", {}, false}},
            {"ss", AttributeValue::SS({"p2", "p1"})}};
  EXPECT_EQ(StringOf(item, "s"), "x");
  EXPECT_EQ(StringOf(item, "n"), std::nullopt);  // another type
  EXPECT_EQ(StringOf(item, "missing"), std::nullopt);
  EXPECT_EQ(NumberOf(item, "n"), -42);
  EXPECT_EQ(NumberOf(item, "s"), std::nullopt);
  EXPECT_EQ(NumberOf(item, "big"), std::nullopt);  // does not fit int64
  EXPECT_EQ(NumberOf(item, "frac"), std::nullopt);
  EXPECT_EQ(StringSetOf(item, "ss"), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_TRUE(StringSetOf(item, "missing").empty());
  EXPECT_TRUE(StringSetOf(item, "s").empty());
}

TEST(DynamoDbItem, WritesTheWireForm) {
  Item item{{"k", AttributeValue::S("shardId-0")},
            {"n", AttributeValue::N(7)},
            {"b", AttributeValue::B(std::string("\x00\xff", 2))},
            {"ss", AttributeValue::SS({"y", "x"})},
            {"t", AttributeValue::Bool(true)},
            {"z", AttributeValue{}}};
  EXPECT_EQ(ToJson(item),
            R"({"b":{"B":"AP8="},"k":{"S":"shardId-0"},"n":{"N":"7"},"ss":{"SS":["x","y"]},"t":{"BOOL":true},)"
            R"("z":{"NULL":true}})");
}

TEST(DynamoDbItem, RoundTrips) {
  Item item{{"k", AttributeValue::S("é \"q\" \n")}, {"n", AttributeValue::N(INT64_MIN)},
            {"b", AttributeValue::B("raw\x01")},    {"ss", AttributeValue::SS({"shardId-1", "shardId-0"})},
            {"f", AttributeValue::Bool(false)},     {"z", AttributeValue{}}};
  auto back = FromJson(ToJson(item));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, item);
}

TEST(DynamoDbItem, ReadsSetsInAnyOrder) {
  auto item = FromJson(R"({"p":{"SS":["b","a"]},"n":{"N":"12"}})");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(StringSetOf(*item, "p"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(NumberOf(*item, "n"), 12);
}

TEST(DynamoDbItem, UnsupportedTypesAreCorruptionNamingTheAttribute) {
  for (const char* json : {R"({"ok":{"S":"x"},"bad":{"L":[{"S":"x"}]}})", R"({"bad":{"M":{"a":{"S":"x"}}}})",
                           R"({"bad":{"NS":["1","2"]}})", R"({"bad":{"BS":["AA=="]}})"}) {
    auto r = FromJson(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_TRUE(r.status().IsCorruption()) << json;
    EXPECT_NE(r.status().message().find("bad"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("unsupported type"), std::string::npos) << r.status().message();
  }
}

TEST(DynamoDbItem, MalformedValuesAreCorruption) {
  for (const char* json : {
           R"({"a":"x"})",                  // not an object
           R"({"a":{}})",                   // no tag
           R"({"a":{"S":"x","N":"1"}})",    // two tags
           R"({"a":{"S":1}})",              // S not a string
           R"({"a":{"N":12}})",             // N must be text on the wire
           R"({"a":{"N":""}})",             //
           R"({"a":{"B":"not base64!"}})",  //
           R"({"a":{"SS":[]}})",            // the API never sends an empty set
           R"({"a":{"SS":["x",1]}})",       //
           R"({"a":{"BOOL":"true"}})",      //
           R"({"a":{"NULL":false}})",       //
       }) {
    auto r = FromJson(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_TRUE(r.status().IsCorruption()) << json;
    EXPECT_NE(r.status().message().find("attribute a"), std::string::npos) << r.status().message();
  }
  rapidjson::Document d;
  d.Parse("[1]");
  EXPECT_TRUE(ItemFromJson(d).status().IsCorruption());
}

}  // namespace
}  // namespace shardhose::aws

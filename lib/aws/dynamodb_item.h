// File: aws/dynamodb_item.h
//
// A DynamoDB item as the lease table and the DynamoDB client exchange it:
// attribute name -> typed value, in the API's own type system (the JSON
// wire form is {"S": "..."}, {"N": "123"}, {"SS": [...]}, ...). Only the
// types shardhose writes or must read back from a KCL table are modelled;
// the client refuses to decode any other (kCorruption naming the attribute),
// so nothing is silently dropped on a read-modify-write.
//
// Numbers stay decimal strings (DynamoDB numbers have 38 digits; a lease
// counter fits int64, which NumberOf() checks).
//
// Wire form (implemented in dynamodb_item.cc, used by aws/dynamodb.h):
// WriteItemJson writes an item as the API's attribute map; ItemFromJson
// reads one back and is strict: a value that is not an object with exactly
// one type tag, a tag this file does not model (L, M, NS, BS, or unknown),
// or a malformed value (N not a string, B not base64, SS not an array of
// strings, NULL not true) is kCorruption naming the attribute.
//
// Thread-safety: values and pure functions.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace shardhose::aws {

struct AttributeValue {
  enum class Type { kS, kN, kB, kSS, kBOOL, kNULL };
  Type type = Type::kNULL;
  std::string s;                // kS; kN (decimal text); kB (raw bytes, base64 on the wire)
  std::vector<std::string> ss;  // kSS: sorted, unique, non-empty (the API refuses an empty set)
  bool b = false;               // kBOOL

  static AttributeValue S(std::string v) { return {Type::kS, std::move(v), {}, false}; }
  static AttributeValue N(int64_t v) { return {Type::kN, std::to_string(v), {}, false}; }
  static AttributeValue B(std::string bytes) { return {Type::kB, std::move(bytes), {}, false}; }
  static AttributeValue SS(std::vector<std::string> v);  // sorts and dedups; REQUIRES: non-empty
  static AttributeValue Bool(bool v) { return {Type::kBOOL, {}, {}, v}; }

  bool operator==(const AttributeValue&) const = default;
};

using Item = std::map<std::string, AttributeValue>;

// The attribute as a string / int64, or nullopt when absent or of another
// type (or, for NumberOf, not an integer that fits int64).
std::optional<std::string> StringOf(const Item& item, const std::string& name);
std::optional<int64_t> NumberOf(const Item& item, const std::string& name);
// kSS as a vector (absent -> empty).
std::vector<std::string> StringSetOf(const Item& item, const std::string& name);

// The JSON wire form: {"name": {"S": "..."}, "n": {"N": "3"}, ...}.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
// Writes `value` as {"<tag>": ...} (B base64-encoded). An empty kSS is
// written as the empty array the API refuses (REQUIRES on SS()).
void WriteAttributeJson(JsonWriter& w, const AttributeValue& value);
// Writes `item` as one JSON object of attributes.
void WriteItemJson(JsonWriter& w, const Item& item);
// Reads one attribute value / one attribute map (see the top for errors).
// `name` is only for messages.
Result<AttributeValue> AttributeFromJson(const std::string& name, const rapidjson::Value& v);
Result<Item> ItemFromJson(const rapidjson::Value& v);

}  // namespace shardhose::aws

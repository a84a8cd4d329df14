#include "aws/dynamodb_item.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <string_view>

#include "common/base64.h"

namespace shardhose::aws {

AttributeValue AttributeValue::SS(std::vector<std::string> v) {
  assert(!v.empty());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  AttributeValue a;
  a.type = Type::kSS;
  a.ss = std::move(v);
  return a;
}

std::optional<std::string> StringOf(const Item& item, const std::string& name) {
  auto it = item.find(name);
  if (it == item.end() || it->second.type != AttributeValue::Type::kS) return std::nullopt;
  return it->second.s;
}

std::optional<int64_t> NumberOf(const Item& item, const std::string& name) {
  auto it = item.find(name);
  if (it == item.end() || it->second.type != AttributeValue::Type::kN) return std::nullopt;
  const std::string& s = it->second.s;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string> StringSetOf(const Item& item, const std::string& name) {
  auto it = item.find(name);
  if (it == item.end() || it->second.type != AttributeValue::Type::kSS) return {};
  return it->second.ss;
}

namespace {

void WriteString(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

std::string_view ViewOf(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

Status Bad(const std::string& name, std::string_view what) {
  return Status::Corruption("DynamoDB attribute " + name + ": " + std::string(what));
}

}  // namespace

void WriteAttributeJson(JsonWriter& w, const AttributeValue& value) {
  using T = AttributeValue::Type;
  w.StartObject();
  switch (value.type) {
    case T::kS:
      w.Key("S");
      WriteString(w, value.s);
      break;
    case T::kN:
      w.Key("N");
      WriteString(w, value.s);
      break;
    case T::kB:
      w.Key("B");
      WriteString(w, Base64Encode(value.s));
      break;
    case T::kSS:
      w.Key("SS");
      w.StartArray();
      for (const auto& s : value.ss) WriteString(w, s);
      w.EndArray();
      break;
    case T::kBOOL:
      w.Key("BOOL");
      w.Bool(value.b);
      break;
    case T::kNULL:
      w.Key("NULL");
      w.Bool(true);
      break;
  }
  w.EndObject();
}

void WriteItemJson(JsonWriter& w, const Item& item) {
  w.StartObject();
  for (const auto& [name, value] : item) {
    WriteString(w, name);
    WriteAttributeJson(w, value);
  }
  w.EndObject();
}

Result<AttributeValue> AttributeFromJson(const std::string& name, const rapidjson::Value& v) {
  if (!v.IsObject() || v.MemberCount() != 1) return Bad(name, "not an object with one type tag");
  const auto& m = *v.MemberBegin();
  const std::string_view tag = ViewOf(m.name);
  const rapidjson::Value& x = m.value;
  AttributeValue out;
  if (tag == "S" || tag == "N" || tag == "B") {
    if (!x.IsString()) return Bad(name, std::string(tag) + " value is not a string");
    if (tag == "S") return AttributeValue::S(std::string(ViewOf(x)));
    if (tag == "N") {
      if (x.GetStringLength() == 0) return Bad(name, "empty number");
      out.type = AttributeValue::Type::kN;
      out.s.assign(ViewOf(x));
      return out;
    }
    out.type = AttributeValue::Type::kB;
    if (!Base64Decode(ViewOf(x), &out.s)) return Bad(name, "B value is not base64");
    return out;
  }
  if (tag == "SS") {
    if (!x.IsArray() || x.Empty()) return Bad(name, "SS value is not a non-empty array");
    std::vector<std::string> ss;
    ss.reserve(x.Size());
    for (const auto& e : x.GetArray()) {
      if (!e.IsString()) return Bad(name, "SS element is not a string");
      ss.emplace_back(ViewOf(e));
    }
    return AttributeValue::SS(std::move(ss));
  }
  if (tag == "BOOL") {
    if (!x.IsBool()) return Bad(name, "BOOL value is not a boolean");
    return AttributeValue::Bool(x.GetBool());
  }
  if (tag == "NULL") {
    if (!x.IsBool() || !x.GetBool()) return Bad(name, "NULL value is not true");
    return AttributeValue{};
  }
  return Bad(name, "unsupported type " + std::string(tag));
}

Result<Item> ItemFromJson(const rapidjson::Value& v) {
  if (!v.IsObject()) return Status::Corruption("DynamoDB item is not a JSON object");
  Item item;
  for (const auto& m : v.GetObject()) {
    std::string name(ViewOf(m.name));
    auto value = AttributeFromJson(name, m.value);
    if (!value.ok()) return value.status();
    item.insert_or_assign(std::move(name), std::move(value).value());
  }
  return item;
}

}  // namespace shardhose::aws

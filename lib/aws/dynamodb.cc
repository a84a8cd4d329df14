#include "aws/dynamodb.h"

#include <fmt/format.h>

#include "aws/retry_class.h"
#include "aws/sigv4.h"

namespace shardhose::aws {
namespace {

void Str(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

// Parses `body` in place. rapidjson's SSE2 scanning may read up to 15 bytes
// past the terminating NUL, so the capacity is padded; the iterative parser
// bounds the stack whatever the nesting.
Status ParseAnswer(std::string_view op, std::string& body, rapidjson::Document* d) {
  const size_t size = body.size();
  body.append(16, '\0');
  body.resize(size);
  d->ParseInsitu<rapidjson::kParseIterativeFlag>(body.data());
  if (d->HasParseError() || !d->IsObject()) return Status::Internal(fmt::format("{}: answer is not a JSON object", op));
  return Status::OK();
}

void WriteExpression(JsonWriter& w, const Expression& e) {
  if (!e.condition.empty()) {
    w.Key("ConditionExpression");
    Str(w, e.condition);
  }
  if (!e.names.empty()) {
    w.Key("ExpressionAttributeNames");
    w.StartObject();
    for (const auto& [k, v] : e.names) {
      Str(w, k);
      Str(w, v);
    }
    w.EndObject();
  }
  if (!e.values.empty()) {
    w.Key("ExpressionAttributeValues");
    WriteItemJson(w, e.values);
  }
}

void StartTableRequest(JsonWriter& w, const std::string& table) {
  w.StartObject();
  w.Key("TableName");
  Str(w, table);
}

std::string_view Body(const rapidjson::StringBuffer& sb) { return {sb.GetString(), sb.GetSize()}; }

// The item under `member`, or an empty item when there is none.
Result<Item> ItemMember(const rapidjson::Value& d, const char* member) {
  auto it = d.FindMember(member);
  if (it == d.MemberEnd() || it->value.IsNull()) return Item{};
  return ItemFromJson(it->value);
}

}  // namespace

DynamoDbClient::DynamoDbClient(DynamoDbOptions options, HttpClient* http, CredentialsProvider* creds, Clock* clock)
    : options_(std::move(options)), http_(http), creds_(creds), clock_(clock) {
  url_ = options_.endpoint_url.empty()
             ? fmt::format("https://{}dynamodb.{}.amazonaws.com/", options_.streams ? "streams." : "", options_.region)
             : options_.endpoint_url;
  if (url_.find('/', url_.find("://") + 3) == std::string::npos) url_ += '/';
}

Result<HttpRequest> DynamoDbClient::Build(std::string_view op, std::string_view body) const {
  auto creds = creds_->Get();
  if (!creds.ok()) return creds.status();
  HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.body = body;
  req.timeout = options_.timeout;
  req.connect_timeout = options_.connect_timeout;
  req.SetHeader("Content-Type", "application/x-amz-json-1.0");
  req.SetHeader("X-Amz-Target", fmt::format("{}_20120810.{}", options_.streams ? "DynamoDBStreams" : "DynamoDB", op));
  SigningParams params;
  params.region = options_.region;
  params.service = "dynamodb";
  params.time = clock_->WallNow();
  SHARDHOSE_RETURN_IF_ERROR(SignRequest(&req, *creds, params));
  return req;
}

Result<std::string> DynamoDbClient::Call(std::string_view op, std::string_view body) const {
  auto req = Build(op, body);
  if (!req.ok()) return req.status();
  auto resp = http_->Send(*req);
  if (!resp.ok()) return resp.status().WithContext(op);
  Status st = ClassifyResponse(op, *resp);
  if (st.ok()) return std::move(resp->body);
  const std::string& code = st.peer_code();
  if (code == "ConditionalCheckFailedException" || code == "ResourceInUseException") {
    return Status::FailedPrecondition(st.message()).WithPeer(RetryClass::kClientError, code);
  }
  if (code == "TransactionConflictException") {
    return Status::Unavailable(st.message()).WithPeer(RetryClass::kServerError, code);
  }
  return st;
}

Result<bool> DynamoDbClient::CreateTable(const std::string& table, const std::string& hash_key) const {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  StartTableRequest(w, table);
  w.Key("AttributeDefinitions");
  w.StartArray();
  w.StartObject();
  w.Key("AttributeName");
  Str(w, hash_key);
  w.Key("AttributeType");
  w.String("S");
  w.EndObject();
  w.EndArray();
  w.Key("KeySchema");
  w.StartArray();
  w.StartObject();
  w.Key("AttributeName");
  Str(w, hash_key);
  w.Key("KeyType");
  w.String("HASH");
  w.EndObject();
  w.EndArray();
  w.Key("BillingMode");
  w.String("PAY_PER_REQUEST");
  w.EndObject();
  auto resp = Call("CreateTable", Body(sb));
  if (!resp.ok()) {
    if (resp.status().peer_code() == "ResourceInUseException") return false;
    return resp.status();
  }
  return true;
}

Result<TableInfo> DynamoDbClient::DescribeTable(const std::string& table) const {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  StartTableRequest(w, table);
  w.EndObject();
  auto resp = Call("DescribeTable", Body(sb));
  if (!resp.ok()) return resp.status();
  rapidjson::Document d;
  SHARDHOSE_RETURN_IF_ERROR(ParseAnswer("DescribeTable", *resp, &d));
  auto t = d.FindMember("Table");
  if (t == d.MemberEnd() || !t->value.IsObject()) return Status::Internal("DescribeTable: answer has no Table");
  const auto& v = t->value;
  TableInfo info;
  auto str = [&](const rapidjson::Value& o, const char* name) -> std::string {
    auto m = o.FindMember(name);
    return m != o.MemberEnd() && m->value.IsString() ? std::string(m->value.GetString(), m->value.GetStringLength())
                                                     : std::string();
  };
  info.name = str(v, "TableName");
  info.arn = str(v, "TableArn");
  info.status = str(v, "TableStatus");
  auto billing = v.FindMember("BillingModeSummary");
  if (billing != v.MemberEnd() && billing->value.IsObject()) info.billing_mode = str(billing->value, "BillingMode");
  auto count = v.FindMember("ItemCount");
  if (count != v.MemberEnd() && count->value.IsInt64()) info.item_count = count->value.GetInt64();
  info.latest_stream_arn = str(v, "LatestStreamArn");
  auto keys = v.FindMember("KeySchema");
  if (keys != v.MemberEnd() && keys->value.IsArray()) {
    std::string hash, range;
    for (const auto& k : keys->value.GetArray()) {
      if (!k.IsObject()) continue;
      (str(k, "KeyType") == "RANGE" ? range : hash) = str(k, "AttributeName");
    }
    if (!hash.empty()) info.key_schema.push_back(hash);
    if (!range.empty()) info.key_schema.push_back(range);
  }
  if (info.status.empty()) return Status::Internal("DescribeTable: answer has no TableStatus");
  return info;
}

Result<std::optional<Item>> DynamoDbClient::GetItem(const std::string& table, const Item& key, bool consistent) const {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  StartTableRequest(w, table);
  w.Key("Key");
  WriteItemJson(w, key);
  w.Key("ConsistentRead");
  w.Bool(consistent);
  w.EndObject();
  auto resp = Call("GetItem", Body(sb));
  if (!resp.ok()) return resp.status();
  rapidjson::Document d;
  SHARDHOSE_RETURN_IF_ERROR(ParseAnswer("GetItem", *resp, &d));
  if (!d.HasMember("Item")) return std::optional<Item>();
  auto item = ItemFromJson(d["Item"]);
  if (!item.ok()) return item.status().WithContext("GetItem " + table);
  return std::optional<Item>(std::move(item).value());
}

Status DynamoDbClient::PutItem(const std::string& table, const Item& item, const Expression& expr) const {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  StartTableRequest(w, table);
  w.Key("Item");
  WriteItemJson(w, item);
  WriteExpression(w, expr);
  w.EndObject();
  return Call("PutItem", Body(sb)).status();
}

Result<Item> DynamoDbClient::UpdateItem(const std::string& table, const Item& key, const std::string& update,
                                        const Expression& expr, bool return_all_new) const {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  StartTableRequest(w, table);
  w.Key("Key");
  WriteItemJson(w, key);
  w.Key("UpdateExpression");
  Str(w, update);
  WriteExpression(w, expr);
  if (return_all_new) {
    w.Key("ReturnValues");
    w.String("ALL_NEW");
  }
  w.EndObject();
  auto resp = Call("UpdateItem", Body(sb));
  if (!resp.ok()) return resp.status();
  if (!return_all_new) return Item{};
  rapidjson::Document d;
  SHARDHOSE_RETURN_IF_ERROR(ParseAnswer("UpdateItem", *resp, &d));
  auto item = ItemMember(d, "Attributes");
  if (!item.ok()) return item.status().WithContext("UpdateItem " + table);
  return item;
}

Status DynamoDbClient::DeleteItem(const std::string& table, const Item& key, const Expression& expr) const {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  StartTableRequest(w, table);
  w.Key("Key");
  WriteItemJson(w, key);
  WriteExpression(w, expr);
  w.EndObject();
  return Call("DeleteItem", Body(sb)).status();
}

Result<ScanPage> DynamoDbClient::Scan(const std::string& table, const ScanRequest& request) const {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  StartTableRequest(w, table);
  w.Key("ConsistentRead");
  w.Bool(request.consistent);
  if (request.limit > 0) {
    w.Key("Limit");
    w.Int(request.limit);
  }
  if (!request.start_key.empty()) {
    w.Key("ExclusiveStartKey");
    WriteItemJson(w, request.start_key);
  }
  w.EndObject();
  auto resp = Call("Scan", Body(sb));
  if (!resp.ok()) return resp.status();
  rapidjson::Document d;
  SHARDHOSE_RETURN_IF_ERROR(ParseAnswer("Scan", *resp, &d));
  auto items = d.FindMember("Items");
  if (items == d.MemberEnd() || !items->value.IsArray()) return Status::Internal("Scan: answer has no Items");
  ScanPage page;
  page.items.reserve(items->value.Size());
  for (const auto& v : items->value.GetArray()) {
    auto item = ItemFromJson(v);
    if (!item.ok()) return item.status().WithContext("Scan " + table);
    page.items.push_back(std::move(item).value());
  }
  auto last = ItemMember(d, "LastEvaluatedKey");
  if (!last.ok()) return last.status().WithContext("Scan " + table);
  page.last_key = std::move(last).value();
  return page;
}

}  // namespace shardhose::aws

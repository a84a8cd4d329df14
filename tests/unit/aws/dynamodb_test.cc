// The DynamoDB client against a scripted HttpClient: the protocol (target,
// content type, signing, endpoint), each operation's request body, the
// answers it reads, and how errors are classified.
#include "aws/dynamodb.h"

#include <gtest/gtest.h>

#include <deque>

namespace shardhose::aws {
namespace {

class ScriptedHttp final : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& req) override {
    requests.push_back(req);
    bodies.emplace_back(req.body);
    if (answers.empty()) return HttpResponse{200, {}, "{}"};
    auto a = std::move(answers.front());
    answers.pop_front();
    return a;
  }
  void Answer(int status, std::string body) { answers.push_back(HttpResponse{status, {}, std::move(body)}); }
  std::string Target() const { return std::string(requests.back().Header("X-Amz-Target")); }

  std::deque<Result<HttpResponse>> answers;
  std::vector<HttpRequest> requests;
  std::vector<std::string> bodies;
};

class DynamoDbClientTest : public ::testing::Test {
 protected:
  DynamoDbClient Client(std::string endpoint_url = "") {
    DynamoDbOptions o;
    o.region = "eu-west-1";
    o.endpoint_url = std::move(endpoint_url);
    o.timeout = std::chrono::milliseconds(1234);
    return DynamoDbClient(o, &http_, creds_.get(), &clock_);
  }

  ScriptedHttp http_;
  std::unique_ptr<CredentialsProvider> creds_ =
      NewStaticCredentialsProvider(Credentials{"AKIDEXAMPLE", "secret", "", std::nullopt});
  SimulatedClock clock_;
};

TEST_F(DynamoDbClientTest, EndpointFromRegionOrUrl) {
  EXPECT_EQ(Client().url(), "https://dynamodb.eu-west-1.amazonaws.com/");
  EXPECT_EQ(Client("http://127.0.0.1:8000").url(), "http://127.0.0.1:8000/");
  EXPECT_EQ(Client("https://vpce.example/ddb").url(), "https://vpce.example/ddb");
}

TEST_F(DynamoDbClientTest, SignedJson10Post) {
  auto c = Client("http://127.0.0.1:8000");
  auto r = c.Call("ListTables", "{}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const HttpRequest& req = http_.requests.back();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://127.0.0.1:8000/");
  EXPECT_EQ(req.Header("X-Amz-Target"), "DynamoDB_20120810.ListTables");
  EXPECT_EQ(req.Header("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(req.timeout, std::chrono::milliseconds(1234));
  const std::string_view auth = req.Header("Authorization");
  EXPECT_EQ(auth.find("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/dynamodb/aws4_request"), 0u) << auth;
  EXPECT_NE(auth.find("x-amz-target"), std::string_view::npos);
}

TEST_F(DynamoDbClientTest, ErrorsAreClassified) {
  auto c = Client();
  struct Case {
    int status;
    const char* type;
    StatusCode code;
    RetryClass cls;
  } cases[] = {
      {400, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", StatusCode::kFailedPrecondition,
       RetryClass::kClientError},
      {400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", StatusCode::kNotFound,
       RetryClass::kClientError},
      {400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", StatusCode::kUnavailable,
       RetryClass::kThrottled},
      {400, "com.amazonaws.dynamodb.v20120810#ThrottlingException", StatusCode::kUnavailable, RetryClass::kThrottled},
      {400, "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded", StatusCode::kUnavailable, RetryClass::kThrottled},
      {500, "com.amazonaws.dynamodb.v20120810#InternalServerError", StatusCode::kUnavailable, RetryClass::kServerError},
      {400, "com.amazonaws.dynamodb.v20120810#TransactionConflictException", StatusCode::kUnavailable,
       RetryClass::kServerError},
      {400, "com.amazon.coral.service#AccessDeniedException", StatusCode::kPermissionDenied, RetryClass::kClientError},
      {400, "com.amazon.coral.service#UnrecognizedClientException", StatusCode::kPermissionDenied,
       RetryClass::kClientError},
      {400, "com.amazon.coral.validate#ValidationException", StatusCode::kInvalidArgument, RetryClass::kClientError},
  };
  for (const auto& k : cases) {
    http_.Answer(k.status, std::string(R"({"__type":")") + k.type + R"(","message":"m"})");
    Status st = c.PutItem("t", Item{{"k", AttributeValue::S("x")}});
    EXPECT_EQ(st.code(), k.code) << k.type << ": " << st.ToString();
    EXPECT_EQ(st.retry_class(), k.cls) << k.type;
    EXPECT_EQ(st.peer_code(), std::string(k.type).substr(std::string(k.type).find('#') + 1));
    EXPECT_NE(st.message().find("PutItem"), std::string::npos) << st.message();
  }
  http_.answers.push_back(Status::Unavailable("reset").WithPeer(RetryClass::kNetwork, ""));
  Status down = c.DeleteItem("t", Item{{"k", AttributeValue::S("x")}});
  EXPECT_EQ(down.retry_class(), RetryClass::kNetwork);
  EXPECT_NE(down.message().find("DeleteItem"), std::string::npos);
}

TEST_F(DynamoDbClientTest, CreateTable) {
  auto c = Client();
  http_.Answer(200, R"({"TableDescription":{"TableName":"leases","TableStatus":"CREATING"}})");
  auto created = c.CreateTable("leases", "leaseKey");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(*created);
  EXPECT_EQ(http_.Target(), "DynamoDB_20120810.CreateTable");
  EXPECT_EQ(http_.bodies.back(),
            R"({"TableName":"leases","AttributeDefinitions":[{"AttributeName":"leaseKey","AttributeType":"S"}],)"
            R"("KeySchema":[{"AttributeName":"leaseKey","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"})");

  http_.Answer(400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"exists"})");
  auto exists = c.CreateTable("leases", "leaseKey");
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_FALSE(*exists);

  http_.Answer(400, R"({"__type":"com.amazon.coral.service#AccessDeniedException","message":"no"})");
  EXPECT_EQ(c.CreateTable("leases", "leaseKey").status().code(), StatusCode::kPermissionDenied);
}

TEST_F(DynamoDbClientTest, DescribeTable) {
  auto c = Client();
  http_.Answer(200, R"({"Table":{"TableName":"leases","TableStatus":"ACTIVE","ItemCount":3,)"
                    R"("BillingModeSummary":{"BillingMode":"PAY_PER_REQUEST"},"KeySchema":[]}})");
  auto t = c.DescribeTable("leases");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name, "leases");
  EXPECT_EQ(t->status, "ACTIVE");
  EXPECT_EQ(t->billing_mode, "PAY_PER_REQUEST");
  EXPECT_EQ(t->item_count, 3);
  EXPECT_EQ(http_.bodies.back(), R"({"TableName":"leases"})");

  http_.Answer(400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"})");
  EXPECT_TRUE(c.DescribeTable("nope").status().IsNotFound());
  http_.Answer(200, R"({"Table":{}})");
  EXPECT_EQ(c.DescribeTable("leases").status().code(), StatusCode::kInternal);
  http_.Answer(200, "<html>");
  EXPECT_EQ(c.DescribeTable("leases").status().code(), StatusCode::kInternal);
}

TEST_F(DynamoDbClientTest, GetItem) {
  auto c = Client();
  const Item key{{"leaseKey", AttributeValue::S("shardId-0")}};
  http_.Answer(200, R"({"Item":{"leaseKey":{"S":"shardId-0"},"leaseCounter":{"N":"4"}}})");
  auto got = c.GetItem("leases", key, true);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(NumberOf(**got, "leaseCounter"), 4);
  EXPECT_EQ(http_.bodies.back(),
            R"({"TableName":"leases","Key":{"leaseKey":{"S":"shardId-0"}},"ConsistentRead":true})");

  http_.Answer(200, "{}");
  auto none = c.GetItem("leases", key, false);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_NE(http_.bodies.back().find(R"("ConsistentRead":false)"), std::string::npos);

  http_.Answer(200, R"({"Item":{"leaseKey":{"S":"shardId-0"},"weird":{"L":[]}}})");
  auto bad = c.GetItem("leases", key, true);
  EXPECT_TRUE(bad.status().IsCorruption());
  EXPECT_NE(bad.status().message().find("weird"), std::string::npos);
}

TEST_F(DynamoDbClientTest, ConditionalPutAndDelete) {
  auto c = Client();
  Expression e;
  e.condition = "attribute_not_exists(#k)";
  e.names["#k"] = "leaseKey";
  ASSERT_TRUE(c.PutItem("leases", Item{{"leaseKey", AttributeValue::S("a")}}, e).ok());
  EXPECT_EQ(http_.Target(), "DynamoDB_20120810.PutItem");
  EXPECT_EQ(http_.bodies.back(),
            R"j({"TableName":"leases","Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"attribute_not_exists(#k)",)j"
            R"("ExpressionAttributeNames":{"#k":"leaseKey"}})");

  Expression d;
  d.condition = "#c = :c";
  d.names["#c"] = "leaseCounter";
  d.values[":c"] = AttributeValue::N(3);
  ASSERT_TRUE(c.DeleteItem("leases", Item{{"leaseKey", AttributeValue::S("a")}}, d).ok());
  EXPECT_EQ(http_.Target(), "DynamoDB_20120810.DeleteItem");
  EXPECT_EQ(http_.bodies.back(),
            R"({"TableName":"leases","Key":{"leaseKey":{"S":"a"}},"ConditionExpression":"#c = :c",)"
            R"("ExpressionAttributeNames":{"#c":"leaseCounter"},"ExpressionAttributeValues":{":c":{"N":"3"}}})");

  // Unconditional: no expression members at all.
  ASSERT_TRUE(c.PutItem("w", Item{{"workerId", AttributeValue::S("a")}}).ok());
  EXPECT_EQ(http_.bodies.back(), R"({"TableName":"w","Item":{"workerId":{"S":"a"}}})");
}

TEST_F(DynamoDbClientTest, UpdateItemReturnsAllNew) {
  auto c = Client();
  Expression e;
  e.condition = "#c = :seen";
  e.names = {{"#c", "leaseCounter"}, {"#o", "leaseOwner"}};
  e.values = {{":seen", AttributeValue::N(1)}, {":one", AttributeValue::N(1)}};
  http_.Answer(200, R"({"Attributes":{"leaseKey":{"S":"a"},"leaseCounter":{"N":"2"}}})");
  auto r = c.UpdateItem("leases", Item{{"leaseKey", AttributeValue::S("a")}}, "SET #c = #c + :one REMOVE #o", e, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(NumberOf(*r, "leaseCounter"), 2);
  EXPECT_EQ(http_.Target(), "DynamoDB_20120810.UpdateItem");
  EXPECT_EQ(http_.bodies.back(),
            R"({"TableName":"leases","Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"SET #c = #c + :one REMOVE #o",)"
            R"("ConditionExpression":"#c = :seen","ExpressionAttributeNames":{"#c":"leaseCounter","#o":"leaseOwner"},)"
            R"("ExpressionAttributeValues":{":one":{"N":"1"},":seen":{"N":"1"}},"ReturnValues":"ALL_NEW"})");

  http_.Answer(200, "{}");
  auto none = c.UpdateItem("leases", Item{{"leaseKey", AttributeValue::S("a")}}, "SET #c = :one", e, false);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(http_.bodies.back().find("ReturnValues"), std::string::npos);

  http_.Answer(400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",)"
                    R"("message":"The conditional request failed"})");
  auto refused = c.UpdateItem("leases", Item{{"leaseKey", AttributeValue::S("a")}}, "SET #c = :one", e, true);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().peer_code(), "ConditionalCheckFailedException");
}

TEST_F(DynamoDbClientTest, ScanPages) {
  auto c = Client();
  http_.Answer(200, R"({"Items":[{"k":{"S":"a"}},{"k":{"S":"b"}}],"Count":2,"ScannedCount":2,)"
                    R"("LastEvaluatedKey":{"k":{"S":"b"}}})");
  ScanRequest req;
  req.consistent = true;
  req.limit = 2;
  auto p1 = c.Scan("t", req);
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  ASSERT_EQ(p1->items.size(), 2u);
  EXPECT_EQ(StringOf(p1->items[1], "k"), "b");
  EXPECT_EQ(p1->last_key, (Item{{"k", AttributeValue::S("b")}}));
  EXPECT_EQ(http_.Target(), "DynamoDB_20120810.Scan");
  EXPECT_EQ(http_.bodies.back(), R"({"TableName":"t","ConsistentRead":true,"Limit":2})");

  req.start_key = p1->last_key;
  http_.Answer(200, R"({"Items":[{"k":{"S":"c"}}],"Count":1,"ScannedCount":1})");
  auto p2 = c.Scan("t", req);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(p2->items.size(), 1u);
  EXPECT_TRUE(p2->last_key.empty());
  EXPECT_EQ(http_.bodies.back(),
            R"({"TableName":"t","ConsistentRead":true,"Limit":2,"ExclusiveStartKey":{"k":{"S":"b"}}})");

  http_.Answer(200, R"({"Count":0})");
  EXPECT_EQ(c.Scan("t", ScanRequest{}).status().code(), StatusCode::kInternal);
  http_.Answer(200, R"({"Items":[{"k":{"NS":["1"]}}]})");
  EXPECT_TRUE(c.Scan("t", ScanRequest{}).status().IsCorruption());
}

}  // namespace
}  // namespace shardhose::aws

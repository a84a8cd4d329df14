// The DynamoDB lease table's requests and its Ensure() wait, against a
// scripted HttpClient and a simulated clock (the semantics against a real
// DynamoDB: tests/e2e/dynamodb/dynamodb_lease_table_e2e.cc).
#include "lease/dynamodb_lease_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

namespace shardhose::lease {
namespace {

// Answers each request with `answer(op, body)`; remembers every request.
class ScriptedHttp final : public aws::HttpClient {
 public:
  struct Sent {
    std::string op;
    rapidjson::Document body;
  };
  Result<aws::HttpResponse> Send(const aws::HttpRequest& req) override {
    std::string target(req.Header("X-Amz-Target"));
    std::string op = target.substr(target.find('.') + 1);
    Sent s;
    s.op = op;
    std::string padded(req.body);  // RAPIDJSON_SSE2 reads whole 16-byte blocks
    padded.append(16, '\0');
    s.body.Parse(padded.data(), req.body.size());
    sent.push_back(std::move(s));
    return answer(op, sent.back().body);
  }
  std::vector<std::string> Ops() const {
    std::vector<std::string> ops;
    for (const auto& s : sent) ops.push_back(s.op);
    return ops;
  }
  std::function<aws::HttpResponse(const std::string& op, const rapidjson::Document& body)> answer =
      [](const std::string&, const rapidjson::Document&) {
        return aws::HttpResponse{200, {}, "{}"};
      };
  std::vector<Sent> sent;
};

aws::HttpResponse Error(const std::string& type) {
  return aws::HttpResponse{400, {}, R"({"__type":"com.amazonaws.dynamodb.v20120810#)" + type + R"(","message":"m"})"};
}
aws::HttpResponse Table(const std::string& status) {
  return aws::HttpResponse{200, {}, R"({"Table":{"TableName":"t","TableStatus":")" + status + R"("}})"};
}
std::string Str(const rapidjson::Value& v, const char* name) {
  return v.HasMember(name) && v[name].IsString() ? v[name].GetString() : "<none>";
}

class DynamoDbLeaseTableTest : public ::testing::Test {
 protected:
  DynamoDbLeaseTableTest() {
    clock_.SetAutoAdvance(true);
    aws::DynamoDbOptions o;
    o.region = "eu-west-1";
    client_ = std::make_unique<aws::DynamoDbClient>(o, &http_, creds_.get(), &clock_);
    DynamoDbLeaseTableOptions t;
    t.table = "orders-leases";
    table_ = NewDynamoDbLeaseTable(t, client_.get(), &clock_);
  }

  SimulatedClock clock_;
  ClockParticipant participant_{&clock_};
  ScriptedHttp http_;
  std::unique_ptr<aws::CredentialsProvider> creds_ =
      aws::NewStaticCredentialsProvider(aws::Credentials{"AKID", "secret", "", std::nullopt});
  std::unique_ptr<aws::DynamoDbClient> client_;
  std::unique_ptr<LeaseTable> table_;
};

TEST_F(DynamoDbLeaseTableTest, Describe) {
  EXPECT_EQ(table_->Describe(), "dynamodb table orders-leases (eu-west-1)");
  EXPECT_EQ(WorkersTableName("orders-leases"), "orders-leases-workers");
}

TEST_F(DynamoDbLeaseTableTest, EnsureCreatesMissingTablesAndWaitsForActive) {
  int describes = 0;
  http_.answer = [&](const std::string& op, const rapidjson::Document&) {
    if (op == "CreateTable") return aws::HttpResponse{200, {}, "{}"};
    ++describes;
    if (describes <= 2) return Error("ResourceNotFoundException");  // the first look at each table
    if (describes <= 4) return Error("ResourceNotFoundException");  // not visible yet after CreateTable
    return Table(describes <= 6 ? "CREATING" : "ACTIVE");
  };
  const MonoTime start = clock_.Now();
  Status st = table_->Ensure(true);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(2));
  EXPECT_LT(clock_.Now() - start, std::chrono::seconds(10));
  std::vector<std::string> created;
  for (const auto& s : http_.sent) {
    if (s.op != "CreateTable") continue;
    created.push_back(Str(s.body, "TableName"));
    EXPECT_EQ(Str(s.body, "BillingMode"), "PAY_PER_REQUEST");
    EXPECT_EQ(Str(s.body["KeySchema"][0], "KeyType"), "HASH");
  }
  EXPECT_EQ(created, (std::vector<std::string>{"orders-leases", "orders-leases-workers"}));
  EXPECT_EQ(Str(http_.sent[1].body["AttributeDefinitions"][0], "AttributeName"), "leaseKey");
  EXPECT_EQ(Str(http_.sent[3].body["AttributeDefinitions"][0], "AttributeName"), "workerId");
}

TEST_F(DynamoDbLeaseTableTest, EnsureGivesUpAfterItsTimeout) {
  http_.answer = [](const std::string& op, const rapidjson::Document&) {
    return op == "DescribeTable" ? Table("CREATING") : aws::HttpResponse{200, {}, "{}"};
  };
  const MonoTime start = clock_.Now();
  Status st = table_->Ensure(true);
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  EXPECT_NE(st.message().find("orders-leases"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("CREATING"), std::string::npos) << st.ToString();
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(60));
  EXPECT_LT(clock_.Now() - start, std::chrono::seconds(62));
}

TEST_F(DynamoDbLeaseTableTest, EnsureWithoutCreateNamesTheMissingTable) {
  http_.answer = [](const std::string& op, const rapidjson::Document& body) {
    if (op == "DescribeTable" && Str(body, "TableName") == "orders-leases") return Table("ACTIVE");
    return Error("ResourceNotFoundException");
  };
  Status st = table_->Ensure(false);
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  EXPECT_NE(st.message().find("dynamodb table orders-leases-workers (eu-west-1)"), std::string::npos) << st.ToString();
  EXPECT_EQ(http_.Ops(), (std::vector<std::string>{"DescribeTable", "DescribeTable"}));

  http_.answer = [](const std::string&, const rapidjson::Document&) { return Error("AccessDeniedException"); };
  EXPECT_EQ(table_->Ensure(true).code(), StatusCode::kPermissionDenied);
}

TEST_F(DynamoDbLeaseTableTest, TransferExpressions) {
  http_.answer = [](const std::string&, const rapidjson::Document&) {
    return aws::HttpResponse{
        200, {}, R"({"Attributes":{"leaseKey":{"S":"s"},"leaseCounter":{"N":"6"},"checkpoint":{"S":"TRIM_HORIZON"}}})"};
  };
  Lease seen;
  seen.key = "s";
  seen.counter = 5;
  // Take a released lease.
  ASSERT_TRUE(table_->Transfer(seen, "w1").ok());
  const auto& take = http_.sent.back().body;
  EXPECT_EQ(Str(take, "TableName"), "orders-leases");
  EXPECT_EQ(Str(take["Key"]["leaseKey"], "S"), "s");
  EXPECT_EQ(Str(take, "UpdateExpression"), "SET #c = #c + :one, #o = :new");
  EXPECT_EQ(Str(take, "ConditionExpression"), "#c = :seen AND attribute_not_exists(#o)");
  EXPECT_EQ(Str(take["ExpressionAttributeValues"][":seen"], "N"), "5");
  EXPECT_EQ(Str(take, "ReturnValues"), "ALL_NEW");
  // Steal.
  seen.owner = "w1";
  auto stolen = table_->Transfer(seen, "w2");
  ASSERT_TRUE(stolen.ok());
  EXPECT_EQ(stolen->counter, 6);  // as the answer says
  const auto& steal = http_.sent.back().body;
  EXPECT_EQ(Str(steal, "UpdateExpression"), "SET #c = #c + :one, #o = :new, #s = if_not_exists(#s, :zero) + :one");
  EXPECT_EQ(Str(steal, "ConditionExpression"), "#c = :seen AND #o = :owner");
  EXPECT_EQ(Str(steal["ExpressionAttributeValues"][":owner"], "S"), "w1");
  EXPECT_EQ(Str(steal["ExpressionAttributeNames"], "#s"), "ownerSwitchesSinceCheckpoint");
  // Release.
  ASSERT_TRUE(table_->Transfer(seen, "").ok());
  const auto& release = http_.sent.back().body;
  EXPECT_EQ(Str(release, "UpdateExpression"), "SET #c = #c + :one REMOVE #o");
  EXPECT_FALSE(release["ExpressionAttributeValues"].HasMember(":new"));

  http_.answer = [](const std::string&, const rapidjson::Document&) {
    return Error("ConditionalCheckFailedException");
  };
  auto refused = table_->Transfer(seen, "w2");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().peer_code(), "ConditionalCheckFailedException");
}

TEST_F(DynamoDbLeaseTableTest, UpdateWritesProgressOnlyFencedByOwnerAndCounter) {
  Lease l;
  l.key = "s";
  l.owner = "w1";
  l.counter = 3;
  l.checkpoint = "123";
  ASSERT_TRUE(table_->Update(l).ok());
  const auto& u = http_.sent.back().body;
  EXPECT_EQ(Str(u, "ConditionExpression"), "#c = :seen AND #o = :owner");
  const std::string update = Str(u, "UpdateExpression");
  EXPECT_EQ(update.find("SET "), 0u) << update;
  std::vector<std::string> names;
  for (const auto& m : u["ExpressionAttributeNames"].GetObject()) names.push_back(m.value.GetString());
  for (const char* a : {"checkpoint", "checkpointSubSequenceNumber", "ownerSwitchesSinceCheckpoint", "childShardIds",
                        "shCaughtUpMs", "shJournal", "shStartMs", "leaseCounter", "leaseOwner"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), a), names.end()) << a;
  }
  for (const char* never : {"leaseKey", "parentShardId", "startingHashKey", "endingHashKey"}) {
    EXPECT_EQ(std::find(names.begin(), names.end(), never), names.end()) << never;
  }
  EXPECT_FALSE(u.HasMember("ReturnValues"));
}

// The value Update() sends for `attr`.
std::string UpdatedValue(const rapidjson::Document& body, const std::string& attr) {
  for (const auto& m : body["ExpressionAttributeNames"].GetObject()) {
    if (attr != m.value.GetString()) continue;
    std::string value = ":" + std::string(m.name.GetString()).substr(1);
    const auto& v = body["ExpressionAttributeValues"];
    if (!v.HasMember(value.c_str())) return "<removed>";
    return v[value.c_str()].MemberBegin()->value.GetString();
  }
  return "<not named>";
}

TEST_F(DynamoDbLeaseTableTest, UpdateZeroesOwnerSwitchesWhenTheCheckpointMoves) {
  http_.answer = [](const std::string& op, const rapidjson::Document&) {
    if (op != "UpdateItem") return aws::HttpResponse{200, {}, "{}"};
    return aws::HttpResponse{200,
                             {},
                             R"({"Attributes":{"leaseKey":{"S":"s"},"leaseOwner":{"S":"w2"},"leaseCounter":{"N":"6"},)"
                             R"("checkpoint":{"S":"100"},"ownerSwitchesSinceCheckpoint":{"N":"2"}}})"};
  };
  Lease seen;
  seen.key = "s";
  seen.owner = "w1";
  seen.counter = 5;
  auto mine = table_->Transfer(seen, "w2");
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  ASSERT_EQ(mine->owner_switches, 2);

  Lease same = *mine;
  same.caught_up_ms = 17;  // progress, same checkpoint: the switches stay
  ASSERT_TRUE(table_->Update(same).ok());
  EXPECT_EQ(UpdatedValue(http_.sent.back().body, "ownerSwitchesSinceCheckpoint"), "2");
  EXPECT_EQ(UpdatedValue(http_.sent.back().body, "shCaughtUpMs"), "17");

  Lease moved = *mine;
  moved.checkpoint = "200";
  ASSERT_TRUE(table_->Update(moved).ok());
  EXPECT_EQ(UpdatedValue(http_.sent.back().body, "ownerSwitchesSinceCheckpoint"), "0");
  EXPECT_EQ(UpdatedValue(http_.sent.back().body, "checkpoint"), "200");
  // Now "200" is the stored checkpoint: the next Update keeps what it is given.
  Lease again = moved;
  again.owner_switches = 0;
  ASSERT_TRUE(table_->Update(again).ok());
  EXPECT_EQ(UpdatedValue(http_.sent.back().body, "ownerSwitchesSinceCheckpoint"), "0");

  // A lease nobody owns is not updated, and nothing is sent.
  const size_t sent = http_.sent.size();
  Lease released = *mine;
  released.owner = "";
  Status st = table_->Update(released);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.peer_code(), "ConditionalCheckFailedException");
  EXPECT_EQ(http_.sent.size(), sent);
}

TEST_F(DynamoDbLeaseTableTest, ListFollowsPagesAndFailsOnABadItem) {
  int page = 0;
  http_.answer = [&](const std::string&, const rapidjson::Document&) {
    ++page;
    if (page == 1) {
      return aws::HttpResponse{
          200,
          {},
          R"({"Items":[{"leaseKey":{"S":"a"},"leaseCounter":{"N":"1"},"checkpoint":{"S":"TRIM_HORIZON"}},)"
          R"({"leaseKey":{"S":"kcl3"},"entityType":{"S":"WORKER_METRICS"}}],)"
          R"("LastEvaluatedKey":{"leaseKey":{"S":"a"}}})"};
    }
    return aws::HttpResponse{
        200, {}, R"({"Items":[{"leaseKey":{"S":"b"},"leaseCounter":{"N":"2"},"checkpoint":{"S":"LATEST"}}]})"};
  };
  auto all = table_->List();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].key, "b");
  ASSERT_EQ(http_.sent.size(), 2u);
  EXPECT_TRUE(http_.sent[0].body["ConsistentRead"].GetBool());
  EXPECT_FALSE(http_.sent[0].body.HasMember("ExclusiveStartKey"));
  EXPECT_EQ(Str(http_.sent[1].body["ExclusiveStartKey"]["leaseKey"], "S"), "a");

  page = 0;
  http_.answer = [&](const std::string&, const rapidjson::Document&) {
    return ++page == 1 ? aws::HttpResponse{200, {}, R"({"Items":[],"LastEvaluatedKey":{"leaseKey":{"S":"a"}}})"}
                       : Error("ProvisionedThroughputExceededException");
  };
  EXPECT_EQ(table_->List().status().retry_class(), RetryClass::kThrottled);

  http_.answer = [](const std::string&, const rapidjson::Document&) {
    return aws::HttpResponse{200, {}, R"({"Items":[{"leaseKey":{"S":"odd"},"leaseCounter":{"L":[]}}]})"};
  };
  Status bad = table_->List().status();
  EXPECT_TRUE(bad.IsCorruption()) << bad.ToString();
  EXPECT_NE(bad.message().find("leaseCounter"), std::string::npos) << bad.ToString();
}

TEST_F(DynamoDbLeaseTableTest, HeartbeatsAreUnconditionalWritesToTheWorkersTable) {
  ASSERT_TRUE(table_->Heartbeat(WorkerBeat{"w1", 7, 2, 1716200000000}).ok());
  const auto& put = http_.sent.back().body;
  EXPECT_EQ(http_.sent.back().op, "PutItem");
  EXPECT_EQ(Str(put, "TableName"), "orders-leases-workers");
  EXPECT_FALSE(put.HasMember("ConditionExpression"));
  EXPECT_EQ(Str(put["Item"]["workerId"], "S"), "w1");
  EXPECT_EQ(Str(put["Item"]["beat"], "N"), "7");
  ASSERT_TRUE(table_->RemoveWorker("w1").ok());
  EXPECT_EQ(http_.sent.back().op, "DeleteItem");
  EXPECT_EQ(Str(http_.sent.back().body, "TableName"), "orders-leases-workers");
}

}  // namespace
}  // namespace shardhose::lease

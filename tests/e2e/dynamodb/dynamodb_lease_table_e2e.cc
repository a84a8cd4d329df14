// The DynamoDB lease table (lease/dynamodb_lease_table.h) against a real
// DynamoDB: DynamoDB Local, started by tests/e2e/test_dynamodb_lease_table.py,
// which runs this binary with
//   AWS_ENDPOINT_URL_DYNAMODB  the server (every test skips without it)
//   DYNAMODB_E2E_PREFIX        prefix of the table names (default "e2e<pid>");
//                              the python test reads the tables afterwards
// Labelled e2e (a server is needed), not unit. Credentials are fixed fakes:
// DynamoDB Local checks none (run it with -sharedDb).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "aws/curl_http.h"
#include "aws/dynamodb.h"
#include "lease/dynamodb_lease_table.h"
#include "lease/lease_item.h"

namespace shardhose::lease {
namespace {

using aws::AttributeValue;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

class DynamoDbLeaseTableE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = Env("AWS_ENDPOINT_URL_DYNAMODB");
    if (endpoint_.empty()) GTEST_SKIP() << "AWS_ENDPOINT_URL_DYNAMODB is not set (no DynamoDB to test against)";
    prefix_ = Env("DYNAMODB_E2E_PREFIX");
    if (prefix_.empty()) prefix_ = "e2e" + std::to_string(getpid());
    http_ = aws::NewCurlHttpClient();
    creds_ = aws::NewStaticCredentialsProvider(aws::Credentials{"AKIDLOCAL", "local-secret", "", std::nullopt});
    aws::DynamoDbOptions o;
    o.region = "us-east-1";
    o.endpoint_url = endpoint_;
    client_ = std::make_unique<aws::DynamoDbClient>(o, http_.get(), creds_.get(), Clock::Real());
  }

  // A lease table named <prefix>-<name>, made and ACTIVE.
  std::unique_ptr<LeaseTable> Table(const std::string& name, int scan_limit = 0) {
    DynamoDbLeaseTableOptions o;
    o.table = TableName(name);
    o.ensure_poll = std::chrono::milliseconds(100);
    o.scan_limit = scan_limit;
    auto t = NewDynamoDbLeaseTable(o, client_.get(), Clock::Real());
    Status st = t->Ensure(true);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return t;
  }
  std::string TableName(const std::string& name) const { return prefix_ + "-" + name; }

  static Lease NewLease(const std::string& key) {
    Lease l;
    l.key = key;
    l.parents = {"shardId-p1", "shardId-p0"};
    std::sort(l.parents.begin(), l.parents.end());
    l.starting_hash_key = "0";
    l.ending_hash_key = "340282366920938463463374607431768211455";
    return l;
  }

  std::string endpoint_, prefix_;
  std::unique_ptr<aws::HttpClient> http_;
  std::unique_ptr<aws::CredentialsProvider> creds_;
  std::unique_ptr<aws::DynamoDbClient> client_;
};

void ExpectRefused(const Status& st) {
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(st.peer_code(), "ConditionalCheckFailedException") << st.ToString();
  EXPECT_FALSE(st.IsRetryable());
}

TEST_F(DynamoDbLeaseTableE2e, EnsureCreatesBothTables) {
  DynamoDbLeaseTableOptions o;
  o.table = TableName("ensure");
  o.ensure_poll = std::chrono::milliseconds(100);
  auto t = NewDynamoDbLeaseTable(o, client_.get(), Clock::Real());
  EXPECT_EQ(t->Describe(), "dynamodb table " + o.table + " (us-east-1)");

  Status missing = t->Ensure(false);
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_NE(missing.message().find(o.table), std::string::npos) << missing.ToString();

  ASSERT_TRUE(t->Ensure(true).ok());
  for (const std::string& name : {o.table, WorkersTableName(o.table)}) {
    auto info = client_->DescribeTable(name);
    ASSERT_TRUE(info.ok()) << name << ": " << info.status().ToString();
    EXPECT_EQ(info->status, "ACTIVE");
    EXPECT_EQ(info->billing_mode, "PAY_PER_REQUEST");
  }
  EXPECT_TRUE(t->Ensure(true).ok());   // both exist: nothing to do
  EXPECT_TRUE(t->Ensure(false).ok());  // and nothing is needed
  auto none = t->List();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(DynamoDbLeaseTableE2e, CreateGetAndCreateTwice) {
  auto t = Table("create");
  Lease l = NewLease("shardId-000000000000");
  l.checkpoint = kAtTimestamp;
  l.start_ms = 1716200000123;
  ASSERT_TRUE(t->Create(l).ok());
  auto got = t->Get(l.key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, l);

  Lease again = l;
  again.checkpoint = "49590338271490256608559692538361571095921575989136588898";
  ExpectRefused(t->Create(again));
  EXPECT_EQ((**t->Get(l.key)).checkpoint, kAtTimestamp);  // untouched

  auto absent = t->Get("shardId-nope");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
}

TEST_F(DynamoDbLeaseTableE2e, TransferIsConditionalOnCounterAndOwner) {
  auto t = Table("transfer");
  // "shardId-release" is read back by the python test: released, counter 3.
  const Lease created = NewLease("shardId-release");
  ASSERT_TRUE(t->Create(created).ok());

  // A released lease: the condition is that nobody owns it.
  Lease wrong_owner = created;
  wrong_owner.owner = "w9";
  ExpectRefused(t->Transfer(wrong_owner, "w1").status());
  Lease stale = created;
  stale.counter = 7;
  ExpectRefused(t->Transfer(stale, "w1").status());

  auto w1 = t->Transfer(created, "w1");
  ASSERT_TRUE(w1.ok()) << w1.status().ToString();
  EXPECT_EQ(w1->owner, "w1");
  EXPECT_EQ(w1->counter, 1);
  EXPECT_EQ(w1->owner_switches, 0);  // taken while released: no switch
  EXPECT_EQ(w1->parents, created.parents);
  EXPECT_EQ(**t->Get(created.key), *w1);

  ExpectRefused(t->Transfer(created, "w2").status());  // what w1 took is gone
  Lease not_owner = *w1;
  not_owner.owner = "w3";
  ExpectRefused(t->Transfer(not_owner, "w2").status());

  auto w2 = t->Transfer(*w1, "w2");  // stolen
  ASSERT_TRUE(w2.ok()) << w2.status().ToString();
  EXPECT_EQ(w2->owner, "w2");
  EXPECT_EQ(w2->counter, 2);
  EXPECT_EQ(w2->owner_switches, 1);

  auto released = t->Transfer(*w2, "");
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(released->owner, "");
  EXPECT_EQ(released->counter, 3);
  EXPECT_EQ(released->owner_switches, 1);
  // Released = no leaseOwner attribute at all (what KCL writes), not "".
  auto raw = client_->GetItem(TableName("transfer"), aws::Item{{"leaseKey", AttributeValue::S(created.key)}}, true);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  ASSERT_TRUE(raw->has_value());
  EXPECT_EQ((*raw)->count("leaseOwner"), 0u);
  EXPECT_EQ(aws::NumberOf(**raw, "leaseCounter"), 3);
  ExpectRefused(t->Transfer(*w2, "w2").status());  // w2's view is stale

  // Renewing one's own lease is a transfer to oneself: counter + 1 only.
  Lease other = NewLease("shardId-renew");
  ASSERT_TRUE(t->Create(other).ok());
  auto a = t->Transfer(other, "w1");
  ASSERT_TRUE(a.ok());
  auto b = t->Transfer(*a, "w1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->counter, 2);
  EXPECT_EQ(b->owner_switches, 0);

  // No lease at all: refused the same way.
  ExpectRefused(t->Transfer(NewLease("shardId-absent"), "w1").status());
}

TEST_F(DynamoDbLeaseTableE2e, UpdateIsFencedByTransfers) {
  auto t = Table("update");
  Lease l = NewLease("shardId-000000000001");
  ASSERT_TRUE(t->Create(l).ok());
  auto mine = t->Transfer(l, "w1");
  ASSERT_TRUE(mine.ok());

  Lease progress = *mine;
  progress.checkpoint = "49590338271490256608559692538361571095921575989136588898";
  progress.children = {"shardId-000000000007", "shardId-000000000008"};
  progress.caught_up_ms = 1716200000999;
  ASSERT_TRUE(t->Update(progress).ok());
  EXPECT_EQ(**t->Get(l.key), progress);

  // Someone else takes it: w1 can write nothing more.
  auto theirs = t->Transfer(*mine, "w2");
  ASSERT_TRUE(theirs.ok());
  Lease late = progress;
  late.checkpoint = "49590338271490256608559692538361571095921575989136589999";
  ExpectRefused(t->Update(late));
  EXPECT_EQ((**t->Get(l.key)).checkpoint, progress.checkpoint);

  // Nor can the new owner with a stale counter; with the current one it can.
  Lease stale = *theirs;
  stale.counter = progress.counter;
  ExpectRefused(t->Update(stale));
  ASSERT_EQ(theirs->owner_switches, 1);
  Lease same = *theirs;
  same.caught_up_ms = 1716200001000;  // progress at the same checkpoint
  ASSERT_TRUE(t->Update(same).ok());
  EXPECT_EQ((**t->Get(l.key)).owner_switches, 1);
  Lease next = *theirs;
  next.checkpoint = late.checkpoint;  // the checkpoint advances: switches back to 0
  next.children.clear();              // cleared values are removed
  ASSERT_TRUE(t->Update(next).ok());
  auto now = t->Get(l.key);
  ASSERT_TRUE(now.ok());
  next.owner_switches = 0;
  EXPECT_EQ(**now, next);
  auto raw = client_->GetItem(TableName("update"), aws::Item{{"leaseKey", AttributeValue::S(l.key)}}, true);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ((*raw)->count("childShardIds"), 0u);
  EXPECT_EQ(aws::StringOf(**raw, "leaseOwner"), "w2");

  // Released, nobody can update it.
  auto released = t->Transfer(next, "");
  ASSERT_TRUE(released.ok());
  ExpectRefused(t->Update(*released));
  next = *released;

  // Delete is conditional on the counter.
  ExpectRefused(t->Delete(*mine));
  ASSERT_TRUE(t->Delete(next).ok());
  EXPECT_FALSE(t->Get(l.key)->has_value());
}

TEST_F(DynamoDbLeaseTableE2e, ListFollowsEveryPage) {
  auto t = Table("paging", /*scan_limit=*/7);
  std::vector<std::string> want;
  for (int i = 0; i < 25; ++i) {
    Lease l = NewLease(fmt::format("shardId-{:012}", i));
    ASSERT_TRUE(t->Create(l).ok());
    want.push_back(l.key);
  }
  auto all = t->List();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<std::string> got;
  for (const auto& l : *all) got.push_back(l.key);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

TEST_F(DynamoDbLeaseTableE2e, ListFollowsOneMegabytePages) {
  // No Limit: DynamoDB ends a page at 1 MB. 12 items of ~120 KB need 2.
  auto t = Table("bigpages");
  const std::string pad(120 * 1024, 'x');
  for (int i = 0; i < 12; ++i) {
    aws::Item item = LeaseToItem(NewLease(fmt::format("shardId-{:012}", i)));
    item["pad"] = AttributeValue::S(pad);  // an attribute the mapping ignores
    ASSERT_TRUE(client_->PutItem(TableName("bigpages"), item).ok());
  }
  aws::ScanRequest req;
  req.consistent = true;
  auto first = client_->Scan(TableName("bigpages"), req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_LT(first->items.size(), 12u);
  EXPECT_FALSE(first->last_key.empty());
  auto all = t->List();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 12u);
}

TEST_F(DynamoDbLeaseTableE2e, Heartbeats) {
  auto t = Table("workers");
  ASSERT_TRUE(t->Heartbeat(WorkerBeat{"w1", 1, 3, 1716200000000}).ok());
  ASSERT_TRUE(t->Heartbeat(WorkerBeat{"w2", 1, 0, 1716200000100}).ok());
  ASSERT_TRUE(t->Heartbeat(WorkerBeat{"w1", 2, 4, 1716200010000}).ok());  // replaces w1's
  auto beats = t->ListWorkers();
  ASSERT_TRUE(beats.ok()) << beats.status().ToString();
  ASSERT_EQ(beats->size(), 2u);
  std::sort(beats->begin(), beats->end(), [](const auto& a, const auto& b) { return a.worker_id < b.worker_id; });
  EXPECT_EQ((*beats)[0].worker_id, "w1");
  EXPECT_EQ((*beats)[0].beat, 2);
  EXPECT_EQ((*beats)[0].leases, 4);
  EXPECT_EQ((*beats)[0].written_ms, 1716200010000);
  EXPECT_EQ((*beats)[1].worker_id, "w2");

  ASSERT_TRUE(t->RemoveWorker("w2").ok());
  ASSERT_TRUE(t->RemoveWorker("w-never").ok());  // nothing to remove is fine
  beats = t->ListWorkers();
  ASSERT_TRUE(beats.ok());
  ASSERT_EQ(beats->size(), 1u);
  EXPECT_EQ((*beats)[0].worker_id, "w1");
  // Heartbeats go to the workers table only.
  auto leases = t->List();
  ASSERT_TRUE(leases.ok());
  EXPECT_TRUE(leases->empty());
}

}  // namespace
}  // namespace shardhose::lease

// [coordination]: the keys of lease-table mode, their defaults and what
// validate refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "load_env.h"

namespace shardhose::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::LoadEnv;
using testing::Problems;
using ::testing::StartsWith;

TEST(Coordination, DefaultsAreLocalMode) {
  auto c = LoadEnv({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->coordination.mode, CoordinationMode::kLocal);
  EXPECT_TRUE(c->coordination.create_table);
  EXPECT_EQ(c->coordination.lease_duration_s, 10);
  EXPECT_EQ(c->coordination.max_leases_per_worker, 0);
  EXPECT_EQ(c->LeaseTableName(), "shardhose-orders-leases");
  EXPECT_EQ(CoordinationModeName(c->coordination.mode), "local");
}

TEST(Coordination, DynamoDbModeFromTheEnvironment) {
  auto c = LoadEnv({{"SHARDHOSE_COORDINATION_MODE", "dynamodb"},
                    {"SHARDHOSE_COORDINATION_TABLE", "orders.leases_v2"},
                    {"SHARDHOSE_COORDINATION_WORKER_ID", "pod-7"},
                    {"SHARDHOSE_COORDINATION_LEASE_DURATION_S", "20"},
                    {"SHARDHOSE_COORDINATION_MAX_LEASES_PER_WORKER", "64"},
                    {"AWS_REGION", "eu-west-1"},
                    {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->coordination.mode, CoordinationMode::kDynamoDb);
  EXPECT_EQ(c->LeaseTableName(), "orders.leases_v2");
  EXPECT_EQ(c->coordination.worker_id, "pod-7");
  EXPECT_EQ(c->coordination.lease_duration_s, 20);
  EXPECT_EQ(c->coordination.max_leases_per_worker, 64);
  EXPECT_EQ(c->coordination.endpoint_url, "http://127.0.0.1:8000");
  EXPECT_EQ(c->CoordinationRegion(), "eu-west-1") << "empty region = source.region";
}

TEST(Coordination, DefaultTableNameKeepsToDynamoDbsAlphabet) {
  Config c;
  c.source.stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders+eu";
  EXPECT_EQ(c.LeaseTableName(), "shardhose-orders-eu-leases");
  c.coordination.region = "us-west-2";
  c.source.region = "us-east-1";
  EXPECT_EQ(c.CoordinationRegion(), "us-west-2");
}

TEST(Coordination, BadValuesNameTheKey) {
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_MODE", "zookeeper"}}),
              ElementsAre(StartsWith("coordination.mode: must be one of local|dynamodb, got \"zookeeper\"")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_TABLE", "ab"}}),
              ElementsAre(StartsWith("coordination.table: must be 3 to 247 characters")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_TABLE", "my leases"}}),
              ElementsAre(StartsWith("coordination.table: may contain only letters, digits")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_ENDPOINT_URL", "localhost:8000"}}),
              ElementsAre(StartsWith("coordination.endpoint_url: must start with http:// or https://")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_WORKER_ID", "worker one"}}),
              ElementsAre(StartsWith("coordination.worker_id: may contain only printable ASCII")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_LEASE_DURATION_S", "1"}}),
              ElementsAre(StartsWith("coordination.lease_duration_s: must be between 2 and 3600, got 1")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_MAX_LEASES_PER_WORKER", "-1"}}),
              ElementsAre(HasSubstr("coordination.max_leases_per_worker: must be between 0 and 100000")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_CREATE_TABLE", "maybe"}}),
              ElementsAre(StartsWith("coordination.create_table: ")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATON_MODE", "dynamodb"}}),
              ElementsAre(HasSubstr("did you mean SHARDHOSE_COORDINATION_MODE?")));
  EXPECT_THAT(Problems({{"SHARDHOSE_COORDINATION_MODE", "dynamodb"}}), IsEmpty());
}

}  // namespace
}  // namespace shardhose::config

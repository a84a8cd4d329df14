// `shardhose leases`: its renderers over a fixed view (the command itself
// runs against DynamoDB Local in tests/e2e/test_lease_table.py).
#include "leases_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace shardhose::daemon {
namespace {

using ::testing::HasSubstr;

LeasesView View() {
  LeasesView v;
  v.table = "dynamodb table orders-leases (us-east-1)";
  v.now_ms = 1700000100000;
  lease::Lease a;
  a.key = "shardId-000000000000";
  a.owner = "worker-a";
  a.counter = 7;
  a.checkpoint = "49590338271490256608559692538361571095921575989136588898";
  a.caught_up_ms = 1700000097000;
  a.journal.resize(2);
  lease::Lease b;
  b.key = "shardId-000000000001";
  b.counter = 3;
  b.checkpoint = lease::kShardEnd;
  b.children = {"shardId-000000000002"};
  lease::Lease c;
  c.key = "shardId-000000000002";
  c.parents = {"shardId-000000000000", "shardId-000000000001"};
  v.leases = {a, b, c};
  v.workers = {{"worker-a", 41, 1, 1700000099000}};
  v.stream.closed = {{"shardId-000000000000", false}, {"shardId-000000000001", true}};
  v.stream.lag = {{"shardId-000000000000", {1500, false}}};
  return v;
}

TEST(LeasesRender, TextHasOneRowPerLeaseAndWorker) {
  const std::string out = RenderLeasesText(View());
  EXPECT_THAT(out, HasSubstr("dynamodb table orders-leases (us-east-1): 3 leases (1 finished, 1 free), 1 workers"));
  EXPECT_THAT(out, ::testing::ContainsRegex("shardId-000000000000 +open +worker-a +7 +1.5 s +3 s ago +2 +- +4959"));
  EXPECT_THAT(out,
              ::testing::ContainsRegex("shardId-000000000001 +finished +\\(free\\) +3 +- +never +0 +- +SHARD_END"));
  // Open, not listed by a stream that answered: gone; no lag read.
  EXPECT_THAT(out, ::testing::ContainsRegex("shardId-000000000002 +gone +\\(free\\) +0 +\\? +never +0 "
                                            "+shardId-000000000000\\+shardId-000000000001 +TRIM_HORIZON"));
  EXPECT_THAT(out, ::testing::ContainsRegex("worker-a +1 +1 s ago"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("not reachable")));

  LeasesView v = View();
  v.stream = {};
  v.stream.unreachable = "Unavailable: connect refused";
  const std::string down = RenderLeasesText(v);
  EXPECT_THAT(down, ::testing::ContainsRegex("shardId-000000000000 +\\? +worker-a"));
  EXPECT_THAT(down, HasSubstr("(stream not reachable, lag unknown: Unavailable: connect refused)"));
}

TEST(LeasesRender, JsonIsOneObjectWithEveryField) {
  const std::string out = RenderLeasesJson(View());
  ASSERT_EQ(out.back(), '\n');
  rapidjson::Document d;
  d.Parse(out.c_str());
  ASSERT_FALSE(d.HasParseError()) << out;
  EXPECT_STREQ(d["table"].GetString(), "dynamodb table orders-leases (us-east-1)");
  EXPECT_EQ(d["now_ms"].GetInt64(), 1700000100000);
  EXPECT_TRUE(d["stream_unreachable"].IsNull());
  const auto& l = d["leases"].GetArray();
  ASSERT_EQ(l.Size(), 3u);
  EXPECT_STREQ(l[0]["owner"].GetString(), "worker-a");
  EXPECT_EQ(l[0]["counter"].GetInt64(), 7);
  EXPECT_STREQ(l[0]["stream_state"].GetString(), "open");
  EXPECT_EQ(l[0]["millis_behind"].GetInt64(), 1500);
  EXPECT_FALSE(l[0]["caught_up"].GetBool());
  EXPECT_EQ(l[0]["caught_up_at_ms"].GetInt64(), 1700000097000);
  EXPECT_EQ(l[0]["pending_cuts"].GetUint64(), 2u);
  EXPECT_TRUE(l[1]["owner"].IsNull());
  EXPECT_TRUE(l[1]["finished"].GetBool());
  EXPECT_STREQ(l[1]["checkpoint"].GetString(), "SHARD_END");
  EXPECT_STREQ(l[1]["children"][0].GetString(), "shardId-000000000002");
  EXPECT_TRUE(l[1]["caught_up_at_ms"].IsNull());
  EXPECT_STREQ(l[2]["stream_state"].GetString(), "gone");
  EXPECT_TRUE(l[2]["millis_behind"].IsNull());
  EXPECT_TRUE(l[2]["caught_up"].IsNull());
  EXPECT_EQ(l[2]["parents"].Size(), 2u);
  const auto& w = d["workers"].GetArray();
  ASSERT_EQ(w.Size(), 1u);
  EXPECT_STREQ(w[0]["worker_id"].GetString(), "worker-a");
  EXPECT_EQ(w[0]["beat"].GetInt64(), 41);
  EXPECT_EQ(w[0]["leases"].GetInt64(), 1);
  EXPECT_EQ(w[0]["written_ms"].GetInt64(), 1700000099000);
}

}  // namespace
}  // namespace shardhose::daemon

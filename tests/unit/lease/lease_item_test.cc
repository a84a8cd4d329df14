#include "lease/lease_item.h"

#include <gtest/gtest.h>

namespace shardhose::lease {
namespace {

using aws::AttributeValue;

Lease Full() {
  Lease l;
  l.key = "shardId-000000000002";
  l.owner = "worker-a";
  l.counter = 17;
  l.checkpoint = "49590338271512557353758223161503106772880289227698159650";
  l.checkpoint_sub = 3;
  l.owner_switches = 2;
  l.parents = {"shardId-000000000000", "shardId-000000000001"};
  l.children = {"shardId-000000000005"};
  l.starting_hash_key = "0";
  l.ending_hash_key = "170141183460469231731687303715884105727";
  l.start_ms = 1795384607123;
  l.caught_up_ms = 1795384609000;
  checkpoint::PendingCut cut;
  cut.partition = "table=orders/dt=2026-12-04";
  cut.key = "orders/dt=2026-12-04/part-1.ndjson.gz";
  cut.uploaded = true;
  cut.ranges["shardId-000000000002"] = {"100", "200.3"};
  l.journal = {cut};
  return l;
}

TEST(LeaseItem, RoundTripFull) {
  const Lease l = Full();
  const aws::Item item = LeaseToItem(l);
  EXPECT_EQ(item.at("leaseKey"), AttributeValue::S(l.key));
  EXPECT_EQ(item.at("leaseOwner"), AttributeValue::S("worker-a"));
  EXPECT_EQ(item.at("leaseCounter"), AttributeValue::N(17));
  EXPECT_EQ(item.at("parentShardId").type, AttributeValue::Type::kSS);
  EXPECT_EQ(item.at("childShardIds").ss, l.children);
  EXPECT_EQ(item.at("shJournal").type, AttributeValue::Type::kS);
  Result<Lease> back = LeaseFromItem(item);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, l);
}

TEST(LeaseItem, RoundTripMinimalLeavesOptionalAttributesOut) {
  Lease l;
  l.key = "shardId-000000000000";
  const aws::Item item = LeaseToItem(l);
  // Released: no leaseOwner; no empty sets (DynamoDB refuses them); no sh*.
  EXPECT_EQ(item.size(), 5u);
  for (const char* name :
       {"leaseKey", "leaseCounter", "checkpoint", "checkpointSubSequenceNumber", "ownerSwitchesSinceCheckpoint"}) {
    EXPECT_TRUE(item.count(name)) << name;
  }
  EXPECT_EQ(item.at("checkpoint"), AttributeValue::S("TRIM_HORIZON"));
  Result<Lease> back = LeaseFromItem(item);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, l);
}

// As KCL 2.x's DynamoDBLeaseSerializer.toDynamoRecord writes a lease (and
// KCL 3.x adds throughputKBps, checkpointOwner, entityType, ...).
aws::Item KclItem() {
  aws::Item item;
  item["leaseKey"] = AttributeValue::S("shardId-000000000007");
  item["leaseCounter"] = AttributeValue::N(4242);
  item["leaseOwner"] = AttributeValue::S("ip-10-0-0-1:6d1c4c8e-kcl-worker");
  item["ownerSwitchesSinceCheckpoint"] = AttributeValue::N(1);
  item["checkpoint"] = AttributeValue::S("49590338271490256608559692538361571095921575989136588802");
  item["checkpointSubSequenceNumber"] = AttributeValue::N(0);
  item["parentShardId"] = AttributeValue::SS({"shardId-000000000003"});
  item["childShardIds"] = AttributeValue::SS({"shardId-000000000009", "shardId-000000000008"});
  item["pendingCheckpoint"] = AttributeValue::S("49590338271490256608559692538361571095921575989136589000");
  item["pendingCheckpointSubSequenceNumber"] = AttributeValue::N(0);
  item["pendingCheckpointState"] = AttributeValue::B(std::string("\x00\x01", 2));
  item["startingHashKey"] = AttributeValue::S("85070591730234615865843651857942052864");
  item["endingHashKey"] = AttributeValue::S("170141183460469231731687303715884105727");
  item["throughputKBps"] = {AttributeValue::Type::kN, "12.75", {}, false};  // a double
  item["checkpointOwner"] = AttributeValue::S("ip-10-0-0-2:other");
  item["leaseTableVersion"] = AttributeValue::N(3);
  item["entityType"] = AttributeValue::S("LEASE");
  item["someFlag"] = AttributeValue::Bool(true);
  return item;
}

TEST(LeaseItem, KclWrittenItemDecodesIgnoringUnknownAttributes) {
  Result<Lease> l = LeaseFromItem(KclItem());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->key, "shardId-000000000007");
  EXPECT_EQ(l->owner, "ip-10-0-0-1:6d1c4c8e-kcl-worker");
  EXPECT_EQ(l->counter, 4242);
  EXPECT_EQ(l->owner_switches, 1);
  EXPECT_EQ(l->checkpoint, "49590338271490256608559692538361571095921575989136588802");
  EXPECT_EQ(l->parents, std::vector<std::string>{"shardId-000000000003"});
  EXPECT_EQ(l->children, (std::vector<std::string>{"shardId-000000000008", "shardId-000000000009"}));
  EXPECT_EQ(l->starting_hash_key, "85070591730234615865843651857942052864");
  EXPECT_EQ(l->start_ms, 0);
  EXPECT_TRUE(l->journal.empty());
  EXPECT_TRUE(IsLeaseItem(KclItem()));
}

TEST(LeaseItem, KclSentinelsAndReleasedLease) {
  for (const char* sentinel : {kTrimHorizon, kLatest, kAtTimestamp, kShardEnd}) {
    aws::Item item = KclItem();
    item["checkpoint"] = AttributeValue::S(sentinel);
    item.erase("leaseOwner");  // KCL evicts by deleting the attribute
    Result<Lease> l = LeaseFromItem(item);
    ASSERT_TRUE(l.ok()) << sentinel << ": " << l.status().ToString();
    EXPECT_EQ(l->checkpoint, sentinel);
    EXPECT_EQ(l->owner, "");
    EXPECT_EQ(l->finished(), std::string(sentinel) == kShardEnd);
    EXPECT_EQ(*LeaseFromItem(LeaseToItem(*l)), *l);
  }
}

TEST(LeaseItem, OldKclItemWithoutOptionalNumbers) {
  aws::Item item;
  item["leaseKey"] = AttributeValue::S("shardId-000000000001");
  item["leaseCounter"] = AttributeValue::N(1);
  item["checkpoint"] = AttributeValue::S("LATEST");
  Result<Lease> l = LeaseFromItem(item);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->checkpoint_sub, 0);
  EXPECT_EQ(l->owner_switches, 0);
  EXPECT_TRUE(l->parents.empty());
}

TEST(LeaseItem, NonLeaseEntityIsNotALease) {
  aws::Item item = KclItem();
  item["entityType"] = AttributeValue::S("LEADER");
  EXPECT_FALSE(IsLeaseItem(item));
  EXPECT_TRUE(LeaseFromItem(item).status().IsInvalidArgument());
}

std::string ErrorOf(const aws::Item& item) {
  Result<Lease> l = LeaseFromItem(item);
  if (l.ok()) return "";
  EXPECT_TRUE(l.status().IsCorruption()) << l.status().ToString();
  return l.status().message();
}

TEST(LeaseItem, MalformedAttributesAreCorruptionNamingLeaseAndAttribute) {
  aws::Item base = LeaseToItem(Full());
  auto with = [&](const char* name, AttributeValue v) {
    aws::Item i = base;
    i[name] = std::move(v);
    return i;
  };
  auto without = [&](const char* name) {
    aws::Item i = base;
    i.erase(name);
    return i;
  };
  const std::string lease = "lease shardId-000000000002: attribute ";
  EXPECT_EQ(ErrorOf(with("shJournal", AttributeValue::S("[{]"))).rfind(lease + "shJournal: cuts: JSON error", 0), 0u)
      << ErrorOf(with("shJournal", AttributeValue::S("[{]")));
  EXPECT_EQ(ErrorOf(with("shJournal", AttributeValue::N(3))), lease + "shJournal: is of type N, expected S");
  EXPECT_EQ(ErrorOf(with("shStartMs", AttributeValue::S("x"))), lease + "shStartMs: is of type S, expected N");
  EXPECT_EQ(ErrorOf(with("shCaughtUpMs", {AttributeValue::Type::kN, "1.5", {}, false})),
            lease + "shCaughtUpMs: \"1.5\" is not a 64-bit integer");
  EXPECT_EQ(ErrorOf(with("checkpoint", AttributeValue::S("SOMEWHERE"))),
            lease + "checkpoint: \"SOMEWHERE\" is neither a sequence number nor a sentinel");
  EXPECT_EQ(ErrorOf(with("leaseOwner", AttributeValue::S(""))), lease + "leaseOwner: empty");
  EXPECT_EQ(ErrorOf(with("leaseCounter", AttributeValue::N(-1))), lease + "leaseCounter: negative");
  EXPECT_EQ(ErrorOf(with("parentShardId", AttributeValue::S("p"))), lease + "parentShardId: is of type S, expected SS");
  EXPECT_EQ(ErrorOf(without("leaseCounter")), lease + "leaseCounter: missing");
  EXPECT_EQ(ErrorOf(without("checkpoint")), lease + "checkpoint: missing");
  EXPECT_EQ(ErrorOf(without("leaseKey")), "lease ?: attribute leaseKey: missing");
}

}  // namespace
}  // namespace shardhose::lease

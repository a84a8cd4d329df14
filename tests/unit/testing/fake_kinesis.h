// File: testing/fake_kinesis.h
//
// FakeKinesis: an in-memory Kinesis stream behind poll::KinesisClient, for
// tests that run the pipeline (or a reader) without a network.
//
// What it emulates: shards with sequence numbers from one stream-wide
// counter (starting at 1000), parents and children, closing (a closed
// shard's last page has no NextShardIterator and names its ChildShards),
// retention (Trim drops the oldest records; gone_after_first_list makes a
// shard vanish after the first ListShards: every later call on it is
// ResourceNotFoundException). Iterators are "<shard>|<index of the next
// record>" and never expire on their own. GetRecords answers at most 7
// records (and at most `limit`) as a real GetRecords JSON body parsed by
// poll::ParseGetRecords, MillisBehindLatest 0 at the end of a shard and
// 1000 before it.
//
// Fault injection: every throttle_every-th GetRecords call answers
// ProvisionedThroughputExceededException (kThrottled), every
// expire_every-th ExpiredIteratorException (kClientError); 0 = never.
//
// Outage: while `failure` is not OK, every call (DescribeStreamSummary
// too) answers it: SetFailure(Status::Unavailable(..).WithPeer(kNetwork,
// "")) is an unreachable endpoint, a kClientError one a permanent refusal.
//
// What it counts: get_records_calls (every call, faults included),
// list_calls, and `calls`, one "GetRecords <shard> <first index> <n>" line
// per GetRecords call that returned records (or none).
//
// Thread-safety: every method takes `mu`; the public fields may be read or
// set without it only while no other thread uses the fake.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "poll/kinesis_client.h"

namespace shardhose::test {

struct FakeRecord {
  std::string seq;
  std::string data;  // raw bytes
};

struct FakeShard {
  poll::ShardInfo info;
  std::vector<FakeRecord> records;
  bool closed = false;
  std::vector<poll::ShardInfo> children;
};

// An in-memory stream. Iterators are "<shard>|<index>".
class FakeKinesis : public poll::KinesisClient {
 public:
  std::mutex mu;
  std::map<std::string, FakeShard> shards;
  std::vector<std::string> calls;  // "GetRecords <shard> <first index> <n>"
  int throttle_every = 0;          // every Nth GetRecords is throttled
  int expire_every = 0;            // every Nth GetRecords says the iterator expired
  int get_records_calls = 0;
  uint64_t next_seq = 1000;
  // Listed by the first ListShards only, then past retention: ListShards
  // stops naming them and every call on them is ResourceNotFoundException.
  std::set<std::string> gone_after_first_list;
  int list_calls = 0;
  Status failure;  // see above; set with SetFailure() while the fake is in use

  void SetFailure(Status st) {
    std::lock_guard<std::mutex> lock(mu);
    failure = std::move(st);
  }

  // Adds an open, empty shard (starting at the next sequence number).
  void AddShard(const std::string& id, const std::string& parent = "", const std::string& adjacent = "");
  // Appends a record with the next sequence number.
  void Put(const std::string& shard, std::string data);
  // Retention passes: the oldest n records of the shard expire.
  void Trim(const std::string& shard, size_t n);
  // Closes the shard (ending_seq = the next sequence number). Copies each
  // child's ShardInfo now, so add the children (AddShard) first.
  void Close(const std::string& shard, std::vector<std::string> children);

  Result<poll::StreamSummary> DescribeStreamSummary(const poll::StreamRef& s) override;
  Result<std::vector<poll::ShardInfo>> ListShards(const poll::StreamRef&) override;
  Result<std::string> GetShardIterator(const poll::StreamRef&, const std::string& shard,
                                       const poll::IteratorStart& start) override;
  Status GetRecords(const poll::StreamRef&, const std::string& iterator, int limit, poll::RecordsPage* page) override;
};

}  // namespace shardhose::test

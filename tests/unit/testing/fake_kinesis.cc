#include "testing/fake_kinesis.h"

#include <algorithm>

#include "common/base64.h"
#include "common/seqnum.h"

namespace shardhose::test {

void FakeKinesis::AddShard(const std::string& id, const std::string& parent, const std::string& adjacent) {
  std::lock_guard<std::mutex> lock(mu);
  FakeShard s;
  s.info.id = id;
  s.info.parent = parent;
  s.info.adjacent_parent = adjacent;
  s.info.starting_seq = std::to_string(next_seq);
  shards[id] = s;
}

void FakeKinesis::Put(const std::string& shard, std::string data) {
  std::lock_guard<std::mutex> lock(mu);
  shards[shard].records.push_back({std::to_string(next_seq++), std::move(data)});
}

void FakeKinesis::Trim(const std::string& shard, size_t n) {
  std::lock_guard<std::mutex> lock(mu);
  auto& r = shards[shard].records;
  r.erase(r.begin(), r.begin() + static_cast<long>(std::min(n, r.size())));
}

void FakeKinesis::Close(const std::string& shard, std::vector<std::string> children) {
  std::lock_guard<std::mutex> lock(mu);
  FakeShard& s = shards[shard];
  s.closed = true;
  s.info.ending_seq = std::to_string(next_seq++);
  for (auto& c : children) s.children.push_back(shards[c].info);
}

Result<poll::StreamSummary> FakeKinesis::DescribeStreamSummary(const poll::StreamRef& s) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!failure.ok()) return failure;
  }
  poll::StreamSummary out;
  out.name = s.name;
  out.arn = "arn:aws:kinesis:us-east-1:000000000000:stream/" + s.name;
  out.status = "ACTIVE";
  return out;
}

Result<std::vector<poll::ShardInfo>> FakeKinesis::ListShards(const poll::StreamRef&) {
  std::lock_guard<std::mutex> lock(mu);
  if (!failure.ok()) return failure;
  ++list_calls;
  std::vector<poll::ShardInfo> out;
  for (auto& [id, s] : shards) {
    if (list_calls > 1 && gone_after_first_list.count(id)) continue;
    out.push_back(s.info);
  }
  return out;
}

Result<std::string> FakeKinesis::GetShardIterator(const poll::StreamRef&, const std::string& shard,
                                                  const poll::IteratorStart& start) {
  std::lock_guard<std::mutex> lock(mu);
  if (!failure.ok()) return failure;
  if (gone_after_first_list.count(shard)) {
    return Status::NotFound("Shard " + shard + " does not exist")
        .WithPeer(RetryClass::kClientError, "ResourceNotFoundException");
  }
  const FakeShard& s = shards.at(shard);
  size_t index = 0;
  if (start.type == poll::IteratorType::kAfterSequenceNumber) {
    while (index < s.records.size() && CompareSeq(s.records[index].seq, start.sequence) <= 0) ++index;
  } else if (start.type == poll::IteratorType::kAtSequenceNumber) {
    while (index < s.records.size() && CompareSeq(s.records[index].seq, start.sequence) < 0) ++index;
  }
  return shard + "|" + std::to_string(index);
}

Status FakeKinesis::GetRecords(const poll::StreamRef&, const std::string& iterator, int limit,
                               poll::RecordsPage* page) {
  std::lock_guard<std::mutex> lock(mu);
  ++get_records_calls;
  if (!failure.ok()) return failure;
  if (throttle_every && get_records_calls % throttle_every == 0) {
    return Status::Unavailable("Rate exceeded")
        .WithPeer(RetryClass::kThrottled, "ProvisionedThroughputExceededException");
  }
  if (expire_every && get_records_calls % expire_every == 0) {
    return Status::InvalidArgument("expired").WithPeer(RetryClass::kClientError, "ExpiredIteratorException");
  }
  auto bar = iterator.find('|');
  std::string shard = iterator.substr(0, bar);
  size_t index = std::stoul(iterator.substr(bar + 1));
  const FakeShard& s = shards.at(shard);
  size_t n = std::min<size_t>(static_cast<size_t>(limit), std::min<size_t>(7, s.records.size() - index));
  calls.push_back("GetRecords " + shard + " " + std::to_string(index) + " " + std::to_string(n));
  std::string body = "{\"Records\":[";
  for (size_t i = index; i < index + n; ++i) {
    if (i > index) body += ',';
    body += "{\"Data\":\"" + Base64Encode(s.records[i].data) + "\",\"PartitionKey\":\"pk\",\"SequenceNumber\":\"" +
            s.records[i].seq + "\",\"ApproximateArrivalTimestamp\":1716200000.5}";
  }
  body += "]";
  const bool at_end = index + n == s.records.size();
  if (!(at_end && s.closed)) body += ",\"NextShardIterator\":\"" + shard + "|" + std::to_string(index + n) + "\"";
  body += ",\"MillisBehindLatest\":" + std::string(at_end ? "0" : "1000");
  if (at_end && s.closed) {
    body += ",\"ChildShards\":[";
    for (size_t i = 0; i < s.children.size(); ++i) {
      if (i) body += ',';
      const poll::ShardInfo& c = s.children[i];
      body += "{\"ShardId\":\"" + c.id + "\",\"ParentShards\":[\"" + c.parent + "\"";
      if (!c.adjacent_parent.empty()) body += ",\"" + c.adjacent_parent + "\"";
      body += "]}";
    }
    body += "]";
  }
  body += "}";
  page->body = std::move(body);
  return poll::ParseGetRecords(page);
}

}  // namespace shardhose::test

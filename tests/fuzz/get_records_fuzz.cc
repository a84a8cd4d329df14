// get_records_fuzz: poll::ParseGetRecords on the input as a response body,
// against a reference reading of the same body with rapidjson's DOM (the
// reading ParseGetRecords had before it became a SAX handler).
//
// Invariants (kinesis_client.h): never crashes; on success every record view
// points inside the page's own body, has a non-empty sequence number, and
// data_bytes is the sum of the Data lengths; on failure the message is
// non-empty. Differential: the same status (message included) as the DOM
// reading and, on success, the same records, iterator, continuation,
// millis behind and child shards.
#include <rapidjson/document.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "poll/kinesis_client.h"
#include "poll/kinesis_request.h"

namespace {

using shardhose::Status;
using shardhose::poll::JsonString;
using shardhose::poll::KinesisRecordView;
using shardhose::poll::RecordsPage;
using shardhose::poll::ShardInfo;

bool Inside(std::string_view v, const std::string& body) {
  if (v.empty()) return true;
  return v.data() >= body.data() && v.data() + v.size() <= body.data() + body.size();
}

// The reference: a DOM parsed in situ, read with FindMember.
Status ReferenceParse(RecordsPage* page) {
  rapidjson::Document d;
  shardhose::poll::ParseJsonInPlace(page->body, &d);
  if (d.HasParseError() || !d.IsObject()) return Status::Internal("GetRecords: answer is not JSON");
  auto recs = d.FindMember("Records");
  if (recs == d.MemberEnd() || !recs->value.IsArray()) return Status::Internal("GetRecords: answer has no Records");
  for (const auto& r : recs->value.GetArray()) {
    if (!r.IsObject()) return Status::Internal("GetRecords: record is not an object");
    KinesisRecordView v;
    auto get = [&](const char* name) -> std::string_view {
      auto m = r.FindMember(name);
      if (m == r.MemberEnd() || !m->value.IsString()) return {};
      return {m->value.GetString(), m->value.GetStringLength()};
    };
    v.data_base64 = get("Data");
    v.sequence_number = get("SequenceNumber");
    v.partition_key = get("PartitionKey");
    auto ts = r.FindMember("ApproximateArrivalTimestamp");
    if (ts != r.MemberEnd() && ts->value.IsNumber()) {
      v.arrival_ms = static_cast<int64_t>(std::llround(ts->value.GetDouble() * 1000.0));
    }
    if (v.sequence_number.empty()) return Status::Internal("GetRecords: record without SequenceNumber");
    page->data_bytes += v.data_base64.size();
    page->records.push_back(v);
  }
  page->next_iterator = JsonString(d, "NextShardIterator");
  page->continuation_seq = JsonString(d, "ContinuationSequenceNumber");
  auto behind = d.FindMember("MillisBehindLatest");
  if (behind != d.MemberEnd() && behind->value.IsInt64()) page->millis_behind = behind->value.GetInt64();
  auto children = d.FindMember("ChildShards");
  if (children != d.MemberEnd() && children->value.IsArray()) {
    for (const auto& c : children->value.GetArray()) {
      if (!c.IsObject()) continue;
      ShardInfo s;
      s.id = JsonString(c, "ShardId");
      auto parents = c.FindMember("ParentShards");
      if (parents != c.MemberEnd() && parents->value.IsArray()) {
        const auto& p = parents->value;
        if (p.Size() > 0 && p[0].IsString()) s.parent = p[0].GetString();
        if (p.Size() > 1 && p[1].IsString()) s.adjacent_parent = p[1].GetString();
      }
      if (!s.id.empty()) page->child_shards.push_back(std::move(s));
    }
  }
  return Status::OK();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RecordsPage page;
  page.body.assign(reinterpret_cast<const char*>(data), size);
  auto st = shardhose::poll::ParseGetRecords(&page);
  RecordsPage ref;
  ref.body.assign(reinterpret_cast<const char*>(data), size);
  const Status want = ReferenceParse(&ref);
  FUZZ_CHECK(st.ok() == want.ok(), "accepted where the DOM reading refused, or the reverse");
  FUZZ_CHECK(st.message() == want.message(), "another error than the DOM reading's");
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), "rejection without a message");
    return 0;
  }
  FUZZ_CHECK(page.records.size() == ref.records.size(), "another record count than the DOM reading's");
  uint64_t bytes = 0;
  for (size_t i = 0; i < page.records.size(); ++i) {
    const auto& r = page.records[i];
    const auto& w = ref.records[i];
    FUZZ_CHECK(Inside(r.data_base64, page.body), "Data view outside the body");
    FUZZ_CHECK(Inside(r.sequence_number, page.body), "SequenceNumber view outside the body");
    FUZZ_CHECK(Inside(r.partition_key, page.body), "PartitionKey view outside the body");
    FUZZ_CHECK(!r.sequence_number.empty(), "record without a sequence number");
    FUZZ_CHECK(r.data_base64 == w.data_base64 && r.sequence_number == w.sequence_number &&
                   r.partition_key == w.partition_key && r.arrival_ms == w.arrival_ms,
               "a record differs from the DOM reading's");
    bytes += r.data_base64.size();
  }
  FUZZ_CHECK(bytes == page.data_bytes, "data_bytes is not the sum of the Data lengths");
  FUZZ_CHECK(page.data_bytes == ref.data_bytes, "data_bytes differs from the DOM reading's");
  FUZZ_CHECK(page.next_iterator == ref.next_iterator, "NextShardIterator differs from the DOM reading's");
  FUZZ_CHECK(page.continuation_seq == ref.continuation_seq, "ContinuationSequenceNumber differs");
  FUZZ_CHECK(page.millis_behind == ref.millis_behind, "MillisBehindLatest differs from the DOM reading's");
  FUZZ_CHECK(page.child_shards.size() == ref.child_shards.size(), "another child count than the DOM reading's");
  for (size_t i = 0; i < page.child_shards.size(); ++i) {
    const auto& c = page.child_shards[i];
    const auto& w = ref.child_shards[i];
    FUZZ_CHECK(!c.id.empty(), "child shard without an id");
    FUZZ_CHECK(c.id == w.id && c.parent == w.parent && c.adjacent_parent == w.adjacent_parent,
               "a child shard differs from the DOM reading's");
  }
  // A reused page parses the same body to the same answer.
  const size_t n = page.records.size();
  page.body.assign(reinterpret_cast<const char*>(data), size);
  FUZZ_CHECK(shardhose::poll::ParseGetRecords(&page).ok(), "second parse of the same body failed");
  FUZZ_CHECK(page.records.size() == n, "second parse gave another record count");
  return 0;
}

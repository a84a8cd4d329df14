// File: poll/kinesis_client.h
//
// The Kinesis Data Streams calls shardhose makes, as an interface, and the
// values they take and return.
//
// Implementations:
//   NewKinesisClient    - poll/kinesis_api.h: the API itself over HTTP
//                         (GetRecords polling).
//   NewEfoKinesisClient - poll/efo_reader.h: enhanced fan-out
//                         (SubscribeToShard), decorating a polling client.
//
// Each method makes exactly ONE attempt, never sleeps and returns failures
// classified at the edge (aws/retry_class.h): the poller decides on
// retries from Status::retry_class() and Status::peer_code()
// ("ExpiredIteratorException", "ProvisionedThroughputExceededException",
// "ResourceNotFoundException", ...). ListShards returns every shard: an
// implementation that pages (the API's NextToken) makes one attempt per
// page, and a failed page fails the call.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "poll/record_view.h"

namespace shardhose::poll {

struct StreamRef {
  std::string name;  // one of name / arn is set
  std::string arn;
};

struct StreamSummary {
  std::string name;
  std::string arn;
  std::string status;  // CREATING | ACTIVE | UPDATING | DELETING
  int64_t retention_hours = 0;
  int64_t open_shards = 0;
};

struct ShardInfo {
  std::string id;
  std::string parent;           // "" if none
  std::string adjacent_parent;  // "" if none
  std::string starting_seq;
  std::string ending_seq;         // "" while the shard is open
  std::string starting_hash_key;  // HashKeyRange ("" if not listed): for the lease table
  std::string ending_hash_key;
  bool closed() const { return !ending_seq.empty(); }
};

enum class IteratorType { kTrimHorizon, kLatest, kAtTimestamp, kAfterSequenceNumber, kAtSequenceNumber };
// The API's name of a type: "TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER", ...
std::string_view IteratorTypeName(IteratorType t);

struct IteratorStart {
  IteratorType type = IteratorType::kTrimHorizon;
  std::string sequence;      // with kAfter/kAtSequenceNumber
  int64_t timestamp_ms = 0;  // with kAtTimestamp
};

// One GetRecords answer. `records` are views into `body`, which the page
// owns; they stay valid until the page is reused or destroyed.
struct RecordsPage {
  std::string body;
  std::vector<KinesisRecordView> records;
  std::string next_iterator;  // "" = the shard is closed and fully read
  int64_t millis_behind = 0;
  std::vector<ShardInfo> child_shards;  // id + parents, when the shard closed
  uint64_t data_bytes = 0;              // total base64 Data length
  std::string continuation_seq;         // SubscribeToShardEvent only (efo_reader.h)
};

class KinesisClient {
 public:
  virtual ~KinesisClient() = default;
  virtual Result<StreamSummary> DescribeStreamSummary(const StreamRef& stream) = 0;
  virtual Result<std::vector<ShardInfo>> ListShards(const StreamRef& stream) = 0;
  virtual Result<std::string> GetShardIterator(const StreamRef& stream, const std::string& shard_id,
                                               const IteratorStart& start) = 0;
  // Fills *page (reusing its buffers).
  virtual Status GetRecords(const StreamRef& stream, const std::string& iterator, int limit, RecordsPage* page) = 0;
};

// Parses a GetRecords response body in place (page->body; the records are
// views into it). Corruption if the body is not a GetRecords answer. Also
// parses a SubscribeToShardEvent payload (same fields, plus
// ContinuationSequenceNumber into continuation_seq, and no
// NextShardIterator).
//
// It lives with the interface, not with NewKinesisClient, because it is
// the wire format the implementations share: the polling client parses
// GetRecords answers with it, enhanced fan-out its SubscribeToShardEvent
// payloads, and the test and bench fakes their canned answers (so a fake's
// pages are built exactly as the real ones). Also exposed for the fuzzer.
Status ParseGetRecords(RecordsPage* page);

}  // namespace shardhose::poll

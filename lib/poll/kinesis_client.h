// File: poll/kinesis_client.h
//
// The Kinesis Data Streams calls shardhose makes, over the JSON protocol
// (POST /, X-Amz-Target: Kinesis_20131202.<Op>, SigV4 service "kinesis").
//
// Each method makes exactly ONE attempt, never sleeps and returns failures
// classified at the edge (aws/retry_class.h): the poller decides on
// retries from Status::retry_class() and Status::peer_code()
// ("ExpiredIteratorException", "ProvisionedThroughputExceededException",
// "ResourceNotFoundException", ...). ListShards follows NextToken paging
// itself (each page is one attempt; a failed page fails the call).
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
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
  std::string ending_seq;  // "" while the shard is open
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

struct KinesisOptions {
  std::string region = "us-east-1";
  std::string endpoint_url;  // "" = https://kinesis.<region>.amazonaws.com
  std::chrono::milliseconds timeout{30000};
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

// REQUIRES: http, creds and clock outlive the client.
std::unique_ptr<KinesisClient> NewKinesisClient(KinesisOptions options, aws::HttpClient* http,
                                                aws::CredentialsProvider* creds, Clock* clock);

// Parses a GetRecords response body in place (exposed for tests/bench).
// Corruption if the body is not a GetRecords answer. Also parses a
// SubscribeToShardEvent payload (same fields, plus ContinuationSequenceNumber
// into continuation_seq, and no NextShardIterator).
Status ParseGetRecords(RecordsPage* page);

}  // namespace shardhose::poll

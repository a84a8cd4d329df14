// File: poll/change_source.h
//
// What the pipeline asks of "a stream": who it is, its shards with their
// lineage, and a page of records from a position -- whatever API serves
// them. The pipeline reads every source the same way (poll/shard_set.h
// schedules the shards, parents before children).
//
// Implementations:
//   NewKinesisSource         - poll/kinesis_source.h: a Kinesis data
//                              stream, through a KinesisClient.
//   NewDynamoDbStreamsSource - poll/dynamodb_streams_source.h: a table's
//                              DynamoDB stream; its records are JSON, not
//                              base64.
//
// Each method makes ONE attempt and never sleeps; failures are classified
// at the edge (aws/retry_class.h) and the caller retries. GetRecords fills
// *page (reusing its buffers): records, the next iterator ("" once a closed
// shard is read to its end, with its children), and how far behind the tip
// the page is.
//
// Thread-safety: every method may be called concurrently, for different
// shards.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "poll/kinesis_client.h"

namespace shardhose::poll {

// How a source's records carry their change records.
enum class RecordFormat {
  // Kinesis Data Streams for DynamoDB: Data is the base64 of a change
  // record, possibly KPL-aggregated (decode/kpl.h).
  kKinesisDynamoDb,
  // DynamoDB Streams (poll/dynamodb_streams_source.h): each record view's
  // data is the stream record's JSON text as received; no KPL.
  kDynamoDbStreams,
};

// A source without MillisBehindLatest (page.millis_behind < 0: DynamoDB
// Streams): an open shard counts as caught up once its polls have stayed
// empty this long. An empty page alone is no proof -- the API may answer
// empty pages before a part that holds records -- and a change shows in
// the stream within about a second.
inline constexpr std::chrono::milliseconds kQuietCaughtUp{3000};

class ChangeSource {
 public:
  virtual ~ChangeSource() = default;
  // Name, ARN, retention; the name is what keys and error lines carry.
  virtual Result<StreamSummary> Describe() = 0;
  // Every shard the stream still has (open, and closed within retention).
  virtual Result<std::vector<ShardInfo>> ListShards() = 0;
  virtual Result<std::string> GetShardIterator(const std::string& shard_id, const IteratorStart& start) = 0;
  virtual Status GetRecords(const std::string& iterator, int limit, RecordsPage* page) = 0;
  virtual RecordFormat format() const = 0;
};

}  // namespace shardhose::poll

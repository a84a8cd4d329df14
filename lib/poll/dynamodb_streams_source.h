// File: poll/dynamodb_streams_source.h
//
// DynamoDB Streams as a ChangeSource (poll/change_source.h): a table's
// change feed read directly, no Kinesis stream in between. The API is the
// JSON 1.0 protocol (POST /, X-Amz-Target: DynamoDBStreams_20120810.<Op>,
// SigV4 service "dynamodb") at https://streams.dynamodb.<region>.amazonaws.com
// or `endpoint_url`:
//   Describe          DescribeStream (one page): StreamArn, StreamStatus
//                     (ENABLED/ENABLING -> "ACTIVE", DISABLED/DISABLING ->
//                     "DELETING": a disabled stream only drains), the table
//                     (from the ARN: keys and error lines name it), 24 h
//                     retention (the API's, fixed);
//   ListShards        DescribeStream, every page (ExclusiveStartShardId =
//                     LastEvaluatedShardId); ParentShardId; a shard is closed
//                     once its SequenceNumberRange has an EndingSequenceNumber;
//   GetShardIterator  TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER,
//                     AFTER_SEQUENCE_NUMBER; AT_TIMESTAMP is kInvalidArgument
//                     (the API has none; config validation refuses it first);
//   GetRecords        up to 1,000 records (Limit is clamped) or 1 MB.
// With `table_name` instead of `stream_arn`, the stream is the table's
// LatestStreamArn (DescribeTable on the DynamoDB endpoint,
// `dynamodb_endpoint_url`), looked up once, at the first call.
//
// Pages (ParseStreamsGetRecords): the records are RecordFormat::
// kDynamoDbStreams. Each record's view holds, as views into page->body:
//   data_base64      the record object's JSON text exactly as received
//                    (NOT base64: the decoder parses it as it is);
//   sequence_number  its dynamodb.SequenceNumber;
//   partition_key    "" (there is none);
//   arrival_ms       its dynamodb.ApproximateCreationDateTime (epoch
//                    seconds) in milliseconds, fraction truncated; 0 if absent.
// There is no MillisBehindLatest: page->millis_behind is -1 (unknown) and
// the reader decides when a shard is caught up (pipeline/reader.cc: empty
// pages over a quiet period, or the end of a closed shard). A closed shard
// read to its end answers without NextShardIterator (next_iterator ""); its
// children come from the next listing (there are no ChildShards).
//
// Errors: as aws/dynamodb.h classifies them (LimitExceededException and
// throttling are kThrottled; ExpiredIteratorException and
// TrimmedDataAccessException keep their peer codes for the reader).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
#include "poll/change_source.h"

namespace shardhose::poll {

struct DynamoDbStreamsOptions {
  std::string region = "us-east-1";
  std::string endpoint_url;           // the Streams API; "" = https://streams.dynamodb.<region>.amazonaws.com
  std::string dynamodb_endpoint_url;  // DescribeTable; "" = https://dynamodb.<region>.amazonaws.com
  std::string stream_arn;             // one of stream_arn / table_name
  std::string table_name;
  std::chrono::milliseconds timeout{30000};
};

// REQUIRES: http, creds and clock outlive the source.
std::unique_ptr<ChangeSource> NewDynamoDbStreamsSource(DynamoDbStreamsOptions options, aws::HttpClient* http,
                                                       aws::CredentialsProvider* creds, Clock* clock);

// Parses a DynamoDB Streams GetRecords answer held in page->body (see
// above; the body is not modified, only its capacity padded). kInternal if
// it is not one, or a record has no dynamodb.SequenceNumber. Exposed for
// tests and the fuzzer.
Status ParseStreamsGetRecords(RecordsPage* page);

// The table of a stream ARN: "orders" from
// "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-05-20T12:00:00.000";
// "" if `arn` is not a DynamoDB stream ARN.
std::string TableOfStreamArn(std::string_view arn);

}  // namespace shardhose::poll

// File: aws/dynamodb.h
//
// The DynamoDB calls the lease table (lease/dynamodb_lease_table.h) makes,
// over the HTTP seam (aws/http.h). The JSON 1.0 protocol:
//
//   POST <endpoint>/
//   X-Amz-Target: DynamoDB_20120810.<Op>   (DynamoDBStreams_20120810.<Op>
//                                          with DynamoDbOptions::streams)
//   Content-Type: application/x-amz-json-1.0
//   + SigV4 headers (service "dynamodb", the configured region)
//
// The endpoint is `endpoint_url` when set ("/" appended when it has no
// path), else https://dynamodb.<region>.amazonaws.com/. The client reads no
// environment: like the Kinesis client's, its endpoint comes from the
// configuration, whose loader maps AWS_ENDPOINT_URL_DYNAMODB (then
// AWS_ENDPOINT_URL) onto it.
//
// Each method makes exactly ONE attempt and never sleeps. Errors: the
// credentials provider's Status; kNetwork (HttpClient::Send, with the
// operation as context); and non-2xx answers classified by
// aws::ClassifyResponse (retry class and peer code), with DynamoDB's own
// codes refined:
//   ConditionalCheckFailedException -> kFailedPrecondition (kClientError)
//   TransactionConflictException    -> kUnavailable (kServerError: retry)
//   ResourceInUseException          -> kFailedPrecondition (kClientError);
//                                      CreateTable answers false instead
// (throttling -> kThrottled, 5xx -> kServerError, ResourceNotFoundException
// -> kNotFound, AccessDenied*/UnrecognizedClientException ->
// kPermissionDenied as retry_class.h says). An answer that is not the
// expected JSON is kInternal; an item holding a type aws/dynamodb_item.h
// does not model is kCorruption naming the attribute.
//
// Expressions are passed through as written: the caller names attributes
// through ExpressionAttributeNames ("#o" -> "leaseOwner") and values
// through ExpressionAttributeValues (":c" -> N), as the API requires for
// reserved words.
//
// Thread-safety: every method may be called concurrently (the HttpClient,
// credentials provider and clock are thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials.h"
#include "aws/dynamodb_item.h"
#include "aws/http.h"
#include "common/clock.h"
#include "common/status.h"

namespace shardhose::aws {

struct DynamoDbOptions {
  std::string region = "us-east-1";
  // DynamoDB Streams instead of DynamoDB: X-Amz-Target
  // DynamoDBStreams_20120810.<Op>, default endpoint
  // https://streams.dynamodb.<region>.amazonaws.com/ (still signed for
  // service "dynamodb"). Only Call() is meant for it.
  bool streams = false;
  std::string endpoint_url;                         // "" = https://dynamodb.<region>.amazonaws.com
  std::chrono::milliseconds timeout{10000};         // a whole call
  std::chrono::milliseconds connect_timeout{5000};  // HttpRequest::connect_timeout
};

// The expression parts a conditional write carries.
struct Expression {
  std::string condition;                     // ConditionExpression; "" = unconditional
  std::map<std::string, std::string> names;  // ExpressionAttributeNames
  Item values;                               // ExpressionAttributeValues
};

struct TableInfo {
  std::string name;
  std::string arn;     // TableArn
  std::string status;  // CREATING | ACTIVE | UPDATING | DELETING | ...
  std::string billing_mode;
  int64_t item_count = 0;               // approximate (updated every ~6 hours by AWS)
  std::string latest_stream_arn;        // LatestStreamArn; "" if the table never had a stream
  std::vector<std::string> key_schema;  // KeySchema's attribute names: the HASH key, then the RANGE key if any
};

struct ScanRequest {
  bool consistent = false;  // ConsistentRead
  int limit = 0;            // Limit (items evaluated per page); 0 = none (1 MB pages)
  Item start_key;           // ExclusiveStartKey; empty = the first page
};

struct ScanPage {
  std::vector<Item> items;
  Item last_key;  // LastEvaluatedKey; empty = this was the last page
};

class DynamoDbClient {
 public:
  // REQUIRES: http, creds and clock outlive the client.
  DynamoDbClient(DynamoDbOptions options, HttpClient* http, CredentialsProvider* creds, Clock* clock);

  const DynamoDbOptions& options() const { return options_; }
  // The URL every request goes to.
  const std::string& url() const { return url_; }

  // One signed call of operation `op` ("GetItem", ...) with the JSON
  // `body`: the answer's body on 2xx, else the classified error above.
  Result<std::string> Call(std::string_view op, std::string_view body) const;

  // A table with the string hash key `hash_key`, billed PAY_PER_REQUEST.
  // true = created (it is CREATING), false = it exists already
  // (ResourceInUseException: made by another worker, or being deleted).
  Result<bool> CreateTable(const std::string& table, const std::string& hash_key) const;
  // kNotFound when there is no such table.
  Result<TableInfo> DescribeTable(const std::string& table) const;

  // The item with primary key `key`, nullopt if there is none.
  Result<std::optional<Item>> GetItem(const std::string& table, const Item& key, bool consistent) const;
  // Writes (replaces) `item`, if `expr.condition` holds.
  Status PutItem(const std::string& table, const Item& item, const Expression& expr = {}) const;
  // Applies `update` (UpdateExpression, names and values in `expr`) if
  // `expr.condition` holds. With `return_all_new`, the item as now stored
  // (ReturnValues ALL_NEW); else an empty item.
  Result<Item> UpdateItem(const std::string& table, const Item& key, const std::string& update, const Expression& expr,
                          bool return_all_new) const;
  // Removes the item, if `expr.condition` holds (no item is not an error
  // unless the condition requires one).
  Status DeleteItem(const std::string& table, const Item& key, const Expression& expr = {}) const;
  // One page of a scan.
  Result<ScanPage> Scan(const std::string& table, const ScanRequest& request) const;

 private:
  Result<HttpRequest> Build(std::string_view op, std::string_view body) const;

  const DynamoDbOptions options_;
  HttpClient* const http_;
  CredentialsProvider* const creds_;
  Clock* const clock_;
  std::string url_;
};

}  // namespace shardhose::aws

// File: decode/change_record.h
//
// Decoding: one Kinesis record (base64 Data holding a DynamoDB change record
// as written by "Kinesis Data Streams for DynamoDB") -> one output line.
//
// The decoder NEVER fails and never drops a record: a record that cannot be
// decoded becomes an *error line* (ok = false) destined for error_prefix.
//
// Output formats (each line ends in '\n'):
//   raw          - the change record exactly as received, compacted to one
//                  line (whitespace outside strings removed; numbers and
//                  strings byte-for-byte as received).
//   unmarshalled - {"event_id","event_name","table","event_time",
//                   "sequence_number","shard_id","keys","new_image",
//                   "old_image","user_identity"} in that order, with DynamoDB
//                  typed values as plain JSON: S->string, N->number written
//                  with exactly the digits given (never via double),
//                  B->base64 string, BOOL->bool, NULL->null, M->object,
//                  L->array, SS/NS/BS->arrays. Absent images and identity
//                  are null. event_time is ISO-8601 UTC with milliseconds
//                  ("2024-01-02T03:04:05.678Z").
//   error line   - {"error":"<reason>","message":"...","stream":"...",
//                   "shard_id":"...","sequence_number":"...",
//                   "partition_key":"...","arrival_time":"<ISO-8601>",
//                   "data_base64":"<the original Data>"}
//
// Error reasons (they become the {error} partition): "bad_base64",
// "not_json" (includes invalid UTF-8 and nesting deeper than kMaxDepth),
// "not_change_record" (valid JSON but missing/ill-typed eventID, eventName,
// tableName, dynamodb, ApproximateCreationDateTime), "bad_attribute" (an
// attribute value that is not a valid DynamoDB typed value, e.g. N that is
// not a number).
//
// ApproximateCreationDateTime is epoch milliseconds, or epoch microseconds
// when dynamodb.ApproximateCreationDateTimePrecision is "MICROSECOND".
//
// Thread-safety: a Decoder is not thread-safe (it reuses buffers); use one
// per thread. Decoding is deterministic: the same input always gives the
// same output, byte for byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace shardhose::decode {

enum class OutputFormat { kUnmarshalled, kRaw };

// Nesting deeper than this (objects + arrays, in the change record as a
// whole) is rejected as "not_json". DynamoDB itself allows 32 levels of
// attribute nesting.
inline constexpr int kMaxDepth = 128;

// One record as returned by GetRecords. Views into the response buffer.
struct KinesisRecordView {
  std::string_view data_base64;
  std::string_view sequence_number;
  std::string_view partition_key;
  int64_t arrival_ms = 0;  // ApproximateArrivalTimestamp, epoch ms
};

struct DecodedRecord {
  bool ok = false;
  std::string line;           // the output line, ending in '\n'
  std::string table;          // tableName ("" for error lines)
  std::string event_name;     // INSERT | MODIFY | REMOVE ("" for error lines)
  std::string event_id;       // eventID ("" for error lines)
  int64_t event_time_us = 0;  // event time, epoch microseconds (0 for error lines)
  std::string error;          // reason, for error lines
};

class Decoder {
 public:
  Decoder(OutputFormat format, std::string stream_name);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes `record` read from `shard_id` into *out (all fields replaced;
  // buffers reused).
  void Decode(const KinesisRecordView& record, std::string_view shard_id, DecodedRecord* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "2024-01-02T03:04:05.678Z" from epoch microseconds (truncated to ms).
std::string FormatIsoMillis(int64_t epoch_us);

}  // namespace shardhose::decode

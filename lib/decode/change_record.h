// File: decode/change_record.h
//
// Decoding: one Kinesis record (base64 Data holding a DynamoDB change record
// as written by "Kinesis Data Streams for DynamoDB") -> one output line; or
// one DynamoDB Streams record (its JSON text; InputFormat below) -> the same
// line.
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
//                  are null. `keys` has its attributes in name order
//                  (bytewise), whatever order the record gave them in, so
//                  an item's keys are one text in every line of it.
//                  user_identity is userIdentity as JSON, its
//                  members named as in Kinesis records ({"type",
//                  "principalId"}: the Streams API's Type and PrincipalId
//                  are renamed). event_time is ISO-8601 UTC with milliseconds
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
// not a number), and "bad_aggregate" (a KPL aggregate that does not verify,
// decode/kpl.h; written through WriteErrorLine).
//
// ApproximateCreationDateTime is epoch milliseconds, or epoch microseconds
// when dynamodb.ApproximateCreationDateTimePrecision is "MICROSECOND"
// (absent/null precision = milliseconds; any other value is
// not_change_record). It must be a JSON number; a fraction or exponent is
// accepted and truncated ("1716200000123.9", "1.716200000123E12"). Negative
// times and times after 9999-12-31 are not_change_record.
//
// Validation details (both formats apply the same checks, so whether a record
// is an error line never depends on the format):
//   - eventID, eventName, tableName must be strings; eventName must be
//     INSERT, MODIFY or REMOVE; tableName must be non-empty; dynamodb must be
//     an object. Keys/NewImage/OldImage may be absent or null (-> null);
//     present and not an object -> not_change_record. Other fields are
//     ignored (unmarshalled) or copied (raw).
//   - A typed value is an object with exactly one member whose name is one of
//     S N B BOOL NULL M L SS NS BS. S: string. N: string matching the RFC 8259
//     number grammar (no digit limit: a 10,000-digit N is written as given).
//     B: padded standard base64 string (empty allowed). BOOL: true/false.
//     NULL: true. SS/NS/BS: arrays of the element type (empty allowed).
//     Anything else -> bad_attribute; the message names the attribute path,
//     e.g. "NewImage.lines[1].qty: N value is not a JSON number string (got x)".
//   - not_json also covers: a NUL byte anywhere in the decoded Data, an
//     escaped unpaired UTF-16 surrogate ("\udc00"), trailing garbage, and
//     numbers outside double range such as 1e400 (rapidjson 1.1 limitation;
//     DynamoDB never writes those as JSON numbers).
//   - userIdentity is copied as plain JSON (numbers keep their digits).
//   - Error lines: message/stream/shard_id/sequence_number/partition_key/
//     data_base64 are JSON-escaped; bytes that are not valid UTF-8 become
//     U+FFFD, so every output line is valid UTF-8 JSON.
//
// Performance: Decode() parses in situ with a SAX reader and writes the
// output while parsing (no DOM); once its buffers have grown to the largest
// record seen it makes no heap allocations (tested). Stack depth is bounded
// (the recursive parser is stopped before nesting exceeds kMaxDepth).
// bench/README.md ("Hot path") has figures.
//
// Thread-safety: a Decoder is not thread-safe (it reuses buffers); use one
// per thread. Decoding is deterministic: the same input always gives the
// same output, byte for byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "poll/record_view.h"

namespace shardhose::decode {

enum class OutputFormat { kUnmarshalled, kRaw };

// What a record view holds (the source's poll::RecordFormat):
//   kKinesisData   - Data: the base64 of a change record written by
//                    "Kinesis Data Streams for DynamoDB" (all of the above);
//   kStreamsRecord - a DynamoDB Streams record: the view's data is the
//                    record's JSON text as GetRecords returned it (not
//                    base64), so there is no bad_base64. It has no tableName:
//                    the table is the Decoder's `table` (from the stream
//                    ARN), and a raw line is the record as it is.
//                    ApproximateCreationDateTime is epoch SECONDS; event_time
//                    keeps it to the millisecond as written (real records
//                    carry whole seconds: ".000"). Error lines carry the
//                    base64 of the record's text in data_base64 (the original
//                    bytes, in the same field as for Kinesis).
//   kExportItem    - a line of a DynamoDB export's data file (DYNAMODB_JSON,
//                    {"Item": {...}}), decoded with DecodeExportLine (below)
//                    into a SNAPSHOT line: event_id "<export id>:<file
//                    index>:<line number>", event_name "SNAPSHOT", the
//                    Decoder's table, event_time the export time,
//                    sequence_number and shard_id null, keys the item's
//                    key attributes (ExportSpec; in name order), new_image
//                    the item, old_image and user_identity null. A raw line
//                    is the export's line as it is (compacted). Error
//                    reasons: not_json, bad_attribute, and "not_export_item"
//                    (no Item object, or a key attribute missing). Error
//                    lines carry the line's text (base64) in data_base64,
//                    the event id in sequence_number and the data file in
//                    shard_id. An incremental export's lines are changes
//                    instead (ExportSpec::incremental).
enum class InputFormat { kKinesisData, kStreamsRecord, kExportItem };

// What kExportItem lines need to know of their export.
struct ExportSpec {
  int64_t export_time_us = 0;
  std::vector<std::string> key_attributes;  // the partition key, then the sort key if any
  // An incremental export (INCREMENTAL_EXPORT): its lines are changes,
  // {"Metadata":{"WriteTimestampMicros":{"N":"..."}},"Keys":{...},
  // "NewImage":{...},"OldImage":{...}}, each written as a change line:
  // event_name REMOVE without a NewImage, MODIFY with an OldImage, else
  // INSERT (with the NEW_IMAGE view every write reads as INSERT);
  // event_time WriteTimestampMicros; keys the line's Keys (by name); the
  // images as given. Missing Keys or Metadata.WriteTimestampMicros:
  // not_export_item.
  bool incremental = false;
};

// Nesting deeper than this (objects + arrays, in the change record as a
// whole) is rejected as "not_json". DynamoDB itself allows 32 levels of
// attribute nesting.
inline constexpr int kMaxDepth = 128;

struct DecodedRecord {
  bool ok = false;
  std::string line;           // the output line, ending in '\n'
  std::string table;          // tableName ("" for error lines)
  std::string event_name;     // INSERT | MODIFY | REMOVE | SNAPSHOT ("" for error lines)
  std::string event_id;       // eventID ("" for error lines)
  int64_t event_time_us = 0;  // event time, epoch microseconds (0 for error lines)
  std::string error;          // reason, for error lines
};

class Decoder {
 public:
  // `table`: the table of a kStreamsRecord source (unused for Kinesis).
  Decoder(OutputFormat format, std::string stream_name, InputFormat input = InputFormat::kKinesisData,
          std::string table = "");
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes `record` read from `shard_id` into *out (all fields replaced;
  // buffers reused).
  void Decode(const poll::KinesisRecordView& record, std::string_view shard_id, DecodedRecord* out);

  // kExportItem only: the export every line comes from. Set before the
  // first DecodeExportLine.
  void SetExport(ExportSpec spec);
  // kExportItem: decodes one line (without its '\n') of data file `file`
  // into *out; `event_id` is "<export id>:<file index>:<line number>".
  void DecodeExportLine(std::string_view line, std::string_view event_id, std::string_view file, DecodedRecord* out);

  // Writes the error line for `record` with `reason` and `message` into
  // *out, for a failure found before decoding (decode/kpl.h's
  // bad_aggregate). Same format and guarantees as Decode's error lines.
  void WriteErrorLine(std::string_view reason, std::string_view message, const poll::KinesisRecordView& record,
                      std::string_view shard_id, DecodedRecord* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "2024-01-02T03:04:05.678Z" from epoch microseconds (truncated to ms).
std::string FormatIsoMillis(int64_t epoch_us);

}  // namespace shardhose::decode

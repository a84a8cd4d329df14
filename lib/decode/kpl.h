// File: decode/kpl.h
//
// KPL aggregation: one Kinesis record whose Data is an aggregate written by
// the Kinesis Producer Library (or aws-kinesis-agg) holds several user
// records; shardhose treats each of them as one change record.
//
// Format of an aggregated record's Data (bytes):
//   data    := MAGIC PROTOBUF MD5
//   MAGIC   := F3 89 9A C2
//   MD5     := the 16-byte MD5 of the PROTOBUF bytes
//   PROTOBUF:= message AggregatedRecord {
//                repeated string partition_key_table     = 1;
//                repeated string explicit_hash_key_table = 2;
//                repeated Record records                 = 3; }
//              message Record {
//                required uint64 partition_key_index     = 1;
//                optional uint64 explicit_hash_key_index = 2;
//                required bytes  data                    = 3;
//                repeated Tag    tags                    = 4; }
//              message Tag { required string key = 1; optional string value = 2; }
// Data that does not start with MAGIC, or is too short to hold MAGIC and
// MD5 (20 bytes), is an ordinary record.
//
// Deaggregate() is a strict, bounds-checked reader for exactly this schema.
// It is hand-written (~150 lines of varint / length-delimited parsing)
// rather than generated with libprotobuf: the schema is fixed and tiny, a
// generated parser would add a build step, a library and allocations per
// record, and we want every malformed input to become one precise error
// message, never an exception or an out-of-bounds read.
// Rules: wire types other than 0 (varint), 1 (64-bit), 2 (length-delimited)
// and 5 (32-bit) are invalid (groups included); a known field with the wrong
// wire type is invalid; unknown fields with valid wire types are skipped (the
// protobuf rule); varints longer than 10 bytes or overflowing 64 bits are
// invalid; field number 0 is invalid; a Record without partition_key_index
// or data is invalid; an index outside its table is invalid; an aggregate
// with no records is invalid (KPL never writes one, and a record read must
// never vanish without a trace). Tags are checked for framing and ignored.
//
// Sub-records are numbered by their index in `records`, from 0: their
// sub-sequence number (common/seqnum.h positions "seq.sub").
//
// Cost: a plain record costs a 5-character prefix test. A sub-record's data
// is re-encoded as base64 because Decoder takes a KinesisRecordView (one
// extra encode + decode per sub-record; a Decoder entry point for raw bytes
// would remove it). The splitter reuses its buffers across records.
//
// Thread-safety: functions are pure; a KplSplitter is not thread-safe (it
// reuses buffers), use one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "decode/change_record.h"
#include "poll/record_view.h"

namespace shardhose::decode {

inline constexpr std::string_view kKplMagic = "\xF3\x89\x9A\xC2";
inline constexpr size_t kKplDigestSize = 16;

// The error reason of a record that has the magic but is not a valid
// aggregate (bad MD5, invalid protobuf, index out of range, no records).
inline constexpr std::string_view kBadAggregate = "bad_aggregate";

// True if `data` (decoded bytes) starts with the magic and is long enough to
// be an aggregate; such data is either a valid aggregate or bad_aggregate.
bool IsAggregated(std::string_view data);

// True if base64 text may decode to aggregated data (a cheap test on its
// first characters, so plain records are not decoded twice).
bool MayBeAggregatedBase64(std::string_view data_base64);

struct KplSubRecord {
  std::string_view data;           // the user record's bytes
  std::string_view partition_key;  // from partition_key_table
  uint64_t index = 0;              // sub-sequence number
};

// Splits aggregated `data` (REQUIRES: IsAggregated(data)) into *out
// (replaced; views into `data`). kCorruption with a message naming the
// problem ("MD5 mismatch", "truncated varint at byte 12", "record 3:
// partition_key_index 7 out of range (2 keys)") if it is not a valid
// aggregate; *out is then unspecified.
Status Deaggregate(std::string_view data, std::vector<KplSubRecord>* out);

// What the pipeline decodes: one Kinesis record becomes one or more units,
// each decoded into one output line.
struct KplUnit {
  poll::KinesisRecordView view;  // what to hand to Decoder::Decode
  std::string_view position;     // common/seqnum.h position: "seq" or "seq.sub"
  bool ends_record = true;       // the last unit of its Kinesis record
  std::string_view error;        // non-empty: write an error line with this
                                 // message (reason kBadAggregate) for `view`
};

class KplSplitter {
 public:
  // aggregation = false (a source without KPL: DynamoDB Streams): every
  // record is one plain unit, whatever its first bytes.
  explicit KplSplitter(bool aggregation = true) : aggregation_(aggregation) {}

  // Replaces *out with the units of `record`: the record itself for a plain
  // record or a bad aggregate (view = record, position = its sequence
  // number, error set for a bad aggregate), else one unit per sub-record
  // (data re-encoded as base64, partition key from the aggregate's table,
  // sequence_number and position "seq.sub", the record's arrival time).
  // Views stay valid until the next call and while `record`'s buffers live.
  void Split(const poll::KinesisRecordView& record, std::vector<KplUnit>* out);

 private:
  bool aggregation_;
  std::string raw_;
  std::string error_;
  std::vector<KplSubRecord> subs_;
  std::vector<std::string> base64_;
  std::vector<std::string> positions_;
};

}  // namespace shardhose::decode

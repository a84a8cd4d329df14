// File: decode/error_line.h
//
// Internal to decode/: the error line of a record that cannot be decoded,
// {"error","message","stream","shard_id","sequence_number","partition_key",
// "arrival_time","data_base64"} (decode/change_record.h has the format and
// the reasons). Every field but `reason` is escaped lossily (bytes that are
// not valid UTF-8 become U+FFFD), so the line is always valid UTF-8 JSON; an
// arrival time too large to convert to microseconds is saturated.
//
// Thread-safety: a pure function of its arguments; writes only *out.
#pragma once

#include <string_view>

#include "decode/change_record.h"
#include "poll/record_view.h"

namespace shardhose::decode::internal {

// Replaces every field of *out (buffers reused): ok = false, `error` =
// `reason`, the line ending in '\n', the other fields cleared. With
// `data_is_text` (a DynamoDB Streams record: rec.data_base64 holds the
// record's JSON text), data_base64 is the base64 of that text, so the line
// carries the original bytes in the same field for either source.
void WriteErrorLine(std::string_view reason, std::string_view message, std::string_view stream,
                    const poll::KinesisRecordView& rec, std::string_view shard_id, DecodedRecord* out,
                    bool data_is_text = false);

}  // namespace shardhose::decode::internal

// File: poll/record_view.h
//
// One Kinesis record as the poller hands it on: what GetRecords (or a
// SubscribeToShard event) says about it, as views into the answer's body.
// The views are valid as long as the RecordsPage that holds the body
// (poll/kinesis_client.h) is neither reused nor destroyed. Strings are the
// API's JSON strings unescaped; nothing is validated here but the presence
// of a sequence number (decode/change_record.h decodes Data).
//
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <string_view>

namespace shardhose::poll {

struct KinesisRecordView {
  std::string_view data_base64;      // Data: base64, as received
  std::string_view sequence_number;  // SequenceNumber, decimal digits
  std::string_view partition_key;    // PartitionKey
  int64_t arrival_ms = 0;            // ApproximateArrivalTimestamp, epoch ms
};

}  // namespace shardhose::poll

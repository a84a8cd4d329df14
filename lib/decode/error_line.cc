// Error lines (the format is in decode/change_record.h).
#include "decode/error_line.h"

#include <limits>

#include "common/base64.h"
#include "decode/json_text.h"

namespace shardhose::decode::internal {

void WriteErrorLine(std::string_view reason, std::string_view message, std::string_view stream,
                    const poll::KinesisRecordView& rec, std::string_view shard_id, DecodedRecord* out,
                    bool data_is_text) {
  out->ok = false;
  out->table.clear();
  out->event_name.clear();
  out->event_id.clear();
  out->event_time_us = 0;
  out->error.assign(reason);
  std::string& l = out->line;
  l.clear();
  l.append("{\"error\":");
  AppendJsonString(reason, &l);
  l.append(",\"message\":");
  AppendJsonStringLossy(message, &l);
  l.append(",\"stream\":");
  AppendJsonStringLossy(stream, &l);
  l.append(",\"shard_id\":");
  AppendJsonStringLossy(shard_id, &l);
  l.append(",\"sequence_number\":");
  AppendJsonStringLossy(rec.sequence_number, &l);
  l.append(",\"partition_key\":");
  AppendJsonStringLossy(rec.partition_key, &l);
  l.append(",\"arrival_time\":\"");
  // Saturate rather than overflow on an absurd timestamp.
  constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max() / 1000;
  AppendIsoMillis(rec.arrival_ms > kMaxMs    ? kMaxMs * 1000
                  : rec.arrival_ms < -kMaxMs ? -kMaxMs * 1000
                                             : rec.arrival_ms * 1000,
                  &l);
  l.append("\",\"data_base64\":");
  if (data_is_text) {
    l.push_back('"');
    Base64Encode(rec.data_base64, &l);  // appends; the alphabet needs no escaping
    l.push_back('"');
  } else {
    AppendJsonStringLossy(rec.data_base64, &l);
  }
  l.append("}\n");
}

}  // namespace shardhose::decode::internal

// streams_records_fuzz: poll::ParseStreamsGetRecords on the input as a
// DynamoDB Streams GetRecords answer, then decode::Decoder
// (InputFormat::kStreamsRecord, both output formats) on every record found.
//
// Invariants (poll/dynamodb_streams_source.h, decode/change_record.h):
// never crashes; the body is not modified; on success every record view
// points inside the body, has a non-empty sequence number, data_bytes is
// the sum of the record texts' lengths and millis_behind is -1; on failure
// the message is non-empty. Each record decodes to exactly one valid UTF-8
// JSON object line in both formats, which agree on ok, reason and event
// time; an ok line names the stream's table; an error line's data_base64 is
// the base64 of the record's text.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "decode/change_record.h"
#include "fuzz_util.h"
#include "poll/dynamodb_streams_source.h"

namespace {

using shardhose::decode::DecodedRecord;
using shardhose::decode::Decoder;
using shardhose::decode::InputFormat;
using shardhose::decode::OutputFormat;

constexpr std::string_view kShard = "shardId-00000001716200000000-0a1b2c3d";

bool Inside(std::string_view v, const std::string& body) {
  if (v.empty()) return true;
  return v.data() >= body.data() && v.data() + v.size() <= body.data() + body.size();
}

void CheckLine(const DecodedRecord& out, std::string_view record_text) {
  const std::string& line = out.line;
  FUZZ_CHECK(!line.empty() && line.back() == '\n', "line must end in \\n");
  FUZZ_CHECK(line.find('\n') == line.size() - 1, "exactly one line");
  FUZZ_CHECK(shardhose::fuzz::IsValidUtf8(line), "line must be valid UTF-8");
  rapidjson::Document d;
  FUZZ_CHECK(shardhose::fuzz::ParseJsonAnyNumbers(std::string_view(line).substr(0, line.size() - 1), &d),
             "line is not JSON: " + line);
  FUZZ_CHECK(d.IsObject(), "line is not a JSON object");
  if (out.ok) {
    FUZZ_CHECK(out.table == "orders", "the table is the stream's: " + out.table);
    return;
  }
  auto it = d.FindMember("data_base64");
  FUZZ_CHECK(it != d.MemberEnd() && it->value.IsString(), "error line without data_base64");
  FUZZ_CHECK(
      std::string_view(it->value.GetString(), it->value.GetStringLength()) == shardhose::Base64Encode(record_text),
      "data_base64 must be the base64 of the record's text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* unmarshalled = new Decoder(OutputFormat::kUnmarshalled, "orders", InputFormat::kStreamsRecord, "orders");
  static auto* raw = new Decoder(OutputFormat::kRaw, "orders", InputFormat::kStreamsRecord, "orders");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  shardhose::poll::RecordsPage page;
  page.body.assign(input);
  auto st = shardhose::poll::ParseStreamsGetRecords(&page);
  FUZZ_CHECK(page.body == input, "the body was modified");
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty(), "rejection without a message");
    return 0;
  }
  FUZZ_CHECK(page.millis_behind == -1, "DynamoDB Streams has no MillisBehindLatest");
  uint64_t bytes = 0;
  DecodedRecord u, r;
  for (const auto& rec : page.records) {
    FUZZ_CHECK(Inside(rec.data_base64, page.body), "record view outside the body");
    FUZZ_CHECK(Inside(rec.sequence_number, page.body), "SequenceNumber view outside the body");
    FUZZ_CHECK(!rec.sequence_number.empty(), "record without a sequence number");
    bytes += rec.data_base64.size();
    unmarshalled->Decode(rec, kShard, &u);
    CheckLine(u, rec.data_base64);
    raw->Decode(rec, kShard, &r);
    CheckLine(r, rec.data_base64);
    FUZZ_CHECK(u.ok == r.ok, "formats disagree on ok");
    FUZZ_CHECK(u.error == r.error, "formats disagree on the error reason");
    FUZZ_CHECK(u.event_time_us == r.event_time_us, "formats disagree on event time");
  }
  FUZZ_CHECK(bytes == page.data_bytes, "data_bytes is not the sum of the record lengths");
  return 0;
}

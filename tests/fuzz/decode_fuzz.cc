// decode_fuzz: decode::Decoder in both output formats.
//
// The input is used twice:
//   1. as the record's Data bytes (base64-encoded into a KinesisRecordView,
//      as GetRecords would hand them over), and
//   2. directly as data_base64 (so invalid base64 and non-UTF-8 bytes reach
//      the error-line writer), with sequence number and partition key taken
//      from the input and an arrival time from its first 8 bytes.
// Invariants checked (change_record.h): every line ends in '\n' and is one
// valid UTF-8 JSON object (numbers of any length: N values keep their
// digits); both formats agree on ok / error reason; error
// lines carry the documented reason, the shard id, and data_base64 equal to
// the given text (when that text is valid UTF-8); ok unmarshalled lines carry
// the event_id / event_name / table reported in DecodedRecord; decoding is
// deterministic across buffer reuse.
// 4. KPL (decode/kpl.h): the input as the protobuf of an aggregate (magic +
//    input + its MD5), and the magic + input as is (a digest that almost
//    never matches): decode::KplSplitter gives either one unit per
//    sub-record at positions "seq.0", "seq.1", ... (the last one ending the
//    record) or one bad_aggregate unit for the whole record; every unit
//    decodes into one valid line.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "decode/change_record.h"
#include "decode/kpl.h"
#include "fuzz_util.h"

namespace {

using shardhose::decode::DecodedRecord;
using shardhose::decode::Decoder;
using shardhose::decode::OutputFormat;
using shardhose::fuzz::IsValidUtf8;
using shardhose::fuzz::ParseJsonAnyNumbers;
using shardhose::poll::KinesisRecordView;

constexpr std::string_view kShard = "shardId-000000000007";

std::string_view Str(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  FUZZ_CHECK(it != obj.MemberEnd() && it->value.IsString(), std::string("missing string ") + name);
  return {it->value.GetString(), it->value.GetStringLength()};
}

bool IsKnownReason(std::string_view r) {
  return r == "bad_base64" || r == "not_json" || r == "not_change_record" || r == "bad_attribute" ||
         r == "bad_aggregate";
}

void CheckLine(const DecodedRecord& out, OutputFormat format, const KinesisRecordView& rec) {
  const std::string& line = out.line;
  FUZZ_CHECK(!line.empty() && line.back() == '\n', "line must end in \\n");
  FUZZ_CHECK(line.find('\n') == line.size() - 1, "exactly one line");
  FUZZ_CHECK(IsValidUtf8(line), "line must be valid UTF-8");
  rapidjson::Document d;
  FUZZ_CHECK(ParseJsonAnyNumbers(std::string_view(line).substr(0, line.size() - 1), &d), "line is not JSON: " + line);
  FUZZ_CHECK(d.IsObject(), "line is not a JSON object");
  if (!out.ok) {
    FUZZ_CHECK(IsKnownReason(out.error), "unknown error reason " + out.error);
    FUZZ_CHECK(Str(d, "error") == out.error, "error field");
    FUZZ_CHECK(Str(d, "shard_id") == kShard, "shard_id field");
    Str(d, "message");
    Str(d, "stream");
    Str(d, "arrival_time");
    if (IsValidUtf8(rec.data_base64)) {
      FUZZ_CHECK(Str(d, "data_base64") == rec.data_base64, "data_base64 must be the given text");
    } else {
      Str(d, "data_base64");
    }
    if (IsValidUtf8(rec.sequence_number)) {
      FUZZ_CHECK(Str(d, "sequence_number") == rec.sequence_number, "sequence_number");
    }
    if (IsValidUtf8(rec.partition_key)) {
      FUZZ_CHECK(Str(d, "partition_key") == rec.partition_key, "partition_key");
    }
    FUZZ_CHECK(out.table.empty() && out.event_name.empty() && out.event_id.empty(), "error lines have no table/event");
    return;
  }
  FUZZ_CHECK(out.error.empty(), "ok record with an error reason");
  FUZZ_CHECK(out.event_name == "INSERT" || out.event_name == "MODIFY" || out.event_name == "REMOVE",
             "event_name " + out.event_name);
  FUZZ_CHECK(!out.table.empty(), "empty tableName accepted");
  if (format == OutputFormat::kUnmarshalled) {
    FUZZ_CHECK(Str(d, "event_id") == out.event_id, "event_id field");
    FUZZ_CHECK(Str(d, "event_name") == out.event_name, "event_name field");
    FUZZ_CHECK(Str(d, "table") == out.table, "table field");
    FUZZ_CHECK(Str(d, "shard_id") == kShard, "shard_id field");
    Str(d, "event_time");
  }
}

struct Pair {
  Decoder unmarshalled{OutputFormat::kUnmarshalled, "orders-stream"};
  Decoder raw{OutputFormat::kRaw, "orders-stream"};
};

void DecodeBoth(Pair* p, const KinesisRecordView& rec, DecodedRecord* u, DecodedRecord* r) {
  p->unmarshalled.Decode(rec, kShard, u);
  CheckLine(*u, OutputFormat::kUnmarshalled, rec);
  p->raw.Decode(rec, kShard, r);
  CheckLine(*r, OutputFormat::kRaw, rec);
  FUZZ_CHECK(u->ok == r->ok, "formats disagree on ok");
  FUZZ_CHECK(u->error == r->error, "formats disagree on the error reason");
  FUZZ_CHECK(u->event_time_us == r->event_time_us, "formats disagree on event time");
}

void SplitAndDecode(Pair* p, std::string_view data) {
  static auto* splitter = new shardhose::decode::KplSplitter();
  static auto* units = new std::vector<shardhose::decode::KplUnit>();
  const std::string encoded = shardhose::Base64Encode(data);
  const std::string_view seq = "49590338271490256608559692538361571095921575989136588802";
  KinesisRecordView rec{encoded, seq, "outer-pk", 1716200000123};
  splitter->Split(rec, units);
  FUZZ_CHECK(!units->empty(), "a record gave no units");
  FUZZ_CHECK(units->back().ends_record, "the last unit must end the record");
  const bool aggregated = units->size() > 1 || units->front().position != seq;
  for (size_t i = 0; i < units->size(); ++i) {
    const auto& unit = (*units)[i];
    if (aggregated) {
      FUZZ_CHECK(unit.error.empty(), "error unit inside a split aggregate");
      FUZZ_CHECK(unit.position == std::string(seq) + "." + std::to_string(i), "sub-record position");
      FUZZ_CHECK(unit.view.sequence_number == unit.position, "sub-record sequence_number");
      FUZZ_CHECK(unit.ends_record == (i + 1 == units->size()), "ends_record");
    }
    DecodedRecord u, r;
    if (unit.error.empty()) {
      DecodeBoth(p, unit.view, &u, &r);
    } else {
      FUZZ_CHECK(!aggregated && shardhose::decode::IsAggregated(data), "bad_aggregate for plain data");
      p->unmarshalled.WriteErrorLine(shardhose::decode::kBadAggregate, unit.error, unit.view, kShard, &u);
      CheckLine(u, OutputFormat::kUnmarshalled, unit.view);
      FUZZ_CHECK(u.error == "bad_aggregate", "bad_aggregate reason");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Pair* decoders = new Pair();  // reused across inputs, as the pipeline does
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. The input is the Data bytes.
  const std::string encoded = shardhose::Base64Encode(input);
  KinesisRecordView rec;
  rec.data_base64 = encoded;
  rec.sequence_number = "49590338271490256608559692538361571095921575989136588802";
  rec.partition_key = "pk";
  rec.arrival_ms = 1716200000123;
  DecodedRecord u1, r1;
  DecodeBoth(decoders, rec, &u1, &r1);
  if (u1.ok) {
    FUZZ_CHECK(input.find('\0') == std::string_view::npos, "NUL byte accepted");
  }

  // 2. The input is data_base64 (and sequence number / partition key).
  KinesisRecordView direct;
  direct.data_base64 = input;
  direct.sequence_number = input.substr(0, 256);
  direct.partition_key = input.substr(0, 64);
  if (size >= 8) std::memcpy(&direct.arrival_ms, data, 8);
  DecodedRecord u2, r2;
  DecodeBoth(decoders, direct, &u2, &r2);
  if (u2.ok) {
    std::string bytes;
    FUZZ_CHECK(shardhose::Base64Decode(input, &bytes), "ok record from invalid base64");
  }

  // 3. Deterministic across buffer reuse: decoding (1) again gives the same bytes.
  DecodedRecord u3, r3;
  DecodeBoth(decoders, rec, &u3, &r3);
  FUZZ_CHECK(u3.line == u1.line, "unmarshalled output changed on re-decode");
  FUZZ_CHECK(r3.line == r1.line, "raw output changed on re-decode");

  // 4. KPL aggregates.
  unsigned char md5[EVP_MAX_MD_SIZE];
  unsigned int md5_len = 0;
  EVP_Digest(data, size, md5, &md5_len, EVP_md5(), nullptr);
  std::string agg(shardhose::decode::kKplMagic);
  agg.append(input);
  SplitAndDecode(decoders, agg + std::string(reinterpret_cast<const char*>(md5), md5_len));
  SplitAndDecode(decoders, agg);
  return 0;
}

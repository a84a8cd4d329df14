// export_lines_fuzz: the input as one DynamoDB export data file's text: each
// line through decode::Decoder (InputFormat::kExportItem, key schema pk,
// sk; both output formats); the whole input also through
// load::ParseManifestFiles and load::ParseManifestSummary.
//
// Invariants (decode/change_record.h, load/export_manifest.h): never
// crashes; each line decodes to exactly one valid UTF-8 JSON object line in
// both formats, which agree on ok, reason and event time; an ok line is a
// SNAPSHOT of table "orders" with the given event id and the export time,
// and (unmarshalled) its `keys` are exactly {"pk", "sk"}, each equal to the
// same attribute of new_image; an error line's data_base64 is the base64
// of the line. The manifest parsers either succeed or say why.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "decode/change_record.h"
#include "fuzz_util.h"
#include "load/export_manifest.h"

namespace {

using shardhose::decode::DecodedRecord;
using shardhose::decode::Decoder;
using shardhose::decode::InputFormat;
using shardhose::decode::OutputFormat;

constexpr int64_t kExportTimeUs = 1716200000123000;
constexpr std::string_view kEventId = "01716200000000-abcdef12:0:1";

Decoder* NewDecoder(OutputFormat f) {
  auto* d = new Decoder(f, "orders", InputFormat::kExportItem, "orders");
  d->SetExport(shardhose::decode::ExportSpec{kExportTimeUs, {"pk", "sk"}});
  return d;
}

void CheckLine(const DecodedRecord& out, std::string_view text, bool unmarshalled) {
  const std::string& line = out.line;
  FUZZ_CHECK(!line.empty() && line.back() == '\n', "line must end in \\n");
  FUZZ_CHECK(line.find('\n') == line.size() - 1, "exactly one line");
  FUZZ_CHECK(shardhose::fuzz::IsValidUtf8(line), "line must be valid UTF-8");
  rapidjson::Document d;
  FUZZ_CHECK(shardhose::fuzz::ParseJsonAnyNumbers(std::string_view(line).substr(0, line.size() - 1), &d),
             "line is not JSON: " + line);
  FUZZ_CHECK(d.IsObject(), "line is not a JSON object");
  if (!out.ok) {
    auto it = d.FindMember("data_base64");
    FUZZ_CHECK(it != d.MemberEnd() && it->value.IsString(), "error line without data_base64");
    FUZZ_CHECK(std::string_view(it->value.GetString(), it->value.GetStringLength()) == shardhose::Base64Encode(text),
               "data_base64 must be the base64 of the line");
    return;
  }
  FUZZ_CHECK(out.event_name == "SNAPSHOT" && out.table == "orders" && out.event_id == kEventId &&
                 out.event_time_us == kExportTimeUs,
             "an ok line is the export's SNAPSHOT");
  if (!unmarshalled) return;
  const auto& keys = d["keys"];
  const auto& image = d["new_image"];
  FUZZ_CHECK(keys.IsObject() && keys.MemberCount() == 2, "keys must hold pk and sk: " + line);
  FUZZ_CHECK(image.IsObject(), "new_image must be an object");
  for (const char* k : {"pk", "sk"}) {
    auto in_keys = keys.FindMember(k);
    FUZZ_CHECK(in_keys != keys.MemberEnd(), std::string("keys without ") + k + ": " + line);
    // The item's top-level attribute of that name: the last one if the
    // item repeats it (JSON's last member wins, as the image's writer
    // keeps every member); compare with any of them.
    bool found = false;
    for (auto m = image.MemberBegin(); m != image.MemberEnd(); ++m) {
      if (std::string_view(m->name.GetString(), m->name.GetStringLength()) == k && m->value == in_keys->value) {
        found = true;
      }
    }
    FUZZ_CHECK(found, std::string("keys.") + k + " is not new_image's: " + line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Decoder* unmarshalled = NewDecoder(OutputFormat::kUnmarshalled);
  static Decoder* raw = NewDecoder(OutputFormat::kRaw);
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto files = shardhose::load::ParseManifestFiles(input, "manifest-files.json");
  FUZZ_CHECK(files.ok() || !files.status().message().empty(), "manifest-files rejected without a message");
  auto summary = shardhose::load::ParseManifestSummary(input, "manifest-summary.json");
  FUZZ_CHECK(summary.ok() || !summary.status().message().empty(), "manifest-summary rejected without a message");

  DecodedRecord u, r;
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(start, end - start);
    start = end + 1;
    unmarshalled->DecodeExportLine(line, kEventId, "data/x.json.gz", &u);
    CheckLine(u, line, true);
    raw->DecodeExportLine(line, kEventId, "data/x.json.gz", &r);
    CheckLine(r, line, false);
    FUZZ_CHECK(u.ok == r.ok, "formats disagree on ok");
    FUZZ_CHECK(u.error == r.error, "formats disagree on the error reason");
    FUZZ_CHECK(u.event_time_us == r.event_time_us, "formats disagree on event time");
  }
  return 0;
}

// template_fuzz: partition::KeyTemplate::Parse + Render.
//
// The whole input is the template text, parsed as both kinds. When it
// parses, it is rendered with several field sets: ordinary values, extreme
// times (INT64 min/max, negative, year 9999 + 1), values holding invalid
// UTF-8 / NUL / '/' and braces, values cut from the input itself, and one
// whose times come from the input's last 16 bytes. Invariants (template.h): Parse never changes the text; a
// kRecord template is also a valid kError template; "{error}" only parses as
// kError; Render(fields, &out) appends exactly what Render(fields) returns
// and is deterministic; a template without braces renders as itself; every
// rendered byte is either in the sanitised set [A-Za-z0-9._=-] or a byte of
// the template's own text (substituted values are sanitised).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "partition/template.h"

namespace {

using shardhose::partition::KeyTemplate;
using shardhose::partition::PartitionFields;
using shardhose::partition::TemplateKind;

bool Sanitised(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '=' || c == '-';
}

void CheckRender(const KeyTemplate& t, std::string_view text, const PartitionFields& f) {
  const std::string a = t.Render(f);
  std::string b = "prefix:";
  t.Render(f, &b);
  FUZZ_CHECK(b == "prefix:" + a, "Render(fields, &out) must append Render(fields)");
  FUZZ_CHECK(t.Render(f) == a, "Render is not deterministic");
  if (text.find_first_of("{}") == std::string_view::npos) {
    FUZZ_CHECK(a == text, "a template without braces renders as itself");
  }
  bool in_text[256] = {};
  for (unsigned char c : text) in_text[c] = true;
  for (unsigned char c : a) {
    FUZZ_CHECK(Sanitised(c) || in_text[c], "unsanitised byte in rendered prefix: " + a);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rec = KeyTemplate::Parse(text, TemplateKind::kRecord);
  auto err = KeyTemplate::Parse(text, TemplateKind::kError);
  if (rec.ok()) {
    FUZZ_CHECK(err.ok(), "valid kRecord template rejected as kError");
    FUZZ_CHECK(rec->text() == text, "text() differs from the parsed text");
  } else {
    FUZZ_CHECK(!rec.status().message().empty(), "rejection without a message");
  }
  if (!err.ok()) {
    FUZZ_CHECK(!err.status().message().empty(), "rejection without a message");
    return 0;
  }
  FUZZ_CHECK(err->text() == text, "text() differs from the parsed text");

  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::string odd = std::string("a/b{c}\xff\xc3(\0z", 10) + "\xe2\x82\xac %";
  // Values cut from the input stay short: output = placeholders x value size.
  const std::string_view head = text.substr(0, 64);
  PartitionFields fields[] = {
      {"orders", "INSERT", "orders-stream", "shardId-000000000001", "not_json", 1716200000123456, 1716200000123},
      {"", "", "", "", "", 0, 0},
      {odd, odd, odd, odd, odd, kMax, kMax},
      {"t", "REMOVE", "s", "x", "bad_attribute", kMin, kMin},
      {"t", "MODIFY", "s", "x", "e", -1, -1},
      {"t", "MODIFY", "s", "x", "e", 253402300800000000, 253402300800000},
      {head, head, head, head, head, -62167219200000001, -62167219200001},
  };
  for (const auto& f : fields) {
    CheckRender(*err, text, f);
    if (rec.ok()) {
      FUZZ_CHECK(rec->Render(f) == err->Render(f), "kinds render differently");
    }
  }
  if (size >= 16) {
    PartitionFields f = fields[0];
    std::memcpy(&f.event_time_us, data + size - 16, 8);
    std::memcpy(&f.arrival_time_ms, data + size - 8, 8);
    CheckRender(*err, text, f);
  }
  // Copies and moves keep the rendering.
  KeyTemplate copy = *err;
  FUZZ_CHECK(copy.Render(fields[0]) == err->Render(fields[0]), "copy renders differently");
  KeyTemplate moved = std::move(copy);
  FUZZ_CHECK(moved.Render(fields[0]) == err->Render(fields[0]), "move renders differently");
  return 0;
}

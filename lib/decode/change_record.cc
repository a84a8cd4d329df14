// Decoder implementation.
//
// Per record (all buffers owned by Impl and reused, so the steady state makes
// no heap allocations):
//   1. base64-decode Data into buf (decode/fast_base64.h); a Streams record
//      (InputFormat::kStreamsRecord) is copied as it is. buf is parsed
//      as a NUL-terminated string, so a NUL byte inside the data is rejected
//      up front (a NUL-terminated parse would stop there, and JSON never
//      contains a raw NUL), and so is every other control byte JSON forbids
//      (rapidjson 1.1's SSE2 scan misses 0x1a..0x1f inside strings). UTF-8
//      is validated over the whole buffer here (FindInvalidUtf8, 8 bytes per
//      step for ASCII) instead of by rapidjson's kParseValidateEncodingFlag,
//      which would turn off rapidjson's SSE2 string scanning; outside
//      strings any non-ASCII byte is a syntax error anyway, so the result is
//      the same.
//   2. raw format only: compact buf into the output line (before step 3
//      destroys buf).
//   3. parse buf in situ with rapidjson's recursive SAX reader (numbers
//      reported as their text) into Unmarshaller, which in the same pass
//      enforces kMaxDepth, rejects strings holding a lone UTF-16 low
//      surrogate (escaped "\udc00", which rapidjson 1.1 would otherwise turn
//      into ill-formed UTF-8; valid UTF-8 input cannot hold a surrogate, so
//      strings are only checked when the text contains a backslash-u
//      escape), notes the envelope fields, validates every typed value of
//      Keys/NewImage/OldImage and (unmarshalled format) writes each image and
//      userIdentity into a buffer of its own. No DOM is built.
//   4. check the envelope, pick the first attribute error (Keys, then
//      NewImage, then OldImage), and assemble the line from the buffers in
//      the fixed output order.
//
// Which error a record gets is the one a walk of the whole document would
// report, checked in this order: a parse error anywhere (the reader stops
// there); then the envelope checks of Decode(); then, per image in the order
// above, the first failing check of a pre-order walk that stops at the first
// failure, where a typed value is checked (an object with exactly one member,
// a known tag, the value's type) before what it contains. The unmarshaller
// sees the document once, in input order, so:
//   - the envelope fields are only noted (the last occurrence of a
//     duplicated name wins, as it does in the checks); a repeated
//     "dynamodb", "Keys", "NewImage", "OldImage" or "userIdentity" starts
//     that part over;
//   - each image keeps its first error, except that a typed value found to
//     have more or fewer than one member replaces an error found inside it
//     (its own check comes first in the walk): a typed value remembers
//     whether its image already had an error when it began.
// After an image's first error nothing more is written for it, but its
// values are still followed to find such replacements.
//
// The images are written to their own buffers because the output order of
// the parts is fixed while the input order is not; assembling costs one copy
// of each image.
//
// Files: this one holds the Decoder (steps 1, 2 and 4, and the assembly of
// the line); step 3's handler is decode/unmarshaller.{h,cc}; error lines are
// written by decode/error_line.cc.
#include "decode/change_record.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cstring>
#include <vector>

#include "decode/error_line.h"
#include "decode/fast_base64.h"
#include "decode/json_text.h"
#include "decode/unmarshaller.h"

namespace shardhose::decode {
namespace {

using internal::Image;
using internal::Json;
using internal::Noted;
using internal::Reader;
using internal::Unmarshaller;

// Largest accepted event time: 9999-12-31T23:59:59.999999Z.
constexpr int64_t kMaxEventTimeUs = 253402300799999999;

constexpr size_t kSimdPadding = 16;

constexpr std::string_view kBadBase64 = "bad_base64";
constexpr std::string_view kNotJson = "not_json";
constexpr std::string_view kNotChangeRecord = "not_change_record";
constexpr std::string_view kBadAttribute = "bad_attribute";
constexpr std::string_view kNotExportItem = "not_export_item";

// Parses ApproximateCreationDateTime's digits ("1716200000123", "1.7e12",
// "1716200000123.9") times 10^scale to an integer, truncating any fraction.
// Returns false if negative or larger than `limit`.
bool ParseEpoch(std::string_view s, int64_t limit, int64_t* out, int64_t scale = 0) {
  if (s.empty() || s[0] == '-') return false;
  size_t i = 0;
  const size_t n = s.size();
  // Mantissa digits without the point, and where the point was.
  const size_t int_begin = i;
  while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
  const size_t int_end = i;
  size_t frac_begin = i, frac_end = i;
  if (i < n && s[i] == '.') {
    frac_begin = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    frac_end = i;
  }
  int64_t exp = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (exp < 100000) exp = exp * 10 + (s[i] - '0');
      ++i;
    }
    if (neg) exp = -exp;
  }
  // The integer part is the first (int digits + exp) mantissa digits.
  const int64_t int_digits = static_cast<int64_t>(int_end - int_begin) + exp + scale;
  int64_t v = 0;
  for (int64_t k = 0; k < int_digits; ++k) {
    const size_t pos = static_cast<size_t>(k);
    char c = '0';
    if (pos < int_end - int_begin) {
      c = s[int_begin + pos];
    } else if (pos - (int_end - int_begin) < frac_end - frac_begin) {
      c = s[frac_begin + pos - (int_end - int_begin)];
    }
    if (v > (limit - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// True if s may contain a "\u" escape (a backslash followed by 'u').
bool HasUnicodeEscape(std::string_view s) {
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const void* hit = std::memchr(p, '\\', static_cast<size_t>(end - p));
    if (hit == nullptr) return false;
    p = static_cast<const char*>(hit) + 1;
    if (p < end && *p == 'u') return true;
    ++p;  // skip the escaped character (also a second backslash)
  }
  return false;
}

// The parse error code the iterative parser (which this decoder used
// before) gives: the same as the recursive parser's, except that a document
// whose first token is ',' ':' ']' or '}' is "empty" for the iterative
// parser and an "invalid value" for the recursive one (same offset).
rapidjson::ParseErrorCode RootCode(std::string_view json, const rapidjson::ParseResult& r) {
  if (r.Code() != rapidjson::kParseErrorValueInvalid) return r.Code();
  const size_t first = json.find_first_not_of(" \n\r\t");
  if (first != r.Offset()) return r.Code();
  const char c = json[first];
  return c == ',' || c == ':' || c == ']' || c == '}' ? rapidjson::kParseErrorDocumentEmpty : r.Code();
}

}  // namespace

struct Decoder::Impl {
  Impl(OutputFormat f, std::string s, InputFormat i, std::string t)
      : format(f),
        stream(std::move(s)),
        input(i),
        table(std::move(t)),
        sax(Unmarshaller::New(f == OutputFormat::kUnmarshalled)) {}

  OutputFormat format;
  std::string stream;
  InputFormat input;
  std::string table;  // kStreamsRecord: the table of the stream
  Reader reader;
  std::unique_ptr<Unmarshaller> sax;
  std::string buf;                        // the decoded Data, parsed in situ
  std::string message;                    // error message being built
  ExportSpec export_spec;                 // kExportItem
  std::vector<std::string_view> members;  // AppendKeys's scratch

  // A `keys` object, its members by name (json_text.h AppendMembersByName).
  void AppendKeys(std::string_view object, std::string* out) {
    members.clear();
    SplitMembers(object, &members);
    AppendMembersByName(&members, out);
  }

  void Decode(const poll::KinesisRecordView& rec, std::string_view shard_id, DecodedRecord* out);
  void FinishExportItem(const poll::KinesisRecordView& rec, std::string_view file, DecodedRecord* out);
  void FinishExportChange(const poll::KinesisRecordView& rec, std::string_view file, DecodedRecord* out);
  void WriteError(std::string_view reason, const poll::KinesisRecordView& rec, std::string_view shard_id,
                  DecodedRecord* out);
};

Decoder::Decoder(OutputFormat format, std::string stream_name, InputFormat input, std::string table)
    : impl_(std::make_unique<Impl>(format, std::move(stream_name), input, std::move(table))) {}
Decoder::~Decoder() = default;

void Decoder::Decode(const poll::KinesisRecordView& record, std::string_view shard_id, DecodedRecord* out) {
  impl_->Decode(record, shard_id, out);
}

void Decoder::SetExport(ExportSpec spec) {
  impl_->export_spec = std::move(spec);
  impl_->sax->key_names = &impl_->export_spec.key_attributes;
}

void Decoder::DecodeExportLine(std::string_view line, std::string_view event_id, std::string_view file,
                               DecodedRecord* out) {
  const poll::KinesisRecordView rec{line, event_id, "", impl_->export_spec.export_time_us / 1000};
  impl_->Decode(rec, file, out);
}

void Decoder::WriteErrorLine(std::string_view reason, std::string_view message, const poll::KinesisRecordView& record,
                             std::string_view shard_id, DecodedRecord* out) {
  impl_->message.assign(message);
  impl_->WriteError(reason, record, shard_id, out);
}

std::string FormatIsoMillis(int64_t epoch_us) {
  std::string s;
  AppendIsoMillis(epoch_us, &s);
  return s;
}

void Decoder::Impl::WriteError(std::string_view reason, const poll::KinesisRecordView& rec, std::string_view shard_id,
                               DecodedRecord* out) {
  internal::WriteErrorLine(reason, message, stream, rec, shard_id, out, input != InputFormat::kKinesisData);
}

void Decoder::Impl::Decode(const poll::KinesisRecordView& rec, std::string_view shard_id, DecodedRecord* out) {
  // 1. base64 (a Streams record is its JSON text already).
  const bool streams = input == InputFormat::kStreamsRecord;
  if (input != InputFormat::kKinesisData) {
    buf.assign(rec.data_base64);
  } else if (!DecodeBase64(rec.data_base64, &buf)) {
    message.assign("Data is not valid base64 (");
    message.append(std::to_string(rec.data_base64.size()));
    message.append(" characters)");
    return WriteError(kBadBase64, rec, shard_id, out);
  }
  // rapidjson's SSE2 scanning reads whole aligned 16-byte blocks, which can
  // extend past the terminating NUL: pad so that it stays inside buf.
  const size_t json_size = buf.size();
  buf.append(kSimdPadding, '\0');
  const std::string_view json(buf.data(), json_size);
  if (const size_t ctl = FindControlByte(json); ctl != std::string_view::npos) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto c = static_cast<unsigned char>(json[ctl]);
    message.assign(c == 0 ? "NUL byte" : "unescaped control character 0x");
    if (c != 0) {
      message.push_back(kHex[c >> 4]);
      message.push_back(kHex[c & 15]);
    }
    message.append(" at offset ");
    message.append(std::to_string(ctl));
    return WriteError(kNotJson, rec, shard_id, out);
  }
  if (const size_t bad = FindInvalidUtf8(json); bad != std::string_view::npos) {
    message.assign("invalid UTF-8 at offset ");
    message.append(std::to_string(bad));
    return WriteError(kNotJson, rec, shard_id, out);
  }

  // 2. raw: compact now, while buf is intact.
  std::string& l = out->line;
  l.clear();
  if (format == OutputFormat::kRaw) {
    AppendCompactJson(json, &l);
    l.push_back('\n');
  }

  // 3. parse + unmarshal.
  const rapidjson::ParseResult parsed = sax->Parse(&reader, buf.data(), HasUnicodeEscape(json));
  if (parsed.IsError()) {
    if (sax->too_deep) {
      message.assign("nesting deeper than ");
      message.append(std::to_string(kMaxDepth));
    } else if (sax->surrogate) {
      message.assign("string holds an unpaired UTF-16 surrogate");
    } else {
      message.assign(rapidjson::GetParseError_En(RootCode(json, parsed)));
    }
    message.append(" at offset ");
    // The recursive parser reports a stop at StartObject / StartArray after
    // the '{' or '['; the offset written has always been that of the bracket.
    message.append(std::to_string(parsed.Offset() - (sax->too_deep ? 1 : 0)));
    return WriteError(kNotJson, rec, shard_id, out);
  }

  if (input == InputFormat::kExportItem) return FinishExportItem(rec, shard_id, out);

  // 4. envelope.
  auto not_record = [&](std::string_view what) {
    message.assign(what);
    WriteError(kNotChangeRecord, rec, shard_id, out);
  };
  auto is_text = [](const Noted& n) { return n.present && n.type == Json::kString; };
  if (!sax->root_is_object) return not_record("not a JSON object");
  if (!is_text(sax->event_id)) return not_record("missing or non-string eventID");
  if (!is_text(sax->event_name)) return not_record("missing or non-string eventName");
  const std::string_view name = sax->event_name.text;
  if (name != "INSERT" && name != "MODIFY" && name != "REMOVE") {
    return not_record("eventName is not INSERT, MODIFY or REMOVE");
  }
  if (!streams && (!is_text(sax->table) || sax->table.text.empty())) {
    return not_record("missing, empty or non-string tableName");
  }
  if (!sax->dynamodb_present || !sax->dynamodb_is_object) return not_record("missing or non-object dynamodb");

  bool micros = false;
  if (!streams && sax->precision.present && sax->precision.type != Json::kNull) {
    if (sax->precision.type != Json::kString) {
      return not_record("ApproximateCreationDateTimePrecision is not a string");
    }
    const std::string_view p = sax->precision.text;
    if (p == "MICROSECOND") {
      micros = true;
    } else if (p != "MILLISECOND") {
      return not_record("ApproximateCreationDateTimePrecision is not MILLISECOND or MICROSECOND");
    }
  }
  if (!sax->when.present || sax->when.type != Json::kNumber) {
    return not_record("missing or non-numeric dynamodb.ApproximateCreationDateTime");
  }
  int64_t event_time_us = 0;
  // Streams: epoch seconds, kept to the millisecond.
  if (!ParseEpoch(sax->when.text, micros ? kMaxEventTimeUs : kMaxEventTimeUs / 1000, &event_time_us, streams ? 3 : 0)) {
    return not_record("dynamodb.ApproximateCreationDateTime is negative or after year 9999");
  }
  if (!micros) event_time_us *= 1000;
  for (const Image& im : sax->images) {
    if (im.shape == Image::Shape::kOther) {
      return not_record("dynamodb.Keys, NewImage or OldImage is not an object");
    }
  }

  // 5. attributes.
  for (const Image& im : sax->images) {
    if (im.shape == Image::Shape::kObject && im.has_error) {
      message.assign(im.message);
      return WriteError(kBadAttribute, rec, shard_id, out);
    }
  }
  const std::string_view event_id = sax->event_id.text;
  const std::string_view table = streams ? std::string_view(this->table) : sax->table.text;
  if (format == OutputFormat::kUnmarshalled) {
    auto image = [&](const Image& im) {
      if (im.shape == Image::Shape::kObject) {
        l.append(im.out.view());
      } else {
        l.append("null");
      }
    };
    auto keys = [&](const Image& im) {
      if (im.shape == Image::Shape::kObject) {
        AppendKeys(im.out.view(), &l);
      } else {
        l.append("null");
      }
    };
    l.append("{\"event_id\":");
    AppendJsonString(event_id, &l);
    l.append(",\"event_name\":");
    AppendJsonString(name, &l);
    l.append(",\"table\":");
    AppendJsonString(table, &l);
    l.append(",\"event_time\":\"");
    AppendIsoMillis(event_time_us, &l);
    l.append("\",\"sequence_number\":");
    AppendJsonStringLossy(rec.sequence_number, &l);
    l.append(",\"shard_id\":");
    AppendJsonStringLossy(shard_id, &l);
    l.append(",\"keys\":");
    keys(sax->images[0]);
    l.append(",\"new_image\":");
    image(sax->images[1]);
    l.append(",\"old_image\":");
    image(sax->images[2]);
    l.append(",\"user_identity\":");
    if (sax->identity_present) {
      l.append(sax->identity.view());
    } else {
      l.append("null");
    }
    l.append("}\n");
  }

  out->ok = true;
  out->table.assign(table);
  out->event_name.assign(name);
  out->event_id.assign(event_id);
  out->event_time_us = event_time_us;
  out->error.clear();
}

// Steps 4 and 5 for an export line: the item is images[1] (an incremental
// export's line: images as a change record's, the time in `when`).
void Decoder::Impl::FinishExportItem(const poll::KinesisRecordView& rec, std::string_view file, DecodedRecord* out) {
  auto not_item = [&](std::string_view what) {
    message.assign(what);
    WriteError(kNotExportItem, rec, file, out);
  };
  if (export_spec.incremental) return FinishExportChange(rec, file, out);
  const Image& item = sax->images[1];
  if (!sax->root_is_object) return not_item("not a JSON object");
  if (item.shape != Image::Shape::kObject) return not_item("no Item object");
  for (size_t i = 0; i < sax->key_spans.size(); ++i) {
    if (!sax->key_spans[i].found) {
      message.assign("Item has no key attribute ");
      message.append(export_spec.key_attributes[i]);
      return WriteError(kNotExportItem, rec, file, out);
    }
  }
  if (item.has_error) {
    message.assign(item.message);
    return WriteError(kBadAttribute, rec, file, out);
  }
  std::string& l = out->line;
  if (format == OutputFormat::kUnmarshalled) {
    l.append("{\"event_id\":");
    AppendJsonString(rec.sequence_number, &l);
    l.append(",\"event_name\":\"SNAPSHOT\",\"table\":");
    AppendJsonString(table, &l);
    l.append(",\"event_time\":\"");
    AppendIsoMillis(export_spec.export_time_us, &l);
    l.append("\",\"sequence_number\":null,\"shard_id\":null,\"keys\":");
    members.clear();
    for (const auto& span : sax->key_spans) {
      members.push_back(item.out.view().substr(span.begin, span.end - span.begin));
    }
    AppendMembersByName(&members, &l);
    l.append(",\"new_image\":");
    l.append(item.out.view());
    l.append(",\"old_image\":null,\"user_identity\":null}\n");
  }
  out->ok = true;
  out->table.assign(table);
  out->event_name.assign("SNAPSHOT");
  out->event_id.assign(rec.sequence_number);
  out->event_time_us = export_spec.export_time_us;
  out->error.clear();
}

void Decoder::Impl::FinishExportChange(const poll::KinesisRecordView& rec, std::string_view file, DecodedRecord* out) {
  auto not_item = [&](std::string_view what) {
    message.assign(what);
    WriteError(kNotExportItem, rec, file, out);
  };
  if (!sax->root_is_object) return not_item("not a JSON object");
  const Image& keys = sax->images[0];
  const Image& new_image = sax->images[1];
  const Image& old_image = sax->images[2];
  if (keys.shape != Image::Shape::kObject) return not_item("no Keys object");
  for (const Image& im : sax->images) {
    if (im.shape == Image::Shape::kOther) return not_item("Keys, NewImage or OldImage is not an object");
  }
  int64_t event_time_us = 0;
  if (!sax->when.present || sax->when.type != Json::kString ||
      !ParseEpoch(sax->when.text, kMaxEventTimeUs, &event_time_us)) {
    return not_item("Metadata.WriteTimestampMicros is missing, not an N value, or out of range");
  }
  for (const Image& im : sax->images) {
    if (im.shape == Image::Shape::kObject && im.has_error) {
      message.assign(im.message);
      return WriteError(kBadAttribute, rec, file, out);
    }
  }
  const std::string_view name = new_image.shape != Image::Shape::kObject   ? "REMOVE"
                                : old_image.shape == Image::Shape::kObject ? "MODIFY"
                                                                           : "INSERT";
  std::string& l = out->line;
  if (format == OutputFormat::kUnmarshalled) {
    auto image = [&](const Image& im) { l.append(im.shape == Image::Shape::kObject ? im.out.view() : "null"); };
    l.append("{\"event_id\":");
    AppendJsonString(rec.sequence_number, &l);
    l.append(",\"event_name\":\"");
    l.append(name);
    l.append("\",\"table\":");
    AppendJsonString(table, &l);
    l.append(",\"event_time\":\"");
    AppendIsoMillis(event_time_us, &l);
    l.append("\",\"sequence_number\":null,\"shard_id\":null,\"keys\":");
    AppendKeys(keys.out.view(), &l);  // an object (checked above)
    l.append(",\"new_image\":");
    image(new_image);
    l.append(",\"old_image\":");
    image(old_image);
    l.append(",\"user_identity\":null}\n");
  }
  out->ok = true;
  out->table.assign(table);
  out->event_name.assign(name);
  out->event_id.assign(rec.sequence_number);
  out->event_time_us = event_time_us;
  out->error.clear();
}

}  // namespace shardhose::decode

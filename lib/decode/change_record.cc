// Decoder implementation.
//
// Per record (all buffers owned by Impl and reused, so the steady state makes
// no heap allocations):
//   1. base64-decode Data into buf_ (decode/fast_base64.h). buf_ is parsed
//      as a NUL-terminated string, so a NUL byte inside the data is rejected
//      up front (a NUL-terminated parse would stop there, and JSON never
//      contains a raw NUL), and so is every other control byte JSON forbids
//      (rapidjson 1.1's SSE2 scan misses 0x1a..0x1f inside strings). UTF-8 is validated over the whole buffer here
//      (FindInvalidUtf8, 8 bytes per step for ASCII) instead of by rapidjson's
//      kParseValidateEncodingFlag, which would turn off rapidjson's SSE2
//      string scanning; outside strings any non-ASCII byte is a syntax error
//      anyway, so the result is the same.
//   2. raw format only: compact buf_ into the output line (before step 3
//      destroys buf_).
//   3. parse buf_ in situ into a rapidjson DOM that lives in an Arena
//      (iterative parser, numbers kept as their text). A SAX
//      filter in front of the DOM enforces kMaxDepth and rejects strings
//      holding a lone UTF-16 low surrogate (escaped "\udc00"), which
//      rapidjson 1.1 would otherwise turn into ill-formed UTF-8. (Valid
//      UTF-8 input cannot hold a surrogate, so strings are only checked when
//      the text contains a backslash-u escape.)
//   4. check the change-record envelope, then walk Keys/NewImage/OldImage:
//      validate every typed value and (unmarshalled format) write it.
//
// Telling numbers from strings: with kParseNumbersAsStringsFlag the DOM
// stores a number as a string value that points at its digits in buf_. In an
// in-situ parse a string's text always starts right after its opening quote
// (that byte is never overwritten), while a number is preceded by one of
// ':' ',' '[' or whitespace. IsNumber() relies on that; it is only asked
// about values nested inside the root object, so str[-1] is inside buf_.
#include "decode/change_record.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cstring>
#include <limits>

#include "decode/arena.h"
#include "decode/fast_base64.h"
#include "decode/json_text.h"

namespace shardhose::decode {
namespace {

using Utf8 = rapidjson::UTF8<>;
using Doc = rapidjson::GenericDocument<Utf8, Arena, Arena>;
using Value = rapidjson::GenericValue<Utf8, Arena>;
using Reader = rapidjson::GenericReader<Utf8, Utf8, rapidjson::CrtAllocator>;

constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag |
                                 rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseNumbersAsStringsFlag;

// Largest accepted event time: 9999-12-31T23:59:59.999999Z.
constexpr int64_t kMaxEventTimeUs = 253402300799999999;

constexpr size_t kSimdPadding = 16;

constexpr std::string_view kBadBase64 = "bad_base64";
constexpr std::string_view kNotJson = "not_json";
constexpr std::string_view kNotChangeRecord = "not_change_record";
constexpr std::string_view kBadAttribute = "bad_attribute";

std::string_view View(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

// See the file comment.
bool IsNumber(const Value& v) { return v.IsString() && v.GetString()[-1] != '"'; }
bool IsText(const Value& v) { return v.IsString() && v.GetString()[-1] == '"'; }

// True if s holds the UTF-8 encoding of a surrogate code point.
bool HasSurrogate(const char* s, size_t n) {
  const char* p = s;
  const char* end = s + n;
  while (p < end) {
    const void* hit = std::memchr(p, 0xED, static_cast<size_t>(end - p));
    if (hit == nullptr) return false;
    p = static_cast<const char*>(hit) + 1;
    if (p < end && static_cast<unsigned char>(*p) >= 0xA0) return true;
  }
  return false;
}

// SAX filter between the reader and the DOM.
struct Filter {
  Doc* doc;
  bool check_surrogates;  // false when the text has no "\u" escape at all
  int depth = 0;
  bool too_deep = false;
  bool surrogate = false;

  bool Null() { return doc->Null(); }
  bool Bool(bool b) { return doc->Bool(b); }
  bool Int(int i) { return doc->Int(i); }
  bool Uint(unsigned i) { return doc->Uint(i); }
  bool Int64(int64_t i) { return doc->Int64(i); }
  bool Uint64(uint64_t i) { return doc->Uint64(i); }
  bool Double(double d) { return doc->Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return doc->RawNumber(s, n, copy); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    if (check_surrogates && HasSurrogate(s, n)) [[unlikely]] {
      surrogate = true;
      return false;
    }
    return doc->String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return String(s, n, copy); }
  bool StartObject() { return Open() && doc->StartObject(); }
  bool EndObject(rapidjson::SizeType n) {
    --depth;
    return doc->EndObject(n);
  }
  bool StartArray() { return Open() && doc->StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth;
    return doc->EndArray(n);
  }
  bool Open() {
    if (++depth > kMaxDepth) [[unlikely]] {
      too_deep = true;
      return false;
    }
    return true;
  }
};

// Parses ApproximateCreationDateTime's digits ("1716200000123", "1.7e12",
// "1716200000123.9") to an integer, truncating any fraction. Returns false if
// negative or larger than `limit`.
bool ParseEpoch(std::string_view s, int64_t limit, int64_t* out) {
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
  const int64_t int_digits = static_cast<int64_t>(int_end - int_begin) + exp;
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

struct PathElem {
  std::string_view name;  // data() == nullptr for an array index
  int64_t index;
};

// The attribute path being walked. Its depth is bounded by the JSON depth,
// which the parser limits to kMaxDepth.
class Path {
 public:
  void clear() { size_ = 0; }
  void push_back(PathElem e) { elems_[size_++] = e; }
  void pop_back() { --size_; }
  size_t size() const { return size_; }
  const PathElem& operator[](size_t i) const { return elems_[i]; }

 private:
  PathElem elems_[kMaxDepth + 1];
  size_t size_ = 0;
};

}  // namespace

struct Decoder::Impl {
  Impl(OutputFormat f, std::string s) : format(f), stream(std::move(s)) {}

  OutputFormat format;
  std::string stream;
  Arena arena;
  Doc doc{&arena, 16 * 1024, &arena};
  Reader reader;
  std::string buf;  // the decoded Data, parsed in situ
  Path path;
  std::string* line = nullptr;  // output being written (unmarshalled)
  std::string message;          // error message being built

  void Decode(const KinesisRecordView& rec, std::string_view shard_id, DecodedRecord* out);
  void WriteError(std::string_view reason, const KinesisRecordView& rec, std::string_view shard_id,
                  DecodedRecord* out);

  // Typed-value walk. kWrite: also append the plain JSON to *line.
  template <bool kWrite> bool Attr(const Value& av);
  template <bool kWrite> bool Map(const Value& obj);
  template <bool kWrite> bool Image(std::string_view name, const Value* v);
  bool AttrError(std::string_view what, const Value* bad);
  void WriteGeneric(const Value& v);
};

Decoder::Decoder(OutputFormat format, std::string stream_name)
    : impl_(std::make_unique<Impl>(format, std::move(stream_name))) {}
Decoder::~Decoder() = default;

void Decoder::Decode(const KinesisRecordView& record, std::string_view shard_id, DecodedRecord* out) {
  impl_->Decode(record, shard_id, out);
}

void Decoder::WriteErrorLine(std::string_view reason, std::string_view message,
                             const KinesisRecordView& record, std::string_view shard_id, DecodedRecord* out) {
  impl_->message.assign(message);
  impl_->WriteError(reason, record, shard_id, out);
}

std::string FormatIsoMillis(int64_t epoch_us) {
  std::string s;
  AppendIsoMillis(epoch_us, &s);
  return s;
}

void Decoder::Impl::WriteError(std::string_view reason, const KinesisRecordView& rec,
                               std::string_view shard_id, DecodedRecord* out) {
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
  AppendIsoMillis(rec.arrival_ms > kMaxMs ? kMaxMs * 1000 : rec.arrival_ms < -kMaxMs ? -kMaxMs * 1000 : rec.arrival_ms * 1000, &l);
  l.append("\",\"data_base64\":");
  AppendJsonStringLossy(rec.data_base64, &l);
  l.append("}\n");
}

bool Decoder::Impl::AttrError(std::string_view what, const Value* bad) {
  message.clear();
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i].name.data() != nullptr) {
      if (i > 0) message.push_back('.');
      message.append(path[i].name);
    } else {
      message.push_back('[');
      message.append(std::to_string(path[i].index));
      message.push_back(']');
    }
  }
  message.append(": ");
  message.append(what);
  if (bad != nullptr && bad->IsString()) {
    std::string_view v = View(*bad);
    message.append(" (got ");
    if (v.size() > 40) {
      message.append(v.substr(0, 40));
      message.append("... ");
      message.append(std::to_string(v.size()));
      message.append(" bytes");
    } else {
      message.append(v);
    }
    message.push_back(')');
  }
  return false;
}

template <bool kWrite>
bool Decoder::Impl::Map(const Value& obj) {
  if constexpr (kWrite) line->push_back('{');
  bool first = true;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if constexpr (kWrite) {
      if (!first) line->push_back(',');
      AppendJsonString(View(it->name), line);
      line->push_back(':');
    }
    first = false;
    path.push_back({View(it->name), 0});
    if (!Attr<kWrite>(it->value)) return false;
    path.pop_back();
  }
  if constexpr (kWrite) line->push_back('}');
  return true;
}

template <bool kWrite>
bool Decoder::Impl::Attr(const Value& av) {
  if (!av.IsObject() || av.MemberCount() != 1) {
    return AttrError("not a DynamoDB typed value (an object with one type tag)", nullptr);
  }
  const auto& m = *av.MemberBegin();
  const std::string_view tag = View(m.name);
  const Value& v = m.value;
  // Scalar checks shared by the scalar and set types.
  auto number = [&](const Value& x) {
    if (!IsText(x) || !IsJsonNumber(View(x))) {
      return AttrError("N value is not a JSON number string", IsText(x) ? &x : nullptr);
    }
    if constexpr (kWrite) line->append(x.GetString(), x.GetStringLength());
    return true;
  };
  auto binary = [&](const Value& x) {
    if (!IsText(x) || !IsBase64(View(x))) {
      return AttrError("B value is not a base64 string", IsText(x) ? &x : nullptr);
    }
    if constexpr (kWrite) {
      line->push_back('"');
      line->append(x.GetString(), x.GetStringLength());
      line->push_back('"');
    }
    return true;
  };
  auto text = [&](const Value& x) {
    if (!IsText(x)) return AttrError("S value is not a string", nullptr);
    if constexpr (kWrite) AppendJsonString(View(x), line);
    return true;
  };
  auto set = [&](auto&& element, std::string_view what) {
    if (!v.IsArray()) return AttrError(what, nullptr);
    if constexpr (kWrite) line->push_back('[');
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if constexpr (kWrite) {
        if (i > 0) line->push_back(',');
      }
      path.push_back({std::string_view(), static_cast<int64_t>(i)});
      if (!element(v[i])) return false;
      path.pop_back();
    }
    if constexpr (kWrite) line->push_back(']');
    return true;
  };

  switch (tag.size()) {
    case 1:
      switch (tag[0]) {
        case 'S': return text(v);
        case 'N': return number(v);
        case 'B': return binary(v);
        case 'M':
          if (!v.IsObject()) return AttrError("M value is not an object", nullptr);
          return Map<kWrite>(v);
        case 'L':
          return set([&](const Value& x) { return Attr<kWrite>(x); }, "L value is not an array");
      }
      break;
    case 2:
      if (tag[1] != 'S') break;
      switch (tag[0]) {
        case 'S': return set(text, "SS value is not an array");
        case 'N': return set(number, "NS value is not an array");
        case 'B': return set(binary, "BS value is not an array");
      }
      break;
    case 4:
      if (tag == "BOOL") {
        if (!v.IsBool()) return AttrError("BOOL value is not true or false", nullptr);
        if constexpr (kWrite) line->append(v.GetBool() ? "true" : "false");
        return true;
      }
      if (tag == "NULL") {
        if (!v.IsTrue()) return AttrError("NULL value is not true", nullptr);
        if constexpr (kWrite) line->append("null");
        return true;
      }
      break;
  }
  return AttrError("unknown type tag", &m.name);
}

template <bool kWrite>
bool Decoder::Impl::Image(std::string_view name, const Value* v) {
  if (v == nullptr || v->IsNull()) {
    if constexpr (kWrite) line->append("null");
    return true;
  }
  path.clear();
  path.push_back({name, 0});
  return Map<kWrite>(*v);
}

void Decoder::Impl::WriteGeneric(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: line->append("null"); break;
    case rapidjson::kFalseType: line->append("false"); break;
    case rapidjson::kTrueType: line->append("true"); break;
    case rapidjson::kStringType:
      if (IsNumber(v)) {
        line->append(v.GetString(), v.GetStringLength());
      } else {
        AppendJsonString(View(v), line);
      }
      break;
    case rapidjson::kObjectType: {
      line->push_back('{');
      bool first = true;
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        if (!first) line->push_back(',');
        first = false;
        AppendJsonString(View(it->name), line);
        line->push_back(':');
        WriteGeneric(it->value);  // depth is bounded by kMaxDepth
      }
      line->push_back('}');
      break;
    }
    case rapidjson::kArrayType: {
      line->push_back('[');
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        if (i > 0) line->push_back(',');
        WriteGeneric(v[i]);
      }
      line->push_back(']');
      break;
    }
    case rapidjson::kNumberType:  // not produced with kParseNumbersAsStringsFlag
      line->append("null");
      break;
  }
}

void Decoder::Impl::Decode(const KinesisRecordView& rec, std::string_view shard_id,
                           DecodedRecord* out) {
  // 1. base64.
  if (!DecodeBase64(rec.data_base64, &buf)) {
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

  // 3. parse.
  arena.Reset();
  Filter filter{&doc, HasUnicodeEscape(json)};
  rapidjson::GenericInsituStringStream<Utf8> is(buf.data());
  rapidjson::ParseResult parsed;
  auto generate = [&](Doc&) {
    parsed = reader.Parse<kParseFlags>(is, filter);
    return !parsed.IsError();
  };
  doc.Populate(generate);
  if (parsed.IsError()) {
    if (filter.too_deep) {
      message.assign("nesting deeper than ");
      message.append(std::to_string(kMaxDepth));
    } else if (filter.surrogate) {
      message.assign("string holds an unpaired UTF-16 surrogate");
    } else {
      message.assign(rapidjson::GetParseError_En(parsed.Code()));
    }
    message.append(" at offset ");
    message.append(std::to_string(parsed.Offset()));
    return WriteError(kNotJson, rec, shard_id, out);
  }

  // 4. envelope.
  auto not_record = [&](std::string_view what) {
    message.assign(what);
    WriteError(kNotChangeRecord, rec, shard_id, out);
  };
  if (!doc.IsObject()) return not_record("not a JSON object");
  const Value* event_id = nullptr;
  const Value* event_name = nullptr;
  const Value* table = nullptr;
  const Value* ddb = nullptr;
  const Value* identity = nullptr;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string_view k = View(it->name);
    if (k == "eventID") {
      event_id = &it->value;
    } else if (k == "eventName") {
      event_name = &it->value;
    } else if (k == "tableName") {
      table = &it->value;
    } else if (k == "dynamodb") {
      ddb = &it->value;
    } else if (k == "userIdentity") {
      identity = &it->value;
    }
  }
  if (event_id == nullptr || !IsText(*event_id)) return not_record("missing or non-string eventID");
  if (event_name == nullptr || !IsText(*event_name)) {
    return not_record("missing or non-string eventName");
  }
  const std::string_view name = View(*event_name);
  if (name != "INSERT" && name != "MODIFY" && name != "REMOVE") {
    return not_record("eventName is not INSERT, MODIFY or REMOVE");
  }
  if (table == nullptr || !IsText(*table) || table->GetStringLength() == 0) {
    return not_record("missing, empty or non-string tableName");
  }
  if (ddb == nullptr || !ddb->IsObject()) return not_record("missing or non-object dynamodb");

  const Value* when = nullptr;
  const Value* precision = nullptr;
  const Value* keys = nullptr;
  const Value* new_image = nullptr;
  const Value* old_image = nullptr;
  for (auto it = ddb->MemberBegin(); it != ddb->MemberEnd(); ++it) {
    const std::string_view k = View(it->name);
    if (k == "ApproximateCreationDateTime") {
      when = &it->value;
    } else if (k == "ApproximateCreationDateTimePrecision") {
      precision = &it->value;
    } else if (k == "Keys") {
      keys = &it->value;
    } else if (k == "NewImage") {
      new_image = &it->value;
    } else if (k == "OldImage") {
      old_image = &it->value;
    }
  }
  bool micros = false;
  if (precision != nullptr && !precision->IsNull()) {
    if (!IsText(*precision)) return not_record("ApproximateCreationDateTimePrecision is not a string");
    const std::string_view p = View(*precision);
    if (p == "MICROSECOND") {
      micros = true;
    } else if (p != "MILLISECOND") {
      return not_record("ApproximateCreationDateTimePrecision is not MILLISECOND or MICROSECOND");
    }
  }
  if (when == nullptr || !IsNumber(*when)) {
    return not_record("missing or non-numeric dynamodb.ApproximateCreationDateTime");
  }
  int64_t event_time_us = 0;
  if (!ParseEpoch(View(*when), micros ? kMaxEventTimeUs : kMaxEventTimeUs / 1000, &event_time_us)) {
    return not_record("dynamodb.ApproximateCreationDateTime is negative or after year 9999");
  }
  if (!micros) event_time_us *= 1000;
  for (const Value* image : {keys, new_image, old_image}) {
    if (image != nullptr && !image->IsNull() && !image->IsObject()) {
      return not_record("dynamodb.Keys, NewImage or OldImage is not an object");
    }
  }

  // 5. attributes.
  bool ok;
  if (format == OutputFormat::kUnmarshalled) {
    line = &l;
    l.append("{\"event_id\":");
    AppendJsonString(View(*event_id), &l);
    l.append(",\"event_name\":");
    AppendJsonString(name, &l);
    l.append(",\"table\":");
    AppendJsonString(View(*table), &l);
    l.append(",\"event_time\":\"");
    AppendIsoMillis(event_time_us, &l);
    l.append("\",\"sequence_number\":");
    AppendJsonStringLossy(rec.sequence_number, &l);
    l.append(",\"shard_id\":");
    AppendJsonStringLossy(shard_id, &l);
    l.append(",\"keys\":");
    ok = Image<true>("Keys", keys);
    if (ok) {
      l.append(",\"new_image\":");
      ok = Image<true>("NewImage", new_image);
    }
    if (ok) {
      l.append(",\"old_image\":");
      ok = Image<true>("OldImage", old_image);
    }
    if (ok) {
      l.append(",\"user_identity\":");
      if (identity == nullptr) {
        l.append("null");
      } else {
        WriteGeneric(*identity);
      }
      l.append("}\n");
    }
  } else {
    ok = Image<false>("Keys", keys) && Image<false>("NewImage", new_image) &&
         Image<false>("OldImage", old_image);
  }
  if (!ok) return WriteError(kBadAttribute, rec, shard_id, out);

  out->ok = true;
  out->table.assign(View(*table));
  out->event_name.assign(name);
  out->event_id.assign(View(*event_id));
  out->event_time_us = event_time_us;
  out->error.clear();
}

}  // namespace shardhose::decode

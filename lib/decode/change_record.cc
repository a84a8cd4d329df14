// Decoder implementation.
//
// Per record (all buffers owned by Impl and reused, so the steady state makes
// no heap allocations):
//   1. base64-decode Data into buf (decode/fast_base64.h). buf is parsed
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
#include "decode/change_record.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cstring>
#include <limits>

#include "decode/fast_base64.h"
#include "decode/json_text.h"

namespace shardhose::decode {
namespace {

using Utf8 = rapidjson::UTF8<>;
using Reader = rapidjson::GenericReader<Utf8, Utf8, rapidjson::CrtAllocator>;
using rapidjson::SizeType;

// The recursive parser: ~10% faster than the iterative one here, and its
// depth (so its stack) is bounded by Unmarshaller, which stops the parse at
// the StartObject / StartArray that would exceed kMaxDepth. Its error codes
// and offsets are the iterative parser's (which error lines have always
// quoted) but for two cases mapped back in Decode: RootCode() and the offset
// of the depth stop.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;

// Largest accepted event time: 9999-12-31T23:59:59.999999Z.
constexpr int64_t kMaxEventTimeUs = 253402300799999999;

constexpr size_t kSimdPadding = 16;

constexpr std::string_view kBadBase64 = "bad_base64";
constexpr std::string_view kNotJson = "not_json";
constexpr std::string_view kNotChangeRecord = "not_change_record";
constexpr std::string_view kBadAttribute = "bad_attribute";

constexpr std::string_view kNotTypedValue = "not a DynamoDB typed value (an object with one type tag)";

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

struct PathElem {
  std::string_view name;  // data() == nullptr for an array index
  int64_t index;
};

// The attribute path being walked. Its length is bounded by the JSON depth,
// which the parser limits to kMaxDepth.
class Path {
 public:
  void clear() { size_ = 0; }
  void push_back(PathElem e) { elems_[size_++] = e; }
  void resize(size_t n) { size_ = n; }
  size_t size() const { return size_; }
  const PathElem& operator[](size_t i) const { return elems_[i]; }

 private:
  PathElem elems_[kMaxDepth + 1];
  size_t size_ = 0;
};

// A JSON value the parser has reported, as the checks need to see it.
enum class Json : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kObject, kArray };

// DynamoDB type tags, and what a value inside a typed value is.
enum class Tag : uint8_t { kS, kN, kB, kBool, kNull, kM, kL, kSS, kNS, kBS, kSkip };

Tag ClassifyTag(std::string_view t) {
  switch (t.size()) {
    case 1:
      switch (t[0]) {
        case 'S': return Tag::kS;
        case 'N': return Tag::kN;
        case 'B': return Tag::kB;
        case 'M': return Tag::kM;
        case 'L': return Tag::kL;
      }
      break;
    case 2:
      if (t[1] != 'S') break;
      switch (t[0]) {
        case 'S': return Tag::kSS;
        case 'N': return Tag::kNS;
        case 'B': return Tag::kBS;
      }
      break;
    case 4:
      if (t == "BOOL") return Tag::kBool;
      if (t == "NULL") return Tag::kNull;
      break;
  }
  return Tag::kSkip;
}

// Members of the record and of dynamodb the decoder looks at.
enum class Field : uint8_t {
  kOther,
  kEventId,
  kEventName,
  kTable,
  kDynamodb,
  kIdentity,
  kWhen,
  kPrecision,
  kKeys,
  kNewImage,
  kOldImage,
};

Field RootField(std::string_view k) {
  if (k == "eventID") return Field::kEventId;
  if (k == "eventName") return Field::kEventName;
  if (k == "tableName") return Field::kTable;
  if (k == "dynamodb") return Field::kDynamodb;
  if (k == "userIdentity") return Field::kIdentity;
  return Field::kOther;
}

Field DynamodbField(std::string_view k) {
  if (k == "ApproximateCreationDateTime") return Field::kWhen;
  if (k == "ApproximateCreationDateTimePrecision") return Field::kPrecision;
  if (k == "Keys") return Field::kKeys;
  if (k == "NewImage") return Field::kNewImage;
  if (k == "OldImage") return Field::kOldImage;
  return Field::kOther;
}

// A scalar envelope field: the last value given for it.
struct Noted {
  Json type = Json::kNull;
  bool present = false;
  std::string_view text;  // kString or kNumber
};

// One of Keys / NewImage / OldImage.
struct Image {
  enum class Shape : uint8_t { kAbsent, kNull, kObject, kOther };
  Shape shape = Shape::kAbsent;
  bool has_error = false;
  std::string out;      // the unmarshalled object (unmarshalled format)
  std::string message;  // the first error, if has_error

  void Reset() {
    shape = Shape::kAbsent;
    has_error = false;
    out.clear();
    message.clear();
  }
};

// The SAX handler of step 3 (see the file comment). Reset() before each
// parse; the reader's events then drive it. It returns false (stopping the
// parse) only for too-deep nesting and unpaired surrogates, so every other
// parse error is rapidjson's own, at rapidjson's offset.
class Unmarshaller {
 public:
  explicit Unmarshaller(bool write) : write_(write) {}

  void Reset(bool check_surrogates) {
    check_surrogates_ = check_surrogates;
    too_deep = surrogate = false;
    depth_ = 0;
    root_is_object = false;
    event_id = event_name = table = Noted{};
    identity_present = false;
    identity.clear();
    ResetDynamodb();
    dynamodb_present = false;
    dynamodb_is_object = false;
  }

  // --- reader events ---
  bool Null() { return Scalar(Json::kNull, {}); }
  bool Bool(bool b) { return Scalar(b ? Json::kTrue : Json::kFalse, {}); }
  bool RawNumber(const char* s, SizeType n, bool) { return Scalar(Json::kNumber, {s, n}); }
  bool String(const char* s, SizeType n, bool) {
    if (check_surrogates_ && HasSurrogate(s, n)) [[unlikely]] {
      surrogate = true;
      return false;
    }
    return Scalar(Json::kString, {s, n});
  }
  bool Key(const char* s, SizeType n, bool) {
    if (check_surrogates_ && HasSurrogate(s, n)) [[unlikely]] {
      surrogate = true;
      return false;
    }
    OnKey({s, n});
    return true;
  }
  bool StartObject() { return Open(Json::kObject); }
  bool StartArray() { return Open(Json::kArray); }
  bool EndObject(SizeType) {
    Close();
    return true;
  }
  bool EndArray(SizeType) {
    Close();
    return true;
  }
  // Not produced with kParseNumbersAsStringsFlag.
  bool Int(int) { return true; }
  bool Uint(unsigned) { return true; }
  bool Int64(int64_t) { return true; }
  bool Uint64(uint64_t) { return true; }
  bool Double(double) { return true; }

  // --- what the parse found (valid after a successful parse) ---
  bool too_deep = false;
  bool surrogate = false;
  bool root_is_object = false;
  Noted event_id, event_name, table;
  bool dynamodb_present = false;
  bool dynamodb_is_object = false;
  Noted when, precision;
  Image images[3];  // Keys, NewImage, OldImage
  bool identity_present = false;
  std::string identity;  // userIdentity as plain JSON (unmarshalled format)

 private:
  enum class Kind : uint8_t {
    kSkip,     // a value nobody looks at
    kRoot,     // the change record
    kDynamodb, // its dynamodb object
    kMap,      // attribute name -> typed value: an image, or an M value
    kTyped,    // a typed value {"<tag>": value}
    kList,     // an L value: typed values
    kSet,      // an SS / NS / BS value: scalars of one type
    kGeneric,  // (inside) userIdentity, copied as plain JSON
  };
  struct Frame {
    Kind kind;
    Field field;          // kRoot, kDynamodb: the member whose value comes next
    Tag tag;              // kTyped: the tag seen; kSet: the element type
    bool error_at_start;  // kTyped: the image already had an error
    uint32_t count;       // members or elements seen
    uint32_t path_len;    // kMap, kList, kSet, kTyped: the path's length at the start
  };

  void ResetDynamodb() {
    when = precision = Noted{};
    for (Image& im : images) im.Reset();
  }

  Frame& Top() { return stack_[depth_ - 1]; }
  void Push(Kind kind, Tag tag = Tag::kSkip) {
    stack_[depth_++] = Frame{kind, Field::kOther, tag, false, 0, static_cast<uint32_t>(path_.size())};
  }

  // Records the first error of the current image.
  void AttrError(std::string_view what, const std::string_view* bad) {
    Image& im = images[image_];
    w_ = nullptr;
    if (im.has_error) return;
    im.has_error = true;
    BuildMessage(what, bad, &im.message);
  }

  // The typed value `f` does not have exactly one member: that check comes
  // before anything found inside it.
  void CountError(const Frame& f) {
    Image& im = images[image_];
    w_ = nullptr;
    if (f.error_at_start) return;
    im.has_error = true;
    path_.resize(f.path_len);
    BuildMessage(kNotTypedValue, nullptr, &im.message);
  }

  void BuildMessage(std::string_view what, const std::string_view* bad, std::string* message) const {
    message->clear();
    for (size_t i = 0; i < path_.size(); ++i) {
      if (path_[i].name.data() != nullptr) {
        if (i > 0) message->push_back('.');
        message->append(path_[i].name);
      } else {
        message->push_back('[');
        message->append(std::to_string(path_[i].index));
        message->push_back(']');
      }
    }
    message->append(": ");
    message->append(what);
    if (bad != nullptr) {
      const std::string_view v = *bad;
      message->append(" (got ");
      if (v.size() > 40) {
        message->append(v.substr(0, 40));
        message->append("... ");
        message->append(std::to_string(v.size()));
        message->append(" bytes");
      } else {
        message->append(v);
      }
      message->push_back(')');
    }
  }

  bool Open(Json type) {
    if (depth_ + 1 > kMaxDepth) [[unlikely]] {
      too_deep = true;
      return false;
    }
    OnValue(type, {});
    return true;
  }

  bool Scalar(Json type, std::string_view text) {
    OnValue(type, text);
    return true;
  }

  // A value starts (a scalar, or the start of an object or array): what it
  // is depends on where it is. Pushes a frame for a container.
  void OnValue(Json type, std::string_view text) {
    const bool container = type == Json::kObject || type == Json::kArray;
    if (depth_ == 0) {
      root_is_object = type == Json::kObject;
      if (container) Push(root_is_object ? Kind::kRoot : Kind::kSkip);
      return;
    }
    Frame& f = Top();
    switch (f.kind) {
      case Kind::kSkip:
        break;
      case Kind::kRoot:
        return RootValue(f.field, type, text);
      case Kind::kDynamodb:
        return DynamodbValue(f.field, type, text);
      case Kind::kMap:
        return TypedValue(type);
      case Kind::kList:
        path_.resize(f.path_len);
        path_.push_back({std::string_view(), static_cast<int64_t>(f.count)});
        if (w_ != nullptr && f.count > 0) w_->push_back(',');
        ++f.count;
        return TypedValue(type);
      case Kind::kSet:
        path_.resize(f.path_len);
        path_.push_back({std::string_view(), static_cast<int64_t>(f.count)});
        if (w_ != nullptr && f.count > 0) w_->push_back(',');
        ++f.count;
        return TagValue(f.tag, type, text);
      case Kind::kTyped:
        return TagValue(f.tag, type, text);
      case Kind::kGeneric:
        if (f.tag == Tag::kL) {  // an array
          if (f.count > 0) identity.push_back(',');
          ++f.count;
        }
        return GenericValue(type, text);
    }
    if (container) Push(Kind::kSkip);
  }

  void OnKey(std::string_view k) {
    Frame& f = Top();
    switch (f.kind) {
      case Kind::kSkip:
        return;
      case Kind::kRoot:
        f.field = RootField(k);
        if (f.field == Field::kDynamodb) {
          ResetDynamodb();
        } else if (f.field == Field::kIdentity) {
          identity_present = true;
          identity.clear();
        }
        return;
      case Kind::kDynamodb:
        f.field = DynamodbField(k);
        if (f.field == Field::kKeys || f.field == Field::kNewImage || f.field == Field::kOldImage) {
          images[ImageIndex(f.field)].Reset();
        }
        return;
      case Kind::kMap:
        if (w_ != nullptr) {
          if (f.count > 0) w_->push_back(',');
          AppendJsonString(k, w_);
          w_->push_back(':');
        }
        ++f.count;
        path_.resize(f.path_len);
        path_.push_back({k, 0});
        return;
      case Kind::kTyped:
        if (++f.count == 1) {
          f.tag = ClassifyTag(k);
          if (f.tag == Tag::kSkip) AttrError("unknown type tag", &k);
        } else {
          f.tag = Tag::kSkip;
          if (f.count == 2) CountError(f);
        }
        return;
      case Kind::kGeneric:
        if (f.count > 0) identity.push_back(',');
        ++f.count;
        AppendJsonString(k, &identity);
        identity.push_back(':');
        return;
      case Kind::kList:
      case Kind::kSet:
        return;  // keys only occur in objects
    }
  }

  void Close() {
    const Frame& f = Top();
    switch (f.kind) {
      case Kind::kMap:
        if (w_ != nullptr) w_->push_back('}');
        break;
      case Kind::kList:
      case Kind::kSet:
        if (w_ != nullptr) w_->push_back(']');
        break;
      case Kind::kTyped:
        if (f.count == 0) CountError(f);
        break;
      case Kind::kGeneric:
        identity.push_back(f.tag == Tag::kL ? ']' : '}');
        break;
      case Kind::kSkip:
      case Kind::kRoot:
      case Kind::kDynamodb:
        break;
    }
    --depth_;
  }

  static int ImageIndex(Field f) { return f == Field::kKeys ? 0 : f == Field::kNewImage ? 1 : 2; }

  static void Note(Noted* n, Json type, std::string_view text) {
    n->present = true;
    n->type = type;
    n->text = text;
  }

  void RootValue(Field field, Json type, std::string_view text) {
    switch (field) {
      case Field::kEventId: Note(&event_id, type, text); break;
      case Field::kEventName: Note(&event_name, type, text); break;
      case Field::kTable: Note(&table, type, text); break;
      case Field::kDynamodb:
        dynamodb_present = true;
        dynamodb_is_object = type == Json::kObject;
        if (dynamodb_is_object) return Push(Kind::kDynamodb);
        break;
      case Field::kIdentity:
        if (write_) return GenericValue(type, text);
        break;
      default: break;
    }
    if (type == Json::kObject || type == Json::kArray) Push(Kind::kSkip);
  }

  void DynamodbValue(Field field, Json type, std::string_view text) {
    switch (field) {
      case Field::kWhen: Note(&when, type, text); break;
      case Field::kPrecision: Note(&precision, type, text); break;
      case Field::kKeys:
      case Field::kNewImage:
      case Field::kOldImage: {
        image_ = ImageIndex(field);
        Image& im = images[image_];
        if (type == Json::kNull) {
          im.shape = Image::Shape::kNull;
        } else if (type == Json::kObject) {
          im.shape = Image::Shape::kObject;
          path_.clear();
          path_.push_back({field == Field::kKeys ? "Keys" : field == Field::kNewImage ? "NewImage" : "OldImage", 0});
          w_ = write_ ? &im.out : nullptr;
          if (w_ != nullptr) w_->push_back('{');
          return Push(Kind::kMap);
        } else {
          im.shape = Image::Shape::kOther;
        }
        break;
      }
      default: break;
    }
    if (type == Json::kObject || type == Json::kArray) Push(Kind::kSkip);
  }

  // A value where a typed value belongs (an attribute of a map, an element
  // of L).
  void TypedValue(Json type) {
    if (type == Json::kObject) {
      Push(Kind::kTyped);
      Top().error_at_start = images[image_].has_error;
      return;
    }
    AttrError(kNotTypedValue, nullptr);
    if (type == Json::kArray) Push(Kind::kSkip);
  }

  // The value of a typed value with tag `tag` (or an element of a set whose
  // elements have type `tag`).
  void TagValue(Tag tag, Json type, std::string_view text) {
    switch (tag) {
      case Tag::kS:
        if (type != Json::kString) {
          AttrError("S value is not a string", nullptr);
          break;
        }
        if (w_ != nullptr) AppendJsonString(text, w_);
        return;
      case Tag::kN:
        if (type != Json::kString || !IsJsonNumber(text)) {
          AttrError("N value is not a JSON number string", type == Json::kString ? &text : nullptr);
          break;
        }
        if (w_ != nullptr) w_->append(text);
        return;
      case Tag::kB:
        if (type != Json::kString || !IsBase64(text)) {
          AttrError("B value is not a base64 string", type == Json::kString ? &text : nullptr);
          break;
        }
        if (w_ != nullptr) {
          w_->push_back('"');
          w_->append(text);
          w_->push_back('"');
        }
        return;
      case Tag::kBool:
        if (type != Json::kTrue && type != Json::kFalse) {
          AttrError("BOOL value is not true or false", nullptr);
          break;
        }
        if (w_ != nullptr) w_->append(type == Json::kTrue ? "true" : "false");
        return;
      case Tag::kNull:
        if (type != Json::kTrue) {
          AttrError("NULL value is not true", nullptr);
          break;
        }
        if (w_ != nullptr) w_->append("null");
        return;
      case Tag::kM:
        if (type != Json::kObject) {
          AttrError("M value is not an object", nullptr);
          break;
        }
        if (w_ != nullptr) w_->push_back('{');
        return Push(Kind::kMap);
      case Tag::kL:
      case Tag::kSS:
      case Tag::kNS:
      case Tag::kBS:
        if (type != Json::kArray) {
          AttrError(tag == Tag::kL    ? "L value is not an array"
                    : tag == Tag::kSS ? "SS value is not an array"
                    : tag == Tag::kNS ? "NS value is not an array"
                                      : "BS value is not an array",
                    nullptr);
          break;
        }
        if (w_ != nullptr) w_->push_back('[');
        if (tag == Tag::kL) return Push(Kind::kList);
        return Push(Kind::kSet, tag == Tag::kSS ? Tag::kS : tag == Tag::kNS ? Tag::kN : Tag::kB);
      case Tag::kSkip:
        break;
    }
    if (type == Json::kObject || type == Json::kArray) Push(Kind::kSkip);
  }

  // A value inside userIdentity (or userIdentity itself).
  void GenericValue(Json type, std::string_view text) {
    switch (type) {
      case Json::kNull: identity.append("null"); break;
      case Json::kFalse: identity.append("false"); break;
      case Json::kTrue: identity.append("true"); break;
      case Json::kNumber: identity.append(text); break;
      case Json::kString: AppendJsonString(text, &identity); break;
      case Json::kObject:
        identity.push_back('{');
        Push(Kind::kGeneric, Tag::kM);
        break;
      case Json::kArray:
        identity.push_back('[');
        Push(Kind::kGeneric, Tag::kL);
        break;
    }
  }

  const bool write_;  // unmarshalled format: write images and userIdentity
  bool check_surrogates_ = false;
  int image_ = 0;                // the image being read
  std::string* w_ = nullptr;     // where the current image is written, or null
  Path path_;
  Frame stack_[kMaxDepth + 1];
  size_t depth_ = 0;
};

}  // namespace

struct Decoder::Impl {
  Impl(OutputFormat f, std::string s)
      : format(f), stream(std::move(s)), sax(f == OutputFormat::kUnmarshalled) {}

  OutputFormat format;
  std::string stream;
  Reader reader;
  Unmarshaller sax;
  std::string buf;      // the decoded Data, parsed in situ
  std::string message;  // error message being built

  void Decode(const KinesisRecordView& rec, std::string_view shard_id, DecodedRecord* out);
  void WriteError(std::string_view reason, const KinesisRecordView& rec, std::string_view shard_id,
                  DecodedRecord* out);
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

  // 3. parse + unmarshal.
  sax.Reset(HasUnicodeEscape(json));
  rapidjson::GenericInsituStringStream<Utf8> is(buf.data());
  const rapidjson::ParseResult parsed = reader.Parse<kParseFlags>(is, sax);
  if (parsed.IsError()) {
    if (sax.too_deep) {
      message.assign("nesting deeper than ");
      message.append(std::to_string(kMaxDepth));
    } else if (sax.surrogate) {
      message.assign("string holds an unpaired UTF-16 surrogate");
    } else {
      message.assign(rapidjson::GetParseError_En(RootCode(json, parsed)));
    }
    message.append(" at offset ");
    // The recursive parser reports a stop at StartObject / StartArray after
    // the '{' or '['; the offset written has always been that of the bracket.
    message.append(std::to_string(parsed.Offset() - (sax.too_deep ? 1 : 0)));
    return WriteError(kNotJson, rec, shard_id, out);
  }

  // 4. envelope.
  auto not_record = [&](std::string_view what) {
    message.assign(what);
    WriteError(kNotChangeRecord, rec, shard_id, out);
  };
  auto is_text = [](const Noted& n) { return n.present && n.type == Json::kString; };
  if (!sax.root_is_object) return not_record("not a JSON object");
  if (!is_text(sax.event_id)) return not_record("missing or non-string eventID");
  if (!is_text(sax.event_name)) return not_record("missing or non-string eventName");
  const std::string_view name = sax.event_name.text;
  if (name != "INSERT" && name != "MODIFY" && name != "REMOVE") {
    return not_record("eventName is not INSERT, MODIFY or REMOVE");
  }
  if (!is_text(sax.table) || sax.table.text.empty()) {
    return not_record("missing, empty or non-string tableName");
  }
  if (!sax.dynamodb_present || !sax.dynamodb_is_object) return not_record("missing or non-object dynamodb");

  bool micros = false;
  if (sax.precision.present && sax.precision.type != Json::kNull) {
    if (sax.precision.type != Json::kString) {
      return not_record("ApproximateCreationDateTimePrecision is not a string");
    }
    const std::string_view p = sax.precision.text;
    if (p == "MICROSECOND") {
      micros = true;
    } else if (p != "MILLISECOND") {
      return not_record("ApproximateCreationDateTimePrecision is not MILLISECOND or MICROSECOND");
    }
  }
  if (!sax.when.present || sax.when.type != Json::kNumber) {
    return not_record("missing or non-numeric dynamodb.ApproximateCreationDateTime");
  }
  int64_t event_time_us = 0;
  if (!ParseEpoch(sax.when.text, micros ? kMaxEventTimeUs : kMaxEventTimeUs / 1000, &event_time_us)) {
    return not_record("dynamodb.ApproximateCreationDateTime is negative or after year 9999");
  }
  if (!micros) event_time_us *= 1000;
  for (const Image& im : sax.images) {
    if (im.shape == Image::Shape::kOther) {
      return not_record("dynamodb.Keys, NewImage or OldImage is not an object");
    }
  }

  // 5. attributes.
  for (const Image& im : sax.images) {
    if (im.shape == Image::Shape::kObject && im.has_error) {
      message.assign(im.message);
      return WriteError(kBadAttribute, rec, shard_id, out);
    }
  }
  const std::string_view event_id = sax.event_id.text;
  const std::string_view table = sax.table.text;
  if (format == OutputFormat::kUnmarshalled) {
    auto image = [&](const Image& im) {
      if (im.shape == Image::Shape::kObject) {
        l.append(im.out);
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
    image(sax.images[0]);
    l.append(",\"new_image\":");
    image(sax.images[1]);
    l.append(",\"old_image\":");
    image(sax.images[2]);
    l.append(",\"user_identity\":");
    if (sax.identity_present) {
      l.append(sax.identity);
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

}  // namespace shardhose::decode

// The SAX unmarshaller (decode/unmarshaller.h): its handler, the checks
// and writes each reader event makes, and the reader instantiated with it.
// The handler is local to this file, so the compiler can inline its calls
// into the reader.
#include "decode/unmarshaller.h"

#include <cstring>

#include "decode/json_text.h"
#include "decode/record_fields.h"

namespace shardhose::decode::internal {
namespace {

using rapidjson::SizeType;

// The recursive parser: ~10% faster than the iterative one here, and its
// depth (so its stack) is bounded by Unmarshaller, which stops the parse at
// the StartObject / StartArray that would exceed kMaxDepth. Its error codes
// and offsets are the iterative parser's (which error lines have always
// quoted) but for two cases mapped back by the Decoder (change_record.cc):
// RootCode() and the offset of the depth stop.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;

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

// The SAX handler of step 3 (see the file comment of change_record.cc).
// Reset() before each parse; the reader's events then drive it. It returns
// false (stopping the parse) only for too-deep nesting and unpaired
// surrogates, so every other parse error is rapidjson's own, at rapidjson's
// offset.
class Handler final : public Unmarshaller {
 public:
  explicit Handler(bool write) : write_(write) {}

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
    key_spans.assign(key_names != nullptr ? key_names->size() : 0, KeySpan{});
    capture_ = -1;
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

 private:
  enum class Kind : uint8_t {
    kSkip,       // a value nobody looks at
    kRoot,       // the change record
    kDynamodb,   // its dynamodb object
    kMap,        // attribute name -> typed value: an image, or an M value
    kTyped,      // a typed value {"<tag>": value}
    kList,       // an L value: typed values
    kSet,        // an SS / NS / BS value: scalars of one type
    kGeneric,    // (inside) userIdentity, copied as plain JSON
    kMetadata,   // an incremental export line's Metadata: typed values
    kMetaTyped,  // one of them: its "N" is noted as `when` if it is WriteTimestampMicros
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
      if (key_names != nullptr && root_is_object) {  // an export line: its root holds the images
        dynamodb_present = dynamodb_is_object = true;
        return Push(Kind::kDynamodb);
      }
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
      case Kind::kMetadata:
        if (type == Json::kObject) return Push(Kind::kMetaTyped, f.field == Field::kWhen ? Tag::kN : Tag::kSkip);
        break;
      case Kind::kMetaTyped:
        if (f.field == Field::kWhen) Note(&when, type, text);
        break;
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
        if ((f.field == Field::kItem || f.field == Field::kMetadata) && key_names == nullptr) f.field = Field::kOther;
        if (key_names != nullptr && (f.field == Field::kWhen || f.field == Field::kPrecision)) {
          f.field = Field::kOther;  // an export line's time is its Metadata's
        }
        if (f.field == Field::kMetadata) when = Noted{};
        if (f.field == Field::kKeys || f.field == Field::kNewImage || f.field == Field::kOldImage ||
            f.field == Field::kItem) {
          images[ImageIndex(f.field)].Reset();
          if (f.field == Field::kItem || f.field == Field::kNewImage) key_spans.assign(key_spans.size(), KeySpan{});
        }
        return;
      case Kind::kMap:
        if (w_ != nullptr && f.count > 0) w_->push_back(',');
        // An export item's key attribute: noted, and its member's place.
        if (depth_ == 2 && image_ == 1 && key_names != nullptr) [[unlikely]] {
          capture_ = -1;
          for (size_t i = 0; i < key_names->size(); ++i) {
            if (k == (*key_names)[i]) {
              capture_ = static_cast<int>(i);
              key_spans[i] = KeySpan{true, static_cast<uint32_t>(w_ != nullptr ? w_->size() : 0), 0};
            }
          }
        }
        if (w_ != nullptr) {
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
        // userIdentity's own members as Kinesis records and Lambda events
        // name them: the DynamoDB Streams API says PrincipalId and Type.
        if (depth_ > 1 && stack_[depth_ - 2].kind == Kind::kRoot) {
          if (k == "PrincipalId") k = "principalId";
          if (k == "Type") k = "type";
        }
        AppendJsonString(k, &identity);
        identity.push_back(':');
        return;
      case Kind::kMetadata:
        f.field = k == "WriteTimestampMicros" ? Field::kWhen : Field::kOther;
        return;
      case Kind::kMetaTyped:
        f.field = f.tag == Tag::kN && k == "N" ? Field::kWhen : Field::kOther;
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
        if (capture_ >= 0 && depth_ == 3) {
          key_spans[capture_].end = static_cast<uint32_t>(w_ != nullptr ? w_->size() : 0);
          capture_ = -1;
        }
        break;
      case Kind::kGeneric:
        identity.push_back(f.tag == Tag::kL ? ']' : '}');
        break;
      case Kind::kSkip:
      case Kind::kRoot:
      case Kind::kDynamodb:
      case Kind::kMetadata:
      case Kind::kMetaTyped:
        break;
    }
    --depth_;
  }

  static int ImageIndex(Field f) {
    return f == Field::kKeys ? 0 : (f == Field::kNewImage || f == Field::kItem) ? 1 : 2;
  }

  static void Note(Noted* n, Json type, std::string_view text) {
    n->present = true;
    n->type = type;
    n->text = text;
  }

  void RootValue(Field field, Json type, std::string_view text) {
    switch (field) {
      case Field::kEventId:
        Note(&event_id, type, text);
        break;
      case Field::kEventName:
        Note(&event_name, type, text);
        break;
      case Field::kTable:
        Note(&table, type, text);
        break;
      case Field::kDynamodb:
        dynamodb_present = true;
        dynamodb_is_object = type == Json::kObject;
        if (dynamodb_is_object) return Push(Kind::kDynamodb);
        break;
      case Field::kIdentity:
        if (write_) return GenericValue(type, text);
        break;
      default:
        break;
    }
    if (type == Json::kObject || type == Json::kArray) Push(Kind::kSkip);
  }

  void DynamodbValue(Field field, Json type, std::string_view text) {
    switch (field) {
      case Field::kMetadata:
        if (key_names != nullptr && type == Json::kObject) return Push(Kind::kMetadata);
        break;
      case Field::kWhen:
        Note(&when, type, text);
        break;
      case Field::kPrecision:
        Note(&precision, type, text);
        break;
      case Field::kKeys:
      case Field::kNewImage:
      case Field::kOldImage:
      case Field::kItem: {
        image_ = ImageIndex(field);
        Image& im = images[image_];
        if (type == Json::kNull) {
          im.shape = Image::Shape::kNull;
        } else if (type == Json::kObject) {
          im.shape = Image::Shape::kObject;
          path_.clear();
          path_.push_back({field == Field::kKeys       ? "Keys"
                           : field == Field::kNewImage ? "NewImage"
                           : field == Field::kItem     ? "Item"
                                                       : "OldImage",
                           0});
          w_ = write_ ? &im.out : nullptr;
          if (w_ != nullptr) w_->push_back('{');
          return Push(Kind::kMap);
        } else {
          im.shape = Image::Shape::kOther;
        }
        break;
      }
      default:
        break;
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
      case Json::kNull:
        identity.append("null");
        break;
      case Json::kFalse:
        identity.append("false");
        break;
      case Json::kTrue:
        identity.append("true");
        break;
      case Json::kNumber:
        identity.append(text);
        break;
      case Json::kString:
        AppendJsonString(text, &identity);
        break;
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
  int image_ = 0;           // the image being read
  OutBuffer* w_ = nullptr;  // where the current image is written, or null
  Path path_;
  Frame stack_[kMaxDepth + 1];
  size_t depth_ = 0;
  int capture_ = -1;  // the key_spans entry whose value is being read, or -1
};

}  // namespace

std::unique_ptr<Unmarshaller> Unmarshaller::New(bool write) { return std::make_unique<Handler>(write); }

rapidjson::ParseResult Unmarshaller::Parse(Reader* reader, char* text, bool check_surrogates) {
  Handler& handler = static_cast<Handler&>(*this);
  handler.Reset(check_surrogates);
  rapidjson::GenericInsituStringStream<Utf8> is(text);
  return reader->Parse<kParseFlags>(is, handler);
}

}  // namespace shardhose::decode::internal

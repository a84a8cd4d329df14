// ParseGetRecords (kinesis_client.h): the GetRecords answer read by a SAX
// handler straight into the page -- record views, the iterator, the
// children -- without building a DOM (no node per value, no copying of
// members off a stack, no allocator pages per answer).
//
// It answers exactly as the DOM reading it replaced (the differential fuzz
// target tests/fuzz/get_records_fuzz.cc holds both to the same answers):
//   - a member named twice counts once, its first occurrence (FindMember);
//   - a member of the wrong type reads as absent (ParentShards' strings as C
//     strings, up to an escaped NUL, as GetString() gave them);
//   - errors in this order: not JSON (or not an object), no Records array,
//     then the first bad record (not an object, or no SequenceNumber).
#include <rapidjson/reader.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "poll/kinesis_client.h"
#include "poll/kinesis_request.h"

namespace shardhose::poll {
namespace {

enum class Kind { kRoot, kRecords, kRecord, kChildren, kChild, kParents, kSkip };

// The members each object kind reads; kOther for the rest.
enum Key : int {
  kOther = 0,
  kRecordsKey,
  kNextShardIterator,
  kContinuation,
  kMillisBehind,
  kChildShards,
  kData,
  kSequenceNumber,
  kPartitionKey,
  kArrival,
  kShardId,
  kParentShards,
};

Key KeyOf(Kind in, std::string_view k) {
  switch (in) {
    case Kind::kRoot:
      if (k == "Records") return kRecordsKey;
      if (k == "NextShardIterator") return kNextShardIterator;
      if (k == "ContinuationSequenceNumber") return kContinuation;
      if (k == "MillisBehindLatest") return kMillisBehind;
      if (k == "ChildShards") return kChildShards;
      return kOther;
    case Kind::kRecord:
      if (k == "Data") return kData;
      if (k == "SequenceNumber") return kSequenceNumber;
      if (k == "PartitionKey") return kPartitionKey;
      if (k == "ApproximateArrivalTimestamp") return kArrival;
      return kOther;
    case Kind::kChild:
      if (k == "ShardId") return kShardId;
      if (k == "ParentShards") return kParentShards;
      return kOther;
    default:
      return kOther;
  }
}

// A scalar as the handler sees it.
struct Scalar {
  enum Type { kString, kNumber, kOtherScalar } type = kOtherScalar;
  std::string_view str;   // kString: in place, NUL-terminated
  double number = 0;      // kNumber
  bool is_int64 = false;  // kNumber: rapidjson's IsInt64()
  int64_t int64 = 0;      // when is_int64
};

class Handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Handler> {
 public:
  explicit Handler(RecordsPage* page) : page_(page) {}

  bool root_object() const { return root_object_; }
  bool records_array() const { return records_array_; }
  const char* record_error() const { return record_error_; }

  bool Null() { return OnScalar(Scalar{}); }
  bool Bool(bool) { return OnScalar(Scalar{}); }
  bool Int(int i) { return Int64(i); }
  bool Uint(unsigned u) { return Int64(u); }
  bool Int64(int64_t i) { return OnScalar(Scalar{Scalar::kNumber, {}, static_cast<double>(i), true, i}); }
  bool Uint64(uint64_t u) {
    const bool fits = u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return OnScalar(Scalar{Scalar::kNumber, {}, static_cast<double>(u), fits, fits ? static_cast<int64_t>(u) : 0});
  }
  bool Double(double d) { return OnScalar(Scalar{Scalar::kNumber, {}, d, false, 0}); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return OnScalar(Scalar{Scalar::kString, std::string_view(s, n), 0, false, 0});
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    Frame& f = stack_.back();
    const ::shardhose::poll::Key k = KeyOf(f.kind, std::string_view(s, n));
    const uint32_t bit = 1u << k;
    if (k == kOther || (f.seen & bit)) {
      f.key = kOther;  // not read, or named before: the first one counts
    } else {
      f.seen |= bit;
      f.key = k;
    }
    return true;
  }
  bool StartObject() { return Open(/*object=*/true); }
  bool StartArray() { return Open(/*object=*/false); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

 private:
  struct Frame {
    Kind kind;
    int key = kOther;   // the member whose value comes next (objects)
    uint32_t seen = 0;  // members read so far (objects)
    int index = 0;      // elements so far (arrays)
  };

  void RecordError(const char* what) {
    if (record_error_ == nullptr) record_error_ = what;
  }

  // What a value opening a container at the current place becomes.
  Kind ChildKind(bool object) {
    if (stack_.empty()) {
      root_object_ = object;
      return object ? Kind::kRoot : Kind::kSkip;
    }
    Frame& f = stack_.back();
    switch (f.kind) {
      case Kind::kRoot:
        if (f.key == kRecordsKey) {
          records_array_ = !object;
          return object ? Kind::kSkip : Kind::kRecords;
        }
        if (f.key == kChildShards && !object) return Kind::kChildren;
        return Kind::kSkip;
      case Kind::kRecords:
        if (object) {
          record_ = KinesisRecordView{};
          return Kind::kRecord;
        }
        RecordError("GetRecords: record is not an object");
        return Kind::kSkip;
      case Kind::kChildren:
        if (object) {
          child_ = ShardInfo{};
          return Kind::kChild;
        }
        return Kind::kSkip;
      case Kind::kChild:
        return f.key == kParentShards && !object ? Kind::kParents : Kind::kSkip;
      default:
        return Kind::kSkip;
    }
  }

  bool Open(bool object) {
    const Kind kind = ChildKind(object);
    if (!stack_.empty() && stack_.back().kind == Kind::kParents) ++stack_.back().index;
    stack_.push_back(Frame{kind});
    return true;
  }

  bool Close() {
    const Kind kind = stack_.back().kind;
    stack_.pop_back();
    if (kind == Kind::kRecord) {
      if (record_.sequence_number.empty()) {
        RecordError("GetRecords: record without SequenceNumber");
      } else if (record_error_ == nullptr) {
        page_->data_bytes += record_.data_base64.size();
        page_->records.push_back(record_);
      }
    } else if (kind == Kind::kChild) {
      if (!child_.id.empty()) page_->child_shards.push_back(std::move(child_));
    }
    return true;
  }

  bool OnScalar(const Scalar& v) {
    if (stack_.empty()) {  // a scalar as the whole answer
      root_object_ = false;
      return true;
    }
    Frame& f = stack_.back();
    switch (f.kind) {
      case Kind::kRoot:
        switch (f.key) {
          case kRecordsKey:
            records_array_ = false;
            break;
          case kNextShardIterator:
            if (v.type == Scalar::kString) page_->next_iterator.assign(v.str);
            break;
          case kContinuation:
            if (v.type == Scalar::kString) page_->continuation_seq.assign(v.str);
            break;
          case kMillisBehind:
            if (v.is_int64) page_->millis_behind = v.int64;
            break;
          default:
            break;
        }
        break;
      case Kind::kRecords:
        RecordError("GetRecords: record is not an object");
        break;
      case Kind::kRecord:
        switch (f.key) {
          case kData:
            if (v.type == Scalar::kString) record_.data_base64 = v.str;
            break;
          case kSequenceNumber:
            if (v.type == Scalar::kString) record_.sequence_number = v.str;
            break;
          case kPartitionKey:
            if (v.type == Scalar::kString) record_.partition_key = v.str;
            break;
          case kArrival:
            if (v.type == Scalar::kNumber) record_.arrival_ms = static_cast<int64_t>(std::llround(v.number * 1000.0));
            break;
          default:
            break;
        }
        break;
      case Kind::kChild:
        if (f.key == kShardId && v.type == Scalar::kString) child_.id.assign(v.str);
        break;
      case Kind::kParents:
        if (v.type == Scalar::kString) {
          // As GetString() gave it: up to the first NUL.
          if (f.index == 0) child_.parent.assign(v.str.data());
          if (f.index == 1) child_.adjacent_parent.assign(v.str.data());
        }
        ++f.index;
        break;
      default:
        break;
    }
    return true;
  }

  RecordsPage* page_;
  std::vector<Frame> stack_;
  bool root_object_ = false;
  bool records_array_ = false;
  const char* record_error_ = nullptr;
  KinesisRecordView record_;  // the record being read
  ShardInfo child_;           // the child shard being read
};

}  // namespace

Status ParseGetRecords(RecordsPage* page) {
  page->records.clear();
  page->child_shards.clear();
  page->next_iterator.clear();
  page->continuation_seq.clear();
  page->millis_behind = 0;
  page->data_bytes = 0;
  // In situ: strings are unescaped inside page->body, so the record views
  // point into the page's own buffer.
  Handler handler(page);
  rapidjson::Reader reader;
  rapidjson::InsituStringStream in(PadForInPlaceParse(page->body));
  reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag>(in, handler);
  if (reader.HasParseError() || !handler.root_object()) return Status::Internal("GetRecords: answer is not JSON");
  if (!handler.records_array()) return Status::Internal("GetRecords: answer has no Records");
  if (handler.record_error() != nullptr) return Status::Internal(handler.record_error());
  return Status::OK();
}

}  // namespace shardhose::poll

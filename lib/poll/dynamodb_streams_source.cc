// DynamoDB Streams as a ChangeSource: dynamodb_streams_source.h.
#include "poll/dynamodb_streams_source.h"

#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "aws/dynamodb.h"
#include "common/mutex.h"
#include "poll/kinesis_request.h"

namespace shardhose::poll {
namespace {

constexpr int kMaxLimit = 1000;  // GetRecords' Limit, at most

// Epoch seconds as JSON number text ("1716200000", "1716200000.123",
// "1.716200000123E9") -> epoch milliseconds, fraction truncated; nullopt if
// it is not a non-negative number below year 10000.
std::optional<int64_t> SecondsTextToMillis(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  std::string digits;  // mantissa without the point
  int64_t point = -1;  // digits before the point
  while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
    if (s[i] == '.') {
      if (point >= 0) return std::nullopt;
      point = static_cast<int64_t>(digits.size());
    } else {
      digits.push_back(s[i]);
    }
    ++i;
  }
  if (digits.empty()) return std::nullopt;
  if (point < 0) point = static_cast<int64_t>(digits.size());
  int64_t exp = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i == n) return std::nullopt;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (exp < 100000) exp = exp * 10 + (s[i] - '0');
      ++i;
    }
    if (neg) exp = -exp;
  }
  if (i != n) return std::nullopt;
  const int64_t int_digits = point + exp + 3;  // milliseconds
  constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
  int64_t v = 0;
  for (int64_t k = 0; k < int_digits; ++k) {
    const int d = k < static_cast<int64_t>(digits.size()) ? digits[static_cast<size_t>(k)] - '0' : 0;
    if (v > (kMaxMs - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// SAX over a GetRecords answer, not in situ (the records' text must stay as
// received): where each element of Records starts and ends in the body,
// its dynamodb.SequenceNumber and ApproximateCreationDateTime, and the
// top-level NextShardIterator. Positions are those of rapidjson's ITERATIVE
// parser, which calls StartObject before taking the '{' and EndObject
// before taking the '}', and String while the stream still stands at the
// opening quote (the string is read on a copy of the stream).
class PageHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, PageHandler> {
 public:
  PageHandler(std::string_view body, const rapidjson::StringStream* in, RecordsPage* page)
      : body_(body), in_(in), page_(page) {}

  bool StartObject() {
    if (depth_ == 2 && in_records_) {
      record_start_ = Pos();  // the '{'
      if (body_[record_start_] != '{') return Lost();
      current_ = {};
    }
    if (depth_ == 3 && in_records_ && key_ == Field::kDynamoDb) in_dynamodb_ = true;
    return Push();
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    if (depth_ == 3) in_dynamodb_ = false;
    if (depth_ == 2 && in_records_) {
      if (current_.sequence_number.empty()) {
        error_ = "GetRecords: record without dynamodb.SequenceNumber";
        return false;
      }
      if (body_[Pos()] != '}') return Lost();
      current_.data_base64 = body_.substr(record_start_, Pos() + 1 - record_start_);
      page_->data_bytes += current_.data_base64.size();
      page_->records.push_back(current_);
    }
    key_ = Field::kOther;
    return true;
  }
  bool StartArray() {
    if (depth_ == 1 && key_ == Field::kRecords) {
      in_records_ = true;
      saw_records_ = true;
    } else if (depth_ == 2 && in_records_) {
      error_ = "GetRecords: record is not an object";
      return false;
    }
    return Push();
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    if (depth_ == 1) in_records_ = false;
    key_ = Field::kOther;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    const std::string_view k(s, len);
    key_ = Field::kOther;
    if (depth_ == 1) {
      if (k == "Records") key_ = Field::kRecords;
      if (k == "NextShardIterator") key_ = Field::kNext;
    } else if (depth_ == 3 && in_records_) {
      if (k == "dynamodb") key_ = Field::kDynamoDb;
    } else if (depth_ == 4 && in_dynamodb_) {
      if (k == "SequenceNumber") key_ = Field::kSequence;
      if (k == "ApproximateCreationDateTime") key_ = Field::kWhen;
    }
    return true;
  }
  bool String(const char* s, rapidjson::SizeType len, bool) {
    const std::string_view v(s, len);
    if (depth_ == 1 && key_ == Field::kNext) page_->next_iterator.assign(v);
    if (depth_ == 2 && in_records_) return NotAnObject();
    if (depth_ == 4 && in_dynamodb_ && key_ == Field::kSequence) {
      // A view into the body. rapidjson parses a string on a local copy of
      // the stream, so the position is still its opening quote; a sequence
      // number has no escapes, so its raw text is `v` itself.
      const size_t begin = Pos() + 1;
      if (body_.substr(begin, len) != v || body_.substr(begin + len, 1) != "\"") {
        error_ = "GetRecords: SequenceNumber is not a plain string";
        return false;
      }
      current_.sequence_number = body_.substr(begin, len);
    }
    key_ = Field::kOther;
    return true;
  }
  bool RawNumber(const char* s, rapidjson::SizeType len, bool) {
    if (depth_ == 2 && in_records_) return NotAnObject();
    if (depth_ == 4 && in_dynamodb_ && key_ == Field::kWhen) {
      if (auto ms = SecondsTextToMillis(std::string_view(s, len))) current_.arrival_ms = *ms;
    }
    key_ = Field::kOther;
    return true;
  }
  bool Null() { return Scalar(); }
  bool Bool(bool) { return Scalar(); }

  bool saw_records() const { return saw_records_; }
  const std::string& error() const { return error_; }

 private:
  enum class Field { kOther, kRecords, kNext, kDynamoDb, kSequence, kWhen };
  size_t Pos() const { return in_->Tell(); }
  bool Push() {
    ++depth_;
    key_ = Field::kOther;
    return true;
  }
  bool Scalar() {
    if (depth_ == 2 && in_records_) return NotAnObject();
    key_ = Field::kOther;
    return true;
  }
  bool Lost() {
    error_ = "GetRecords: cannot place a record in the answer";
    return false;
  }
  bool NotAnObject() {
    error_ = "GetRecords: record is not an object";
    return false;
  }

  const std::string_view body_;
  const rapidjson::StringStream* const in_;
  RecordsPage* const page_;
  int depth_ = 0;
  Field key_ = Field::kOther;
  bool in_records_ = false, saw_records_ = false, in_dynamodb_ = false;
  size_t record_start_ = 0;
  KinesisRecordView current_;
  std::string error_;
};

const char* IteratorTypeFor(IteratorType t) {
  switch (t) {
    case IteratorType::kTrimHorizon:
      return "TRIM_HORIZON";
    case IteratorType::kLatest:
      return "LATEST";
    case IteratorType::kAfterSequenceNumber:
      return "AFTER_SEQUENCE_NUMBER";
    case IteratorType::kAtSequenceNumber:
      return "AT_SEQUENCE_NUMBER";
    case IteratorType::kAtTimestamp:
      break;
  }
  return nullptr;
}

std::string Body(const rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

// Opens a request body naming the stream: {"StreamArn":"<arn>" (the caller
// adds its members and closes it).
void StartStreamRequest(JsonWriter& w, const std::string& arn) {
  w.StartObject();
  w.Key("StreamArn");
  WriteJsonString(w, arn);
}

class DynamoDbStreamsSource final : public ChangeSource {
 public:
  DynamoDbStreamsSource(DynamoDbStreamsOptions options, aws::HttpClient* http, aws::CredentialsProvider* creds,
                        Clock* clock)
      : options_(std::move(options)),
        streams_(ClientOptions(options_, /*streams=*/true), http, creds, clock),
        dynamodb_(ClientOptions(options_, /*streams=*/false), http, creds, clock),
        arn_(options_.stream_arn) {}

  Result<StreamSummary> Describe() override {
    auto arn = Arn();
    if (!arn.ok()) return arn.status();
    rapidjson::Document d;
    auto desc = DescribeStream(*arn, "", /*limit=*/1, &d);
    if (!desc.ok()) return desc.status();
    StreamSummary s;
    s.arn = JsonString(**desc, "StreamArn");
    if (s.arn.empty()) s.arn = *arn;
    s.name = JsonString(**desc, "TableName");
    if (s.name.empty()) s.name = TableOfStreamArn(s.arn);
    const std::string status = JsonString(**desc, "StreamStatus");
    s.status = status == "ENABLED" || status == "ENABLING" ? "ACTIVE" : "DELETING";
    s.retention_hours = 24;
    return s;
  }

  Result<std::vector<ShardInfo>> ListShards() override {
    auto arn = Arn();
    if (!arn.ok()) return arn.status();
    std::vector<ShardInfo> shards;
    std::string start;
    for (;;) {
      rapidjson::Document d;
      auto described = DescribeStream(*arn, start, /*limit=*/0, &d);
      if (!described.ok()) return described.status();
      const rapidjson::Value* desc = *described;
      auto list = desc->FindMember("Shards");
      if (list != desc->MemberEnd() && list->value.IsArray()) {
        for (const auto& sh : list->value.GetArray()) {
          ShardInfo info;
          info.id = JsonString(sh, "ShardId");
          if (info.id.empty()) return Status::Internal("DescribeStream: a shard without ShardId");
          info.parent = JsonString(sh, "ParentShardId");
          auto range = sh.FindMember("SequenceNumberRange");
          if (range != sh.MemberEnd()) {
            info.starting_seq = JsonString(range->value, "StartingSequenceNumber");
            info.ending_seq = JsonString(range->value, "EndingSequenceNumber");
          }
          shards.push_back(std::move(info));
        }
      }
      const std::string last = JsonString(*desc, "LastEvaluatedShardId");
      if (last.empty()) break;
      if (last == start) return Status::Internal("DescribeStream: LastEvaluatedShardId does not advance");
      start = last;
    }
    return shards;
  }

  Result<std::string> GetShardIterator(const std::string& shard_id, const IteratorStart& start) override {
    const char* type = IteratorTypeFor(start.type);
    if (type == nullptr) {
      return Status::InvalidArgument("DynamoDB Streams has no AT_TIMESTAMP iterator");
    }
    auto arn = Arn();
    if (!arn.ok()) return arn.status();
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    StartStreamRequest(w, *arn);
    w.Key("ShardId");
    WriteJsonString(w, shard_id);
    w.Key("ShardIteratorType");
    w.String(type);
    if (start.type == IteratorType::kAfterSequenceNumber || start.type == IteratorType::kAtSequenceNumber) {
      w.Key("SequenceNumber");
      WriteJsonString(w, start.sequence);
    }
    w.EndObject();
    auto resp = streams_.Call("GetShardIterator", Body(sb));
    if (!resp.ok()) return resp.status();
    rapidjson::Document d;
    d.Parse(resp->data(), resp->size());
    std::string it = JsonString(d, "ShardIterator");
    if (it.empty()) return Status::Internal("GetShardIterator: answer has no ShardIterator");
    return it;
  }

  Status GetRecords(const std::string& iterator, int limit, RecordsPage* page) override {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    w.Key("ShardIterator");
    WriteJsonString(w, iterator);
    w.Key("Limit");
    w.Int(std::clamp(limit, 1, kMaxLimit));
    w.EndObject();
    auto resp = streams_.Call("GetRecords", Body(sb));
    if (!resp.ok()) return resp.status();
    page->body = std::move(resp).value();
    return ParseStreamsGetRecords(page);
  }

  RecordFormat format() const override { return RecordFormat::kDynamoDbStreams; }

 private:
  static aws::DynamoDbOptions ClientOptions(const DynamoDbStreamsOptions& o, bool streams) {
    aws::DynamoDbOptions c;
    c.region = o.region;
    c.streams = streams;
    c.endpoint_url = streams ? o.endpoint_url : o.dynamodb_endpoint_url;
    c.timeout = o.timeout;
    return c;
  }
  // One DescribeStream page (from `start`: ExclusiveStartShardId, "" = the
  // first; `limit` 0 = the API's) parsed into *d: its StreamDescription.
  Result<const rapidjson::Value*> DescribeStream(const std::string& arn, const std::string& start, int limit,
                                                 rapidjson::Document* d) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    StartStreamRequest(w, arn);
    if (!start.empty()) {
      w.Key("ExclusiveStartShardId");
      WriteJsonString(w, start);
    }
    if (limit > 0) {
      w.Key("Limit");
      w.Int(limit);
    }
    w.EndObject();
    auto resp = streams_.Call("DescribeStream", Body(sb));
    if (!resp.ok()) return resp.status();
    d->Parse(resp->data(), resp->size());
    if (d->HasParseError() || !d->IsObject()) return Status::Internal("DescribeStream: answer is not JSON");
    auto m = d->FindMember("StreamDescription");
    if (m == d->MemberEnd() || !m->value.IsObject()) {
      return Status::Internal("DescribeStream: answer has no StreamDescription");
    }
    return &m->value;
  }

  // The stream ARN: configured, or the table's LatestStreamArn (looked up
  // once; a failed lookup is tried again at the next call).
  Result<std::string> Arn() {
    {
      MutexLock lock(&mu_);
      if (!arn_.empty()) return arn_;
    }
    auto table = dynamodb_.DescribeTable(options_.table_name);
    if (!table.ok()) return table.status().WithContext("DescribeTable " + options_.table_name);
    if (table->latest_stream_arn.empty()) {
      return Status::NotFound("table " + options_.table_name +
                              " has no stream: enable DynamoDB Streams on it (StreamSpecification), or set "
                              "source.stream_arn");
    }
    MutexLock lock(&mu_);
    arn_ = table->latest_stream_arn;
    return arn_;
  }

  const DynamoDbStreamsOptions options_;
  const aws::DynamoDbClient streams_;
  const aws::DynamoDbClient dynamodb_;
  Mutex mu_;
  std::string arn_ GUARDED_BY(mu_);
};

}  // namespace

Status ParseStreamsGetRecords(RecordsPage* page) {
  page->records.clear();
  page->child_shards.clear();
  page->next_iterator.clear();
  page->continuation_seq.clear();
  page->millis_behind = -1;
  page->data_bytes = 0;
  std::string& body = page->body;
  // rapidjson's SSE2 whitespace skipping reads whole aligned 16-byte
  // blocks: keep them inside the allocation (kinesis_request.h).
  const size_t size = body.size();
  body.append(16, '\0');
  body.resize(size);
  rapidjson::StringStream in(body.c_str());
  PageHandler handler(body, &in, page);
  rapidjson::Reader reader;
  const rapidjson::ParseResult r =
      reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(in, handler);
  if (!handler.error().empty()) return Status::Internal(handler.error());
  if (r.IsError()) return Status::Internal("GetRecords: answer is not JSON");
  if (!handler.saw_records()) return Status::Internal("GetRecords: answer has no Records");
  return Status::OK();
}

std::string TableOfStreamArn(std::string_view arn) {
  // arn:<partition>:dynamodb:<region>:<account>:table/<name>/stream/<label>
  if (arn.substr(0, 4) != "arn:") return "";
  size_t colons = 0, i = 0;
  for (; i < arn.size() && colons < 5; ++i) colons += arn[i] == ':';
  if (colons < 5 || arn.find(":dynamodb:") == std::string_view::npos) return "";
  std::string_view rest = arn.substr(i);
  if (rest.substr(0, 6) != "table/") return "";
  rest.remove_prefix(6);
  const size_t slash = rest.find("/stream/");
  if (slash == std::string_view::npos || slash == 0) return "";
  return std::string(rest.substr(0, slash));
}

std::unique_ptr<ChangeSource> NewDynamoDbStreamsSource(DynamoDbStreamsOptions options, aws::HttpClient* http,
                                                       aws::CredentialsProvider* creds, Clock* clock) {
  return std::make_unique<DynamoDbStreamsSource>(std::move(options), http, creds, clock);
}

}  // namespace shardhose::poll

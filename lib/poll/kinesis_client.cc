#include "poll/kinesis_client.h"

#include <cmath>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "aws/retry_class.h"
#include "aws/sigv4.h"

namespace shardhose::poll {

std::string_view IteratorTypeName(IteratorType t) {
  switch (t) {
    case IteratorType::kTrimHorizon: return "TRIM_HORIZON";
    case IteratorType::kLatest: return "LATEST";
    case IteratorType::kAtTimestamp: return "AT_TIMESTAMP";
    case IteratorType::kAfterSequenceNumber: return "AFTER_SEQUENCE_NUMBER";
    case IteratorType::kAtSequenceNumber: return "AT_SEQUENCE_NUMBER";
  }
  return "TRIM_HORIZON";
}

namespace {

std::string GetString(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Parses an answer body in place. rapidjson's SSE2 scanning may read up to
// 15 bytes past the terminating NUL (within its 16-byte block), so the body
// is padded to keep those reads inside the allocation; the iterative parser
// bounds the stack whatever the nesting.
void ParseBody(std::string& body, rapidjson::Document* d) {
  const size_t size = body.size();
  body.append(16, '\0');
  body.resize(size);
  d->ParseInsitu<rapidjson::kParseIterativeFlag>(body.data());
}

void AddStream(Writer& w, const StreamRef& s) {
  if (!s.arn.empty()) {
    w.Key("StreamARN");
    w.String(s.arn.c_str(), static_cast<rapidjson::SizeType>(s.arn.size()));
  } else {
    w.Key("StreamName");
    w.String(s.name.c_str(), static_cast<rapidjson::SizeType>(s.name.size()));
  }
}

ShardInfo ParseShard(const rapidjson::Value& v) {
  ShardInfo s;
  if (!v.IsObject()) return s;
  s.id = GetString(v, "ShardId");
  s.parent = GetString(v, "ParentShardId");
  s.adjacent_parent = GetString(v, "AdjacentParentShardId");
  auto range = v.FindMember("SequenceNumberRange");
  if (range != v.MemberEnd() && range->value.IsObject()) {
    s.starting_seq = GetString(range->value, "StartingSequenceNumber");
    s.ending_seq = GetString(range->value, "EndingSequenceNumber");
  }
  return s;
}

class KinesisClientImpl final : public KinesisClient {
 public:
  KinesisClientImpl(KinesisOptions options, aws::HttpClient* http, aws::CredentialsProvider* creds,
                    Clock* clock)
      : options_(std::move(options)), http_(http), creds_(creds), clock_(clock) {
    url_ = options_.endpoint_url.empty()
               ? fmt::format("https://kinesis.{}.amazonaws.com/", options_.region)
               : options_.endpoint_url;
    if (url_.find('/', url_.find("://") + 3) == std::string::npos) url_ += '/';
  }

  Result<StreamSummary> DescribeStreamSummary(const StreamRef& stream) override {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    AddStream(w, stream);
    w.EndObject();
    auto resp = Call("DescribeStreamSummary", sb.GetString());
    if (!resp.ok()) return resp.status();
    rapidjson::Document d;
    ParseBody(resp->body, &d);
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("StreamDescriptionSummary")) {
      return Status::Internal("DescribeStreamSummary: unexpected answer");
    }
    const auto& s = d["StreamDescriptionSummary"];
    StreamSummary out;
    out.name = GetString(s, "StreamName");
    out.arn = GetString(s, "StreamARN");
    out.status = GetString(s, "StreamStatus");
    if (s.HasMember("RetentionPeriodHours") && s["RetentionPeriodHours"].IsInt64())
      out.retention_hours = s["RetentionPeriodHours"].GetInt64();
    if (s.HasMember("OpenShardCount") && s["OpenShardCount"].IsInt64())
      out.open_shards = s["OpenShardCount"].GetInt64();
    return out;
  }

  Result<std::vector<ShardInfo>> ListShards(const StreamRef& stream) override {
    std::vector<ShardInfo> shards;
    std::string token;
    for (int page = 0; page < 100000; ++page) {
      rapidjson::StringBuffer sb;
      Writer w(sb);
      w.StartObject();
      if (token.empty()) {
        AddStream(w, stream);
      } else {
        w.Key("NextToken");
        w.String(token.c_str(), static_cast<rapidjson::SizeType>(token.size()));
      }
      w.EndObject();
      auto resp = Call("ListShards", sb.GetString());
      if (!resp.ok()) return resp.status();
      rapidjson::Document d;
      ParseBody(resp->body, &d);
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("Shards") || !d["Shards"].IsArray()) {
        return Status::Internal("ListShards: unexpected answer");
      }
      for (const auto& s : d["Shards"].GetArray()) {
        ShardInfo info = ParseShard(s);
        if (!info.id.empty()) shards.push_back(std::move(info));
      }
      token = GetString(d, "NextToken");
      if (token.empty()) return shards;
    }
    return Status::Internal("ListShards: too many pages");
  }

  Result<std::string> GetShardIterator(const StreamRef& stream, const std::string& shard_id,
                                       const IteratorStart& start) override {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    AddStream(w, stream);
    w.Key("ShardId");
    w.String(shard_id.c_str(), static_cast<rapidjson::SizeType>(shard_id.size()));
    w.Key("ShardIteratorType");
    auto type = IteratorTypeName(start.type);
    w.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
    if (start.type == IteratorType::kAfterSequenceNumber || start.type == IteratorType::kAtSequenceNumber) {
      w.Key("StartingSequenceNumber");
      w.String(start.sequence.c_str(), static_cast<rapidjson::SizeType>(start.sequence.size()));
    } else if (start.type == IteratorType::kAtTimestamp) {
      w.Key("Timestamp");
      // Epoch seconds with millisecond precision, as the AWS SDKs send it.
      w.RawValue(fmt::format("{}.{:03}", start.timestamp_ms / 1000, start.timestamp_ms % 1000).c_str(),
                 0, rapidjson::kNumberType);
    }
    w.EndObject();
    auto resp = Call("GetShardIterator", sb.GetString());
    if (!resp.ok()) return resp.status();
    rapidjson::Document d;
    ParseBody(resp->body, &d);
    std::string it = d.HasParseError() ? std::string() : GetString(d, "ShardIterator");
    if (it.empty()) return Status::Internal("GetShardIterator: no ShardIterator in answer");
    return it;
  }

  Status GetRecords(const StreamRef& stream, const std::string& iterator, int limit,
                    RecordsPage* page) override {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    w.Key("ShardIterator");
    w.String(iterator.c_str(), static_cast<rapidjson::SizeType>(iterator.size()));
    w.Key("Limit");
    w.Int(limit);
    if (!stream.arn.empty()) {
      w.Key("StreamARN");
      w.String(stream.arn.c_str(), static_cast<rapidjson::SizeType>(stream.arn.size()));
    }
    w.EndObject();
    // The answer (up to 10 MB) goes straight into the page's reused buffer.
    auto resp = Call("GetRecords", sb.GetString(), &page->body);
    if (!resp.ok()) return resp.status();
    return ParseGetRecords(page);
  }

 private:
  // One signed JSON call. With `body_sink`, a successful answer's body is
  // left there (HttpRequest::body_sink); an error answer's is moved back
  // into the response to be classified.
  Result<aws::HttpResponse> Call(std::string_view op, std::string body, std::string* body_sink = nullptr) {
    auto creds = creds_->Get();
    if (!creds.ok()) return creds.status();
    aws::HttpRequest req;
    req.method = "POST";
    req.url = url_;
    req.body = body;
    req.timeout = options_.timeout;
    req.body_sink = body_sink;
    req.SetHeader("Content-Type", "application/x-amz-json-1.1");
    req.SetHeader("X-Amz-Target", fmt::format("Kinesis_20131202.{}", op));
    aws::SigningParams params;
    params.region = options_.region;
    params.service = "kinesis";
    params.time = clock_->WallNow();
    SHARDHOSE_RETURN_IF_ERROR(aws::SignRequest(&req, *creds, params));
    auto resp = http_->Send(req);
    if (!resp.ok()) return resp.status().WithContext(op);
    if (body_sink != nullptr) {
      if (resp->status != 200) {
        resp->body = std::move(*body_sink);
      } else if (body_sink->empty() && !resp->body.empty()) {
        *body_sink = std::move(resp->body);  // a client that ignores body_sink (a test double)
      }
    }
    Status st = aws::ClassifyResponse(op, *resp);
    if (!st.ok()) return st;
    return std::move(resp).value();
  }

  KinesisOptions options_;
  aws::HttpClient* http_;
  aws::CredentialsProvider* creds_;
  Clock* clock_;
  std::string url_;
};

}  // namespace

Status ParseGetRecords(RecordsPage* page) {
  page->records.clear();
  page->child_shards.clear();
  page->next_iterator.clear();
  page->continuation_seq.clear();
  page->millis_behind = 0;
  page->data_bytes = 0;
  rapidjson::Document d;
  // In situ: strings are unescaped inside page->body, so the record views
  // point into the page's own buffer.
  ParseBody(page->body, &d);
  if (d.HasParseError() || !d.IsObject()) return Status::Internal("GetRecords: answer is not JSON");
  auto recs = d.FindMember("Records");
  if (recs == d.MemberEnd() || !recs->value.IsArray()) {
    return Status::Internal("GetRecords: answer has no Records");
  }
  page->records.reserve(recs->value.Size());
  for (const auto& r : recs->value.GetArray()) {
    if (!r.IsObject()) return Status::Internal("GetRecords: record is not an object");
    KinesisRecordView v;
    auto get = [&](const char* name) -> std::string_view {
      auto m = r.FindMember(name);
      if (m == r.MemberEnd() || !m->value.IsString()) return {};
      return {m->value.GetString(), m->value.GetStringLength()};
    };
    v.data_base64 = get("Data");
    v.sequence_number = get("SequenceNumber");
    v.partition_key = get("PartitionKey");
    auto ts = r.FindMember("ApproximateArrivalTimestamp");
    if (ts != r.MemberEnd() && ts->value.IsNumber()) {
      v.arrival_ms = static_cast<int64_t>(std::llround(ts->value.GetDouble() * 1000.0));
    }
    if (v.sequence_number.empty()) return Status::Internal("GetRecords: record without SequenceNumber");
    page->data_bytes += v.data_base64.size();
    page->records.push_back(v);
  }
  auto next = d.FindMember("NextShardIterator");
  if (next != d.MemberEnd() && next->value.IsString()) {
    page->next_iterator.assign(next->value.GetString(), next->value.GetStringLength());
  }
  auto cont = d.FindMember("ContinuationSequenceNumber");
  if (cont != d.MemberEnd() && cont->value.IsString()) {
    page->continuation_seq.assign(cont->value.GetString(), cont->value.GetStringLength());
  }
  auto behind = d.FindMember("MillisBehindLatest");
  if (behind != d.MemberEnd() && behind->value.IsInt64()) page->millis_behind = behind->value.GetInt64();
  auto children = d.FindMember("ChildShards");
  if (children != d.MemberEnd() && children->value.IsArray()) {
    for (const auto& c : children->value.GetArray()) {
      if (!c.IsObject()) continue;
      ShardInfo s;
      s.id = GetString(c, "ShardId");
      auto parents = c.FindMember("ParentShards");
      if (parents != c.MemberEnd() && parents->value.IsArray()) {
        const auto& p = parents->value;
        if (p.Size() > 0 && p[0].IsString()) s.parent = p[0].GetString();
        if (p.Size() > 1 && p[1].IsString()) s.adjacent_parent = p[1].GetString();
      }
      if (!s.id.empty()) page->child_shards.push_back(std::move(s));
    }
  }
  return Status::OK();
}

std::unique_ptr<KinesisClient> NewKinesisClient(KinesisOptions options, aws::HttpClient* http,
                                                aws::CredentialsProvider* creds, Clock* clock) {
  return std::make_unique<KinesisClientImpl>(std::move(options), http, creds, clock);
}

}  // namespace shardhose::poll

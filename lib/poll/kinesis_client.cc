#include "poll/kinesis_client.h"

#include "poll/kinesis_api.h"
#include "poll/kinesis_request.h"

namespace shardhose::poll {

std::string_view IteratorTypeName(IteratorType t) {
  switch (t) {
    case IteratorType::kTrimHorizon:
      return "TRIM_HORIZON";
    case IteratorType::kLatest:
      return "LATEST";
    case IteratorType::kAtTimestamp:
      return "AT_TIMESTAMP";
    case IteratorType::kAfterSequenceNumber:
      return "AFTER_SEQUENCE_NUMBER";
    case IteratorType::kAtSequenceNumber:
      return "AT_SEQUENCE_NUMBER";
  }
  return "TRIM_HORIZON";
}

namespace {

void AddStream(JsonWriter& w, const StreamRef& s) {
  if (!s.arn.empty()) {
    w.Key("StreamARN");
    WriteJsonString(w, s.arn);
  } else {
    w.Key("StreamName");
    WriteJsonString(w, s.name);
  }
}

ShardInfo ParseShard(const rapidjson::Value& v) {
  ShardInfo s;
  if (!v.IsObject()) return s;
  s.id = JsonString(v, "ShardId");
  s.parent = JsonString(v, "ParentShardId");
  s.adjacent_parent = JsonString(v, "AdjacentParentShardId");
  auto range = v.FindMember("SequenceNumberRange");
  if (range != v.MemberEnd() && range->value.IsObject()) {
    s.starting_seq = JsonString(range->value, "StartingSequenceNumber");
    s.ending_seq = JsonString(range->value, "EndingSequenceNumber");
  }
  auto hash = v.FindMember("HashKeyRange");
  if (hash != v.MemberEnd() && hash->value.IsObject()) {
    s.starting_hash_key = JsonString(hash->value, "StartingHashKey");
    s.ending_hash_key = JsonString(hash->value, "EndingHashKey");
  }
  return s;
}

class KinesisClientImpl final : public KinesisClient {
 public:
  KinesisClientImpl(const KinesisOptions& options, aws::HttpClient* http, aws::CredentialsProvider* creds, Clock* clock)
      : http_(http), requests_(Endpoint(options), creds, clock) {}

  Result<StreamSummary> DescribeStreamSummary(const StreamRef& stream) override {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    AddStream(w, stream);
    w.EndObject();
    auto resp = Call("DescribeStreamSummary", sb);
    if (!resp.ok()) return resp.status();
    rapidjson::Document d;
    ParseJsonInPlace(resp->body, &d);
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("StreamDescriptionSummary")) {
      return Status::Internal("DescribeStreamSummary: unexpected answer");
    }
    const auto& s = d["StreamDescriptionSummary"];
    StreamSummary out;
    out.name = JsonString(s, "StreamName");
    out.arn = JsonString(s, "StreamARN");
    out.status = JsonString(s, "StreamStatus");
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
      JsonWriter w(sb);
      w.StartObject();
      if (token.empty()) {
        AddStream(w, stream);
      } else {
        w.Key("NextToken");
        w.String(token.c_str(), static_cast<rapidjson::SizeType>(token.size()));
      }
      w.EndObject();
      auto resp = Call("ListShards", sb);
      if (!resp.ok()) return resp.status();
      rapidjson::Document d;
      ParseJsonInPlace(resp->body, &d);
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("Shards") || !d["Shards"].IsArray()) {
        return Status::Internal("ListShards: unexpected answer");
      }
      for (const auto& s : d["Shards"].GetArray()) {
        ShardInfo info = ParseShard(s);
        if (!info.id.empty()) shards.push_back(std::move(info));
      }
      token = JsonString(d, "NextToken");
      if (token.empty()) return shards;
    }
    return Status::Internal("ListShards: too many pages");
  }

  Result<std::string> GetShardIterator(const StreamRef& stream, const std::string& shard_id,
                                       const IteratorStart& start) override {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
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
      WriteJsonEpochSeconds(w, start.timestamp_ms);
    }
    w.EndObject();
    auto resp = Call("GetShardIterator", sb);
    if (!resp.ok()) return resp.status();
    rapidjson::Document d;
    ParseJsonInPlace(resp->body, &d);
    std::string it = d.HasParseError() ? std::string() : JsonString(d, "ShardIterator");
    if (it.empty()) return Status::Internal("GetShardIterator: no ShardIterator in answer");
    return it;
  }

  Status GetRecords(const StreamRef& stream, const std::string& iterator, int limit, RecordsPage* page) override {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
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
    auto resp = Call("GetRecords", sb, &page->body);
    if (!resp.ok()) return resp.status();
    return ParseGetRecords(page);
  }

 private:
  static KinesisEndpoint Endpoint(const KinesisOptions& o) {
    KinesisEndpoint e;
    e.region = o.region;
    e.endpoint_url = o.endpoint_url;
    e.timeout = o.timeout;
    return e;
  }

  // One signed JSON call (KinesisRequestBuilder::Call).
  Result<aws::HttpResponse> Call(std::string_view op, const rapidjson::StringBuffer& body,
                                 std::string* body_sink = nullptr) {
    return requests_.Call(http_, op, std::string_view(body.GetString(), body.GetSize()), body_sink);
  }

  aws::HttpClient* http_;
  const KinesisRequestBuilder requests_;
};

}  // namespace

std::unique_ptr<KinesisClient> NewKinesisClient(KinesisOptions options, aws::HttpClient* http,
                                                aws::CredentialsProvider* creds, Clock* clock) {
  return std::make_unique<KinesisClientImpl>(std::move(options), http, creds, clock);
}

}  // namespace shardhose::poll

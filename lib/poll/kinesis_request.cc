#include "poll/kinesis_request.h"

#include <fmt/format.h>

#include "aws/retry_class.h"
#include "aws/sigv4.h"

namespace shardhose::poll {

KinesisRequestBuilder::KinesisRequestBuilder(KinesisEndpoint endpoint, aws::CredentialsProvider* creds, Clock* clock)
    : endpoint_(std::move(endpoint)), creds_(creds), clock_(clock) {
  url_ = endpoint_.endpoint_url.empty() ? fmt::format("https://kinesis.{}.amazonaws.com/", endpoint_.region)
                                        : endpoint_.endpoint_url;
  if (url_.find('/', url_.find("://") + 3) == std::string::npos) url_ += '/';
}

Result<aws::HttpRequest> KinesisRequestBuilder::Build(std::string_view op, std::string_view body) const {
  auto creds = creds_->Get();
  if (!creds.ok()) return creds.status();
  aws::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.body = body;
  req.timeout = endpoint_.timeout;
  req.connect_timeout = endpoint_.connect_timeout;
  req.SetHeader("Content-Type", "application/x-amz-json-1.1");
  req.SetHeader("X-Amz-Target", fmt::format("Kinesis_20131202.{}", op));
  aws::SigningParams params;
  params.region = endpoint_.region;
  params.service = "kinesis";
  params.time = clock_->WallNow();
  SHARDHOSE_RETURN_IF_ERROR(aws::SignRequest(&req, *creds, params));
  return req;
}

Result<aws::HttpResponse> KinesisRequestBuilder::Call(aws::HttpClient* http, std::string_view op, std::string_view body,
                                                      std::string* body_sink) const {
  auto req = Build(op, body);
  if (!req.ok()) return req.status();
  req->body_sink = body_sink;
  auto resp = http->Send(*req);
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

void WriteJsonString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteJsonEpochSeconds(JsonWriter& w, int64_t ms) {
  const std::string s = fmt::format("{}.{:03}", ms / 1000, ms % 1000);
  w.RawValue(s.data(), s.size(), rapidjson::kNumberType);
}

std::string JsonString(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

char* PadForInPlaceParse(std::string& body) {
  const size_t size = body.size();
  body.append(16, '\0');
  body.resize(size);
  return body.data();
}

void ParseJsonInPlace(std::string& body, rapidjson::Document* d) {
  d->ParseInsitu<rapidjson::kParseIterativeFlag>(PadForInPlaceParse(body));
}

}  // namespace shardhose::poll

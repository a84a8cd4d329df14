// File: poll/kinesis_request.h
//
// The one builder of Kinesis Data Streams requests, for the polling client
// (kinesis_client.cc) and enhanced fan-out (efo_reader.cc). Every call is
// the JSON protocol:
//
//   POST <endpoint>/
//   X-Amz-Target: Kinesis_20131202.<Op>
//   Content-Type: application/x-amz-json-1.1
//   + SigV4 headers (service "kinesis", the configured region)
//
// The endpoint is `endpoint_url` when set ("/" appended when it has no
// path), else https://kinesis.<region>.amazonaws.com/. Also here: the few
// rapidjson helpers both clients use to write bodies and read answers.
//
// Errors: Build() fails only when credentials cannot be had (the
// provider's Status) or signing fails. Call() makes exactly one attempt and
// never sleeps: its errors are Build()'s, Send()'s (kNetwork, with the
// operation as context), and non-2xx answers classified by
// aws::ClassifyResponse (retry class and peer code).
//
// Thread-safety: a builder is immutable; Build() and Call() may be called
// concurrently (the credentials provider and clock are thread-safe).
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
#include "common/status.h"

namespace shardhose::poll {

struct KinesisEndpoint {
  std::string region = "us-east-1";
  std::string endpoint_url;                         // "" = https://kinesis.<region>.amazonaws.com
  std::chrono::milliseconds timeout{30000};         // a whole call (HttpRequest::timeout)
  std::chrono::milliseconds connect_timeout{5000};  // HttpRequest::connect_timeout
};

class KinesisRequestBuilder {
 public:
  // REQUIRES: creds and clock outlive the builder.
  KinesisRequestBuilder(KinesisEndpoint endpoint, aws::CredentialsProvider* creds, Clock* clock);

  // The URL every request goes to.
  const std::string& url() const { return url_; }

  // The signed request for operation `op` ("GetRecords",
  // "SubscribeToShard", ...) with the JSON `body`, signed now
  // (clock->WallNow()) with the provider's current credentials; timeouts
  // from the endpoint. The caller may change the unsigned fields (timeouts,
  // body_sink) but not the method, URL, headers or body.
  // REQUIRES: the viewed `body` stays alive while the request is used.
  Result<aws::HttpRequest> Build(std::string_view op, std::string_view body) const;

  // One request/response call: Build(), http->Send(), and the answer
  // classified. OK only for a 2xx answer. With `body_sink`
  // (HttpRequest::body_sink), a 2xx answer's body is left in *body_sink
  // (also when a test double answered in HttpResponse::body instead), and
  // an error answer's is moved back into the response to be classified.
  Result<aws::HttpResponse> Call(aws::HttpClient* http, std::string_view op, std::string_view body,
                                 std::string* body_sink = nullptr) const;

 private:
  const KinesisEndpoint endpoint_;
  aws::CredentialsProvider* const creds_;
  Clock* const clock_;
  std::string url_;
};

// JSON helpers (rapidjson) shared by the Kinesis clients.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
void WriteJsonString(JsonWriter& w, std::string_view s);
// `ms` (epoch milliseconds, >= 0) as a JSON number of epoch seconds with
// millisecond precision, 1716200000.123, as the AWS SDKs send Kinesis
// timestamps.
void WriteJsonEpochSeconds(JsonWriter& w, int64_t ms);
// The string member `name` of `obj`, or "" if absent, not a string, or
// `obj` is not an object.
std::string JsonString(const rapidjson::Value& obj, const char* name);
// Readies `body` for an in-situ parse (rapidjson's kParseInsituFlag, DOM or
// SAX) and returns its NUL-terminated text: rapidjson's SSE2 scanning may
// read up to 15 bytes past the terminating NUL, so the body's capacity is
// padded to keep those reads inside the allocation.
char* PadForInPlaceParse(std::string& body);
// Parses `body` in place (strings unescaped inside it, so views into the
// document point into `body`; PadForInPlaceParse). The iterative parser
// bounds the stack whatever the nesting. A parse error is left in
// d->HasParseError().
void ParseJsonInPlace(std::string& body, rapidjson::Document* d);

}  // namespace shardhose::poll

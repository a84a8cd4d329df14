#include "aws/retry_class.h"

#include <rapidjson/document.h>

#include <string>

#include "aws/xml.h"

namespace shardhose::aws {
namespace {

constexpr size_t kMaxMessage = 512;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// "aws.protocoltests#FooError:http://internal..." -> "FooError".
std::string SanitizeCode(std::string_view code) {
  size_t colon = code.find(':');
  if (colon != std::string_view::npos) code = code.substr(0, colon);
  size_t hash = code.rfind('#');
  if (hash != std::string_view::npos) code = code.substr(hash + 1);
  return std::string(Trim(code));
}

bool LooksLikeJson(std::string_view body) {
  body = Trim(body);
  return !body.empty() && body.front() == '{';
}

struct ErrorInfo {
  std::string code;
  std::string message;
};

ErrorInfo ParseError(const HttpResponse& r) {
  ErrorInfo info;
  if (LooksLikeJson(r.body)) {
    // RAPIDJSON_SSE2 scans 16 bytes at a time and may read past the end:
    // parse a padded copy (error bodies are small).
    std::string padded = r.body;
    padded.append(16, '\0');
    rapidjson::Document doc;
    doc.Parse(padded.data(), r.body.size());
    if (!doc.HasParseError() && doc.IsObject()) {
      for (const char* key : {"__type", "code", "Code"}) {
        auto it = doc.FindMember(key);
        if (it != doc.MemberEnd() && it->value.IsString()) {
          info.code = SanitizeCode(std::string_view(it->value.GetString(), it->value.GetStringLength()));
          if (!info.code.empty()) break;
        }
      }
      for (const char* key : {"message", "Message", "errorMessage"}) {
        auto it = doc.FindMember(key);
        if (it != doc.MemberEnd() && it->value.IsString()) {
          info.message.assign(it->value.GetString(), it->value.GetStringLength());
          break;
        }
      }
    }
  } else if (r.body.find('<') != std::string::npos) {
    info.code = SanitizeCode(XmlElement(r.body, "Code").value_or(""));
    info.message = std::string(Trim(XmlElement(r.body, "Message").value_or("")));
  }
  if (info.code.empty()) info.code = SanitizeCode(r.Header("x-amzn-ErrorType"));
  if (info.message.size() > kMaxMessage) info.message.resize(kMaxMessage);
  return info;
}

bool Contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

bool IsThrottle(int status, std::string_view code) {
  return status == 429 || code == "SlowDown" || Contains(code, "Throttl") ||
         code == "ProvisionedThroughputExceededException" || code == "LimitExceededException" ||
         code == "RequestLimitExceeded" || code == "TooManyRequestsException" || code == "BandwidthLimitExceeded" ||
         code == "EC2ThrottledException";
}

// Credentials that expired or a clock that drifted: a retry after refreshing
// credentials (or re-signing with the current time) can succeed.
bool IsRetryableAuth(std::string_view code, std::string_view message) {
  if (code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired" ||
      code == "RequestTimeTooSkewed" || code == "RequestInTheFuture") {
    return true;
  }
  if (code == "SignatureDoesNotMatch" || code == "InvalidSignatureException") {
    return Contains(message, "Signature expired") || Contains(message, "skew") ||
           Contains(message, "Signature not yet current");
  }
  return false;
}

bool IsNotFound(int status, std::string_view code) {
  return code == "ResourceNotFoundException" || code == "NoSuchBucket" || code == "NoSuchKey" ||
         code == "NoSuchUpload" || (status == 404 && code.empty());
}

bool IsPermission(int status, std::string_view code) {
  return code.starts_with("AccessDenied") || code == "UnrecognizedClientException" || code == "InvalidAccessKeyId" ||
         code == "SignatureDoesNotMatch" || code == "InvalidSignatureException" ||
         code == "IncompleteSignatureException" || code == "MissingAuthenticationToken" ||
         code == "InvalidClientTokenId" || status == 401 || status == 403;
}

}  // namespace

std::string AwsErrorCode(const HttpResponse& response) { return ParseError(response).code; }

Status ClassifyResponse(std::string_view operation, const HttpResponse& response) {
  const int st = response.status;
  if (st >= 200 && st < 300) return Status::OK();
  ErrorInfo e = ParseError(response);

  std::string msg(operation);
  msg += ": HTTP ";
  msg += std::to_string(st);
  if (!e.code.empty()) {
    msg += " ";
    msg += e.code;
  }
  if (!e.message.empty()) {
    msg += ": ";
    msg += e.message;
  }

  if (IsThrottle(st, e.code)) {
    return Status::Unavailable(std::move(msg)).WithPeer(RetryClass::kThrottled, e.code);
  }
  if (st >= 500) {
    return Status::Unavailable(std::move(msg)).WithPeer(RetryClass::kServerError, e.code);
  }
  if (e.code == "ConditionalRequestConflict") {
    // S3: a conditional write raced another write of the key; retry.
    return Status::Unavailable(std::move(msg)).WithPeer(RetryClass::kServerError, e.code);
  }
  if (IsRetryableAuth(e.code, e.message)) {
    return Status::Unavailable(std::move(msg)).WithPeer(RetryClass::kServerError, e.code);
  }
  if (IsNotFound(st, e.code)) {
    return Status::NotFound(std::move(msg)).WithPeer(RetryClass::kClientError, e.code);
  }
  if (IsPermission(st, e.code)) {
    return Status::PermissionDenied(std::move(msg)).WithPeer(RetryClass::kClientError, e.code);
  }
  // Other 4xx, and 1xx/3xx (e.g. S3's 301 PermanentRedirect for a bucket in
  // another region): the request or the configuration must change.
  return Status::InvalidArgument(std::move(msg)).WithPeer(RetryClass::kClientError, e.code);
}

}  // namespace shardhose::aws

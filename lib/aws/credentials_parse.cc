// Parsing what credential endpoints answer: ISO 8601 expirations, the JSON
// documents of the container endpoint / IMDS / credential_process, and the
// XML of STS. Error messages name the source and what is missing, never
// the document (it holds secrets).
#include <rapidjson/document.h>

#include <chrono>
#include <string>

#include "aws/credentials_internal.h"
#include "aws/xml.h"

namespace shardhose::aws::internal {
namespace {

Status Malformed(std::string_view what, std::string_view why) {
  return Status::Unavailable(std::string(what) + ": malformed answer: " + std::string(why))
      .WithPeer(RetryClass::kServerError, "");
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string_view TrimWs(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<WallTime> ParseIso8601(std::string_view t) {
  auto bad = [&] { return Status::InvalidArgument("not an ISO 8601 UTC time"); };
  int y, mo, d, h, mi, s;
  if (!Digits(t, 0, 4, &y) || t.size() < 19 || t[4] != '-' || !Digits(t, 5, 2, &mo) || t[7] != '-' ||
      !Digits(t, 8, 2, &d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !Digits(t, 11, 2, &h) || t[13] != ':' ||
      !Digits(t, 14, 2, &mi) || t[16] != ':' || !Digits(t, 17, 2, &s)) {
    return bad();
  }
  size_t pos = 19;
  std::chrono::nanoseconds frac{0};
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    long long scale = 100000000, ns = 0;
    const size_t start = pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      ns += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
    frac = std::chrono::nanoseconds(ns);
  }
  std::chrono::minutes offset{0};
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    int oh, om;
    if (!Digits(t, pos + 1, 2, &oh) || pos + 3 >= t.size() || t[pos + 3] != ':' || !Digits(t, pos + 4, 2, &om) ||
        oh > 23 || om > 59) {
      return bad();
    }
    offset = std::chrono::minutes(oh * 60 + om) * (t[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != t.size()) return bad();
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return bad();
  sys_time<nanoseconds> tp = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + frac - offset;
  return time_point_cast<WallTime::duration>(tp);
}

Result<Credentials> ParseJsonCredentials(std::string_view body, std::string_view what, const char* token_key) {
  // RAPIDJSON_SSE2 may read up to 16 bytes past the end: parse a padded copy.
  std::string padded(body);
  padded.append(16, '\0');
  rapidjson::Document doc;
  doc.Parse(padded.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return Malformed(what, "not a JSON object");
  auto str = [&](const char* key) -> std::optional<std::string> {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  Credentials c;
  std::optional<std::string> id = str("AccessKeyId");
  std::optional<std::string> secret = str("SecretAccessKey");
  if (!id || id->empty()) return Malformed(what, "no AccessKeyId");
  if (!secret || secret->empty()) return Malformed(what, "no SecretAccessKey");
  c.access_key_id = std::move(*id);
  c.secret_access_key = std::move(*secret);
  if (token_key != nullptr) c.session_token = str(token_key).value_or("");
  auto exp = doc.FindMember("Expiration");
  if (exp != doc.MemberEnd() && !exp->value.IsNull()) {
    if (!exp->value.IsString()) return Malformed(what, "Expiration is not a string");
    Result<WallTime> t = ParseIso8601(std::string_view(exp->value.GetString(), exp->value.GetStringLength()));
    if (!t.ok()) return Malformed(what, "Expiration is not an ISO 8601 time");
    c.expiration = *t;
  }
  return c;
}

Result<Credentials> ParseStsCredentials(std::string_view xml) {
  constexpr std::string_view kWhat = "STS AssumeRoleWithWebIdentity";
  std::optional<std::string_view> block = XmlElement(xml, "Credentials");
  if (!block) return Malformed(kWhat, "no <Credentials>");
  Credentials c;
  struct Field {
    const char* tag;
    std::string* out;
  };
  std::string expiration;
  for (Field f : {Field{"AccessKeyId", &c.access_key_id}, Field{"SecretAccessKey", &c.secret_access_key},
                  Field{"SessionToken", &c.session_token}, Field{"Expiration", &expiration}}) {
    std::optional<std::string_view> v = XmlElement(*block, f.tag);
    if (!v) return Malformed(kWhat, std::string("no <") + f.tag + ">");
    if (!XmlUnescape(TrimWs(*v), f.out) || f.out->empty()) {
      return Malformed(kWhat, std::string("bad <") + f.tag + ">");
    }
  }
  Result<WallTime> t = ParseIso8601(expiration);
  if (!t.ok()) return Malformed(kWhat, "<Expiration> is not an ISO 8601 time");
  c.expiration = *t;
  return c;
}

Status EndpointError(std::string_view what, int http_status) {
  std::string msg = std::string(what) + ": HTTP " + std::to_string(http_status);
  if (http_status == 429) {
    return Status::Unavailable(std::move(msg)).WithPeer(RetryClass::kThrottled, "");
  }
  if (http_status >= 500) {
    return Status::Unavailable(std::move(msg)).WithPeer(RetryClass::kServerError, "");
  }
  if (http_status == 404) {
    return Status::NotFound(std::move(msg)).WithPeer(RetryClass::kClientError, "");
  }
  if (http_status == 401 || http_status == 403) {
    return Status::PermissionDenied(std::move(msg)).WithPeer(RetryClass::kClientError, "");
  }
  return Status::InvalidArgument(std::move(msg)).WithPeer(RetryClass::kClientError, "");
}

std::string UrlOrigin(std::string_view url) {
  size_t scheme_end = url.find("://");
  size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  // Drop any userinfo: it would be a credential.
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(url.substr(0, start)) + std::string(authority);
}

std::string StsUrl(std::string_view endpoint_sts, std::string_view endpoint_any, std::string_view region) {
  std::string_view e = !endpoint_sts.empty() ? endpoint_sts : endpoint_any;
  if (!e.empty()) {
    while (!e.empty() && e.back() == '/') e.remove_suffix(1);
    return std::string(e);
  }
  if (region.empty()) return "https://sts.amazonaws.com";
  const char* suffix = region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com";
  return "https://sts." + std::string(region) + suffix;
}

}  // namespace shardhose::aws::internal

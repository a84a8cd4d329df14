// AWS Signature Version 4.
//
//   CanonicalRequest = Method '\n' CanonicalPath '\n' CanonicalQuery '\n'
//                      (name ':' value '\n')*  '\n'
//                      SignedHeaders '\n' PayloadHash
//   StringToSign     = "AWS4-HMAC-SHA256" '\n' AmzDate '\n' Scope '\n'
//                      hex(sha256(CanonicalRequest))
//   Scope            = YYYYMMDD '/' region '/' service "/aws4_request"
//   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, YYYYMMDD), region),
//                      service), "aws4_request")
//   Signature        = hex(HMAC(SigningKey, StringToSign))
#include "aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <utility>
#include <vector>

namespace shardhose::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 0xF];
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// %XX -> byte where XX is valid hex; anything else is kept as is.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      out.push_back(static_cast<char>(HexVal(s[i + 1]) * 16 + HexVal(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Single encoding (S3): keeps valid %XX escapes, encodes other bytes
// outside the unreserved set and '/'.
std::string EncodeKeepingEscapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      out.append(s.substr(i, 3));  // as sent
      i += 3;
      continue;
    }
    size_t j = i;
    while (j < s.size() && s[j] != '%') ++j;
    if (j == i) ++j;  // a lone '%'
    out += UriEncode(s.substr(i, j - i), /*keep_slash=*/true);
    i = j;
  }
  return out;
}

struct UrlParts {
  std::string scheme;  // lowercase
  std::string host;    // for the host header: host[:port] as written, default port dropped
  std::string path;    // "/" if empty
  std::string query;   // without '?'
};

Result<UrlParts> SplitUrl(std::string_view url) {
  UrlParts u;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status::InvalidArgument("sigv4: URL has no scheme");
  }
  u.scheme = ToLower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty()) return Status::InvalidArgument("sigv4: URL has no host");
  // Drop the scheme's default port, as libcurl does in its Host header.
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    std::string_view port = authority.substr(colon + 1);
    if ((u.scheme == "http" && port == "80") || (u.scheme == "https" && port == "443") || port.empty()) {
      authority = authority.substr(0, colon);
    }
  }
  // Case kept: libcurl sends the Host header as written in the URL, and
  // SigV4 signs header values as sent (only names are lowercased).
  u.host = std::string(authority);
  size_t q = rest.find('?');
  u.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) u.query = std::string(rest.substr(q + 1));
  if (u.path.empty()) u.path = "/";
  return u;
}

std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segs;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (auto s : segs) {
    out.push_back('/');
    out.append(s);
  }
  if (out.empty()) return "/";
  if (path.ends_with('/')) out.push_back('/');
  return out;
}

std::string CanonicalPath(std::string_view path, const SigningParams& p) {
  std::string normalized = p.normalize_path ? NormalizePath(path) : std::string(path);
  return p.double_uri_encode ? UriEncode(normalized, /*keep_slash=*/true) : EncodeKeepingEscapes(normalized);
}

using QueryParams = std::vector<std::pair<std::string, std::string>>;  // encoded

// Splits a raw query and canonicalises every key and value.
void AddCanonicalQuery(std::string_view query, QueryParams* out) {
  size_t i = 0;
  while (i <= query.size()) {
    size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    std::string_view part = query.substr(i, j - i);
    i = j + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    out->emplace_back(UriEncode(PercentDecode(k), false), UriEncode(PercentDecode(v), false));
  }
}

std::string JoinQuery(QueryParams params) {
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (k == "X-Amz-Signature") continue;
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

bool IsUnsignedHeader(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "user-agent" || lower_name == "expect" ||
         lower_name == "x-amzn-trace-id";
}

// Trims and collapses runs of whitespace (including folded line breaks).
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;           // "name:value\n" lines
  std::string signed_headers;  // "a;b;c"
};

CanonicalHeaders BuildCanonicalHeaders(const std::vector<HttpHeader>& headers, std::string_view url_host,
                                       std::string_view skip_lower_name) {
  std::map<std::string, std::string> m;
  for (const auto& h : headers) {
    std::string name = ToLower(h.name);
    if (IsUnsignedHeader(name) || name == skip_lower_name) continue;
    auto [it, inserted] = m.try_emplace(name, CanonicalHeaderValue(h.value));
    if (!inserted) {
      it->second.push_back(',');
      it->second += CanonicalHeaderValue(h.value);
    }
  }
  m.try_emplace("host", std::string(url_host));
  CanonicalHeaders out;
  for (const auto& [k, v] : m) {
    out.block += k;
    out.block.push_back(':');
    out.block += v;
    out.block.push_back('\n');
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += k;
  }
  return out;
}

struct Times {
  std::string amz_date;  // 20150830T123600Z
  std::string date;      // 20150830
};

Times FormatTimes(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  Times out;
  out.amz_date = buf;
  out.date = out.amz_date.substr(0, 8);
  return out;
}

std::string Scope(const Times& t, const SigningParams& p) {
  return t.date + "/" + p.region + "/" + p.service + "/aws4_request";
}

Status CheckInputs(const Credentials& creds, const SigningParams& p) {
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return Status::InvalidArgument("sigv4: empty access key id or secret");
  }
  if (p.region.empty() || p.service.empty()) {
    return Status::InvalidArgument("sigv4: empty region or service");
  }
  return Status::OK();
}

// Fills steps from the (already prepared) canonical parts.
void Finish(std::string_view method, const std::string& canonical_path, const std::string& canonical_query,
            const CanonicalHeaders& ch, std::string_view payload_hash, const Times& times, const Credentials& creds,
            const SigningParams& p, SigningSteps* steps) {
  std::string& cr = steps->canonical_request;
  cr.clear();
  cr += method;
  cr.push_back('\n');
  cr += canonical_path;
  cr.push_back('\n');
  cr += canonical_query;
  cr.push_back('\n');
  cr += ch.block;
  cr.push_back('\n');
  cr += ch.signed_headers;
  cr.push_back('\n');
  cr += payload_hash;

  std::string scope = Scope(times, p);
  steps->string_to_sign = std::string(kAlgorithm) + "\n" + times.amz_date + "\n" + scope + "\n" + HexSha256(cr);
  std::string key = HmacSha256("AWS4" + creds.secret_access_key, times.date);
  key = HmacSha256(key, p.region);
  key = HmacSha256(key, p.service);
  key = HmacSha256(key, "aws4_request");
  std::string sig = HmacSha256(key, steps->string_to_sign);
  steps->signature = Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
  steps->signed_headers = ch.signed_headers;
}

std::string PayloadHash(const HttpRequest& r, const SigningParams& p) {
  return p.payload_hash.empty() ? HexSha256(r.body) : p.payload_hash;
}

bool IsSignatureHeader(std::string_view name) {
  std::string n = ToLower(name);
  return n == "authorization" || n == "x-amz-date" || n == "x-amz-security-token" || n == "x-amz-content-sha256";
}

// Header form on `req`, which is modified (the signature headers are
// replaced). Authorization is appended only if `add_authorization`.
Status SignHeaderForm(HttpRequest* req, const Credentials& creds, const SigningParams& p, SigningSteps* steps,
                      bool add_authorization) {
  SHARDHOSE_RETURN_IF_ERROR(CheckInputs(creds, p));
  Result<UrlParts> url = SplitUrl(req->url);
  if (!url.ok()) return url.status();
  std::string payload_hash = PayloadHash(*req, p);
  Times times = FormatTimes(p.time);

  std::erase_if(req->headers, [](const HttpHeader& h) { return IsSignatureHeader(h.name); });
  if (!creds.session_token.empty()) {
    req->headers.push_back({"X-Amz-Security-Token", creds.session_token});
  }
  req->headers.push_back({"X-Amz-Date", times.amz_date});
  if (p.add_content_sha256_header) req->headers.push_back({"x-amz-content-sha256", payload_hash});

  QueryParams q;
  AddCanonicalQuery(url->query, &q);
  CanonicalHeaders ch =
      BuildCanonicalHeaders(req->headers, url->host, p.omit_session_token ? "x-amz-security-token" : "");
  SigningSteps local;
  SigningSteps* out = steps != nullptr ? steps : &local;
  Finish(req->method, CanonicalPath(url->path, p), JoinQuery(std::move(q)), ch, payload_hash, times, creds, p, out);
  if (add_authorization) {
    req->headers.push_back({"Authorization", std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" +
                                                 Scope(times, p) + ", SignedHeaders=" + out->signed_headers +
                                                 ", Signature=" + out->signature});
  }
  return Status::OK();
}

}  // namespace

std::string HexSha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

Status SignRequest(HttpRequest* request, const Credentials& creds, const SigningParams& params, SigningSteps* steps) {
  HttpRequest copy = *request;  // the body is a view: cheap
  SHARDHOSE_RETURN_IF_ERROR(SignHeaderForm(&copy, creds, params, steps, true));
  request->headers = std::move(copy.headers);
  return Status::OK();
}

Result<SigningSteps> ComputeSigningSteps(const HttpRequest& request, const Credentials& creds,
                                         const SigningParams& params) {
  HttpRequest copy = request;
  SigningSteps steps;
  SHARDHOSE_RETURN_IF_ERROR(SignHeaderForm(&copy, creds, params, &steps, false));
  return steps;
}

Status PresignRequest(HttpRequest* request, const Credentials& creds, const SigningParams& params,
                      std::chrono::seconds expires, SigningSteps* steps) {
  SHARDHOSE_RETURN_IF_ERROR(CheckInputs(creds, params));
  Result<UrlParts> url = SplitUrl(request->url);
  if (!url.ok()) return url.status();
  Times times = FormatTimes(params.time);
  CanonicalHeaders ch = BuildCanonicalHeaders(request->headers, url->host, "");

  // Added to the URL in this order; all but the token (when omitted) and the
  // signature are signed.
  QueryParams added = {
      {"X-Amz-Algorithm", std::string(kAlgorithm)},
      {"X-Amz-Credential", UriEncode(creds.access_key_id + "/" + Scope(times, params), false)},
      {"X-Amz-Date", times.amz_date},
      {"X-Amz-SignedHeaders", UriEncode(ch.signed_headers, false)},
      {"X-Amz-Expires", std::to_string(expires.count())},
  };
  bool has_token = !creds.session_token.empty();
  if (has_token && !params.omit_session_token) {
    added.emplace_back("X-Amz-Security-Token", UriEncode(creds.session_token, false));
  }
  QueryParams q;
  AddCanonicalQuery(url->query, &q);
  for (const auto& kv : added) q.push_back(kv);
  if (has_token && params.omit_session_token) {
    added.emplace_back("X-Amz-Security-Token", UriEncode(creds.session_token, false));
  }
  // The order of parameters in the URL does not affect the signature. S3's
  // documentation writes them in canonical (sorted) order; the CRT and the
  // v4 suite write X-Amz-SignedHeaders before X-Amz-Expires. Follow each.
  if (params.service == "s3") std::sort(added.begin(), added.end());

  SigningSteps local;
  SigningSteps* out = steps != nullptr ? steps : &local;
  Finish(request->method, CanonicalPath(url->path, params), JoinQuery(std::move(q)), ch, PayloadHash(*request, params),
         times, creds, params, out);

  std::string& u = request->url;
  size_t hash = u.find('#');
  if (hash != std::string::npos) u.resize(hash);
  char sep = u.find('?') == std::string::npos ? '?' : '&';
  if (sep == '&' && (u.back() == '?' || u.back() == '&')) sep = '\0';
  for (const auto& [k, v] : added) {
    if (sep != '\0') u.push_back(sep);
    sep = '&';
    u += k;
    u.push_back('=');
    u += v;
  }
  u += "&X-Amz-Signature=" + out->signature;
  return Status::OK();
}

}  // namespace shardhose::aws

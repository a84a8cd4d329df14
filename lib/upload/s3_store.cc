// S3ObjectStore: one signed PutObject per Put(), one HeadObject per
// Holds().
//
// The request (path-style shown):
//   PUT /<bucket>/<uri-encoded key> HTTP/1.1
//   Host: <endpoint host[:port]>
//   Content-Type: <meta.content_type>          (if non-empty)
//   Content-Encoding: <meta.content_encoding>  (if non-empty)
//   Content-MD5: base64(md5(body))
//   x-amz-checksum-sha256: base64(sha256(body))
//   x-amz-server-side-encryption: AES256|aws:kms          (if configured)
//   x-amz-server-side-encryption-aws-kms-key-id: <id>     (with aws:kms)
//   X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256: hex(sha256(body)),
//   Authorization                                          (sigv4.h)
//   Content-Length: <size>                                 (by the transport)
//
// The body is hashed twice per attempt (MD5 and SHA-256); the SHA-256 serves
// both the signature and the checksum header.
#include <openssl/evp.h>

#include <utility>

#include "aws/retry_class.h"
#include "aws/sigv4.h"
#include "common/base64.h"
#include "upload/object_store.h"

namespace shardhose::upload {
namespace {

struct Endpoint {
  std::string scheme;     // "https"
  std::string authority;  // "host[:port]"
  std::string host;       // without port or brackets
};

Endpoint ParseEndpoint(const S3Options& o) {
  Endpoint e;
  std::string url = o.endpoint_url;
  if (url.empty()) url = "https://s3." + o.region + ".amazonaws.com";
  size_t sep = url.find("://");
  if (sep == std::string::npos) {
    e.scheme = "https";
  } else {
    e.scheme = url.substr(0, sep);
    url = url.substr(sep + 3);
  }
  e.authority = url.substr(0, url.find('/'));
  std::string_view a = e.authority;
  if (a.starts_with('[')) {
    e.host = std::string(a.substr(1, a.find(']') - 1));
  } else {
    e.host = std::string(a.substr(0, a.find(':')));
  }
  return e;
}

bool IsIpOrLocalhost(std::string_view host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  if (host.find(':') != std::string_view::npos) return true;  // IPv6
  if (host.empty()) return false;
  for (char c : host) {
    if (!((c >= '0' && c <= '9') || c == '.')) return false;
  }
  return true;  // dotted digits: IPv4
}

bool UsePathStyle(const S3Options& o, const Endpoint& e) {
  if (o.force_path_style || IsIpOrLocalhost(e.host)) return true;
  // Virtual-hosted names with dots break the wildcard TLS certificate.
  return e.scheme == "https" && o.bucket.find('.') != std::string::npos;
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ToHex(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (char ch : raw) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

class S3ObjectStore final : public ObjectStore {
 public:
  S3ObjectStore(S3Options options, aws::HttpClient* http, aws::CredentialsProvider* creds,
                Clock* clock)
      : options_(std::move(options)), http_(http), creds_(creds), clock_(clock) {
    Endpoint e = ParseEndpoint(options_);
    describe_ = "s3://" + options_.bucket + " (" + e.scheme + "://" + e.authority + ", " +
                (UsePathStyle(options_, e) ? "path-style" : "virtual-hosted") + ")";
  }

  Status Put(const std::string& key, std::string_view body, const ObjectMeta& meta) override {
    const std::string what = "PutObject s3://" + options_.bucket + "/" + key;
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");

    Result<aws::Credentials> creds = creds_->Get();
    if (!creds.ok()) return creds.status().WithContext(what + ": credentials");

    aws::HttpRequest req;
    req.method = "PUT";
    req.url = S3ObjectUrl(options_, key);
    req.body = body;
    req.timeout = options_.timeout;
    if (!meta.content_type.empty()) req.SetHeader("Content-Type", meta.content_type);
    if (!meta.content_encoding.empty()) req.SetHeader("Content-Encoding", meta.content_encoding);
    const std::string sha256 = Digest(EVP_sha256(), body);
    req.SetHeader("Content-MD5", Base64Encode(Digest(EVP_md5(), body)));
    req.SetHeader("x-amz-checksum-sha256", Base64Encode(sha256));
    if (!options_.sse.empty()) {
      req.SetHeader("x-amz-server-side-encryption", options_.sse);
      if (options_.sse == "aws:kms" && !options_.sse_kms_key_id.empty()) {
        req.SetHeader("x-amz-server-side-encryption-aws-kms-key-id", options_.sse_kms_key_id);
      }
    }

    Status signed_ok = aws::SignRequest(&req, *creds, SigningParamsFor(ToHex(sha256)));
    if (!signed_ok.ok()) return signed_ok.WithContext(what);

    Result<aws::HttpResponse> resp = http_->Send(req);
    if (!resp.ok()) return resp.status().WithContext(what);
    return aws::ClassifyResponse(what, *resp);
  }

  Result<bool> Holds(const std::string& key, std::string_view body) override {
    const std::string what = "HeadObject s3://" + options_.bucket + "/" + key;
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");
    Result<aws::Credentials> creds = creds_->Get();
    if (!creds.ok()) return creds.status().WithContext(what + ": credentials");

    aws::HttpRequest req;
    req.method = "HEAD";
    req.url = S3ObjectUrl(options_, key);
    req.timeout = options_.timeout;
    Status signed_ok = aws::SignRequest(&req, *creds, SigningParamsFor(/*payload_hash=*/""));
    if (!signed_ok.ok()) return signed_ok.WithContext(what);

    Result<aws::HttpResponse> resp = http_->Send(req);
    if (!resp.ok()) return resp.status().WithContext(what);
    // A HEAD answer has no body, so a missing bucket also reads as 404.
    if (resp->status == 404) return false;
    Status st = aws::ClassifyResponse(what, *resp);
    if (!st.ok()) return st;
    if (resp->Header("Content-Length") != std::to_string(body.size())) return false;
    // A single-part object's ETag is the hex MD5 of its bytes, except under
    // SSE-KMS; a multipart ETag has a "-N" suffix.
    std::string etag(resp->Header("ETag"));
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    if (options_.sse != "aws:kms" && etag.size() == 32 && etag.find('-') == std::string::npos) {
      return etag == ToHex(Digest(EVP_md5(), body));
    }
    return true;
  }

  std::string Describe() const override { return describe_; }

 private:
  // S3 signs the path as sent and requires x-amz-content-sha256.
  aws::SigningParams SigningParamsFor(std::string payload_hash) const {
    aws::SigningParams p;
    p.region = options_.region;
    p.service = "s3";
    p.time = clock_->WallNow();
    p.double_uri_encode = false;
    p.normalize_path = false;
    p.payload_hash = std::move(payload_hash);  // "" = hash of the (empty) body
    p.add_content_sha256_header = true;
    return p;
  }

  const S3Options options_;
  aws::HttpClient* const http_;
  aws::CredentialsProvider* const creds_;
  Clock* const clock_;
  std::string describe_;
};

}  // namespace

std::string S3ObjectUrl(const S3Options& options, std::string_view key) {
  Endpoint e = ParseEndpoint(options);
  const std::string encoded_key = aws::UriEncode(key, /*keep_slash=*/true);
  if (UsePathStyle(options, e)) {
    return e.scheme + "://" + e.authority + "/" + options.bucket + "/" + encoded_key;
  }
  return e.scheme + "://" + options.bucket + "." + e.authority + "/" + encoded_key;
}

std::unique_ptr<ObjectStore> NewS3ObjectStore(S3Options options, aws::HttpClient* http,
                                              aws::CredentialsProvider* creds, Clock* clock) {
  return std::make_unique<S3ObjectStore>(std::move(options), http, creds, clock);
}

}  // namespace shardhose::upload

// S3ObjectStore: one signed request per call.
//
// PutObject (path-style shown):
//   PUT /<bucket>/<uri-encoded key> HTTP/1.1
//   Host: <endpoint host[:port]>
//   Content-Type: <meta.content_type>          (if non-empty)
//   Content-Encoding: <meta.content_encoding>  (if non-empty)
//   Content-MD5: base64(md5(body))
//   x-amz-checksum-sha256: base64(sha256(body))
//   x-amz-server-side-encryption: AES256|aws:kms          (if configured)
//   x-amz-server-side-encryption-aws-kms-key-id: <id>     (with aws:kms)
//   If-None-Match: *                          (meta.if_absent: 412 if there)
//   X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256: hex(sha256(body)),
//   Authorization                                          (sigv4.h)
//   Content-Length: <size>                                 (by the transport)
//
// The body is hashed twice per attempt (MD5 and SHA-256); the SHA-256 serves
// both the signature and the checksum header.
//
// Holds/HoldsDigest: HEAD /<bucket>/<key>.
// Get: GET /<bucket>/<key> (reading an export, load/loader.h).
//
// Multipart (every request signed as above, query parameters included):
//   CreateMultipartUpload  POST /<bucket>/<key>?uploads, empty body, the
//                          Content-Type/-Encoding and SSE headers of Put;
//                          answer <InitiateMultipartUploadResult> with
//                          <UploadId>.
//   UploadPart             PUT /<bucket>/<key>?partNumber=N&uploadId=ID with
//                          Content-MD5 (no x-amz-checksum-sha256: S3 would
//                          then require it in Complete too); answer: ETag.
//   CompleteMultipartUpload POST /<bucket>/<key>?uploadId=ID, body
//                          <CompleteMultipartUpload><Part><PartNumber>n
//                          </PartNumber><ETag>"..."</ETag></Part>...
//                          </CompleteMultipartUpload>. S3 may answer 200
//                          and then an <Error> document: read as a 500.
//                          CompleteMultipartIfAbsent adds If-None-Match: *.
//   AbortMultipartUpload   DELETE /<bucket>/<key>?uploadId=ID.
//   ListMultipartUploads   GET /<bucket>/?uploads&prefix=<key>
//                          [&key-marker=..&upload-id-marker=..] (virtual-
//                          hosted: GET /?uploads&...), pages followed while
//                          <IsTruncated>true.
#include "upload/s3_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aws/retry_class.h"
#include "aws/sigv4.h"
#include "aws/xml.h"
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
  std::string lower(host);  // host names are case-insensitive: LOCALHOST is localhost
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "localhost" || lower.ends_with(".localhost")) return true;
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

// A 2xx answer that is not what the operation promises: the endpoint may
// answer properly on a later attempt.
Status Malformed(const std::string& what, std::string_view why) {
  return Status::Unavailable(what + ": malformed answer: " + std::string(why)).WithPeer(RetryClass::kServerError, "");
}

// The unescaped, trimmed text of <tag> in `xml`; nullopt if missing or not
// decodable.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag) {
  std::optional<std::string_view> raw = aws::XmlElement(xml, tag);
  if (!raw) return std::nullopt;
  std::string out;
  if (!aws::XmlUnescape(*raw, &out)) return std::nullopt;
  size_t b = out.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return std::string();
  return out.substr(b, out.find_last_not_of(" \t\r\n") + 1 - b);
}

// 405 (s3rver's answer to AbortMultipartUpload) and 501 NotImplemented (its
// answer to ListMultipartUploads): the store lacks the operation.
bool Unsupported(int http_status) { return http_status == 405 || http_status == 501; }

bool IsHex32(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

class S3ObjectStore final : public ObjectStore {
 public:
  S3ObjectStore(S3Options options, aws::HttpClient* http, aws::CredentialsProvider* creds, Clock* clock)
      : options_(std::move(options)), http_(http), creds_(creds), clock_(clock) {
    Endpoint e = ParseEndpoint(options_);
    const bool path_style = UsePathStyle(options_, e);
    describe_ = "s3://" + options_.bucket + " (" + e.scheme + "://" + e.authority + ", " +
                (path_style ? "path-style" : "virtual-hosted") + ")";
    bucket_url_ = path_style ? e.scheme + "://" + e.authority + "/" + options_.bucket + "/"
                             : e.scheme + "://" + options_.bucket + "." + e.authority + "/";
  }

  Status Put(const std::string& key, std::string_view body, const ObjectMeta& meta) override {
    const std::string what = "PutObject " + Name(key);
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");

    aws::HttpRequest req;
    req.method = "PUT";
    req.url = S3ObjectUrl(options_, key);
    req.body = body;
    SetMetaHeaders(meta, &req);
    const std::string sha256 = Digest(EVP_sha256(), body);
    req.SetHeader("Content-MD5", Base64Encode(Digest(EVP_md5(), body)));
    req.SetHeader("x-amz-checksum-sha256", Base64Encode(sha256));
    SetSseHeaders(&req);
    if (meta.if_absent) req.SetHeader("If-None-Match", "*");

    Result<aws::HttpResponse> resp = SignAndSend(what, &req, ToHex(sha256));
    if (!resp.ok()) return resp.status();
    return aws::ClassifyResponse(what, *resp);
  }

  Result<bool> Holds(const std::string& key, std::string_view body) override {
    ObjectDigest digest;
    digest.size = body.size();
    digest.md5 = Digest(EVP_md5(), body);
    return HoldsDigest(key, digest);
  }

  Result<bool> HoldsDigest(const std::string& key, const ObjectDigest& digest) override {
    const std::string what = "HeadObject " + Name(key);
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");

    aws::HttpRequest req;
    req.method = "HEAD";
    req.url = S3ObjectUrl(options_, key);
    Result<aws::HttpResponse> resp = SignAndSend(what, &req, /*payload_hash=*/"");
    if (!resp.ok()) return resp.status();
    // A HEAD answer has no body, so a missing bucket also reads as 404.
    if (resp->status == 404) return false;
    Status st = aws::ClassifyResponse(what, *resp);
    if (!st.ok()) return st;
    if (resp->Header("Content-Length") != std::to_string(digest.size)) return false;

    // The ETag is a digest unless the object is encrypted with SSE-KMS
    // (or SSE-C): single PUT hex(md5(object)); S3 multipart
    // hex(md5(part md5s concatenated)) + "-<parts>". Anything else (or a
    // multipart ETag without part MD5s to compare with): size alone.
    if (options_.sse == "aws:kms") return true;
    std::string etag(resp->Header("ETag"));
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
      etag = etag.substr(1, etag.size() - 2);
    }
    for (char& c : etag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t dash = etag.find('-');
    if (!IsHex32(etag.substr(0, dash))) return true;
    if (dash == std::string::npos) return etag == ToHex(digest.md5);
    if (digest.part_md5s.empty()) return true;
    std::string concat;
    for (const std::string& m : digest.part_md5s) concat += m;
    return etag == ToHex(Digest(EVP_md5(), concat)) + "-" + std::to_string(digest.part_md5s.size());
  }

  Result<std::string> Get(const std::string& key) override {
    const std::string what = "GetObject " + Name(key);
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");
    aws::HttpRequest req;
    req.method = "GET";
    req.url = S3ObjectUrl(options_, key);
    Result<aws::HttpResponse> resp = SignAndSend(what, &req, /*payload_hash=*/"");
    if (!resp.ok()) return resp.status();
    // 404 NoSuchKey; without s3:ListBucket, S3 answers 403 instead (a
    // permanent error either way).
    if (resp->status == 404) return Status::NotFound(what + ": no such object");
    Status st = aws::ClassifyResponse(what, *resp);
    if (!st.ok()) return st;
    return std::move(resp->body);
  }

  Result<std::string> CreateMultipart(const std::string& key, const ObjectMeta& meta) override {
    const std::string what = "CreateMultipartUpload " + Name(key);
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");

    aws::HttpRequest req;
    req.method = "POST";
    req.url = S3ObjectUrl(options_, key) + "?uploads";
    SetMetaHeaders(meta, &req);
    SetSseHeaders(&req);
    Result<aws::HttpResponse> resp = SignAndSend(what, &req, /*payload_hash=*/"");
    if (!resp.ok()) return resp.status();
    Status st = aws::ClassifyResponse(what, *resp);
    if (!st.ok()) return st;
    std::optional<std::string> id = XmlText(resp->body, "UploadId");
    if (!id || id->empty()) return Malformed(what, "no <UploadId>");
    return std::move(*id);
  }

  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                 std::string_view body) override {
    const std::string what = "UploadPart " + Name(key) + " part " + std::to_string(number) + " of " + upload_id;
    SHARDHOSE_RETURN_IF_ERROR(CheckUpload(what, key, upload_id));
    if (number < 1 || number > kMaxParts) {
      return Status::InvalidArgument(what + ": part number out of 1.." + std::to_string(kMaxParts));
    }

    aws::HttpRequest req;
    req.method = "PUT";
    req.url = S3ObjectUrl(options_, key) + "?partNumber=" + std::to_string(number) +
              "&uploadId=" + aws::UriEncode(upload_id, /*keep_slash=*/false);
    req.body = body;
    req.SetHeader("Content-MD5", Base64Encode(Digest(EVP_md5(), body)));
    Result<aws::HttpResponse> resp = SignAndSend(what, &req, ToHex(Digest(EVP_sha256(), body)));
    if (!resp.ok()) return resp.status();
    Status st = aws::ClassifyResponse(what, *resp);
    if (!st.ok()) return st;
    std::string etag(resp->Header("ETag"));
    if (etag.empty()) return Malformed(what, "no ETag header");
    return etag;
  }

  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartReceipt>& parts) override {
    return Complete(key, upload_id, parts, /*if_absent=*/false);
  }

  Status CompleteMultipartIfAbsent(const std::string& key, const std::string& upload_id,
                                   const std::vector<PartReceipt>& parts) override {
    return Complete(key, upload_id, parts, /*if_absent=*/true);
  }

  Status Complete(const std::string& key, const std::string& upload_id, const std::vector<PartReceipt>& parts,
                  bool if_absent) {
    const std::string what = "CompleteMultipartUpload " + Name(key) + " " + upload_id;
    SHARDHOSE_RETURN_IF_ERROR(CheckUpload(what, key, upload_id));
    SHARDHOSE_RETURN_IF_ERROR(CheckReceipts(what, parts));
    std::string xml = "<CompleteMultipartUpload>";
    for (const PartReceipt& p : parts) {
      xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" + aws::XmlEscape(p.etag) +
             "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";

    aws::HttpRequest req;
    req.method = "POST";
    req.url = S3ObjectUrl(options_, key) + "?uploadId=" + aws::UriEncode(upload_id, /*keep_slash=*/false);
    req.body = xml;
    if (if_absent) req.SetHeader("If-None-Match", "*");
    Result<aws::HttpResponse> resp = SignAndSend(what, &req, /*payload_hash=*/"");
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 == 2 && aws::XmlRootName(resp->body) == "Error") {
      // S3 sent 200 before assembling the object, then failed: the answer
      // S3 documents as retryable (InternalError, SlowDown).
      aws::HttpResponse as_500 = std::move(*resp);
      as_500.status = 500;
      return aws::ClassifyResponse(what + " (HTTP 200 with an <Error> body, read as 500)", as_500);
    }
    return aws::ClassifyResponse(what, *resp);
  }

  Status AbortMultipart(const std::string& key, const std::string& upload_id) override {
    const std::string what = "AbortMultipartUpload " + Name(key) + " " + upload_id;
    SHARDHOSE_RETURN_IF_ERROR(CheckUpload(what, key, upload_id));

    aws::HttpRequest req;
    req.method = "DELETE";
    req.url = S3ObjectUrl(options_, key) + "?uploadId=" + aws::UriEncode(upload_id, /*keep_slash=*/false);
    Result<aws::HttpResponse> resp = SignAndSend(what, &req, /*payload_hash=*/"");
    if (!resp.ok()) return resp.status();
    Status st = aws::ClassifyResponse(what, *resp);
    if (st.ok()) return st;
    // Already aborted or completed. (NoSuchBucket is a 404 too, and stays
    // an error.)
    if (resp->status == 404 && (st.peer_code() == "NoSuchUpload" || st.peer_code().empty())) {
      return Status::OK();
    }
    if (Unsupported(resp->status)) {
      return Status::FailedPrecondition("the store cannot abort multipart uploads (" + st.message() + ")")
          .WithPeer(RetryClass::kClientError, st.peer_code());
    }
    return st;
  }

  Result<std::vector<std::string>> ListMultipart(const std::string& key) override {
    const std::string what = "ListMultipartUploads " + Name(key);
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");

    std::vector<std::string> ids;
    std::string key_marker;
    std::string id_marker;
    for (;;) {
      aws::HttpRequest req;
      req.method = "GET";
      req.url = bucket_url_ + "?uploads&prefix=" + aws::UriEncode(key, /*keep_slash=*/false);
      if (!key_marker.empty() || !id_marker.empty()) {
        req.url += "&key-marker=" + aws::UriEncode(key_marker, /*keep_slash=*/false) +
                   "&upload-id-marker=" + aws::UriEncode(id_marker, /*keep_slash=*/false);
      }
      Result<aws::HttpResponse> resp = SignAndSend(what, &req, /*payload_hash=*/"");
      if (!resp.ok()) return resp.status();
      Status st = aws::ClassifyResponse(what, *resp);
      if (!st.ok()) {
        if (!Unsupported(resp->status)) return st;
        return Status::FailedPrecondition("the store cannot list multipart uploads (" + st.message() + ")")
            .WithPeer(RetryClass::kClientError, st.peer_code());
      }
      const std::string& xml = resp->body;
      if (aws::XmlRootName(xml) != "ListMultipartUploadsResult") {
        return Malformed(what, "no <ListMultipartUploadsResult>");
      }
      for (std::string_view upload : aws::XmlElements(xml, "Upload")) {
        std::optional<std::string> k = XmlText(upload, "Key");
        std::optional<std::string> id = XmlText(upload, "UploadId");
        if (!k || !id || id->empty()) {
          return Malformed(what, "an <Upload> without <Key>/<UploadId>");
        }
        if (*k == key) ids.push_back(std::move(*id));
      }
      if (XmlText(xml, "IsTruncated").value_or("false") != "true") break;
      std::string next_key = XmlText(xml, "NextKeyMarker").value_or("");
      std::string next_id = XmlText(xml, "NextUploadIdMarker").value_or("");
      // A truncated page must move the markers on, or this would not end.
      if ((next_key.empty() && next_id.empty()) || (next_key == key_marker && next_id == id_marker)) {
        return Malformed(what, "truncated page without new NextKeyMarker/NextUploadIdMarker");
      }
      key_marker = std::move(next_key);
      id_marker = std::move(next_id);
    }
    return ids;
  }

  std::string Describe() const override { return describe_; }

 private:
  // "s3://bucket/key", for messages.
  std::string Name(const std::string& key) const { return "s3://" + options_.bucket + "/" + key; }

  static Status CheckUpload(const std::string& what, const std::string& key, const std::string& upload_id) {
    if (key.empty()) return Status::InvalidArgument(what + ": empty key");
    if (upload_id.empty()) return Status::InvalidArgument(what + ": empty upload id");
    return Status::OK();
  }

  static void SetMetaHeaders(const ObjectMeta& meta, aws::HttpRequest* req) {
    if (!meta.content_type.empty()) req->SetHeader("Content-Type", meta.content_type);
    if (!meta.content_encoding.empty()) req->SetHeader("Content-Encoding", meta.content_encoding);
  }

  void SetSseHeaders(aws::HttpRequest* req) const {
    if (options_.sse.empty()) return;
    req->SetHeader("x-amz-server-side-encryption", options_.sse);
    if (options_.sse == "aws:kms" && !options_.sse_kms_key_id.empty()) {
      req->SetHeader("x-amz-server-side-encryption-aws-kms-key-id", options_.sse_kms_key_id);
    }
  }

  // Gets credentials, signs *req (payload_hash as in SigningParams) and
  // sends it: one attempt. Errors carry `what` as context; the answer, any
  // status, is the caller's to classify.
  Result<aws::HttpResponse> SignAndSend(const std::string& what, aws::HttpRequest* req, std::string payload_hash) {
    Result<aws::Credentials> creds = creds_->Get();
    if (!creds.ok()) return creds.status().WithContext(what + ": credentials");
    req->timeout = options_.timeout;
    Status signed_ok = aws::SignRequest(req, *creds, SigningParamsFor(std::move(payload_hash)));
    if (!signed_ok.ok()) return signed_ok.WithContext(what);
    Result<aws::HttpResponse> resp = http_->Send(*req);
    if (!resp.ok()) return resp.status().WithContext(what);
    return resp;
  }

  // S3 signs the path as sent and requires x-amz-content-sha256.
  aws::SigningParams SigningParamsFor(std::string payload_hash) const {
    aws::SigningParams p;
    p.region = options_.region;
    p.service = "s3";
    p.time = clock_->WallNow();
    p.double_uri_encode = false;
    p.normalize_path = false;
    p.payload_hash = std::move(payload_hash);  // "" = SHA-256 of the request's body
    p.add_content_sha256_header = true;
    return p;
  }

  const S3Options options_;
  aws::HttpClient* const http_;
  aws::CredentialsProvider* const creds_;
  Clock* const clock_;
  std::string describe_;
  std::string bucket_url_;  // ".../bucket/" or "https://bucket.host/", for bucket requests
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

std::unique_ptr<ObjectStore> NewS3ObjectStore(S3Options options, aws::HttpClient* http, aws::CredentialsProvider* creds,
                                              Clock* clock) {
  return std::make_unique<S3ObjectStore>(std::move(options), http, creds, clock);
}

}  // namespace shardhose::upload

// S3ObjectStore against an in-process HTTP server on 127.0.0.1 (the real
// libcurl transport, a fake S3 that records requests).
#include "upload/s3_store.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "aws/curl_http.h"
#include "aws/sigv4.h"
#include "common/base64.h"
#include "test_server.h"

namespace shardhose::upload {
namespace {

using shardhose::testing::RecordedRequest;
using shardhose::testing::TestServer;

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ToHexForTest(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : raw) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::string S3Error(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>m</Message></Error>";
}

aws::Credentials Creds(std::string token = "") {
  aws::Credentials c;
  c.access_key_id = "AKIDTEST";
  c.secret_access_key = "secretsecret";
  c.session_token = std::move(token);
  return c;
}

// Re-computes the signature of a received request from the headers its
// Authorization header says were signed.
std::string RecomputeSignature(const RecordedRequest& r, const std::string& base_url, const aws::Credentials& creds,
                               WallTime t) {
  std::string auth = r.Header("Authorization");
  size_t sh = auth.find("SignedHeaders=");
  std::string names = auth.substr(sh + 14, auth.find(',', sh) - sh - 14);
  aws::HttpRequest req;
  req.method = r.method;
  req.url = base_url + r.target;
  req.body = r.body;
  size_t i = 0;
  while (i <= names.size()) {
    size_t j = names.find(';', i);
    if (j == std::string::npos) j = names.size();
    std::string n = names.substr(i, j - i);
    i = j + 1;
    if (n == "x-amz-date" || n == "x-amz-content-sha256" || n == "x-amz-security-token") continue;
    req.headers.push_back({n, r.Header(n)});
  }
  aws::SigningParams p;
  p.region = "us-east-1";
  p.service = "s3";
  p.time = t;
  p.double_uri_encode = false;
  p.normalize_path = false;
  p.add_content_sha256_header = true;
  Result<aws::SigningSteps> steps = aws::ComputeSigningSteps(req, creds, p);
  return steps.ok() ? steps->signature : "error";
}

class S3StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<ObjectStore> MakeStore(S3Options o = {}, aws::Credentials c = Creds()) {
    if (o.bucket.empty()) o.bucket = "lake";
    if (o.endpoint_url.empty()) o.endpoint_url = server_.base_url();
    creds_ = aws::NewStaticCredentialsProvider(std::move(c));
    return NewS3ObjectStore(std::move(o), http_.get(), creds_.get(), &clock_);
  }

  // Destroyed in reverse order: connections close before the server stops.
  TestServer server_;
  std::unique_ptr<aws::HttpClient> http_ = aws::NewCurlHttpClient();
  std::unique_ptr<aws::CredentialsProvider> creds_;
  SimulatedClock clock_;  // 2023-11-14T22:13:20Z
};

TEST_F(S3StoreTest, PutPathStyleWithIntegrityHeadersAndValidSignature) {
  auto store = MakeStore();
  const std::string body = "{\"a\":1}\n{\"a\":2}\n";
  ObjectMeta meta;  // application/x-ndjson, no encoding
  Status s = store->Put("table=t1/dt=2023-11-14/shard 1+x.json", body, meta);
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const RecordedRequest& r = reqs[0];
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, "/lake/table%3Dt1/dt%3D2023-11-14/shard%201%2Bx.json");
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(r.Header("Content-Type"), "application/x-ndjson");
  EXPECT_FALSE(r.HasHeader("Content-Encoding"));
  EXPECT_EQ(r.Header("Content-MD5"), Base64Encode(Digest(EVP_md5(), body)));
  EXPECT_EQ(r.Header("x-amz-checksum-sha256"), Base64Encode(Digest(EVP_sha256(), body)));
  EXPECT_EQ(r.Header("x-amz-content-sha256"), aws::HexSha256(body));
  EXPECT_EQ(r.Header("X-Amz-Date"), "20231114T221320Z");
  EXPECT_FALSE(r.HasHeader("x-amz-server-side-encryption"));
  EXPECT_FALSE(r.HasHeader("X-Amz-Security-Token"));
  EXPECT_FALSE(r.HasHeader("Expect"));
  EXPECT_FALSE(r.HasHeader("Transfer-Encoding"));

  const std::string auth = r.Header("Authorization");
  EXPECT_TRUE(
      auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/20231114/us-east-1/s3/aws4_request, "
                       "SignedHeaders=content-md5;content-type;host;x-amz-checksum-sha256;"
                       "x-amz-content-sha256;x-amz-date, Signature="))
      << auth;
  // What arrived (Host with port included) verifies against the signature.
  EXPECT_EQ(auth.substr(auth.size() - 64), RecomputeSignature(r, server_.base_url(), Creds(), clock_.WallNow()));
}

TEST_F(S3StoreTest, GzipEncodingAndSseAes256) {
  S3Options o;
  o.sse = "AES256";
  o.sse_kms_key_id = "ignored-without-kms";
  auto store = MakeStore(o);
  // A valid gzip stream of "" (the test server inflates gzip bodies).
  const std::string gz("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  ObjectMeta meta;
  meta.content_encoding = "gzip";
  ASSERT_TRUE(store->Put("k.json.gz", gz, meta).ok());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].Header("Content-Encoding"), "gzip");
  EXPECT_EQ(reqs[0].Header("Content-Length"), "20");
  EXPECT_EQ(reqs[0].Header("Content-MD5"), Base64Encode(Digest(EVP_md5(), gz)));
  EXPECT_EQ(reqs[0].Header("x-amz-server-side-encryption"), "AES256");
  EXPECT_FALSE(reqs[0].HasHeader("x-amz-server-side-encryption-aws-kms-key-id"));
  EXPECT_NE(reqs[0].Header("Authorization").find("x-amz-server-side-encryption"), std::string::npos);
}

TEST_F(S3StoreTest, SseKmsWithKeyIdAndSessionToken) {
  S3Options o;
  o.sse = "aws:kms";
  o.sse_kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/abc";
  auto store = MakeStore(o, Creds("session-token"));
  ASSERT_TRUE(store->Put("k", "x", ObjectMeta{}).ok());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].Header("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(reqs[0].Header("x-amz-server-side-encryption-aws-kms-key-id"),
            "arn:aws:kms:us-east-1:111122223333:key/abc");
  EXPECT_EQ(reqs[0].Header("X-Amz-Security-Token"), "session-token");
}

TEST_F(S3StoreTest, EmptyContentTypeIsNotSent) {
  auto store = MakeStore();
  ObjectMeta meta;
  meta.content_type = "";
  ASSERT_TRUE(store->Put("k", "", meta).ok());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_FALSE(reqs[0].HasHeader("Content-Type"));
  EXPECT_EQ(reqs[0].Header("Content-Length"), "0");
}

void Answer(TestServer* server, int status, std::string body) {
  server->set_handler([status, body](const httplib::Request&, httplib::Response& res) {
    res.status = status;
    res.set_content(body, "application/xml");
  });
}

TEST_F(S3StoreTest, ErrorClassification) {
  auto store = MakeStore();

  Answer(&server_, 500, S3Error("InternalError"));
  Status s = store->Put("k", "x", ObjectMeta{});
  EXPECT_TRUE(s.IsUnavailable());
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  EXPECT_EQ(s.peer_code(), "InternalError");
  EXPECT_NE(s.message().find("s3://lake/k"), std::string::npos) << s.message();

  Answer(&server_, 503, S3Error("SlowDown"));
  s = store->Put("k", "x", ObjectMeta{});
  EXPECT_TRUE(s.IsUnavailable());
  EXPECT_EQ(s.retry_class(), RetryClass::kThrottled);
  EXPECT_EQ(s.peer_code(), "SlowDown");

  Answer(&server_, 403, S3Error("AccessDenied"));
  s = store->Put("k", "x", ObjectMeta{});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.retry_class(), RetryClass::kClientError);
  EXPECT_FALSE(s.IsRetryable());

  Answer(&server_, 404, S3Error("NoSuchBucket"));
  s = store->Put("k", "x", ObjectMeta{});
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_FALSE(s.IsRetryable());

  Answer(&server_, 400, S3Error("BadDigest"));
  s = store->Put("k", "x", ObjectMeta{});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.peer_code(), "BadDigest");
}

TEST_F(S3StoreTest, NetworkErrorIsRetryable) {
  std::string url;
  {
    TestServer gone;
    url = gone.base_url();
  }
  S3Options o;
  o.endpoint_url = url;
  auto store = MakeStore(o);
  Status s = store->Put("k", "x", ObjectMeta{});
  EXPECT_TRUE(s.IsUnavailable());
  EXPECT_EQ(s.retry_class(), RetryClass::kNetwork);
  EXPECT_TRUE(s.IsRetryable());
}

TEST_F(S3StoreTest, MissingCredentialsSendNothing) {
  auto store = MakeStore({}, aws::Credentials{});
  Status s = store->Put("k", "x", ObjectMeta{});
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.IsRetryable());
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(S3StoreTest, HoldsIsSignedHeadComparingSizeAndMd5) {
  auto store = MakeStore();
  // "hello": MD5 5d41402abc4b2a76b9719d911017c592.
  server_.set_handler([](const httplib::Request& req, httplib::Response& res) {
    res.status = req.path == "/lake/missing" ? 404 : 200;
    res.set_header("Content-Length", req.path == "/lake/partial" ? "2" : "5");
    res.set_header("ETag", req.path == "/lake/other" ? "\"00000000000000000000000000000000\""
                                                     : "\"5d41402abc4b2a76b9719d911017c592\"");
  });
  Result<bool> e = store->Holds("there", "hello");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(*e);
  EXPECT_FALSE(*store->Holds("partial", "hello"));  // a torn, non-atomic PUT
  EXPECT_FALSE(*store->Holds("other", "hello"));    // same size, other bytes
  e = store->Holds("missing", "hello");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_FALSE(*e);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].method, "HEAD");
  EXPECT_EQ(reqs[0].Header("x-amz-content-sha256"), aws::HexSha256(""));
  EXPECT_EQ(reqs[0].Header("Authorization").substr(reqs[0].Header("Authorization").size() - 64),
            RecomputeSignature(reqs[0], server_.base_url(), Creds(), clock_.WallNow()));

  Answer(&server_, 403, "");
  EXPECT_EQ(store->Holds("k", "x").status().code(), StatusCode::kPermissionDenied);
  Answer(&server_, 503, "");
  EXPECT_EQ(store->Holds("k", "x").status().retry_class(), RetryClass::kServerError);
}

// --- multipart ----------------------------------------------------------------

std::string Signature(const RecordedRequest& r) {
  const std::string auth = r.Header("Authorization");
  return auth.size() < 64 ? auth : auth.substr(auth.size() - 64);
}

TEST_F(S3StoreTest, CreateMultipartIsSignedPostWithMetaAndSse) {
  S3Options o;
  o.sse = "aws:kms";
  o.sse_kms_key_id = "key-1";
  auto store = MakeStore(o);
  server_.set_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>lake</Bucket><Key>a b</Key>"
        "<UploadId> VXBsb2FkIElE&amp;x </UploadId></InitiateMultipartUploadResult>",
        "application/xml");
  });
  ObjectMeta meta;
  meta.content_encoding = "gzip";
  Result<std::string> id = store->CreateMultipart("t=1/a b.json.gz", meta);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "VXBsb2FkIElE&x");

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const RecordedRequest& r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/lake/t%3D1/a%20b.json.gz?uploads");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.Header("Content-Length"), "0");
  EXPECT_EQ(r.Header("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(r.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(r.Header("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(r.Header("x-amz-server-side-encryption-aws-kms-key-id"), "key-1");
  EXPECT_EQ(r.Header("x-amz-content-sha256"), aws::HexSha256(""));
  EXPECT_FALSE(r.HasHeader("Content-MD5"));
  EXPECT_EQ(Signature(r), RecomputeSignature(r, server_.base_url(), Creds(), clock_.WallNow()));
}

TEST_F(S3StoreTest, CreateMultipartErrors) {
  auto store = MakeStore();
  Answer(&server_, 200, "<InitiateMultipartUploadResult></InitiateMultipartUploadResult>");
  Status s = store->CreateMultipart("k", ObjectMeta{}).status();
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  EXPECT_NE(s.message().find("no <UploadId>"), std::string::npos) << s.message();

  Answer(&server_, 403, S3Error("AccessDenied"));
  s = store->CreateMultipart("k", ObjectMeta{}).status();
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("CreateMultipartUpload s3://lake/k"), std::string::npos);

  EXPECT_TRUE(store->CreateMultipart("", ObjectMeta{}).status().IsInvalidArgument());
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(S3StoreTest, UploadPartIsSignedPutWithMd5ReturningTheEtag) {
  S3Options o;
  o.sse = "AES256";  // not sent with parts: the upload has it
  auto store = MakeStore(o);
  server_.set_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("ETag", "\"0df68495b5ef53a8ce2a9d4076cc6252\"");
  });
  const std::string body(70000, 'p');
  Result<std::string> etag = store->UploadPart("a/k", "id+/=.~x", 3, body);
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_EQ(*etag, "\"0df68495b5ef53a8ce2a9d4076cc6252\"");

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const RecordedRequest& r = reqs[0];
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, "/lake/a/k?partNumber=3&uploadId=id%2B%2F%3D.~x");
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.Header("Content-Length"), "70000");
  EXPECT_EQ(r.Header("Content-MD5"), Base64Encode(Digest(EVP_md5(), body)));
  EXPECT_EQ(r.Header("x-amz-content-sha256"), aws::HexSha256(body));
  EXPECT_FALSE(r.HasHeader("x-amz-checksum-sha256"));
  EXPECT_FALSE(r.HasHeader("x-amz-server-side-encryption"));
  EXPECT_FALSE(r.HasHeader("Content-Type"));
  EXPECT_FALSE(r.HasHeader("Expect"));
  EXPECT_EQ(Signature(r), RecomputeSignature(r, server_.base_url(), Creds(), clock_.WallNow()));
}

TEST_F(S3StoreTest, UploadPartErrors) {
  auto store = MakeStore();
  Answer(&server_, 200, "");  // no ETag
  Status s = store->UploadPart("k", "id", 1, "x").status();
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError) << s.ToString();

  Answer(&server_, 404, S3Error("NoSuchUpload"));
  s = store->UploadPart("k", "id", 1, "x").status();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(s.peer_code(), "NoSuchUpload");

  EXPECT_TRUE(store->UploadPart("k", "id", 0, "x").status().IsInvalidArgument());
  EXPECT_TRUE(store->UploadPart("k", "id", 10001, "x").status().IsInvalidArgument());
  EXPECT_TRUE(store->UploadPart("k", "", 1, "x").status().IsInvalidArgument());
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(S3StoreTest, CompleteMultipartSendsThePartList) {
  auto store = MakeStore();
  Answer(&server_, 200,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult "
         "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>x</Location><Bucket>lake"
         "</Bucket><Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-2&quot;</ETag>"
         "</CompleteMultipartUploadResult>");
  Status s = store->CompleteMultipart("a/k", "up.id", {{1, "\"aa\""}, {2, "\"b&b\""}});
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const RecordedRequest& r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/lake/a/k?uploadId=up.id");
  EXPECT_EQ(r.body,
            "<CompleteMultipartUpload>"
            "<Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"b&amp;b\"</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_EQ(r.Header("x-amz-content-sha256"), aws::HexSha256(r.body));
  EXPECT_EQ(Signature(r), RecomputeSignature(r, server_.base_url(), Creds(), clock_.WallNow()));
}

TEST_F(S3StoreTest, CompleteMultipartErrorInA200IsRetryable) {
  auto store = MakeStore();
  const std::vector<PartReceipt> parts = {{1, "\"e\""}};

  // S3 answers 200 as soon as it starts assembling, then fails in the body.
  Answer(&server_, 200,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>InternalError</Code>"
         "<Message>We encountered an internal error. Please try again.</Message></Error>");
  Status s = store->CompleteMultipart("k", "id", parts);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  EXPECT_EQ(s.peer_code(), "InternalError");
  EXPECT_TRUE(s.IsRetryable());
  EXPECT_NE(s.message().find("200"), std::string::npos) << s.message();

  Answer(&server_, 200, S3Error("SlowDown"));
  s = store->CompleteMultipart("k", "id", parts);
  EXPECT_EQ(s.retry_class(), RetryClass::kThrottled) << s.ToString();

  Answer(&server_, 400, S3Error("InvalidPart"));
  s = store->CompleteMultipart("k", "id", parts);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_EQ(s.peer_code(), "InvalidPart");
  EXPECT_FALSE(s.IsRetryable());

  Answer(&server_, 500, S3Error("InternalError"));
  EXPECT_EQ(store->CompleteMultipart("k", "id", parts).retry_class(), RetryClass::kServerError);

  // Refused before sending.
  EXPECT_TRUE(store->CompleteMultipart("k", "id", {}).IsInvalidArgument());
  EXPECT_TRUE(store->CompleteMultipart("k", "id", {{2, "a"}, {1, "b"}}).IsInvalidArgument());
  EXPECT_TRUE(store->CompleteMultipart("k", "id", {{1, "a"}, {1, "b"}}).IsInvalidArgument());
  EXPECT_TRUE(store->CompleteMultipart("k", "id", {{0, "a"}}).IsInvalidArgument());
  EXPECT_EQ(server_.requests().size(), 4u);
}

TEST_F(S3StoreTest, AbortMultipart) {
  auto store = MakeStore();
  Answer(&server_, 204, "");
  ASSERT_TRUE(store->AbortMultipart("a/k", "up id").ok());
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "DELETE");
  EXPECT_EQ(reqs[0].target, "/lake/a/k?uploadId=up%20id");
  EXPECT_EQ(reqs[0].Header("x-amz-content-sha256"), aws::HexSha256(""));
  EXPECT_EQ(Signature(reqs[0]), RecomputeSignature(reqs[0], server_.base_url(), Creds(), clock_.WallNow()));

  Answer(&server_, 200, "");
  EXPECT_TRUE(store->AbortMultipart("k", "id").ok());
  Answer(&server_, 404, S3Error("NoSuchUpload"));  // gone already
  EXPECT_TRUE(store->AbortMultipart("k", "id").ok());

  Answer(&server_, 404, S3Error("NoSuchBucket"));  // a configuration error
  EXPECT_TRUE(store->AbortMultipart("k", "id").IsNotFound());

  // What s3rver answers.
  Answer(&server_, 405,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>MethodNotAllowed</Code>"
         "<Message>The specified method is not allowed against this resource.</Message>"
         "<Method>DELETE</Method><ResourceType>UPLOADID</ResourceType></Error>");
  Status s = store->AbortMultipart("k", "id");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_FALSE(s.IsRetryable());
  EXPECT_TRUE(s.message().starts_with("the store cannot abort multipart uploads (")) << s.message();
  EXPECT_NE(s.message().find("HTTP 405 MethodNotAllowed"), std::string::npos) << s.message();

  Answer(&server_, 501, S3Error("NotImplemented"));
  EXPECT_EQ(store->AbortMultipart("k", "id").code(), StatusCode::kFailedPrecondition);
  Answer(&server_, 503, S3Error("SlowDown"));
  EXPECT_EQ(store->AbortMultipart("k", "id").retry_class(), RetryClass::kThrottled);
  Answer(&server_, 403, S3Error("AccessDenied"));
  EXPECT_EQ(store->AbortMultipart("k", "id").code(), StatusCode::kPermissionDenied);
}

std::string UploadXml(const std::string& key, const std::string& id) {
  return "<Upload><Key>" + key + "</Key><UploadId>" + id +
         "</UploadId><Initiator><ID>i</ID></Initiator><StorageClass>STANDARD</StorageClass>"
         "<Initiated>2023-11-14T22:13:20.000Z</Initiated></Upload>";
}

TEST_F(S3StoreTest, ListMultipartFollowsPagesAndKeepsExactKeys) {
  auto store = MakeStore();
  server_.set_handler([](const httplib::Request& req, httplib::Response& res) {
    std::string xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>lake</Bucket>"
        "<Prefix>a/k&amp;1</Prefix>";
    if (!req.has_param("key-marker")) {
      xml +=
          "<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
          "<NextKeyMarker>a/k&amp;1</NextKeyMarker><NextUploadIdMarker>id+2</NextUploadIdMarker>"
          "<MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>" +
          UploadXml("a/k&amp;1", "id1") + UploadXml("a/k&amp;1", "id+2");
    } else {
      xml +=
          "<KeyMarker>a/k&amp;1</KeyMarker><UploadIdMarker>id+2</UploadIdMarker>"
          "<NextKeyMarker>a/k&amp;10</NextKeyMarker><NextUploadIdMarker>id4"
          "</NextUploadIdMarker><IsTruncated>false</IsTruncated>" +
          UploadXml("a/k&amp;1", "id3") + UploadXml("a/k&amp;10", "id4");
    }
    res.set_content(xml + "</ListMultipartUploadsResult>", "application/xml");
  });
  Result<std::vector<std::string>> ids = store->ListMultipart("a/k&1");
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"id1", "id+2", "id3"}));

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/lake/?uploads&prefix=a%2Fk%261");
  EXPECT_EQ(reqs[1].target, "/lake/?uploads&prefix=a%2Fk%261&key-marker=a%2Fk%261&upload-id-marker=id%2B2");
  for (const RecordedRequest& r : reqs) {
    EXPECT_EQ(Signature(r), RecomputeSignature(r, server_.base_url(), Creds(), clock_.WallNow()));
  }
}

TEST_F(S3StoreTest, ListMultipartErrors) {
  auto store = MakeStore();
  // What s3rver answers.
  Answer(&server_, 501,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NotImplemented</Code><Message>A "
         "parameter you provided implies functionality that is not implemented</Message></Error>");
  Status s = store->ListMultipart("k").status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_FALSE(s.IsRetryable());
  EXPECT_TRUE(s.message().starts_with("the store cannot list multipart uploads (")) << s.message();
  EXPECT_EQ(s.peer_code(), "NotImplemented");

  Answer(&server_, 405, S3Error("MethodNotAllowed"));
  EXPECT_EQ(store->ListMultipart("k").status().code(), StatusCode::kFailedPrecondition);
  Answer(&server_, 500, S3Error("InternalError"));
  EXPECT_EQ(store->ListMultipart("k").status().retry_class(), RetryClass::kServerError);
  Answer(&server_, 200, "not xml");
  EXPECT_EQ(store->ListMultipart("k").status().retry_class(), RetryClass::kServerError);

  // A truncated page that does not move the markers on must not loop.
  Answer(&server_, 200,
         "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>" + UploadXml("k", "id1") +
             "</ListMultipartUploadsResult>");
  const size_t before = server_.requests().size();
  s = store->ListMultipart("k").status();
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError) << s.ToString();
  EXPECT_EQ(server_.requests().size(), before + 1);

  Answer(&server_, 200,
         "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k"
         "</NextKeyMarker><NextUploadIdMarker>id1</NextUploadIdMarker>" +
             UploadXml("k", "id1") + "</ListMultipartUploadsResult>");
  s = store->ListMultipart("k").status();
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError) << s.ToString();
  EXPECT_EQ(server_.requests().size(), before + 3);
}

// Answers HEAD with a fixed Content-Length and ETag.
void AnswerHead(TestServer* server, std::string length, std::string etag) {
  server->set_handler([length, etag](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Length", length);
    res.set_header("ETag", etag);
  });
}

TEST_F(S3StoreTest, HoldsDigestSingleAndMultipartEtags) {
  auto store = MakeStore();
  const std::string p1(100, 'a'), p2(50, 'b'), p3 = "c";
  ObjectDigest d;
  d.size = 151;
  d.md5 = Digest(EVP_md5(), p1 + p2 + p3);
  d.part_md5s = {Digest(EVP_md5(), p1), Digest(EVP_md5(), p2), Digest(EVP_md5(), p3)};
  const std::string whole_md5 = ToHexForTest(d.md5);
  const std::string multi = ToHexForTest(Digest(EVP_md5(), d.part_md5s[0] + d.part_md5s[1] + d.part_md5s[2]));

  // S3: md5 of the part md5s, "-<parts>".
  AnswerHead(&server_, "151", "\"" + multi + "-3\"");
  EXPECT_TRUE(*store->HoldsDigest("k", d));
  AnswerHead(&server_, "151", "\"" + multi + "-2\"");
  EXPECT_FALSE(*store->HoldsDigest("k", d));
  AnswerHead(&server_, "151", "\"00000000000000000000000000000000-3\"");
  EXPECT_FALSE(*store->HoldsDigest("k", d));
  // s3rver: the md5 of the whole object.
  AnswerHead(&server_, "151", "\"" + whole_md5 + "\"");
  EXPECT_TRUE(*store->HoldsDigest("k", d));
  AnswerHead(&server_, "151", "\"00000000000000000000000000000000\"");
  EXPECT_FALSE(*store->HoldsDigest("k", d));
  // A torn object.
  AnswerHead(&server_, "150", "\"" + whole_md5 + "\"");
  EXPECT_FALSE(*store->HoldsDigest("k", d));
  // An ETag that is no digest: size alone.
  AnswerHead(&server_, "151", "\"opaque\"");
  EXPECT_TRUE(*store->HoldsDigest("k", d));
  // Without part MD5s a multipart ETag cannot be checked: size alone.
  ObjectDigest whole_only = d;
  whole_only.part_md5s.clear();
  AnswerHead(&server_, "151", "\"" + multi + "-3\"");
  EXPECT_TRUE(*store->HoldsDigest("k", whole_only));
  // Holds() has no part boundaries either.
  EXPECT_TRUE(*store->Holds("k", p1 + p2 + p3));
  EXPECT_TRUE(*store->Holds("k", p1 + p2 + "d"));
}

TEST_F(S3StoreTest, HoldsDigestUnderSseKmsComparesSizeOnly) {
  S3Options o;
  o.sse = "aws:kms";
  auto store = MakeStore(o);
  ObjectDigest d;
  d.size = 5;
  d.md5 = Digest(EVP_md5(), "hello");
  d.part_md5s = {d.md5};
  AnswerHead(&server_, "5", "\"00000000000000000000000000000000-1\"");
  EXPECT_TRUE(*store->HoldsDigest("k", d));
  AnswerHead(&server_, "5", "\"00000000000000000000000000000000\"");
  EXPECT_TRUE(*store->HoldsDigest("k", d));
  AnswerHead(&server_, "4", "\"00000000000000000000000000000000\"");
  EXPECT_FALSE(*store->HoldsDigest("k", d));
}

TEST_F(S3StoreTest, HoldsDigestHeadAndErrors) {
  auto store = MakeStore();
  ObjectDigest d;
  d.size = 1;
  d.md5 = Digest(EVP_md5(), "x");
  Answer(&server_, 404, "");
  Result<bool> e = store->HoldsDigest("a b/k", d);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_FALSE(*e);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "HEAD");
  EXPECT_EQ(reqs[0].target, "/lake/a%20b/k");
  Answer(&server_, 403, "");
  EXPECT_EQ(store->HoldsDigest("k", d).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(store->HoldsDigest("", d).status().IsInvalidArgument());
}

// Records request lines and answers each with one page of uploads: for
// virtual-hosted addressing, which needs a host name the in-process server
// cannot have.
class RecordingHttp : public aws::HttpClient {
 public:
  Result<aws::HttpResponse> Send(const aws::HttpRequest& r) override {
    urls.push_back(r.method + " " + r.url);
    aws::HttpResponse resp;
    resp.status = 200;
    resp.body = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>" + UploadXml("k", "id1") +
                "</ListMultipartUploadsResult>";
    return resp;
  }
  std::vector<std::string> urls;
};

TEST_F(S3StoreTest, VirtualHostedMultipartUrls) {
  RecordingHttp http;
  creds_ = aws::NewStaticCredentialsProvider(Creds());
  S3Options o;
  o.bucket = "lake";
  o.region = "eu-west-1";
  auto store = NewS3ObjectStore(o, &http, creds_.get(), &clock_);
  ASSERT_TRUE(store->ListMultipart("k").ok());
  EXPECT_TRUE(store->AbortMultipart("k", "id1").ok());
  ASSERT_EQ(http.urls.size(), 2u);
  EXPECT_EQ(http.urls[0], "GET https://lake.s3.eu-west-1.amazonaws.com/?uploads&prefix=k");
  EXPECT_EQ(http.urls[1], "DELETE https://lake.s3.eu-west-1.amazonaws.com/k?uploadId=id1");
}

TEST_F(S3StoreTest, Describe) {
  EXPECT_EQ(MakeStore()->Describe(), "s3://lake (" + server_.base_url() + ", path-style)");
  S3Options o;
  o.endpoint_url = "";
  o.bucket = "b";
  o.region = "eu-west-1";
  EXPECT_EQ(NewS3ObjectStore(o, http_.get(), creds_.get(), &clock_)->Describe(),
            "s3://b (https://s3.eu-west-1.amazonaws.com, virtual-hosted)");
}

TEST(S3ObjectUrl, Addressing) {
  S3Options o;
  o.bucket = "lake";
  o.region = "eu-west-1";
  EXPECT_EQ(S3ObjectUrl(o, "a/b c/d.json.gz"), "https://lake.s3.eu-west-1.amazonaws.com/a/b%20c/d.json.gz");
  o.force_path_style = true;
  EXPECT_EQ(S3ObjectUrl(o, "a/b"), "https://s3.eu-west-1.amazonaws.com/lake/a/b");
  o.force_path_style = false;
  o.endpoint_url = "http://127.0.0.1:4569";
  EXPECT_EQ(S3ObjectUrl(o, "k=1"), "http://127.0.0.1:4569/lake/k%3D1");
  o.endpoint_url = "http://127.0.0.1:4569/";
  EXPECT_EQ(S3ObjectUrl(o, "k"), "http://127.0.0.1:4569/lake/k");
  o.endpoint_url = "http://LOCALHOST:4569";  // host names are case-insensitive: still path-style
  EXPECT_EQ(S3ObjectUrl(o, "k"), "http://LOCALHOST:4569/lake/k");
  o.endpoint_url = "http://localhost:4569";
  EXPECT_EQ(S3ObjectUrl(o, "k"), "http://localhost:4569/lake/k");
  o.endpoint_url = "http://[::1]:9000";
  EXPECT_EQ(S3ObjectUrl(o, "k"), "http://[::1]:9000/lake/k");
  o.endpoint_url = "https://minio.example.com:9000";
  EXPECT_EQ(S3ObjectUrl(o, "k"), "https://lake.minio.example.com:9000/k");
  o.bucket = "my.dotted.bucket";  // virtual-hosted would break TLS
  EXPECT_EQ(S3ObjectUrl(o, "k"), "https://minio.example.com:9000/my.dotted.bucket/k");
}

}  // namespace
}  // namespace shardhose::upload

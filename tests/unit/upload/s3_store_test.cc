// S3ObjectStore against an in-process HTTP server on 127.0.0.1 (the real
// libcurl transport, a fake S3 that records requests).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "aws/sigv4.h"
#include "common/base64.h"
#include "test_server.h"
#include "upload/object_store.h"

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

std::string S3Error(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
         "</Code><Message>m</Message></Error>";
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
std::string RecomputeSignature(const RecordedRequest& r, const std::string& base_url,
                               const aws::Credentials& creds, WallTime t) {
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
  EXPECT_TRUE(auth.starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDTEST/20231114/us-east-1/s3/aws4_request, "
      "SignedHeaders=content-md5;content-type;host;x-amz-checksum-sha256;"
      "x-amz-content-sha256;x-amz-date, Signature="))
      << auth;
  // What arrived (Host with port included) verifies against the signature.
  EXPECT_EQ(auth.substr(auth.size() - 64),
            RecomputeSignature(r, server_.base_url(), Creds(), clock_.WallNow()));
}

TEST_F(S3StoreTest, GzipEncodingAndSseAes256) {
  S3Options o;
  o.sse = "AES256";
  o.sse_kms_key_id = "ignored-without-kms";
  auto store = MakeStore(o);
  // A valid gzip stream of "" (the test server inflates gzip bodies).
  const std::string gz("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                       20);
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
  EXPECT_NE(reqs[0].Header("Authorization").find("x-amz-server-side-encryption"),
            std::string::npos);
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

TEST_F(S3StoreTest, Describe) {
  EXPECT_EQ(MakeStore()->Describe(),
            "s3://lake (" + server_.base_url() + ", path-style)");
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
  EXPECT_EQ(S3ObjectUrl(o, "a/b c/d.json.gz"),
            "https://lake.s3.eu-west-1.amazonaws.com/a/b%20c/d.json.gz");
  o.force_path_style = true;
  EXPECT_EQ(S3ObjectUrl(o, "a/b"), "https://s3.eu-west-1.amazonaws.com/lake/a/b");
  o.force_path_style = false;
  o.endpoint_url = "http://127.0.0.1:4569";
  EXPECT_EQ(S3ObjectUrl(o, "k=1"), "http://127.0.0.1:4569/lake/k%3D1");
  o.endpoint_url = "http://127.0.0.1:4569/";
  EXPECT_EQ(S3ObjectUrl(o, "k"), "http://127.0.0.1:4569/lake/k");
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

#include "aws/retry_class.h"

#include <gtest/gtest.h>

namespace shardhose::aws {
namespace {

HttpResponse Resp(int status, std::string body = "", std::vector<HttpHeader> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string S3Error(const std::string& code, const std::string& msg) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + msg +
         "</Message><RequestId>1</RequestId></Error>";
}

TEST(AwsErrorCode, JsonTypeAfterHash) {
  EXPECT_EQ(
      AwsErrorCode(Resp(400, R"({"__type":"com.amazonaws.kinesis.v20131202#ExpiredIteratorException","message":"x"})")),
      "ExpiredIteratorException");
  EXPECT_EQ(AwsErrorCode(Resp(400, R"({"__type":"ResourceNotFoundException"})")), "ResourceNotFoundException");
}

TEST(AwsErrorCode, XmlCode) {
  EXPECT_EQ(AwsErrorCode(Resp(503, S3Error("SlowDown", "Please reduce your request rate."))), "SlowDown");
}

TEST(AwsErrorCode, HeaderBeforeColon) {
  EXPECT_EQ(AwsErrorCode(Resp(400, "", {{"X-Amzn-ErrorType", "ValidationException:http://internal.amazon.com/"}})),
            "ValidationException");
}

TEST(AwsErrorCode, NoneFound) {
  EXPECT_EQ(AwsErrorCode(Resp(404)), "");
  EXPECT_EQ(AwsErrorCode(Resp(500, "{not json")), "");
  EXPECT_EQ(AwsErrorCode(Resp(500, "<html>oops</html>")), "");
}

TEST(ClassifyResponse, Success) {
  EXPECT_TRUE(ClassifyResponse("PutObject", Resp(200)).ok());
  EXPECT_TRUE(ClassifyResponse("PutObject", Resp(204)).ok());
}

TEST(ClassifyResponse, Throttling) {
  struct C {
    int status;
    std::string body;
  } cases[] = {
      {503, S3Error("SlowDown", "reduce")},
      {429, ""},
      {400, R"({"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"})"},
      {400, R"({"__type":"LimitExceededException"})"},
      {400, R"({"__type":"ThrottlingException"})"},
      {503, R"({"__type":"RequestLimitExceeded"})"},
  };
  for (const auto& c : cases) {
    Status s = ClassifyResponse("Op", Resp(c.status, c.body));
    EXPECT_TRUE(s.IsUnavailable()) << c.body;
    EXPECT_EQ(s.retry_class(), RetryClass::kThrottled) << c.body;
    EXPECT_TRUE(s.IsRetryable());
  }
}

TEST(ClassifyResponse, ServerErrors) {
  Status s = ClassifyResponse("PutObject", Resp(500, S3Error("InternalError", "We encountered an internal error.")));
  EXPECT_TRUE(s.IsUnavailable());
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  EXPECT_EQ(s.peer_code(), "InternalError");
  EXPECT_EQ(s.message(), "PutObject: HTTP 500 InternalError: We encountered an internal error.");

  s = ClassifyResponse("GetRecords", Resp(502, "<html>bad gateway</html>"));
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  EXPECT_EQ(s.peer_code(), "");
}

TEST(ClassifyResponse, ExpiredCredentialsAndSkewAreRetryable) {
  Status s = ClassifyResponse(
      "GetRecords",
      Resp(400,
           R"({"__type":"ExpiredTokenException","message":"The security token included in the request is expired"})"));
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  EXPECT_TRUE(s.IsRetryable());
  s = ClassifyResponse("PutObject", Resp(403, S3Error("RequestTimeTooSkewed", "The difference ...")));
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  s = ClassifyResponse(
      "GetRecords",
      Resp(
          400,
          R"({"__type":"InvalidSignatureException","message":"Signature expired: 20130524T000000Z is now earlier than 20130524T000500Z"})"));
  EXPECT_EQ(s.retry_class(), RetryClass::kServerError);
  // A signature mismatch without skew is a client error.
  s = ClassifyResponse(
      "PutObject", Resp(403, S3Error("SignatureDoesNotMatch", "The request signature we calculated does not match")));
  EXPECT_EQ(s.retry_class(), RetryClass::kClientError);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
}

TEST(ClassifyResponse, ClientErrors) {
  Status s = ClassifyResponse("PutObject", Resp(403, S3Error("AccessDenied", "Access Denied")));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.retry_class(), RetryClass::kClientError);
  EXPECT_FALSE(s.IsRetryable());

  s = ClassifyResponse("HeadObject", Resp(403));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);

  s = ClassifyResponse("PutObject", Resp(404, S3Error("NoSuchBucket", "The specified bucket does not exist")));
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.peer_code(), "NoSuchBucket");

  s = ClassifyResponse("UploadPart", Resp(404, S3Error("NoSuchUpload", "The specified upload does not exist")));
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_FALSE(s.IsRetryable());

  s = ClassifyResponse("DescribeStream", Resp(400, R"({"__type":"ResourceNotFoundException"})"));
  EXPECT_TRUE(s.IsNotFound());

  s = ClassifyResponse("GetRecords",
                       Resp(400, R"({"__type":"ExpiredIteratorException","message":"Iterator expired"})"));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.retry_class(), RetryClass::kClientError);
  EXPECT_EQ(s.peer_code(), "ExpiredIteratorException");

  s = ClassifyResponse("PutObject", Resp(301, S3Error("PermanentRedirect", "wrong region")));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.retry_class(), RetryClass::kClientError);
}

TEST(ClassifyResponse, LongMessagesAreCapped) {
  std::string body = R"({"__type":"ValidationException","message":")" + std::string(5000, 'x') + "\"}";
  Status s = ClassifyResponse("Op", Resp(400, body));
  EXPECT_LT(s.message().size(), 700u);
}

}  // namespace
}  // namespace shardhose::aws

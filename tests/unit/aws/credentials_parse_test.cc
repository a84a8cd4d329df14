// Pure parsing helpers of the credentials chain: ISO 8601 expirations, STS
// XML, endpoint URLs.
#include <gtest/gtest.h>

#include <chrono>

#include "aws/credentials_internal.h"

namespace shardhose::aws::internal {
namespace {

using std::chrono::seconds;

WallTime At(long long unix_seconds) { return WallTime(seconds(unix_seconds)); }

TEST(ParseIso8601, Forms) {
  EXPECT_EQ(*ParseIso8601("2023-11-14T22:13:20Z"), At(1700000000));
  EXPECT_EQ(*ParseIso8601("1970-01-01T00:00:00Z"), At(0));
  EXPECT_EQ(*ParseIso8601("2024-02-29T12:00:00z"), At(1709208000));
  EXPECT_EQ(*ParseIso8601("2023-11-14T22:13:20.500Z"), At(1700000000) + std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseIso8601("2023-11-14T23:13:20+01:00"), At(1700000000));
  EXPECT_EQ(*ParseIso8601("2023-11-14T21:43:20-00:30"), At(1700000000));
  EXPECT_EQ(*ParseIso8601("2023-11-14 22:13:20Z"), At(1700000000));
}

TEST(ParseIso8601, Rejects) {
  for (const char* bad : {"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13:20ZZ", "2023-02-30T00:00:00Z",
                          "2023-13-01T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:13:20.Z",
                          "2023-11-14T22:13:20+0100", "tomorrow", "2023-11-14T22:13:20+01:00x", "1700000000"}) {
    EXPECT_TRUE(ParseIso8601(bad).status().IsInvalidArgument()) << bad;
  }
}

TEST(ParseStsCredentials, Answer) {
  Result<Credentials> c = ParseStsCredentials(
      "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\n"
      "  <SessionToken>tok&amp;en&#43;&#x2F;</SessionToken>\n"
      "  <SecretAccessKey> sec&lt;ret </SecretAccessKey>\n"
      "  <Expiration>2023-11-14T22:13:20Z</Expiration>\n"
      "  <AccessKeyId>ASIA</AccessKeyId>\n"
      "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIA");
  EXPECT_EQ(c->secret_access_key, "sec<ret");
  EXPECT_EQ(c->session_token, "tok&en+/");
  EXPECT_EQ(*c->expiration, At(1700000000));
}

TEST(ParseStsCredentials, Malformed) {
  for (const char* bad : {
           "",
           "<Credentials><AccessKeyId>A</AccessKeyId></Credentials>",
           "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
           "<SessionToken>T</SessionToken><Expiration>x</Expiration></Credentials>",
           "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S&bogus;</SecretAccessKey>"
           "<SessionToken>T</SessionToken><Expiration>2023-11-14T22:13:20Z</Expiration>"
           "</Credentials>",
           "<Credentials><AccessKeyId></AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
           "<SessionToken>T</SessionToken><Expiration>2023-11-14T22:13:20Z</Expiration>"
           "</Credentials>",
       }) {
    Result<Credentials> c = ParseStsCredentials(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_TRUE(c.status().IsUnavailable());
    EXPECT_TRUE(c.status().IsRetryable());
  }
}

TEST(ParseJsonCredentials, OptionalFields) {
  Result<Credentials> c =
      ParseJsonCredentials(R"({"AccessKeyId":"A","SecretAccessKey":"S","Expiration":null})", "t", "Token");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->session_token, "");
  EXPECT_FALSE(c->expiration.has_value());
  EXPECT_FALSE(ParseJsonCredentials(R"({"AccessKeyId":"A","SecretAccessKey":"S","Expiration":5})", "t", "Token").ok());
}

TEST(StsUrl, Selection) {
  EXPECT_EQ(StsUrl("http://sts.local:4566/", "http://any", "eu-west-1"), "http://sts.local:4566");
  EXPECT_EQ(StsUrl("", "http://any:1", "eu-west-1"), "http://any:1");
  EXPECT_EQ(StsUrl("", "", "eu-west-1"), "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(StsUrl("", "", "cn-north-1"), "https://sts.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(StsUrl("", "", ""), "https://sts.amazonaws.com");
}

TEST(UrlOrigin, DropsPathQueryAndUserinfo) {
  EXPECT_EQ(UrlOrigin("http://169.254.170.2/v2/credentials/uuid?x=1"), "http://169.254.170.2");
  EXPECT_EQ(UrlOrigin("https://user:pw@host:8443/p"), "https://host:8443");
  EXPECT_EQ(UrlOrigin("http://[fd00:ec2::23]/v1"), "http://[fd00:ec2::23]");
}

TEST(EndpointError, Classes) {
  EXPECT_EQ(EndpointError("x", 429).retry_class(), RetryClass::kThrottled);
  EXPECT_EQ(EndpointError("x", 503).retry_class(), RetryClass::kServerError);
  EXPECT_TRUE(EndpointError("x", 404).IsNotFound());
  EXPECT_EQ(EndpointError("x", 401).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(EndpointError("x", 400).IsInvalidArgument());
  EXPECT_FALSE(EndpointError("x", 400).IsRetryable());
}

}  // namespace
}  // namespace shardhose::aws::internal

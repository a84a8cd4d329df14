#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace shardhose::aws {
namespace {

namespace fs = std::filesystem;

class FakeEnv {
 public:
  void Set(const std::string& k, const std::string& v) { vars_[k] = v; }
  EnvLookup Lookup() const {
    auto vars = vars_;
    return [vars](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }

 private:
  std::map<std::string, std::string> vars_;
};

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shardhose_creds_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    home_ = tmpl;
    fs::create_directories(home_ / ".aws");
    env_.Set("HOME", home_.string());
  }
  void TearDown() override { fs::remove_all(home_); }

  void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  fs::path home_;
  FakeEnv env_;
};

TEST_F(CredentialsTest, EnvironmentWins) {
  env_.Set("AWS_ACCESS_KEY_ID", "AKIDENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", "envsecret");
  env_.Set("AWS_SESSION_TOKEN", "envtoken");
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key, "envsecret");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(p->Describe(), "environment");
}

TEST_F(CredentialsTest, EnvironmentHalfSetIsInvalidAndNamesNoSecret) {
  env_.Set("AWS_SECRET_ACCESS_KEY", "topsecretvalue");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_EQ(c.status().message().find("topsecretvalue"), std::string::npos);
}

TEST_F(CredentialsTest, DefaultProfileFromCredentialsFile) {
  Write(home_ / ".aws/credentials",
        "# comment\n[default]\naws_access_key_id = AKIDFILE\n"
        "aws_secret_access_key=filesecret\r\n; other\n[dev]\naws_access_key_id = AKIDDEV\n"
        "aws_secret_access_key = devsecret\naws_session_token = devtoken\n");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDFILE");
  EXPECT_EQ(c->secret_access_key, "filesecret");
  EXPECT_EQ(c->session_token, "");
  EXPECT_EQ(p->Describe(), "profile default");
}

TEST_F(CredentialsTest, NamedProfileViaAwsProfile) {
  Write(home_ / ".aws/credentials",
        "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n"
        "[dev]\nAWS_ACCESS_KEY_ID = AKIDDEV\naws_secret_access_key = devsecret\n"
        "aws_session_token = devtoken\n");
  env_.Set("AWS_PROFILE", "dev");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDDEV");
  EXPECT_EQ(c->session_token, "devtoken");
  EXPECT_EQ(p->Describe(), "profile dev");
}

TEST_F(CredentialsTest, ConfigFileProfileSection) {
  Write(home_ / ".aws/config",
        "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n"
        "aws_access_key_id = AKIDCFG\naws_secret_access_key = cfgsecret\n");
  env_.Set("AWS_PROFILE", "dev");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCFG");
}

TEST_F(CredentialsTest, CredentialsFileProfileWithoutKeysFallsThroughToConfig) {
  Write(home_ / ".aws/credentials", "[default]\nregion = us-east-1\n");
  Write(home_ / ".aws/config",
        "[default]\naws_access_key_id = AKIDCFG\naws_secret_access_key = cfgsecret\n");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCFG");
}

TEST_F(CredentialsTest, ExplicitFilePaths) {
  Write(home_ / "elsewhere/creds", "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = x\n");
  env_.Set("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere/creds");
  env_.Set("AWS_CONFIG_FILE", (home_ / "nope").string());
  env_.Set("AWS_PROFILE", "ci");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCI");
}

TEST_F(CredentialsTest, KeyWithoutSecretIsInvalid) {
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
}

TEST_F(CredentialsTest, NothingFound) {
  env_.Set("AWS_PROFILE", "missing");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  Result<Credentials> c = p->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("missing"), std::string::npos);
  EXPECT_EQ(p->Describe(), "default chain (not resolved yet)");
}

TEST_F(CredentialsTest, NoHomeNoFiles) {
  FakeEnv empty;
  auto p = NewDefaultCredentialsProvider(empty.Lookup());
  EXPECT_TRUE(p->Get().status().IsNotFound());
}

TEST_F(CredentialsTest, CachedAfterFirstSuccess) {
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = A1\naws_secret_access_key = s\n");
  auto p = NewDefaultCredentialsProvider(env_.Lookup());
  ASSERT_EQ(p->Get()->access_key_id, "A1");
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = A2\naws_secret_access_key = s\n");
  EXPECT_EQ(p->Get()->access_key_id, "A1");
}

TEST(StaticCredentials, Get) {
  Credentials in;
  in.access_key_id = "S3RVER";
  in.secret_access_key = "S3RVER";
  auto p = NewStaticCredentialsProvider(in);
  EXPECT_EQ(p->Get()->access_key_id, "S3RVER");
  EXPECT_EQ(p->Describe(), "static");
  EXPECT_TRUE(NewStaticCredentialsProvider(Credentials{})->Get().status().IsInvalidArgument());
}

TEST(ParseIni, SectionsKeysCommentsContinuations) {
  IniFile ini = ParseIni(
      "top = ignored\n"
      "[default]\n"
      "  key1 = v1  \n"
      "Key2=v=2\n"
      "# c\n"
      "; c\n"
      "role_arn = arn:aws:iam::123:role/x\n"
      "s3 =\n"
      "  max_concurrent_requests = 20\n"
      "[profile dev]\r\n"
      "k: colon\n"
      "[broken\n"
      "lost = 1\n");
  ASSERT_EQ(ini.size(), 2u);
  EXPECT_EQ(ini["default"]["key1"], "v1");
  EXPECT_EQ(ini["default"]["key2"], "v=2");
  EXPECT_EQ(ini["default"]["role_arn"], "arn:aws:iam::123:role/x");
  EXPECT_EQ(ini["default"]["s3"], "\nmax_concurrent_requests = 20");
  EXPECT_EQ(ini["profile dev"]["k"], "colon");
}

}  // namespace
}  // namespace shardhose::aws

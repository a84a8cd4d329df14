// The default chain's offline parts: environment, shared files, profiles,
// credential_process (real /bin/sh scripts in a temp dir), and the
// precedence inside a profile. IMDS is disabled in every test here.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "aws/credentials_chain.h"
#include "aws/credentials_internal.h"
#include "aws/curl_http.h"

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
    env_.Set("AWS_EC2_METADATA_DISABLED", "true");
  }
  void TearDown() override { fs::remove_all(home_); }

  void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  // An executable /bin/sh script in the temp dir; returns its path.
  std::string Script(const std::string& name, const std::string& body) {
    fs::path p = home_ / name;
    Write(p, "#!/bin/sh\n" + body);
    chmod(p.c_str(), 0755);
    return p.string();
  }

  std::unique_ptr<CredentialsProvider> Chain(DefaultChainOptions o = {}) {
    return NewDefaultCredentialsProvider(env_.Lookup(), http_.get(), &clock_, std::move(o));
  }

  fs::path home_;
  FakeEnv env_;
  SimulatedClock clock_;
  std::unique_ptr<HttpClient> http_ = NewCurlHttpClient();
};

TEST_F(CredentialsTest, EnvironmentWins) {
  env_.Set("AWS_ACCESS_KEY_ID", "AKIDENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", "envsecret");
  env_.Set("AWS_SESSION_TOKEN", "envtoken");
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key, "envsecret");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(p->Describe(), "environment");
}

TEST_F(CredentialsTest, EnvironmentHalfSetIsInvalidAndNamesNoSecret) {
  env_.Set("AWS_SECRET_ACCESS_KEY", "topsecretvalue");
  auto p = Chain();
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
  auto p = Chain();
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
  auto p = Chain();
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
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCFG");
}

TEST_F(CredentialsTest, CredentialsFileProfileWithoutKeysFallsThroughToConfig) {
  Write(home_ / ".aws/credentials", "[default]\nregion = us-east-1\n");
  Write(home_ / ".aws/config", "[default]\naws_access_key_id = AKIDCFG\naws_secret_access_key = cfgsecret\n");
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCFG");
}

TEST_F(CredentialsTest, ExplicitFilePaths) {
  Write(home_ / "elsewhere/creds", "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = x\n");
  env_.Set("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere/creds");
  env_.Set("AWS_CONFIG_FILE", (home_ / "nope").string());
  env_.Set("AWS_PROFILE", "ci");
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCI");
}

TEST_F(CredentialsTest, KeyWithoutSecretIsInvalid) {
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n");
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
}

TEST_F(CredentialsTest, NothingFound) {
  env_.Set("AWS_PROFILE", "missing");
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("missing"), std::string::npos);
  EXPECT_EQ(p->Describe(), "default chain (not resolved yet)");
}

TEST_F(CredentialsTest, NoHomeNoFiles) {
  FakeEnv empty;
  empty.Set("AWS_EC2_METADATA_DISABLED", "TRUE");
  auto p = NewDefaultCredentialsProvider(empty.Lookup(), http_.get(), &clock_);
  EXPECT_TRUE(p->Get().status().IsNotFound());
}

TEST_F(CredentialsTest, CachedAfterFirstSuccess) {
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = A1\naws_secret_access_key = s\n");
  auto p = Chain();
  ASSERT_EQ(p->Get()->access_key_id, "A1");
  Write(home_ / ".aws/credentials", "[default]\naws_access_key_id = A2\naws_secret_access_key = s\n");
  EXPECT_EQ(p->Get()->access_key_id, "A1");
}

TEST_F(CredentialsTest, CredentialsFileKeysOverrideConfigFileKeys) {
  Write(home_ / ".aws/config", "[profile dev]\naws_access_key_id = AKIDCFG\naws_secret_access_key = cfgsecret\n");
  Write(home_ / ".aws/credentials", "[dev]\naws_access_key_id = AKIDCRED\n");
  env_.Set("AWS_PROFILE", "dev");
  Result<Credentials> c = Chain()->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCRED");
  EXPECT_EQ(c->secret_access_key, "cfgsecret");
}

TEST_F(CredentialsTest, RoleArnWithSourceProfileIsUnsupported) {
  Write(home_ / ".aws/config",
        "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
        "aws_access_key_id = A\naws_secret_access_key = s\n");
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("source_profile"), std::string::npos);
}

TEST_F(CredentialsTest, ProfileWithOnlyRegionIsNotFound) {
  Write(home_ / ".aws/config", "[default]\nregion = eu-west-1\n");
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("imds: AWS_EC2_METADATA_DISABLED"), std::string::npos);
}

// --- credential_process ---------------------------------------------------

// Polls (real time) until `f` holds; for work done by a background thread.
template <typename F>
bool Eventually(F f) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!f()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

int Lines(const fs::path& p) {
  std::ifstream in(p);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST_F(CredentialsTest, CredentialProcessStaticKeys) {
  const std::string script = Script("creds.sh",
                                    "echo run >> \"$(dirname \"$0\")/count\"\n"
                                    "echo 'some diagnostics' >&2\n"
                                    "printf '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                                    "\"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\"}\\n'\n");
  Write(home_ / ".aws/config", "[profile p]\ncredential_process = " + script + " --flag 'a b'\n");
  env_.Set("AWS_PROFILE", "p");
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDPROC");
  EXPECT_EQ(c->secret_access_key, "procsecret");
  EXPECT_EQ(c->session_token, "proctoken");
  EXPECT_FALSE(c->expiration.has_value());
  EXPECT_EQ(p->Describe(), "profile p (credential_process)");
  // No Expiration: never run again.
  clock_.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(p->Get()->access_key_id, "AKIDPROC");
  EXPECT_EQ(Lines(home_ / "count"), 1);
}

TEST_F(CredentialsTest, StaticKeysWinOverCredentialProcessInOneProfile) {
  Write(home_ / ".aws/credentials",
        "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n"
        "credential_process = /bin/false\n");
  auto p = Chain();
  EXPECT_EQ(p->Get()->access_key_id, "AKIDFILE");
  EXPECT_EQ(p->Describe(), "profile default");
}

TEST_F(CredentialsTest, CredentialProcessWithExpirationIsRefreshedInTheBackground) {
  // The simulated clock starts at 2023-11-14T22:13:20Z; these expire 10
  // minutes later, so the refresh is due 5 minutes before that.
  const std::string script = Script("creds.sh",
                                    "d=$(dirname \"$0\"); echo run >> \"$d/count\"; n=$(wc -l < \"$d/count\")\n"
                                    "printf '{\"Version\":1,\"AccessKeyId\":\"AKID%s\",\"SecretAccessKey\":\"s\","
                                    "\"SessionToken\":\"t\",\"Expiration\":\"2023-11-14T22:23:20Z\"}' $n\n");
  Write(home_ / ".aws/config", "[default]\ncredential_process = " + script + "\n");
  auto p = Chain();
  Result<Credentials> c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKID1");
  ASSERT_TRUE(c->expiration.has_value());
  EXPECT_EQ(*c->expiration - clock_.WallNow(), std::chrono::minutes(10));

  clock_.Advance(std::chrono::minutes(4));
  EXPECT_EQ(p->Get()->access_key_id, "AKID1");
  EXPECT_EQ(Lines(home_ / "count"), 1);

  clock_.Advance(std::chrono::minutes(2));
  EXPECT_EQ(p->Get()->access_key_id, "AKID1");  // served while the refresh runs
  ASSERT_TRUE(Eventually([&] { return p->Get()->access_key_id == "AKID2"; }));
  EXPECT_EQ(Lines(home_ / "count"), 2);
}

TEST_F(CredentialsTest, CredentialProcessFailureHidesStderr) {
  const std::string script = Script("fail.sh", "echo 'token=SUPERSECRETSTDERR' >&2\necho partial\nexit 3\n");
  Write(home_ / ".aws/config", "[default]\ncredential_process = " + script + "\n");
  Result<Credentials> c = Chain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsUnavailable()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("exited with status 3"), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().message().find("SUPERSECRETSTDERR"), std::string::npos);
  EXPECT_EQ(c.status().message().find("partial"), std::string::npos);
}

TEST_F(CredentialsTest, CredentialProcessMalformedOutput) {
  for (const std::string out :
       {"not json SECRETOUT", "{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SECRETOUT\"}",
        "{\"Version\":1,\"AccessKeyId\":\"A\"}",
        "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"SECRETOUT\","
        "\"Expiration\":\"tomorrow\"}"}) {
    SCOPED_TRACE(out);
    Write(home_ / "out.json", out);
    Write(home_ / ".aws/config", "[default]\ncredential_process = cat " + (home_ / "out.json").string() + "\n");
    Result<Credentials> c = Chain()->Get();
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().message().find("SECRETOUT"), std::string::npos) << c.status().message();
  }
}

TEST_F(CredentialsTest, CredentialProcessTimeoutKillsTheProcessGroup) {
  const std::string script = Script("slow.sh", "sleep 30 &\nsleep 30\n");
  Write(home_ / ".aws/config", "[default]\ncredential_process = " + script + "\n");
  DefaultChainOptions o;
  o.process_timeout = std::chrono::milliseconds(200);
  const auto start = std::chrono::steady_clock::now();
  Result<Credentials> c = Chain(o)->Get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsUnavailable());
  EXPECT_TRUE(c.status().IsRetryable());
  EXPECT_NE(c.status().message().find("killed after 200 ms"), std::string::npos) << c.status().message();
}

TEST(RunCredentialProcess, ChildGetsDefaultSignalsAndNoStdin) {
  // The daemon blocks SIGTERM/SIGINT in every thread; the helper must not
  // inherit that mask.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  Result<std::string> out =
      internal::RunCredentialProcess("grep SigBlk /proc/self/status; cat; echo done", std::chrono::seconds(10));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "SigBlk:\t0000000000000000\ndone\n");
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

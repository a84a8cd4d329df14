// Restart recovery and uploads under least-privilege IAM (issue 10, findings
// 2 and 3), with the in-memory store and simulated time of pipeline_test.cc:
// re-formed objects written with conditional writes (412 = already
// there), a HEAD answering 403 read as "unknown" (never an endless loop),
// errors retrying cannot fix making the pipeline not ready and a drain
// give up after output.permanent_error_grace_s, and the start-up check of
// the destination (pipeline/destination_check.h).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "checkpoint/checkpoint_file.h"
#include "pipeline/destination_check.h"
#include "pipeline/pipeline.h"
#include "poll/kinesis_source.h"
#include "testing/change_records.h"
#include "testing/fake_kinesis.h"
#include "testing/fake_store.h"
#include "testing/mem_fs.h"

namespace shardhose::pipeline {
namespace {

using test::ChangeRecord;
using test::FakeKinesis;
using test::FakeStore;

Status AccessDenied() {
  return Status::PermissionDenied("HeadObject: HTTP 403").WithPeer(RetryClass::kClientError, "");
}

class LeastPrivilegeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetAutoAdvance(true);
    cfg_.source.stream_name = "orders-changes";
    cfg_.source.poll_interval_ms = 1;
    cfg_.source.idle_poll_interval_ms = 5;
    cfg_.source.poll_threads = 2;
    cfg_.batch.max_bytes = 1500;
    cfg_.output.bucket = "lake";
    cfg_.checkpoint.path = "/state/checkpoint.json";
    cfg_.shutdown.grace_period_s = 20;
  }

  int Populate(FakeKinesis& k) {
    k.AddShard("shardId-0");
    k.AddShard("shardId-1");
    int n = 0;
    for (int i = 0; i < 30; ++i) {
      for (const char* s : {"shardId-0", "shardId-1"}) {
        k.Put(s, ChangeRecord("e" + std::to_string(n++), i % 2 ? "orders" : "customers", 1716200000000));
      }
    }
    return n;
  }

  Status Drain(FakeKinesis& k, FakeStore& store) {
    poll::StreamRef ref{cfg_.source.stream_name, ""};
    auto source = poll::NewKinesisSource(&k, ref);
    checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
    Pipeline p(cfg_, Deps{source.get(), &store, &file, &clock_, nullptr});
    SHARDHOSE_RETURN_IF_ERROR(p.Start());
    return p.Run(/*drain=*/true);
  }

  // A run that crashes right after its `crash_at`-th write landed, before
  // the checkpoint said so: the checkpoint as it was when that write began
  // (its cut journaled, not yet uploaded) and the objects once it landed.
  // Taken at those two instants, not both after the write, so the crash
  // falls there whatever the threads' timing: a checkpoint read after the
  // write may already have marked it uploaded.
  bool CrashAfterWrite(int crash_at, std::string* checkpoint, std::map<std::string, std::string>* objects) {
    FakeKinesis k;
    Populate(k);
    FakeStore store;
    int landed = 0;
    store.on_put = [&](int put) {
      // Called before write `put`: the objects then hold writes 1..put-1.
      if (put == crash_at) *checkpoint = *fs_.ReadFile(cfg_.checkpoint.path);
      if (put == crash_at + 1) {
        *objects = store.objects;
        landed = put - 1;
      }
    };
    EXPECT_TRUE(Drain(k, store).ok());
    EXPECT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok());
    return landed == crash_at;
  }

  // Restarts from the crash state with `after` (holding the crash's
  // objects); every record lands exactly once and nothing is rewritten.
  void RestartAndCheck(const std::string& checkpoint, FakeStore& after) {
    ASSERT_TRUE(fs_.CreateDirs("/state").ok());
    ASSERT_TRUE(fs_.WriteFile(cfg_.checkpoint.path, checkpoint, true).ok());
    FakeKinesis k;
    const int n = Populate(k);
    ASSERT_TRUE(Drain(k, after).ok());
    auto ids = after.EventIds();
    EXPECT_EQ(ids.size(), static_cast<size_t>(n));
    for (const auto& [id, count] : ids) EXPECT_EQ(count, 1) << id;
    EXPECT_TRUE(after.rewritten.empty()) << after.rewritten.front();
    ASSERT_TRUE(fs_.Remove(cfg_.checkpoint.path).ok());
  }

  config::Config cfg_;
  SimulatedClock clock_;
  test::MemFileSystem fs_;
};

TEST_F(LeastPrivilegeTest, ConditionalWritesDetectAReFormedObjectWithout412Loops) {
  cfg_.output.conditional_writes = config::ConditionalWrites::kOn;
  int detected = 0;
  for (int crash_at = 1; crash_at <= 6; ++crash_at) {
    SCOPED_TRACE(::testing::Message() << "crash after write " << crash_at);
    std::string cp;
    std::map<std::string, std::string> objects;
    if (!CrashAfterWrite(crash_at, &cp, &objects)) continue;
    FakeStore after;
    after.objects = objects;
    after.head_error = AccessDenied();  // no s3:GetObject/ListBucket: HEAD never helps
    RestartAndCheck(cp, after);
    if (HasFatalFailure()) return;
    detected += after.precondition_failed;
  }
  // At least one crash fell after an upload whose cut was still journaled:
  // its re-formed object met a 412 and was not written again.
  EXPECT_GT(detected, 0);
}

TEST_F(LeastPrivilegeTest, HeadAnswering403IsUnknownAndTheObjectIsWrittenAgain) {
  cfg_.output.conditional_writes = config::ConditionalWrites::kOff;
  int replays = 0;
  for (int crash_at = 1; crash_at <= 6; ++crash_at) {
    SCOPED_TRACE(::testing::Message() << "crash after write " << crash_at);
    std::string cp;
    std::map<std::string, std::string> objects;
    if (!CrashAfterWrite(crash_at, &cp, &objects)) continue;
    FakeStore after;
    after.objects = objects;
    after.head_error = AccessDenied();
    RestartAndCheck(cp, after);
    if (HasFatalFailure()) return;
    // One HEAD per re-formed object, never retried.
    EXPECT_LE(after.heads, after.puts);
    replays += after.heads;
  }
  EXPECT_GT(replays, 0);
}

TEST_F(LeastPrivilegeTest, StoreIgnoringConditionsStillDeliversExactlyOnce) {
  cfg_.output.conditional_writes = config::ConditionalWrites::kOn;
  std::string cp;
  std::map<std::string, std::string> objects;
  ASSERT_TRUE(CrashAfterWrite(2, &cp, &objects));
  FakeStore after;
  after.objects = objects;
  after.ignore_conditions = true;  // s3rver: the same bytes are written again
  RestartAndCheck(cp, after);
}

TEST_F(LeastPrivilegeTest, DrainGivesUpOnAccessDeniedAfterTheGrace) {
  cfg_.output.permanent_error_grace_s = 30;
  cfg_.shutdown.grace_period_s = 100;
  FakeKinesis k;
  Populate(k);
  FakeStore store;
  store.write_error =
      Status::PermissionDenied("PutObject: HTTP 403 AccessDenied").WithPeer(RetryClass::kClientError, "AccessDenied");
  const MonoTime start = clock_.Now();
  Status st = Drain(k, store);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("AccessDenied"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("permanent_error_grace_s"), std::string::npos) << st.ToString();
  const auto took = clock_.Now() - start;
  EXPECT_GE(took, std::chrono::seconds(30));
  EXPECT_LT(took, std::chrono::seconds(100));  // not the whole shutdown grace
  EXPECT_TRUE(store.objects.empty());
}

TEST_F(LeastPrivilegeTest, AccessDeniedMakesThePipelineNotReadyAtOnce) {
  cfg_.output.upload_threads = 1;
  FakeKinesis k;
  Populate(k);
  FakeStore store;
  store.write_error =
      Status::PermissionDenied("PutObject: HTTP 403 AccessDenied").WithPeer(RetryClass::kClientError, "AccessDenied");
  poll::StreamRef ref{cfg_.source.stream_name, ""};
  auto source = poll::NewKinesisSource(&k, ref);
  checkpoint::CheckpointFile file(&fs_, cfg_.checkpoint.path);
  Pipeline p(cfg_, Deps{source.get(), &store, &file, &clock_, nullptr});
  ASSERT_TRUE(p.Start().ok());
  std::string stalled;
  store.on_put = [&](int put) {
    // The second attempt: the first failure has been recorded (one uploader
    // thread, outside the pipeline's lock).
    if (put != 2) return;
    stalled = p.GetHealth().stalled;
    p.Stop();
  };
  EXPECT_FALSE(p.Run(/*drain=*/false).ok());  // stopped with the batches not uploaded
  EXPECT_NE(stalled.find("AccessDenied"), std::string::npos) << stalled;
  EXPECT_NE(stalled.find("retrying cannot fix"), std::string::npos) << stalled;
}

// --- the start-up check ------------------------------------------------------

TEST_F(LeastPrivilegeTest, DestinationCheckWritesAProbeUnderTheStaticPrefix) {
  FakeStore store;
  cfg_.output.prefix = "ddb/{table}/dt={event_time:%Y-%m-%d}/";
  EXPECT_EQ(ProbeKey(cfg_), "ddb/_shardhose_probe");
  auto conditional = CheckDestination(&store, cfg_, &clock_);
  ASSERT_TRUE(conditional.ok()) << conditional.status().ToString();
  EXPECT_TRUE(*conditional);  // auto: the second, conditional write met a 412
  EXPECT_EQ(store.objects.count("ddb/_shardhose_probe"), 1u);
  EXPECT_EQ(store.precondition_failed, 1);
  // And under the error prefix, where records that fail to decode go.
  EXPECT_EQ(ErrorProbeKey(cfg_), "errors/_shardhose_probe");
  EXPECT_EQ(store.objects.count("errors/_shardhose_probe"), 1u);
}

TEST_F(LeastPrivilegeTest, AProbeUnderAStaticPartEndingMidSegmentGoesOneLevelDown) {
  // The object's own name starts with '_' (Athena and Hive skip it) and
  // the key stays under the static part, which is what an IAM policy grants.
  cfg_.output.prefix = "lake/table_name={table}/dt={event_time:%Y-%m-%d}/";
  EXPECT_EQ(ProbeKey(cfg_), "lake/table_name=_shardhose_probe/_shardhose_probe");
  cfg_.output.prefix = "{table}/";
  EXPECT_EQ(ProbeKey(cfg_), "_shardhose_probe");
  cfg_.output.error_prefix = "errors-{error}/";
  EXPECT_EQ(ErrorProbeKey(cfg_), "errors-_shardhose_probe/_shardhose_probe");
}

TEST_F(LeastPrivilegeTest, DestinationCheckRefusesAnErrorPrefixItCannotWrite) {
  FakeStore store;
  store.deny_prefix = "errors/";
  auto conditional = CheckDestination(&store, cfg_, &clock_);
  ASSERT_FALSE(conditional.ok());
  EXPECT_FALSE(conditional.status().IsRetryable());
  EXPECT_NE(conditional.status().message().find("errors/_shardhose_probe, under output.error_prefix"),
            std::string::npos)
      << conditional.status().ToString();
  EXPECT_NE(conditional.status().message().find("AccessDenied"), std::string::npos);
}

TEST_F(LeastPrivilegeTest, DestinationCheckFindsAStoreIgnoringConditions) {
  FakeStore store;
  store.ignore_conditions = true;
  auto conditional = CheckDestination(&store, cfg_, &clock_);
  ASSERT_TRUE(conditional.ok());
  EXPECT_FALSE(*conditional);
  cfg_.output.conditional_writes = config::ConditionalWrites::kOn;
  EXPECT_TRUE(*CheckDestination(&store, cfg_, &clock_));
  cfg_.output.conditional_writes = config::ConditionalWrites::kOff;
  EXPECT_FALSE(*CheckDestination(&store, cfg_, &clock_));
}

TEST_F(LeastPrivilegeTest, DestinationCheckFailsFastNamingTheCodeAndTheFix) {
  struct Case {
    Status error;
    std::string says;
  };
  const std::vector<Case> cases = {
      {Status::NotFound("PutObject: HTTP 404 NoSuchBucket").WithPeer(RetryClass::kClientError, "NoSuchBucket"),
       "create bucket lake"},
      {Status::PermissionDenied("PutObject: HTTP 403 AccessDenied").WithPeer(RetryClass::kClientError, "AccessDenied"),
       "grant s3:PutObject and s3:AbortMultipartUpload on arn:aws:s3:::lake/ddb/*"},
      {Status::PermissionDenied("PutObject: HTTP 403 InvalidAccessKeyId")
           .WithPeer(RetryClass::kClientError, "InvalidAccessKeyId"),
       "credentials are wrong"},
      {Status::PermissionDenied("PutObject: HTTP 403 SignatureDoesNotMatch")
           .WithPeer(RetryClass::kClientError, "SignatureDoesNotMatch"),
       "credentials are wrong"},
  };
  for (const Case& c : cases) {
    FakeStore store;
    store.write_error = c.error;
    const MonoTime start = clock_.Now();
    auto r = CheckDestination(&store, cfg_, &clock_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(clock_.Now(), start);  // no back-off: retrying cannot fix it
    EXPECT_EQ(store.puts, 1);
    EXPECT_NE(r.status().message().find(c.error.peer_code()), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

TEST_F(LeastPrivilegeTest, DestinationCheckRetriesTransientErrorsForABoundedTime) {
  FakeStore store;
  store.fail_first = 3;  // 503 SlowDown
  auto r = CheckDestination(&store, cfg_, &clock_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  FakeStore down;
  down.write_error = Status::Unavailable("PutObject: connection refused").WithPeer(RetryClass::kNetwork, "");
  const MonoTime start = clock_.Now();
  r = CheckDestination(&down, cfg_, &clock_, std::chrono::seconds(20));
  ASSERT_FALSE(r.ok());
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(20));
  EXPECT_LT(clock_.Now() - start, std::chrono::seconds(60));
}

}  // namespace
}  // namespace shardhose::pipeline

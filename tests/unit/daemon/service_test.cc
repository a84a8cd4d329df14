// The systemd notifier (daemon/service.h) against a datagram socket in a
// temp dir named by NOTIFY_SOCKET, as systemd provides it: what is sent at
// Ready(), at Stopping() (once), when the pipeline stops on its own, and
// whether WATCHDOG=1 follows the pipeline's liveness. sd_notify sends
// synchronously, so once a call returns its datagram is already queued.
#include "service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_file.h"
#include "config/config.h"
#include "pipeline/pipeline.h"
#include "poll/kinesis_source.h"
#include "testing/change_records.h"
#include "testing/fake_kinesis.h"
#include "testing/fake_store.h"
#include "testing/mem_fs.h"

namespace shardhose::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ServiceNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shardhose-notify-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string path = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
    timeval timeout{10, 0};  // only a broken notifier makes a test wait this long
    ASSERT_EQ(::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }

  // The datagrams already queued, without waiting.
  std::vector<std::string> Queued() {
    std::vector<std::string> out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    seen_.insert(seen_.end(), out.begin(), out.end());
    return out;
  }
  // Waits for a datagram starting with `prefix`; returns it ("" after the
  // receive timeout). Everything received is also appended to seen_.
  std::string WaitFor(const std::string& prefix) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) return "";
      seen_.emplace_back(buf, static_cast<size_t>(n));
      if (seen_.back().starts_with(prefix)) return seen_.back();
    }
  }
  int CountSeen(const std::string& prefix) const {
    return static_cast<int>(
        std::count_if(seen_.begin(), seen_.end(), [&](const std::string& s) { return s.starts_with(prefix); }));
  }

  std::string dir_;
  int fd_ = -1;
  std::vector<std::string> seen_;
  // A pipeline that is never started: not alive, stopping once Stop()ped.
  config::Config cfg_;
  pipeline::Pipeline idle_{cfg_, pipeline::Deps{nullptr, nullptr, nullptr, Clock::Real()}};
};

TEST_F(ServiceNotifierTest, WithoutNotifySocketNothingIsSent) {
  ::unsetenv("NOTIFY_SOCKET");
  {
    ServiceNotifier notifier(&idle_, Clock::Real());
    notifier.Ready();
    notifier.Stopping();
  }
  EXPECT_THAT(Queued(), ::testing::IsEmpty());
}

TEST_F(ServiceNotifierTest, ReadyThenStoppingOnce) {
  {
    ServiceNotifier notifier(&idle_, Clock::Real());
    notifier.Ready();
    std::vector<std::string> ready = Queued();
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_THAT(ready[0], StartsWith("READY=1\nSTATUS=NOT ALIVE (a poller, uploader or the main loop is stuck): "));
    EXPECT_EQ(std::count(ready[0].begin(), ready[0].end(), '\n'), 1) << "STATUS= is one line";

    notifier.Ready();  // a second Ready() is ignored
    notifier.Stopping();
    notifier.Stopping();
  }  // nor does the destructor say it again
  Queued();
  EXPECT_EQ(CountSeen("READY=1"), 1);
  ASSERT_EQ(CountSeen("STOPPING=1"), 1);
  const auto stopping = std::find_if(seen_.begin(), seen_.end(), [](auto& s) { return s.starts_with("STOPPING=1"); });
  EXPECT_THAT(*stopping, StartsWith("STOPPING=1\nSTATUS=flushing: "));
  for (auto it = stopping; it != seen_.end(); ++it) {
    if (it->starts_with("STATUS=")) {
      EXPECT_THAT(*it, StartsWith("STATUS=flushing: "));
    }
  }
}

TEST_F(ServiceNotifierTest, AReloadIsReloadingThenReadyOnlyWhileRunning) {
  ServiceNotifier notifier(&idle_, Clock::Real());
  notifier.Reloading();  // not ready yet: nothing
  notifier.Reloaded();
  EXPECT_THAT(Queued(), ::testing::IsEmpty());
  notifier.Ready();
  Queued();
  notifier.Reloading();
  notifier.Reloaded();
  std::vector<std::string> got = Queued();
  got.erase(std::remove_if(got.begin(), got.end(), [](const std::string& m) { return m.starts_with("STATUS="); }),
            got.end());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_THAT(got[0], StartsWith("RELOADING=1\nMONOTONIC_USEC="));
  EXPECT_THAT(got[0], ::testing::EndsWith("\nSTATUS=reloading the configuration"));
  EXPECT_THAT(got[1], StartsWith("READY=1\nSTATUS="));
  notifier.Stopping();
  Queued();
  notifier.Reloading();  // stopping: nothing more
  notifier.Reloaded();
  EXPECT_THAT(Queued(), ::testing::IsEmpty());
}

TEST_F(ServiceNotifierTest, TheDestructorSaysStoppingIfNobodyDid) {
  {
    ServiceNotifier notifier(&idle_, Clock::Real());
    notifier.Ready();
  }
  Queued();
  EXPECT_EQ(CountSeen("READY=1"), 1);
  EXPECT_EQ(CountSeen("STOPPING=1"), 1);
}

TEST_F(ServiceNotifierTest, NoWatchdogWhileThePipelineIsNotAliveAndStoppingIsNoticed) {
  ::setenv("WATCHDOG_USEC", "20000", 1);  // a tick every 10 ms
  ServiceNotifier notifier(&idle_, Clock::Real());
  notifier.Ready();
  idle_.Stop();  // shutdown begins without a Stopping() call
  EXPECT_THAT(WaitFor("STOPPING=1"), StartsWith("STOPPING=1\nSTATUS=flushing: "));
  EXPECT_EQ(CountSeen("WATCHDOG=1"), 0);
}

// With a running pipeline (fakes for the stream, the store and the disk):
// WATCHDOG=1 while it is alive, STOPPING=1 when it is stopped.
TEST_F(ServiceNotifierTest, WatchdogIsFedWhileThePipelineIsAlive) {
  test::FakeKinesis kinesis;
  kinesis.AddShard("shardId-0");
  for (int i = 0; i < 5; ++i) kinesis.Put("shardId-0", test::ChangeRecord("e" + std::to_string(i), "t", 1716200000000));
  test::FakeStore store;
  test::MemFileSystem fs;
  checkpoint::CheckpointFile file(&fs, "/state/checkpoint.json");
  config::Config cfg;
  cfg.source.stream_name = "orders";
  cfg.output.bucket = "lake";
  cfg.checkpoint.path = file.path();
  auto source = poll::NewKinesisSource(&kinesis, poll::StreamRef{cfg.source.stream_name, ""});
  pipeline::Pipeline p(cfg, pipeline::Deps{source.get(), &store, &file, Clock::Real()});
  ASSERT_TRUE(p.Start().ok());
  Status run;
  std::thread runner([&] { run = p.Run(/*drain=*/false); });

  ::setenv("WATCHDOG_USEC", "20000", 1);
  {
    ServiceNotifier notifier(&p, Clock::Real());
    notifier.Ready();
    EXPECT_EQ(WaitFor("WATCHDOG=1"), "WATCHDOG=1");
    p.Stop();
    EXPECT_THAT(WaitFor("STOPPING=1"), StartsWith("STOPPING=1\nSTATUS=flushing: "));
  }
  runner.join();
  EXPECT_TRUE(run.ok()) << run.ToString();
  EXPECT_EQ(CountSeen("READY=1"), 1);
  EXPECT_EQ(CountSeen("STOPPING=1"), 1);
  EXPECT_TRUE(fs.Exists("/state/checkpoint.json"));
}

}  // namespace
}  // namespace shardhose::daemon

// SIGTERM/SIGINT/SIGHUP handling (daemon/signals.h), in-process: the
// signals are blocked, sent to this process with kill(2), and must reach the
// callback on the watcher's thread; a second stop signal ends the process
// with status 130 (a death test, in a child process); SIGHUP only reloads.
#include "signals.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>

namespace shardhose::daemon {
namespace {

constexpr auto kPatience = std::chrono::seconds(10);  // only a broken watcher waits this long

class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override { BlockShutdownSignals(); }
};

TEST_F(SignalsTest, BlockShutdownSignalsBlocksThemAndIgnoresSigpipe) {
  sigset_t mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_TRUE(sigismember(&mask, SIGTERM));
  EXPECT_TRUE(sigismember(&mask, SIGINT));
  struct sigaction pipe {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &pipe), 0);
  EXPECT_EQ(pipe.sa_handler, SIG_IGN);
}

TEST_F(SignalsTest, TheFirstSignalCallsOnStop) {
  for (int signo : {SIGTERM, SIGINT}) {
    std::promise<int> got;
    std::thread::id where;
    {
      SignalWatcher watcher([&](int s) {
        where = std::this_thread::get_id();
        got.set_value(s);
      });
      ASSERT_EQ(::kill(::getpid(), signo), 0);
      auto f = got.get_future();
      ASSERT_EQ(f.wait_for(kPatience), std::future_status::ready);
      EXPECT_EQ(f.get(), signo);
    }
    EXPECT_NE(where, std::this_thread::get_id());  // on the watcher's thread
  }
}

TEST_F(SignalsTest, SighupCallsOnReloadEveryTimeAndNeverOnStop) {
  sigset_t mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_TRUE(sigismember(&mask, SIGHUP));
  std::atomic<int> stops{0};
  for (int round = 0; round < 3; ++round) {
    std::promise<std::thread::id> reloaded;
    std::function<void()> on_reload = [&] { reloaded.set_value(std::this_thread::get_id()); };
    SignalWatcher watcher([&](int) { ++stops; }, [&] { on_reload(); });
    ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
    auto f = reloaded.get_future();
    ASSERT_EQ(f.wait_for(kPatience), std::future_status::ready);
    EXPECT_NE(f.get(), std::this_thread::get_id());
  }
  EXPECT_EQ(stops.load(), 0);
}

TEST_F(SignalsTest, SighupWithoutAReloadIsIgnored) {
  std::promise<int> got;
  SignalWatcher watcher([&](int s) { got.set_value(s); });
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);  // still watching: the stop comes through
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(kPatience), std::future_status::ready);
  EXPECT_EQ(f.get(), SIGTERM);
}

TEST_F(SignalsTest, TheDestructorStopsWatchingWithoutCallingOnStop) {
  bool called = false;
  {
    SignalWatcher watcher([&](int) { called = true; });
  }
  EXPECT_FALSE(called);
}

TEST(SignalsDeathTest, ASecondSignalExitsAt130) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        BlockShutdownSignals();
        std::promise<void> first;
        SignalWatcher watcher([&](int) { first.set_value(); });
        ::kill(::getpid(), SIGTERM);
        first.get_future().wait_for(kPatience);
        ::kill(::getpid(), SIGINT);                             // after the first was taken: signals do not queue
        std::promise<void>().get_future().wait_for(kPatience);  // _Exit comes first
      },
      ::testing::ExitedWithCode(130), "");
}

}  // namespace
}  // namespace shardhose::daemon

// Log line formatting (common/logging.h): text with fields, JSON with
// fields, journald's priority prefixes, the JOURNAL_STREAM check, and the
// short cause of a failure.
#include "common/logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace shardhose {
namespace {

using Level = spdlog::level::level_enum;

// 2026-11-22T21:56:47.123Z
std::chrono::system_clock::time_point When() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1795384607123));
}

std::string Line(LogStyle style, Level level, std::string_view msg, LogFields fields = {}) {
  return FormatLogLine(style, When(), level, msg, std::span<const LogField>(fields.begin(), fields.size()));
}

TEST(LogLine, TextCarriesFieldsCompactly) {
  const std::string key = "ddb/orders/dt=2026-11-22/x.json.gz";
  EXPECT_EQ(Line({}, Level::warn, "upload failed, retrying",
                 {{"key", key}, {"attempt", 3}, {"aws_code", "SlowDown"}, {"retry_in_ms", uint64_t{800}}}),
            "2026-11-22T21:56:47.123Z warning upload failed, retrying key=ddb/orders/dt=2026-11-22/x.json.gz "
            "attempt=3 aws_code=SlowDown retry_in_ms=800\n");
  EXPECT_EQ(Line({}, Level::info, "started"), "2026-11-22T21:56:47.123Z info  started\n");
}

TEST(LogLine, TextQuotesValuesThatAreNotPlainTokens) {
  EXPECT_EQ(
      Line({}, Level::err, "x", {{"cause", "HTTP 503: slow down"}, {"empty", ""}, {"q", "a\"b\n"}, {"eq", "dt=1"}}),
      "2026-11-22T21:56:47.123Z error x cause=\"HTTP 503: slow down\" q=\"a\\\"b\\n\" eq=dt=1\n");
  EXPECT_EQ(Line({}, Level::info, "x", {{"n", -5}}), "2026-11-22T21:56:47.123Z info  x n=-5\n");
}

TEST(LogLine, TextColoursOnlyTheLevel) {
  LogStyle style;
  style.colour = true;
  EXPECT_EQ(Line(style, Level::err, "boom"), "2026-11-22T21:56:47.123Z \033[31m\033[1merror\033[m boom\n");
}

TEST(LogLine, JsonCarriesFieldsWithTypedValues) {
  LogStyle style;
  style.format = LogFormat::kJson;
  EXPECT_EQ(Line(style, Level::warn, "upload failed, retrying",
                 {{"key", "a/b \"c\".gz"}, {"attempt", 2}, {"bytes", uint64_t{18446744073709551615u}}}),
            "{\"ts\":\"2026-11-22T21:56:47.123Z\",\"level\":\"warning\",\"msg\":\"upload failed, retrying\","
            "\"key\":\"a/b \\\"c\\\".gz\",\"attempt\":2,\"bytes\":18446744073709551615}\n");
  EXPECT_EQ(Line(style, Level::info, "a\tb", {{"aws_code", ""}}),  // empty: left out
            "{\"ts\":\"2026-11-22T21:56:47.123Z\",\"level\":\"info\",\"msg\":\"a\\tb\"}\n");
}

TEST(LogLine, JournalPrefixesThePriorityAndDropsTimestampAndColour) {
  LogStyle style;
  style.journal = true;
  style.colour = true;  // ignored under journald
  EXPECT_EQ(Line(style, Level::err, "boom", {{"shard", "shardId-1"}}), "<3>error boom shard=shardId-1\n");
  EXPECT_EQ(Line(style, Level::warn, "w"), "<4>warning w\n");
  EXPECT_EQ(Line(style, Level::info, "i"), "<6>info  i\n");
  EXPECT_EQ(Line(style, Level::debug, "d"), "<7>debug d\n");
  EXPECT_EQ(Line(style, Level::trace, "t"), "<7>trace t\n");
  EXPECT_EQ(Line(style, Level::critical, "c"), "<2>critical c\n");
  style.format = LogFormat::kJson;  // JSON keeps its ts field
  EXPECT_EQ(Line(style, Level::err, "boom"),
            "<3>{\"ts\":\"2026-11-22T21:56:47.123Z\",\"level\":\"error\",\"msg\":\"boom\"}\n");
}

TEST(LogLine, JournalStreamMatchesOnlyTheSameDeviceAndInode) {
  char path[] = "/tmp/logging_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  const std::string same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_TRUE(IsJournalStream(same.c_str(), fd));
  EXPECT_FALSE(IsJournalStream(other.c_str(), fd));
  EXPECT_FALSE(IsJournalStream(nullptr, fd));
  EXPECT_FALSE(IsJournalStream("", fd));
  EXPECT_FALSE(IsJournalStream("garbage", fd));
  EXPECT_FALSE(IsJournalStream((same + "x").c_str(), fd));
  close(fd);
  unlink(path);
}

TEST(LogLine, LevelNamesRoundTrip) {
  for (std::string_view name : {"trace", "debug", "info", "warn", "error"}) {
    auto level = ParseLogLevel(name);
    ASSERT_TRUE(level.ok()) << name;
    EXPECT_EQ(LogLevelName(*level), name);
  }
  EXPECT_FALSE(ParseLogLevel("loud").ok());
}

TEST(ShortCause, DropsThePartsThatNameTheKey) {
  const std::string key = "ddb/orders/dt=2026-11-22/hr=21/orders-000000000001-4961.json.gz";
  Status net = Status::Unavailable("PutObject s3://lake/" + key + ": PUT http://127.0.0.1:4569/lake/" + key +
                                   ": Couldn't connect to server (Failed to connect to 127.0.0.1 port 4569 after "
                                   "0 ms: Connection refused)");
  EXPECT_EQ(ShortCause(net, key),
            "Couldn't connect to server (Failed to connect to 127.0.0.1 port 4569 after 0 ms: Connection refused)");
  Status slow = Status::Unavailable("PutObject s3://lake/" + key + ": HTTP 503 SlowDown: Please reduce your rate.");
  EXPECT_EQ(ShortCause(slow, key), "HTTP 503 SlowDown: Please reduce your rate.");
  EXPECT_EQ(ShortCause(slow), slow.message());
  EXPECT_EQ(ShortCause(Status::Unavailable(key), key), "Unavailable");
  EXPECT_EQ(ShortCause(Status::OK()), "");
  EXPECT_EQ(ShortCause(Status::Internal(std::string(300, 'x')), {}, 20), std::string(17, 'x') + "...");
  EXPECT_EQ(ShortCause(Status::Internal("a\nb")), "a b");
}

}  // namespace
}  // namespace shardhose

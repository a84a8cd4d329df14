// The exit statuses of finding 7 (commands.h): a checkpoint locked by
// another process (4, its pid named), a checkpoint directory this user
// cannot write (5, the directory and uid named; `validate` checks it too,
// leaving nothing behind) and server.listen's port in use (6). Tests run as
// root in CI, where permissions do not stop writes: the unwritable cases
// run the command in a child process that drops to uid/gid 65534 first.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint_file.h"
#include "command_fixture.h"
#include "commands.h"
#include "common/fs.h"

namespace shardhose::daemon {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ExitForCheckpointAccess, MapsLockAndPermissionFailures) {
  EXPECT_EQ(ExitForCheckpointAccess(Status::OK()), kExitOk);
  EXPECT_EQ(ExitForCheckpointAccess(Status::FailedPrecondition("x.lock is locked by pid 7")), kExitLocked);
  EXPECT_EQ(ExitForCheckpointAccess(Status::PermissionDenied("not writable")), kExitNotWritable);
  EXPECT_EQ(ExitForCheckpointAccess(Status::IOError("disk")), kExitFailure);
  // The numbers are the documented interface (README, shardhose(1), the
  // units' RestartPreventExitStatus=).
  EXPECT_EQ(kExitLocked, 4);
  EXPECT_EQ(kExitNotWritable, 5);
  EXPECT_EQ(kExitPortInUse, 6);
}

class ExitStatusTest : public CommandTest {
 protected:
  // Runs `command` in a child process as uid/gid 65534 (when root) with the
  // temp dir readable by it but not writable; returns the exit status.
  // Output goes to the child's stderr file, read into err_.
  int RunUnprivileged(const std::function<int()>& command) {
    const std::string state = dir_ + "/state";
    std::filesystem::create_directories(state);
    ::chmod(dir_.c_str(), 0755);
    ::chmod(state.c_str(), 0555);
    ::chmod((dir_ + "/config.toml").c_str(), 0644);
    const std::string log = dir_ + "/child.err";
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
      if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(99);
      ::_exit(command());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::chmod(state.c_str(), 0755);
    std::ifstream in(log);
    err_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::vector<std::string> StateFiles() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/state")) out.push_back(e.path().filename());
    return out;
  }
};

TEST_F(ExitStatusTest, ValidateChecksTheCheckpointDirectoryLeavingNothingBehind) {
  EXPECT_EQ(Run([&] { return ValidateCommand(options_); }), kExitOk) << err_;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/state"));  // creatable: not created

  std::filesystem::create_directories(dir_ + "/state");
  EXPECT_EQ(Run([&] { return ValidateCommand(options_); }), kExitOk) << err_;
  EXPECT_THAT(StateFiles(), IsEmpty());

  const int rc = RunUnprivileged([&] { return ValidateCommand(options_); });
  EXPECT_EQ(rc, kExitNotWritable) << err_;
  EXPECT_THAT(err_, AllOf(HasSubstr("checkpoint.path = \"" + checkpoint_path_ + "\""),
                          HasSubstr("checkpoint directory not writable: " + dir_ + "/state is not writable by uid "),
                          HasSubstr("chown")));
  EXPECT_THAT(StateFiles(), IsEmpty());
}

TEST_F(ExitStatusTest, ValidateSaysWhenTheCheckpointDirectoryIsAFile) {
  std::ofstream(dir_ + "/state") << "not a directory";
  EXPECT_EQ(Run([&] { return ValidateCommand(options_); }), kExitFailure);
  EXPECT_THAT(err_, HasSubstr(dir_ + "/state is not a directory"));
}

TEST_F(ExitStatusTest, RunRefusesAnUnwritableCheckpointDirectory) {
  const int rc = RunUnprivileged([&] { return RunCommand(options_, /*drain=*/true); });
  EXPECT_EQ(rc, kExitNotWritable) << err_;
  EXPECT_THAT(err_, HasSubstr("checkpoint directory not writable: " + dir_ + "/state is not writable by uid "));
  EXPECT_THAT(err_, ::testing::Not(HasSubstr("another shardhose")));
}

TEST_F(ExitStatusTest, RunRefusesALockedCheckpointNamingTheHolder) {
  checkpoint::CheckpointFile held_file(FileSystem::Default(), checkpoint_path_);
  auto held = held_file.Lock();  // as another daemon does
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  EXPECT_EQ(*FileSystem::Default()->ReadFile(checkpoint_path_ + ".lock"), std::to_string(::getpid()) + "\n");
  EXPECT_EQ(Run([&] { return RunCommand(options_, /*drain=*/true); }), kExitLocked);
  EXPECT_THAT(out_ + err_, HasSubstr("locked by pid " + std::to_string(::getpid())));
  EXPECT_FALSE(std::filesystem::exists(checkpoint_path_));
}

TEST_F(ExitStatusTest, RunRefusesAPortInUseNamingIt) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  const std::string port = std::to_string(ntohs(sa.sin_port));
  WriteConfig("[server]\nlisten = \"127.0.0.1:" + port + "\"\n");
  // Credentials resolve (from the environment) so that run gets as far as
  // the listener; nothing is read before it.
  ::setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
  ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  const int rc = Run([&] { return RunCommand(options_, /*drain=*/true); });
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_EC2_METADATA_DISABLED");
  ::close(fd);
  EXPECT_EQ(rc, kExitPortInUse) << out_ << err_;
  EXPECT_THAT(out_ + err_, AllOf(HasSubstr("port " + port + " is already in use"), HasSubstr("server.listen"),
                                 HasSubstr("SHARDHOSE_SERVER_LISTEN")));
}

TEST_F(ExitStatusTest, AnUnknownShardhoseVariableIsAConfigurationError) {
  ::setenv("SHARDHOSE_OUTPUT_BUKCET", "lake", 1);
  const int rc = Run([&] { return ValidateCommand(options_); });
  ::unsetenv("SHARDHOSE_OUTPUT_BUKCET");
  EXPECT_EQ(rc, kExitUsage);
  EXPECT_THAT(err_, HasSubstr("SHARDHOSE_OUTPUT_BUKCET: unknown variable; did you mean SHARDHOSE_OUTPUT_BUCKET?"));
}

}  // namespace
}  // namespace shardhose::daemon

// credential_process: a profile names a command whose stdout is a JSON
// credentials document (https://docs.aws.amazon.com/sdkref/latest/guide/
// feature-process-credentials.html):
//   {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
//    "SessionToken": "...", "Expiration": "2026-01-01T00:00:00Z"}
//
// The command runs as `/bin/sh -c <command>` (posix_spawn: safe in a
// threaded process) in its own process group, with stdin from /dev/null,
// the default signal mask and dispositions (the daemon blocks its shutdown
// signals), and stdout and stderr captured through pipes. stderr is read
// and thrown away: a helper may print anything there, and it must not end
// up in our logs. After the timeout the whole group is killed (SIGKILL).
#include <fcntl.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include "aws/credentials_internal.h"

extern char** environ;

namespace shardhose::aws::internal {
namespace {

constexpr size_t kMaxStdout = 1 << 20;

Status SysError(const char* what) {
  return Status::IOError(std::string("credential_process: ") + what + ": " + std::strerror(errno));
}

// Closes an fd on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  void Reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

}  // namespace

Result<std::string> RunCredentialProcess(const std::string& command, std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return SysError("pipe");
  Fd out_r{out_pipe[0]}, out_w{out_pipe[1]};
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return SysError("pipe");
  Fd err_r{err_pipe[0]}, err_w{err_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  if (posix_spawn_file_actions_init(&actions) != 0) return SysError("spawn actions");
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return SysError("spawn attributes");
  }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.fd, 2);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    return SysError("cannot run /bin/sh");
  }
  out_w.Reset();
  err_w.Reset();

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  size_t err_bytes = 0;
  bool timed_out = false, too_big = false;
  char buf[4096];
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        (i == 0 ? out_r : err_r).Reset();
        continue;
      }
      if (i == 0) {
        if (out.size() + static_cast<size_t>(got) > kMaxStdout) {
          too_big = true;
        } else {
          out.append(buf, static_cast<size_t>(got));
        }
      } else {
        err_bytes += static_cast<size_t>(got);
      }
    }
    if (too_big) break;
  }
  out_r.Reset();
  err_r.Reset();
  int wstatus = 0;
  bool reaped = false;
  // The pipes are closed; the shell may still be running (it closed its
  // stdout early, or a child holds on): wait for it until the deadline.
  while (!timed_out && !too_big) {
    pid_t r = waitpid(pid, &wstatus, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      reaped = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    usleep(5000);
  }
  if (!reaped) {
    kill(-pid, SIGKILL);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }
  if (timed_out) {
    return Status::Unavailable("credential_process: killed after " + std::to_string(timeout.count()) + " ms")
        .WithPeer(RetryClass::kServerError, "");
  }
  if (too_big) {
    return Status::Unavailable("credential_process: more than 1 MiB on stdout").WithPeer(RetryClass::kServerError, "");
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::string how = WIFEXITED(wstatus) ? "exited with status " + std::to_string(WEXITSTATUS(wstatus))
                                         : "killed by signal " + std::to_string(WTERMSIG(wstatus));
    return Status::Unavailable("credential_process: " + how + " (stderr: " + std::to_string(err_bytes) +
                               " bytes, not shown)")
        .WithPeer(RetryClass::kServerError, "");
  }
  return out;
}

namespace {

Result<Credentials> FetchProcess(const std::string& profile, const std::string& command,
                                 std::chrono::milliseconds timeout) {
  const std::string what = "credential_process of profile " + profile;
  Result<std::string> out = RunCredentialProcess(command, timeout);
  if (!out.ok()) return out.status().WithContext("profile " + profile);
  {
    std::string padded = *out;
    padded.append(16, '\0');
    rapidjson::Document doc;
    doc.Parse(padded.data(), out->size());
    if (!doc.HasParseError() && doc.IsObject()) {
      auto v = doc.FindMember("Version");
      if (v == doc.MemberEnd() || !v->value.IsInt() || v->value.GetInt() != 1) {
        return Status::InvalidArgument(what + ": output must have \"Version\": 1");
      }
    }
  }
  return ParseJsonCredentials(*out, what, "SessionToken");
}

}  // namespace

CredentialSource ProcessSource(std::string profile, std::string command, std::chrono::milliseconds timeout) {
  CredentialSource s;
  s.name = "profile " + profile + " (credential_process)";
  s.fetch = [profile = std::move(profile), command = std::move(command), timeout] {
    return FetchProcess(profile, command, timeout);
  };
  return s;
}

}  // namespace shardhose::aws::internal

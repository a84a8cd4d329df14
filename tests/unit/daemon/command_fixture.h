// File: daemon/command_fixture.h (tests)
//
// CommandTest: a gtest fixture for the daemon's subcommands, which take a
// configuration file and print to stdout/stderr. Each test gets a fresh
// temp dir holding config.toml (stream "orders", bucket "lake", the
// checkpoint at <dir>/state/checkpoint.json; `extra` TOML is appended),
// stdin from /dev/null (so a command asking for confirmation never waits
// on a terminal) and helpers that run a command capturing its output.
// SHARDHOSE_* variables of the test's own environment (the build and test
// scripts export some, e.g. SHARDHOSE_FUZZ_SECONDS) are unset for the test
// and restored afterwards: the commands refuse unknown ones.
// Single-threaded; the temp dir is removed afterwards.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "commands.h"

namespace shardhose::daemon {

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (char** e = environ; e && *e; ++e) {
      const std::string var = *e;
      if (var.rfind("SHARDHOSE_", 0) == 0) saved_env_.push_back(var);
    }
    for (const std::string& var : saved_env_) ::unsetenv(var.substr(0, var.find('=')).c_str());
    char tmpl[] = "/tmp/shardhose-daemon-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    checkpoint_path_ = dir_ + "/state/checkpoint.json";
    WriteConfig("");
    saved_stdin_ = ::dup(STDIN_FILENO);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(null, 0);
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  void TearDown() override {
    for (const std::string& var : saved_env_) {
      const size_t eq = var.find('=');
      ::setenv(var.substr(0, eq).c_str(), eq == std::string::npos ? "" : var.c_str() + eq + 1, 1);
    }
    ::dup2(saved_stdin_, STDIN_FILENO);
    ::close(saved_stdin_);
    std::filesystem::remove_all(dir_);
  }

  // Rewrites config.toml: the base configuration plus `extra` (TOML).
  void WriteConfig(const std::string& extra) {
    std::ofstream(dir_ + "/config.toml")
        << "[source]\nstream_name = \"orders\"\n[output]\nbucket = \"lake\"\n[checkpoint]\npath = \""
        << checkpoint_path_ << "\"\n"
        << extra;
    options_.config_path = dir_ + "/config.toml";
  }

  // Runs `command`, returning its exit status; what it printed goes to
  // out_ and err_.
  int Run(const std::function<int()>& command) {
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const int rc = command();
    std::fflush(nullptr);
    out_ = ::testing::internal::GetCapturedStdout();
    err_ = ::testing::internal::GetCapturedStderr();
    return rc;
  }

  std::string dir_;
  std::string checkpoint_path_;
  CommonOptions options_;
  std::string out_, err_;

 private:
  int saved_stdin_ = -1;
  std::vector<std::string> saved_env_;  // "NAME=value"
};

}  // namespace shardhose::daemon

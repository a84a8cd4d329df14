// MemFileSystem (testing/mem_fs.h): the same script run against it and the
// real filesystem gives the same results and errors; then what only the
// fake has (fault injection, counters, locks outliving it).
#include "testing/mem_fs.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace shardhose::test {
namespace {

using Op = MemFileSystem::Op;

std::string Show(const Status& st) { return st.ok() ? "OK" : st.ToString(); }
template <typename T>
std::string Show(const Result<T>& r) {
  return r.ok() ? "OK" : r.status().ToString();
}

// Runs filesystem calls under `root` on `fs` and writes down what each
// returned, one line per call.
std::vector<std::string> Script(FileSystem* fs, const std::string& root) {
  std::vector<std::string> out;
  auto say = [&](const std::string& what, const std::string& result) { out.push_back(what + " -> " + result); };
  auto read = [&](const std::string& p) {
    auto r = fs->ReadFile(root + p);
    say("read " + p, r.ok() ? "\"" + *r + "\"" : r.status().ToString());
  };
  auto list = [&](const std::string& p) {
    auto r = fs->ListDir(root + p);
    std::string names;
    if (r.ok()) {
      std::sort(r->begin(), r->end());
      for (const auto& n : *r) names += n + " ";
    }
    say("list " + p, r.ok() ? "[" + names + "]" : r.status().ToString());
  };
  auto write = [&](const std::string& p, const std::string& data) {
    say("write " + p, Show(fs->WriteFile(root + p, data, /*sync=*/true)));
  };
  auto rename = [&](const std::string& f, const std::string& t) {
    say("rename " + f + " " + t, Show(fs->Rename(root + f, root + t)));
  };
  auto mkdirs = [&](const std::string& p) { say("mkdirs " + p, Show(fs->CreateDirs(root + p))); };
  auto exists = [&](const std::string& p) { say("exists " + p, fs->Exists(root + p) ? "yes" : "no"); };

  read("/missing");
  write("/nodir/f", "x");
  mkdirs("/a/b");
  mkdirs("/a/b");
  write("/a/f", "one");
  read("/a/f");
  write("/a/f", "two");
  read("/a/f");
  write("/a/f/x", "x");
  read("/a/f/x");
  read("/nodir/f");
  mkdirs("/a/f");
  mkdirs("/a/f/g");
  write("/a/b", "x");
  read("/a/b");
  exists("/a");
  exists("/a/f");
  exists("/a/f/x");
  exists("/nodir");

  rename("/a/f", "/a/g");
  exists("/a/f");
  read("/a/g");
  rename("/a/missing", "/a/h");
  rename("/a/g", "/nodir/g");
  rename("/a/g", "/a/b");
  rename("/a/b", "/a/g");
  rename("/a", "/a/b/c");
  rename("/a/g", "/a/g");
  write("/a/h", "three");
  rename("/a/h", "/a/g");  // replaces
  read("/a/g");
  exists("/a/h");
  mkdirs("/c/d");
  write("/c/d/x", "four");
  rename("/c", "/a/b");  // onto an empty directory
  exists("/c");
  read("/a/b/d/x");
  list("/a/b/d");
  mkdirs("/e/f");
  rename("/a/b", "/e");  // onto a non-empty one

  list("/a");
  list("");
  list("/a/g");
  list("/a/g/x");
  list("/zz");
  say("syncdir /a", Show(fs->SyncDir(root + "/a")));
  say("syncdir /zz", Show(fs->SyncDir(root + "/zz")));
  say("syncdir /a/g", Show(fs->SyncDir(root + "/a/g")));

  say("remove /zz", Show(fs->Remove(root + "/zz")));
  say("remove /a/b", Show(fs->Remove(root + "/a/b")));
  say("remove /a/g/x", Show(fs->Remove(root + "/a/g/x")));
  say("rmdir /zz", Show(fs->RemoveDir(root + "/zz")));
  say("rmdir /a", Show(fs->RemoveDir(root + "/a")));
  say("rmdir /a/g", Show(fs->RemoveDir(root + "/a/g")));
  say("rmdir /a/g/x", Show(fs->RemoveDir(root + "/a/g/x")));
  say("remove /a/g", Show(fs->Remove(root + "/a/g")));
  exists("/a/g");
  say("rmdir /e/f", Show(fs->RemoveDir(root + "/e/f")));
  list("/e");

  {
    auto held = fs->LockFile(root + "/a/lock");
    say("lock /a/lock", Show(held));
    say("lock /a/lock again", Show(fs->LockFile(root + "/a/lock")));
    exists("/a/lock");
  }
  say("lock /a/lock after release", Show(fs->LockFile(root + "/a/lock")));
  say("lock /zz/lock", Show(fs->LockFile(root + "/zz/lock")));
  say("lock /a", Show(fs->LockFile(root + "/a")));

  say("atomic /a/state", Show(WriteFileAtomic(fs, root + "/a/state", "five")));
  read("/a/state");
  list("/a");
  return out;
}

TEST(MemFileSystem, BehavesLikeThePosixFileSystem) {
  char tmpl[] = "/tmp/shardhose-memfs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  std::vector<std::string> posix = Script(FileSystem::Default(), root);
  std::filesystem::remove_all(root);

  MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDirs(root).ok());
  std::vector<std::string> fake = Script(&mem, root);
  ASSERT_EQ(posix.size(), fake.size());
  for (size_t i = 0; i < posix.size(); ++i) EXPECT_EQ(posix[i], fake[i]) << "step " << i;
}

TEST(MemFileSystem, NormalizesPaths) {
  EXPECT_EQ(MemFileSystem::Normalize("/a//b/./c/"), "/a/b/c");
  EXPECT_EQ(MemFileSystem::Normalize("a/../b"), "b");
  EXPECT_EQ(MemFileSystem::Normalize("/../a"), "/a");
  EXPECT_EQ(MemFileSystem::Normalize("./"), ".");
  EXPECT_EQ(MemFileSystem::Normalize("/"), "/");

  MemFileSystem fs;
  ASSERT_TRUE(fs.WriteFile("f", "x", false).ok());  // relative: under "."
  ASSERT_TRUE(fs.CreateDirs("/d/e/").ok());
  ASSERT_TRUE(fs.WriteFile("/d//e/./g", "y", false).ok());
  EXPECT_EQ(*fs.ReadFile("./f"), "x");
  EXPECT_EQ(*fs.ReadFile("/d/e/g"), "y");
  EXPECT_EQ(fs.Files(), (std::map<std::string, std::string>{{"/d/e/g", "y"}, {"f", "x"}}));
  EXPECT_EQ(fs.Dirs(), (std::set<std::string>{"/d", "/d/e"}));
  EXPECT_EQ(*fs.ListDir("."), std::vector<std::string>{"f"});
  EXPECT_TRUE(fs.ReadFile("").status().IsNotFound());
  EXPECT_FALSE(fs.Exists(""));
}

TEST(MemFileSystem, InjectedRenameFailureLeavesTheOldContent) {
  MemFileSystem fs;
  ASSERT_TRUE(WriteFileAtomic(&fs, "/state", "one").ok());
  fs.InjectFault(Op::kRename, 1);
  Status st = WriteFileAtomic(&fs, "/state", "two");
  EXPECT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_EQ(st.message(), "injected: Rename /state.tmp");
  EXPECT_EQ(*fs.ReadFile("/state"), "one");
  EXPECT_EQ(fs.Injected(Op::kRename), 1);
  EXPECT_EQ(fs.Calls(Op::kRename), 2);

  ASSERT_TRUE(WriteFileAtomic(&fs, "/state", "three").ok());  // once only
  EXPECT_EQ(*fs.ReadFile("/state"), "three");
  EXPECT_TRUE(fs.Synced("/state"));
  EXPECT_FALSE(fs.Exists("/state.tmp"));
  EXPECT_EQ(fs.Calls(Op::kSyncDir), 2);
}

TEST(MemFileSystem, AppliedFaultTakesEffectAndFails) {
  MemFileSystem fs;
  ASSERT_TRUE(WriteFileAtomic(&fs, "/state", "one").ok());
  fs.InjectFault(Op::kSyncDir, 1, "", Status::IOError("fsync /: Input/output error"), /*applied=*/true);
  Status st = WriteFileAtomic(&fs, "/state", "two");
  EXPECT_EQ(st.message(), "fsync /: Input/output error");
  EXPECT_EQ(*fs.ReadFile("/state"), "two");  // the rename happened

  fs.InjectFault(Op::kWriteFile, 1, "", Status::IOError("No space left on device"), /*applied=*/true);
  EXPECT_FALSE(fs.WriteFile("/g", "data", true).ok());
  EXPECT_EQ(*fs.ReadFile("/g"), "data");

  fs.InjectFault(Op::kLockFile, 1, "", Status::OK(), /*applied=*/true);
  EXPECT_TRUE(fs.LockFile("/lock").status().IsIOError());
  EXPECT_TRUE(fs.Exists("/lock"));         // created,
  EXPECT_TRUE(fs.LockFile("/lock").ok());  // but not left locked
}

TEST(MemFileSystem, FaultsMatchByPathAndInOrder) {
  MemFileSystem fs;
  fs.InjectFault(Op::kWriteFile, -1, ".tmp", Status::IOError("No space left on device"));
  EXPECT_TRUE(fs.WriteFile("/a", "x", false).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fs.WriteFile("/a.tmp", "x", false).message(), "No space left on device");
  EXPECT_FALSE(fs.Exists("/a.tmp"));
  EXPECT_EQ(fs.Injected(Op::kWriteFile), 3);
  EXPECT_EQ(fs.Calls(Op::kWriteFile), 4);
  fs.ClearFaults();
  EXPECT_TRUE(fs.WriteFile("/a.tmp", "x", false).ok());

  fs.InjectFault(Op::kReadFile, 1, "", Status::IOError("first"));
  fs.InjectFault(Op::kReadFile, 1, "", Status::Corruption("second"));
  EXPECT_EQ(fs.ReadFile("/a").status().message(), "first");
  EXPECT_TRUE(fs.ReadFile("/a").status().IsCorruption());
  EXPECT_EQ(*fs.ReadFile("/a"), "x");

  fs.InjectFault(Op::kRename, 1, "target");  // either path matches
  EXPECT_FALSE(fs.Rename("/a", "/target").ok());
  EXPECT_TRUE(fs.Rename("/a", "/target").ok());

  fs.InjectFault(Op::kExists, -1);  // ignored
  EXPECT_TRUE(fs.Exists("/target"));
  EXPECT_EQ(fs.Injected(Op::kExists), 0);
}

TEST(MemFileSystem, LocksConflictAcrossThreadsAndMayOutliveTheFileSystem) {
  std::unique_ptr<FileLock> survivor;
  {
    MemFileSystem fs;
    auto lock = fs.LockFile("/l");
    ASSERT_TRUE(lock.ok());
    Status other;
    std::thread([&] { other = fs.LockFile("/l").status(); }).join();
    EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(other.message(), "/l is locked by pid " + std::to_string(::getpid()));
    EXPECT_TRUE(fs.LockFile("/m").ok());  // other paths are free
    *lock = nullptr;
    std::thread([&] { other = fs.LockFile("/l").status(); }).join();
    EXPECT_TRUE(other.ok());

    ASSERT_TRUE(fs.Rename("/l", "/n").ok());  // not held: moved freely
    auto again = fs.LockFile("/n");
    ASSERT_TRUE(again.ok());
    survivor = std::move(*again);
  }
  survivor.reset();  // after the filesystem: no use after free (ASan)
}

}  // namespace
}  // namespace shardhose::test

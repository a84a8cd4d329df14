#include "common/fs.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace shardhose {
namespace {

class FailingRename : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  Status Rename(const std::string&, const std::string&) override { return Status::IOError("injected"); }
};

TEST(Fs, AtomicWriteReplacesAndSurvivesFailure) {
  char tmpl[] = "/tmp/shardhose-fs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/sub/state.json";
  FileSystem* fs = FileSystem::Default();
  ASSERT_TRUE(fs->CreateDirs(DirName(path)).ok());
  ASSERT_TRUE(WriteFileAtomic(fs, path, "one").ok());
  EXPECT_EQ(*fs->ReadFile(path), "one");

  FailingRename failing(fs);
  Status st = WriteFileAtomic(&failing, path, "two");
  EXPECT_TRUE(st.IsIOError());
  EXPECT_EQ(*fs->ReadFile(path), "one");  // old content intact

  EXPECT_TRUE(fs->ReadFile(std::string(tmpl) + "/missing").status().IsNotFound());
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
}

TEST(Fs, ListDirAndRemoveDir) {
  char tmpl[] = "/tmp/shardhose-fs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/d";
  FileSystem* fs = FileSystem::Default();
  EXPECT_TRUE(fs->ListDir(dir).status().IsNotFound());
  EXPECT_TRUE(fs->RemoveDir(dir).ok());  // missing is fine
  ASSERT_TRUE(fs->CreateDirs(dir + "/sub").ok());
  ASSERT_TRUE(fs->WriteFile(dir + "/f", "x", /*sync=*/false).ok());
  Result<std::vector<std::string>> names = fs->ListDir(dir);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"f", "sub"}));

  EXPECT_TRUE(fs->RemoveDir(dir).IsIOError());  // not empty
  ASSERT_TRUE(fs->Remove(dir + "/f").ok());
  ASSERT_TRUE(fs->RemoveDir(dir + "/sub").ok());
  ASSERT_TRUE(fs->RemoveDir(dir).ok());
  EXPECT_FALSE(fs->Exists(dir));
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace shardhose

namespace shardhose {
namespace {

TEST(Fs, LockFileNamesItsHolder) {
  char tmpl[] = "/tmp/shardhose-fs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/x.lock";
  FileSystem* fs = FileSystem::Default();
  {
    auto held = fs->LockFile(path);
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    EXPECT_EQ(*fs->ReadFile(path), std::to_string(::getpid()) + "\n");
    auto second = fs->LockFile(path);  // another open file description: refused
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(second.status().message(), path + " is locked by pid " + std::to_string(::getpid()));
  }
  EXPECT_TRUE(fs->LockFile(path).ok());  // released with its holder
  std::filesystem::remove_all(tmpl);
}

TEST(Fs, CheckWritableDirLeavesNothingBehind) {
  char tmpl[] = "/tmp/shardhose-fs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  FileSystem* fs = FileSystem::Default();
  EXPECT_TRUE(fs->CheckWritableDir(root).ok());
  EXPECT_TRUE(std::filesystem::is_empty(root));
  // Missing: its nearest existing ancestor decides; nothing is created.
  EXPECT_TRUE(fs->CheckWritableDir(root + "/a/b/c").ok());
  EXPECT_FALSE(std::filesystem::exists(root + "/a"));
  // A file where a directory should be.
  ASSERT_TRUE(fs->WriteFile(root + "/f", "x", false).ok());
  Status st = fs->CheckWritableDir(root + "/f/sub");
  EXPECT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_EQ(st.message(), root + "/f is not a directory");
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace shardhose

#include "common/fs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

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

}  // namespace
}  // namespace shardhose

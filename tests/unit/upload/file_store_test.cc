#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "upload/object_store.h"

namespace shardhose::upload {
namespace {

namespace stdfs = std::filesystem;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shardhose_filestore_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/out";  // does not exist yet
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  std::string Read(const std::string& rel) {
    Result<std::string> r = FileSystem::Default()->ReadFile(root_ + "/" + rel);
    return r.ok() ? *r : "<" + r.status().ToString() + ">";
  }

  std::string dir_;
  std::string root_;
};

TEST_F(FileStoreTest, WritesNestedKeysAndReplaces) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  ASSERT_TRUE(store->Put("t=1/dt=2023-11-14/part-0.json.gz", "one", ObjectMeta{}).ok());
  EXPECT_EQ(Read("t=1/dt=2023-11-14/part-0.json.gz"), "one");
  ASSERT_TRUE(store->Put("t=1/dt=2023-11-14/part-0.json.gz", "two", ObjectMeta{}).ok());
  EXPECT_EQ(Read("t=1/dt=2023-11-14/part-0.json.gz"), "two");
  EXPECT_FALSE(stdfs::exists(root_ + "/t=1/dt=2023-11-14/part-0.json.gz.tmp"));
  ASSERT_TRUE(store->Put("flat", "", ObjectMeta{}).ok());
  EXPECT_EQ(Read("flat"), "");
  ASSERT_TRUE(store->Put("..dots../ok", "x", ObjectMeta{}).ok());  // not a ".." segment
}

TEST_F(FileStoreTest, RejectsEscapingKeys) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  for (const char* key : {"../x", "a/../../x", "a/..", "..", "/etc/passwd", "", "a/"}) {
    Status s = store->Put(key, "x", ObjectMeta{});
    EXPECT_TRUE(s.IsInvalidArgument()) << "key '" << key << "': " << s.ToString();
  }
  EXPECT_FALSE(stdfs::exists(dir_ + "/x"));
}

TEST_F(FileStoreTest, Holds) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  Result<bool> e = store->Holds("a/k", "x");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(*e);
  ASSERT_TRUE(store->Put("a/k", "x", ObjectMeta{}).ok());
  e = store->Holds("a/k", "x");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(*e);
  EXPECT_FALSE(*store->Holds("a/k", "y"));
  EXPECT_TRUE(store->Holds("../k", "x").status().IsInvalidArgument());
}

TEST_F(FileStoreTest, Describe) {
  EXPECT_EQ(NewFileObjectStore(root_ + "/", FileSystem::Default())->Describe(), "file://" + root_);
  EXPECT_EQ(NewFileObjectStore("file://" + root_, FileSystem::Default())->Describe(),
            "file://" + root_);
}

// Records directory fsyncs; can fail renames.
class SpyFs : public FileSystemWrapper {
 public:
  SpyFs() : FileSystemWrapper(FileSystem::Default()) {}
  Status SyncDir(const std::string& d) override {
    synced.insert(d);
    return FileSystemWrapper::SyncDir(d);
  }
  Status Rename(const std::string& f, const std::string& t) override {
    if (fail_rename) return Status::IOError("rename " + f + ": injected");
    return FileSystemWrapper::Rename(f, t);
  }
  std::set<std::string> synced;
  bool fail_rename = false;
};

TEST_F(FileStoreTest, NewDirectoriesAreSyncedInTheirParents) {
  SpyFs fs;
  auto store = NewFileObjectStore(root_, &fs);
  ASSERT_TRUE(store->Put("a/b/k", "x", ObjectMeta{}).ok());
  EXPECT_TRUE(fs.synced.count(root_ + "/a/b"));  // the file's directory
  EXPECT_TRUE(fs.synced.count(root_ + "/a"));    // entry of a/b
  EXPECT_TRUE(fs.synced.count(root_));           // entry of a
  EXPECT_TRUE(fs.synced.count(dir_));            // entry of out (created)
}

TEST_F(FileStoreTest, FailedWriteKeepsOldObject) {
  SpyFs fs;
  auto store = NewFileObjectStore(root_, &fs);
  ASSERT_TRUE(store->Put("k", "old", ObjectMeta{}).ok());
  fs.fail_rename = true;
  Status s = store->Put("k", "new", ObjectMeta{});
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(Read("k"), "old");
}

}  // namespace
}  // namespace shardhose::upload

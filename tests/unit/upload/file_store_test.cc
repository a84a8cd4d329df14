#include "upload/file_store.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <vector>

namespace shardhose::upload {
namespace {

namespace stdfs = std::filesystem;

std::string Md5(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HexMd5(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : Md5(data)) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

const char kUploads[] = "/.shardhose-multipart";

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

TEST_F(FileStoreTest, KeysCannotEnterTheUploadDirectory) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  for (const char* key : {".shardhose-multipart", ".shardhose-multipart/x/key"}) {
    EXPECT_TRUE(store->Put(key, "x", ObjectMeta{}).IsInvalidArgument()) << key;
    EXPECT_TRUE(store->CreateMultipart(key, ObjectMeta{}).status().IsInvalidArgument()) << key;
  }
  EXPECT_TRUE(store->Put(".shardhose-multipartx/k", "x", ObjectMeta{}).ok());
  EXPECT_TRUE(store->Put("a/.shardhose-multipart/k", "x", ObjectMeta{}).ok());
}

TEST_F(FileStoreTest, MultipartRoundTrip) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  const std::string key = "t=1/dt=2023-11-14/big.json.gz";
  Result<std::string> id = store->CreateMultipart(key, ObjectMeta{});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->size(), 32u);
  EXPECT_EQ(id->find_first_not_of("0123456789abcdef"), std::string::npos) << *id;
  EXPECT_EQ(Read(std::string(kUploads + 1) + "/" + *id + "/key"), key);

  // Out of order, and part 1 replaced.
  Result<std::string> e2 = store->UploadPart(key, *id, 2, "second,");
  ASSERT_TRUE(e2.ok()) << e2.status().ToString();
  EXPECT_EQ(*e2, HexMd5("second,"));
  ASSERT_TRUE(store->UploadPart(key, *id, 1, "stale").ok());
  Result<std::string> e1 = store->UploadPart(key, *id, 1, "first,");
  Result<std::string> e3 = store->UploadPart(key, *id, 3, "third");
  ASSERT_TRUE(e1.ok() && e3.ok());
  EXPECT_FALSE(stdfs::exists(root_ + "/" + key));  // nothing visible before Complete

  ASSERT_TRUE(store->CompleteMultipart(key, *id, {{1, *e1}, {2, *e2}, {3, "\"" + *e3 + "\""}}).ok());
  EXPECT_EQ(Read(key), "first,second,third");
  EXPECT_FALSE(stdfs::exists(root_ + kUploads + "/" + *id));
  EXPECT_FALSE(stdfs::exists(root_ + "/" + key + ".tmp"));
  // The upload is gone.
  EXPECT_TRUE(store->UploadPart(key, *id, 4, "x").status().IsNotFound());
  EXPECT_TRUE(store->CompleteMultipart(key, *id, {{1, *e1}}).IsNotFound());

  ObjectDigest d;
  d.size = 18;
  d.md5 = Md5("first,second,third");
  d.part_md5s = {Md5("first,"), Md5("second,"), Md5("third")};
  Result<bool> h = store->HoldsDigest(key, d);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(*h);
  d.md5 = Md5("first,second,THIRD");
  EXPECT_FALSE(*store->HoldsDigest(key, d));
  d.md5 = Md5("first,second,third");
  d.size = 17;
  EXPECT_FALSE(*store->HoldsDigest(key, d));
  d.size = 18;
  EXPECT_FALSE(*store->HoldsDigest("missing", d));
  EXPECT_TRUE(store->HoldsDigest("../x", d).status().IsInvalidArgument());
}

TEST_F(FileStoreTest, CompleteChecksTheReceipts) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  Result<std::string> id = store->CreateMultipart("k", ObjectMeta{});
  ASSERT_TRUE(id.ok());
  Result<std::string> e1 = store->UploadPart("k", *id, 1, "a");
  Result<std::string> e2 = store->UploadPart("k", *id, 2, "b");
  ASSERT_TRUE(e1.ok() && e2.ok());
  for (const std::vector<PartReceipt>& parts : std::vector<std::vector<PartReceipt>>{
           {},                    // no parts
           {{1, *e1}, {3, *e2}},  // part 3 never uploaded
           {{1, *e2}, {2, *e2}},  // part 1's ETag is not the stored one
           {{2, *e2}, {1, *e1}},  // not ascending
           {{1, *e1}, {1, *e1}},  // repeated
           {{0, *e1}},            // out of range
       }) {
    Status s = store->CompleteMultipart("k", *id, parts);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  }
  EXPECT_FALSE(stdfs::exists(root_ + "/k"));
  EXPECT_TRUE(store->CompleteMultipart("other", *id, {{1, *e1}}).IsNotFound());
  // A subset of the parts is a valid object.
  ASSERT_TRUE(store->CompleteMultipart("k", *id, {{2, *e2}}).ok());
  EXPECT_EQ(Read("k"), "b");
}

TEST_F(FileStoreTest, UploadPartErrors) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  Result<std::string> id = store->CreateMultipart("k", ObjectMeta{});
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(store->UploadPart("k", *id, 0, "x").status().IsInvalidArgument());
  EXPECT_TRUE(store->UploadPart("k", *id, 10001, "x").status().IsInvalidArgument());
  EXPECT_TRUE(store->UploadPart("k", "../../escape", 1, "x").status().IsInvalidArgument());
  EXPECT_TRUE(store->UploadPart("k", std::string(32, 'a'), 1, "x").status().IsNotFound());
  EXPECT_TRUE(store->UploadPart("other", *id, 1, "x").status().IsNotFound());
  EXPECT_TRUE(store->UploadPart("k", *id, 10000, "x").ok());
}

TEST_F(FileStoreTest, AbortAndList) {
  auto store = NewFileObjectStore(root_, FileSystem::Default());
  Result<std::vector<std::string>> ids = store->ListMultipart("k");
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();  // no upload directory yet
  EXPECT_TRUE(ids->empty());

  Result<std::string> a = store->CreateMultipart("k", ObjectMeta{});
  Result<std::string> b = store->CreateMultipart("k", ObjectMeta{});
  Result<std::string> other = store->CreateMultipart("k2", ObjectMeta{});
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_NE(*a, *b);
  ASSERT_TRUE(store->UploadPart("k", *a, 1, "x").ok());
  std::vector<std::string> want = {*a, *b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*store->ListMultipart("k"), want);
  EXPECT_EQ(*store->ListMultipart("k2"), std::vector<std::string>{*other});
  EXPECT_TRUE(store->ListMultipart("k3")->empty());

  ASSERT_TRUE(store->AbortMultipart("k", *a).ok());
  EXPECT_FALSE(stdfs::exists(root_ + kUploads + "/" + *a));
  EXPECT_EQ(*store->ListMultipart("k"), std::vector<std::string>{*b});
  EXPECT_TRUE(store->AbortMultipart("k", *a).ok());  // already gone
  EXPECT_TRUE(store->UploadPart("k", *a, 2, "x").status().IsNotFound());
  // Another key's upload is left alone.
  ASSERT_TRUE(store->AbortMultipart("k", *other).ok());
  EXPECT_EQ(*store->ListMultipart("k2"), std::vector<std::string>{*other});
  EXPECT_TRUE(store->AbortMultipart("k", "nope").IsInvalidArgument());
  // Leftovers of a removal that stopped after "key" went are removed too.
  ASSERT_TRUE(FileSystem::Default()->Remove(root_ + kUploads + "/" + *b + "/key").ok());
  EXPECT_TRUE(store->ListMultipart("k")->empty());
  ASSERT_TRUE(store->AbortMultipart("k", *b).ok());
  EXPECT_FALSE(stdfs::exists(root_ + kUploads + "/" + *b));
}

TEST_F(FileStoreTest, Describe) {
  EXPECT_EQ(NewFileObjectStore(root_ + "/", FileSystem::Default())->Describe(), "file://" + root_);
  EXPECT_EQ(NewFileObjectStore("file://" + root_, FileSystem::Default())->Describe(), "file://" + root_);
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

TEST_F(FileStoreTest, MultipartDirectoriesAndObjectAreSynced) {
  SpyFs fs;
  auto store = NewFileObjectStore(root_, &fs);
  Result<std::string> id = store->CreateMultipart("a/k", ObjectMeta{});
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(fs.synced.count(root_ + kUploads + "/" + *id));  // its "key" file
  EXPECT_TRUE(fs.synced.count(root_ + kUploads));              // entry of the upload
  EXPECT_TRUE(fs.synced.count(root_));                         // entry of .shardhose-multipart
  fs.synced.clear();
  Result<std::string> e = store->UploadPart("a/k", *id, 1, "x");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(fs.synced.count(root_ + kUploads + "/" + *id));
  fs.synced.clear();
  ASSERT_TRUE(store->CompleteMultipart("a/k", *id, {{1, *e}}).ok());
  EXPECT_TRUE(fs.synced.count(root_ + "/a"));  // the object's directory
  EXPECT_TRUE(fs.synced.count(root_));         // entry of a
}

TEST_F(FileStoreTest, FailedCompleteKeepsTheUpload) {
  SpyFs fs;
  auto store = NewFileObjectStore(root_, &fs);
  ASSERT_TRUE(store->Put("k", "old", ObjectMeta{}).ok());
  Result<std::string> id = store->CreateMultipart("k", ObjectMeta{});
  ASSERT_TRUE(id.ok());
  Result<std::string> e = store->UploadPart("k", *id, 1, "new");
  ASSERT_TRUE(e.ok());
  fs.fail_rename = true;
  EXPECT_TRUE(store->CompleteMultipart("k", *id, {{1, *e}}).IsIOError());
  EXPECT_EQ(Read("k"), "old");
  fs.fail_rename = false;
  ASSERT_TRUE(store->CompleteMultipart("k", *id, {{1, *e}}).ok());  // a retry works
  EXPECT_EQ(Read("k"), "new");
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

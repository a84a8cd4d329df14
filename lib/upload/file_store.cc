// FileObjectStore: <root>/<key>, written with WriteFileAtomic (temp file
// "<path>.tmp", fsync, rename, fsync the directory). Directories created
// for the key are fsynced in their parents as well, so OK means durable.
#include <utility>
#include <vector>

#include "upload/object_store.h"

namespace shardhose::upload {
namespace {

// Keys are relative paths made of normal segments.
Status CheckKey(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("file store: empty key");
  if (key.front() == '/') return Status::InvalidArgument("file store: key starts with '/': " + key);
  if (key.find('\0') != std::string::npos) {
    return Status::InvalidArgument("file store: key contains NUL");
  }
  size_t i = 0;
  while (i <= key.size()) {
    size_t j = key.find('/', i);
    if (j == std::string::npos) j = key.size();
    if (key.compare(i, j - i, "..") == 0 && j - i == 2) {
      return Status::InvalidArgument("file store: key has a '..' segment: " + key);
    }
    i = j + 1;
  }
  if (key.back() == '/') return Status::InvalidArgument("file store: key ends with '/': " + key);
  return Status::OK();
}

class FileObjectStore final : public ObjectStore {
 public:
  FileObjectStore(std::string root, FileSystem* fs) : root_(std::move(root)), fs_(fs) {
    if (root_.starts_with("file://")) root_ = root_.substr(7);
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  Status Put(const std::string& key, std::string_view body, const ObjectMeta&) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = root_ + "/" + key;
    const std::string dir = DirName(path);
    // Directories about to be created, deepest first: their entries in their
    // parents must be made durable too.
    std::vector<std::string> created;
    for (std::string d = dir; !fs_->Exists(d); d = DirName(d)) {
      created.push_back(d);
      if (d == "/" || d == ".") break;
    }
    SHARDHOSE_RETURN_IF_ERROR(fs_->CreateDirs(dir));
    SHARDHOSE_RETURN_IF_ERROR(WriteFileAtomic(fs_, path, body));
    for (const std::string& d : created) SHARDHOSE_RETURN_IF_ERROR(fs_->SyncDir(DirName(d)));
    return Status::OK();
  }

  Result<bool> Holds(const std::string& key, std::string_view body) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    auto bytes = fs_->ReadFile(root_ + "/" + key);
    if (bytes.status().IsNotFound()) return false;
    if (!bytes.ok()) return bytes.status();
    return *bytes == body;
  }

  std::string Describe() const override { return "file://" + root_; }

 private:
  std::string root_;
  FileSystem* const fs_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewFileObjectStore(std::string root, FileSystem* fs) {
  return std::make_unique<FileObjectStore>(std::move(root), fs);
}

}  // namespace shardhose::upload

// FileObjectStore: <root>/<key>, written with WriteFileAtomic (temp file
// "<path>.tmp", fsync, rename, fsync the directory). Directories created
// for the key are fsynced in their parents as well, so OK means durable.
//
// Multipart uploads live beside the objects, in a directory no key may name:
//   <root>/.shardhose-multipart/<upload id>/key         the object key
//   <root>/.shardhose-multipart/<upload id>/part-00001  part 1, and so on
// The upload id is 32 lowercase hex characters (RAND_bytes); every file is
// written with WriteFileAtomic and new directories are fsynced in their
// parents, so a part acknowledged is a part kept. A part's ETag is the hex
// MD5 of its bytes (unquoted). CompleteMultipart checks each receipt
// against the stored part, reads the parts into memory (the object is
// written in one piece, as Put writes it) and then removes the upload
// directory, "key" last: an upload whose removal failed part-way is still
// listed and AbortMultipart finishes the job.
#include "upload/file_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

#include "upload/multipart.h"
#include "upload/object_store.h"

namespace shardhose::upload {
namespace {

constexpr std::string_view kUploadsDir = ".shardhose-multipart";

// Keys are relative paths made of normal segments, outside kUploadsDir.
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
    if (i == 0 && std::string_view(key).substr(0, j) == kUploadsDir) {
      return Status::InvalidArgument("file store: key is in the multipart upload directory: " + key);
    }
    i = j + 1;
  }
  if (key.back() == '/') return Status::InvalidArgument("file store: key ends with '/': " + key);
  return Status::OK();
}

std::string ToHex(const unsigned char* raw, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[raw[i] >> 4]);
    out.push_back(kHex[raw[i] & 0xF]);
  }
  return out;
}

std::string HexMd5(std::string_view data) {
  const std::string raw = Md5(data);
  return ToHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

bool IsUploadId(std::string_view id) {
  return id.size() == 32 &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string PartName(int number) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "part-%05d", number);
  return buf;
}

class FileObjectStore final : public ObjectStore {
 public:
  FileObjectStore(std::string root, FileSystem* fs) : root_(std::move(root)), fs_(fs) {
    if (root_.starts_with("file://")) root_ = root_.substr(7);
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    uploads_ = root_ + "/" + std::string(kUploadsDir);
  }

  Status Put(const std::string& key, std::string_view body, const ObjectMeta& meta) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    if (meta.if_absent) SHARDHOSE_RETURN_IF_ERROR(CheckAbsent(key));
    return WriteObject(key, body);
  }

  Result<std::string> Get(const std::string& key) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    return fs_->ReadFile(root_ + "/" + key);
  }

  Result<bool> Holds(const std::string& key, std::string_view body) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    auto bytes = fs_->ReadFile(root_ + "/" + key);
    if (bytes.status().IsNotFound()) return false;
    if (!bytes.ok()) return bytes.status();
    return *bytes == body;
  }

  Result<bool> HoldsDigest(const std::string& key, const ObjectDigest& digest) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    auto bytes = fs_->ReadFile(root_ + "/" + key);
    if (bytes.status().IsNotFound()) return false;
    if (!bytes.ok()) return bytes.status();
    return bytes->size() == digest.size && Md5(*bytes) == digest.md5;
  }

  Result<std::string> CreateMultipart(const std::string& key, const ObjectMeta&) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      return Status::Internal("file store: RAND_bytes failed for an upload id");
    }
    std::string id = ToHex(raw, sizeof raw);
    const std::string dir = UploadDir(id);
    SHARDHOSE_RETURN_IF_ERROR(CreateDirsDurably(dir));
    SHARDHOSE_RETURN_IF_ERROR(WriteFileAtomic(fs_, dir + "/key", key));
    return id;
  }

  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                 std::string_view body) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    if (number < 1 || number > kMaxParts) {
      return Status::InvalidArgument("file store: part number " + std::to_string(number) + " out of 1.." +
                                     std::to_string(kMaxParts));
    }
    SHARDHOSE_RETURN_IF_ERROR(CheckUpload(key, upload_id));
    SHARDHOSE_RETURN_IF_ERROR(WriteFileAtomic(fs_, UploadDir(upload_id) + "/" + PartName(number), body));
    return HexMd5(body);
  }

  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartReceipt>& parts) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    SHARDHOSE_RETURN_IF_ERROR(CheckUpload(key, upload_id));
    const std::string what = "file store: upload " + upload_id + " of " + key;
    SHARDHOSE_RETURN_IF_ERROR(CheckReceipts(what, parts));
    const std::string dir = UploadDir(upload_id);
    std::string object;
    for (const PartReceipt& p : parts) {
      Result<std::string> bytes = fs_->ReadFile(dir + "/" + PartName(p.number));
      if (bytes.status().IsNotFound()) {
        return Status::InvalidArgument(what + ": part " + std::to_string(p.number) + " was not uploaded");
      }
      if (!bytes.ok()) return bytes.status();
      std::string_view etag = p.etag;
      if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
        etag = etag.substr(1, etag.size() - 2);
      }
      if (etag != HexMd5(*bytes)) {
        return Status::InvalidArgument(what + ": part " + std::to_string(p.number) + " ETag " + p.etag +
                                       " is not the stored part's");
      }
      object += *bytes;
    }
    SHARDHOSE_RETURN_IF_ERROR(WriteObject(key, object));
    // The object is durable, which is what OK promises; a directory left
    // behind is listed by ListMultipart and removed by AbortMultipart.
    RemoveUpload(dir).IgnoreError();
    return Status::OK();
  }

  Status CompleteMultipartIfAbsent(const std::string& key, const std::string& upload_id,
                                   const std::vector<PartReceipt>& parts) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    SHARDHOSE_RETURN_IF_ERROR(CheckAbsent(key));
    return CompleteMultipart(key, upload_id, parts);
  }

  Status AbortMultipart(const std::string& key, const std::string& upload_id) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    if (!IsUploadId(upload_id)) {
      return Status::InvalidArgument("file store: not an upload id: " + upload_id);
    }
    const std::string dir = UploadDir(upload_id);
    Result<std::string> owner = fs_->ReadFile(dir + "/key");
    if (owner.ok() && *owner != key) return Status::OK();  // another key's: not ours to drop
    if (!owner.ok() && !owner.status().IsNotFound()) return owner.status();
    // Missing "key": gone already, or a removal that stopped part-way.
    return RemoveUpload(dir);
  }

  Result<std::vector<std::string>> ListMultipart(const std::string& key) override {
    SHARDHOSE_RETURN_IF_ERROR(CheckKey(key));
    Result<std::vector<std::string>> entries = fs_->ListDir(uploads_);
    if (entries.status().IsNotFound()) return std::vector<std::string>{};
    if (!entries.ok()) return entries.status();
    std::vector<std::string> ids;
    for (std::string& id : *entries) {
      if (!IsUploadId(id)) continue;
      Result<std::string> owner = fs_->ReadFile(UploadDir(id) + "/key");
      if (owner.status().IsNotFound()) continue;
      if (!owner.ok()) return owner.status();
      if (*owner == key) ids.push_back(std::move(id));
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::string Describe() const override { return "file://" + root_; }

 private:
  std::string UploadDir(const std::string& id) const { return uploads_ + "/" + id; }

  // mkdir -p `dir`, then fsyncs the parent of every directory it created.
  Status CreateDirsDurably(const std::string& dir) {
    // Directories about to be created, deepest first: their entries in their
    // parents must be made durable too.
    std::vector<std::string> created;
    for (std::string d = dir; !fs_->Exists(d); d = DirName(d)) {
      created.push_back(d);
      if (d == "/" || d == ".") break;
    }
    SHARDHOSE_RETURN_IF_ERROR(fs_->CreateDirs(dir));
    for (const std::string& d : created) SHARDHOSE_RETURN_IF_ERROR(fs_->SyncDir(DirName(d)));
    return Status::OK();
  }

  // REQUIRES: CheckKey(key) is OK.
  // The condition of a conditional write, as S3 answers it. Checked, then
  // written: not atomic against another writer, which the contract
  // (object_store.h: one caller per key) and the checkpoint lock (one
  // daemon per directory) exclude.
  Status CheckAbsent(const std::string& key) {
    if (!fs_->Exists(root_ + "/" + key)) return Status::OK();
    return Status::FailedPrecondition("file store: " + key + " exists (conditional write)")
        .WithPeer(RetryClass::kClientError, "PreconditionFailed");
  }

  Status WriteObject(const std::string& key, std::string_view body) {
    const std::string path = root_ + "/" + key;
    SHARDHOSE_RETURN_IF_ERROR(CreateDirsDurably(DirName(path)));
    return WriteFileAtomic(fs_, path, body);
  }

  // OK if `upload_id` is an upload of `key` in progress; kNotFound (S3's
  // NoSuchUpload) if there is none, kInvalidArgument for a malformed id.
  Status CheckUpload(const std::string& key, const std::string& upload_id) {
    if (!IsUploadId(upload_id)) {
      return Status::InvalidArgument("file store: not an upload id: " + upload_id);
    }
    Result<std::string> owner = fs_->ReadFile(UploadDir(upload_id) + "/key");
    if (owner.ok() && *owner == key) return Status::OK();
    if (!owner.ok() && !owner.status().IsNotFound()) return owner.status();
    return Status::NotFound("file store: no upload " + upload_id + " of " + key);
  }

  // Removes the files of an upload directory ("key" last), then the
  // directory. OK if it does not exist.
  Status RemoveUpload(const std::string& dir) {
    Result<std::vector<std::string>> entries = fs_->ListDir(dir);
    if (entries.status().IsNotFound()) return Status::OK();
    if (!entries.ok()) return entries.status();
    for (const std::string& name : *entries) {
      if (name != "key") SHARDHOSE_RETURN_IF_ERROR(fs_->Remove(dir + "/" + name));
    }
    SHARDHOSE_RETURN_IF_ERROR(fs_->Remove(dir + "/key"));
    return fs_->RemoveDir(dir);
  }

  std::string root_;
  std::string uploads_;  // root_ + "/.shardhose-multipart"
  FileSystem* const fs_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewFileObjectStore(std::string root, FileSystem* fs) {
  return std::make_unique<FileObjectStore>(std::move(root), fs);
}

}  // namespace shardhose::upload

// File: common/fs.h
//
// The one seam between shardhose and the local filesystem (leveldb's Env, cut
// down to what we use). The checkpoint file and the file:// object store go
// through it, so tests can inject ENOSPC/EIO at any step or use an in-memory
// filesystem.
//
// Every method returns kIOError with the path and strerror on failure, except
// ReadFile of a missing file, which returns kNotFound, and the two that say
// kPermissionDenied (LockFile, CheckWritableDir) when the failure is one of
// access (EACCES, EPERM, EROFS): fixing it is an operator's job.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shardhose {

// An advisory exclusive lock held on a file; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Takes an exclusive advisory lock (flock) on `path`, creating the file if
  // needed, without waiting, and writes this process's pid into it (the
  // file's whole content, "<pid>\n"). kFailedPrecondition if another process
  // holds it, saying "<path> is locked by pid N" when the holder wrote its
  // pid ("by another process" otherwise); kPermissionDenied if the file
  // cannot be opened for writing (EACCES, EPERM, EROFS).
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Creates or truncates `path`, writes `data`, and if `sync` fsyncs it.
  virtual Status WriteFile(const std::string& path, std::string_view data, bool sync) = 0;
  // rename(2): atomically replaces `to`.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // fsync(2) on the directory, making a rename in it durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // mkdir -p.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // The names of the entries of `dir` (without "." and ".."), in no
  // particular order; kNotFound if `dir` does not exist.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // rmdir(2): removes an empty directory; OK if it does not exist.
  virtual Status RemoveDir(const std::string& dir) = 0;
  // Whether this process can create files in `dir`, or, if it does not
  // exist, create it (CreateDirs): tried by creating an unnamed file
  // (O_TMPFILE, or a temp file removed at once where that is unsupported)
  // in `dir` or its nearest existing ancestor; nothing is left behind.
  // kPermissionDenied naming the directory and the effective uid if not
  // (EACCES, EPERM: permissions, an immutable directory; EROFS); kIOError if
  // `dir` or an ancestor is not a directory, or for any other failure.
  virtual Status CheckWritableDir(const std::string& dir) = 0;

  // The process-wide POSIX filesystem. Never null, never destroyed.
  static FileSystem* Default();
};

// Replaces `path` atomically and durably: write `path.tmp`, fsync it, rename
// over `path`, fsync the directory. On failure `path` is unchanged (it holds
// either the old or, if the rename happened, the new content).
Status WriteFileAtomic(FileSystem* fs, const std::string& path, std::string_view data);

// The directory part of a path ("." if none).
std::string DirName(const std::string& path);

// Forwards every call to another FileSystem; tests override one method.
class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(FileSystem* target) : target_(target) {}
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p) override { return target_->LockFile(p); }
  Result<std::string> ReadFile(const std::string& p) override { return target_->ReadFile(p); }
  Status WriteFile(const std::string& p, std::string_view d, bool s) override { return target_->WriteFile(p, d, s); }
  Status Rename(const std::string& f, const std::string& t) override { return target_->Rename(f, t); }
  Status SyncDir(const std::string& d) override { return target_->SyncDir(d); }
  Status CreateDirs(const std::string& d) override { return target_->CreateDirs(d); }
  Status Remove(const std::string& p) override { return target_->Remove(p); }
  bool Exists(const std::string& p) override { return target_->Exists(p); }
  Result<std::vector<std::string>> ListDir(const std::string& d) override { return target_->ListDir(d); }
  Status RemoveDir(const std::string& d) override { return target_->RemoveDir(d); }
  Status CheckWritableDir(const std::string& d) override { return target_->CheckWritableDir(d); }

 private:
  FileSystem* target_;
};

}  // namespace shardhose

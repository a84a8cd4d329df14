// The local checkpoint store: checkpoint_file.h.
#include "checkpoint/checkpoint_file.h"

#include <fmt/format.h>
#include <unistd.h>

namespace shardhose::checkpoint {

Result<std::unique_ptr<FileLock>> CheckpointFile::Lock() {
  Status st = fs_->CreateDirs(DirName(path_));
  if (!st.ok()) {
    Status writable = CheckWritable();
    return writable.ok() ? st : writable;
  }
  auto lock = fs_->LockFile(path_ + ".lock");
  if (lock.ok()) return lock;
  const Status& e = lock.status();
  if (e.code() == StatusCode::kFailedPrecondition) {
    return Status::FailedPrecondition(
        fmt::format("checkpoint {} is in use: {} (a running shardhose, or a `shardhose checkpoint` command); "
                    "stop it, or give this one its own checkpoint.path",
                    path_, e.message()));
  }
  if (e.code() == StatusCode::kPermissionDenied) {
    Status writable = CheckWritable();
    if (!writable.ok()) return writable;
    return Status::PermissionDenied(
        fmt::format("checkpoint lock {}.lock cannot be opened by uid {}: {}", path_, ::geteuid(), e.message()));
  }
  return e.WithContext("checkpoint lock");
}

Status CheckpointFile::CheckWritable() {
  Status st = fs_->CheckWritableDir(DirName(path_));
  if (st.code() != StatusCode::kPermissionDenied) return st.ok() ? st : st.WithContext("checkpoint directory");
  return Status::PermissionDenied(
      fmt::format("checkpoint directory not writable: {}. Give this user the directory (chown), or point "
                  "checkpoint.path (SHARDHOSE_CHECKPOINT_PATH) at a writable one",
                  st.message()));
}

Result<std::optional<Checkpoint>> CheckpointFile::Load() {
  Result<std::string> bytes = fs_->ReadFile(path_);
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return std::optional<Checkpoint>();
    return Status::IOError(fmt::format("read checkpoint {}: {}", path_, bytes.status().message()));
  }
  Result<Checkpoint> cp = Decode(*bytes);
  if (!cp.ok()) return cp.status().WithContext(path_);
  return std::optional<Checkpoint>(std::move(cp).value());
}

Status CheckpointFile::Save(const Checkpoint& cp) {
  const std::string bytes = Encode(cp);
  Status st = fs_->CreateDirs(DirName(path_));
  if (st.ok()) st = WriteFileAtomic(fs_, path_, bytes);
  if (st.ok()) return st;
  // Best effort: don't leave a partial temp file on a full disk. If the
  // rename already happened there is nothing to remove.
  fs_->Remove(path_ + ".tmp").IgnoreError();
  return Status::IOError(fmt::format("save checkpoint {}: {}", path_, st.message()));
}

Status CheckpointFile::Acquire() {
  if (lock_) return Status::OK();
  auto lock = Lock();
  if (!lock.ok()) return lock.status();
  lock_ = std::move(lock).value();
  return Status::OK();
}

}  // namespace shardhose::checkpoint

// The local checkpoint store: checkpoint_file.h.
#include "checkpoint/checkpoint_file.h"

#include <fmt/format.h>

namespace shardhose::checkpoint {

Result<std::unique_ptr<FileLock>> CheckpointFile::Lock() {
  Status st = fs_->CreateDirs(DirName(path_));
  if (!st.ok()) return st;
  auto lock = fs_->LockFile(path_ + ".lock");
  if (!lock.ok()) {
    return Status(lock.status().code(),
                  fmt::format("checkpoint {} is in use ({}): is another shardhose running with it?", path_,
                              lock.status().message()));
  }
  return lock;
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
  auto lock = Lock();
  if (!lock.ok()) return lock.status();
  lock_ = std::move(lock).value();
  return Status::OK();
}

}  // namespace shardhose::checkpoint

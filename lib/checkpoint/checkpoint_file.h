// File: checkpoint/checkpoint_file.h
//
// The local CheckpointStore (checkpoint_store.h): the checkpoint in one
// file, in the format of checkpoint.h, replaced atomically and protected by
// an exclusive lock file so that one process at a time writes it.
//
// Thread-safety: methods must not be called concurrently with each other.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_store.h"
#include "common/fs.h"
#include "common/status.h"

namespace shardhose::checkpoint {

class CheckpointFile : public CheckpointStore {
 public:
  // REQUIRES: fs outlives this object.
  CheckpointFile(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}

  // nullopt if the file does not exist (first start). kCorruption, message
  // prefixed with the path, if it exists but does not decode; kIOError naming
  // the path if it cannot be read. A leftover `path.tmp` (crash during Save)
  // is ignored.
  Result<std::optional<Checkpoint>> Load() override;

  // Atomically replaces the file (creating its directory if needed) via
  // WriteFileAtomic: `path.tmp`, fsync, rename, fsync dir. On failure returns
  // kIOError naming the path, and the file holds the previous checkpoint, or
  // the new one if only the final directory fsync failed (the rename took
  // place; whether it survives a power loss is unknown). Either is a valid
  // checkpoint; a failed Save never leaves a torn file.
  Status Save(const Checkpoint& cp) override;

  // One writer per checkpoint file: takes the exclusive lock `<path>.lock`
  // (creating its directory), held until the returned object is destroyed;
  // the lock file holds the holder's pid. kFailedPrecondition if another
  // process (a running daemon, an operator command) holds it: "checkpoint
  // <path> is in use: <path>.lock is locked by pid N ..."; kPermissionDenied
  // (CheckWritable's message) if this process cannot write there.
  Result<std::unique_ptr<FileLock>> Lock();

  // Whether this process can write the checkpoint: its directory exists and
  // takes new files, or can be created (FileSystem::CheckWritableDir).
  // Leaves nothing behind. kPermissionDenied "checkpoint directory not
  // writable: <dir> is not writable by uid N: <why>. <what to do>".
  Status CheckWritable();

  // Lock(), held until this object is destroyed; OK at once if this object
  // holds it already.
  Status Acquire() override;

  const std::string& path() const { return path_; }
  std::string Describe() const override { return path_; }

 private:
  FileSystem* fs_;
  std::string path_;
  std::unique_ptr<FileLock> lock_;  // once acquired
};

}  // namespace shardhose::checkpoint

// File: testing/mem_fs.h
//
// MemFileSystem: an in-memory shardhose::FileSystem (leveldb's memenv plus
// its ErrorEnv), for tests of code that keeps state on disk (checkpoint
// file, file:// object store) without a temp dir, and for making any
// filesystem call fail on cue.
//
// What it emulates, as PosixFileSystem (common/fs.h) behaves on Linux:
//   - A tree of directories and files. "/" and "." always exist; paths are
//     normalised lexically ("a//b/./c/" is "a/b/c", ".." drops a segment),
//     relative paths live under ".". No symlinks, permissions or times.
//   - Errors with the codes and shapes of the real one: kNotFound from
//     ReadFile/ListDir of a missing path ("<path> does not exist");
//     kIOError "<call> <path>: <strerror>" when a parent directory is
//     missing or is a file, when a file is used as a directory or the other
//     way round, and for RemoveDir of a non-empty directory. Remove of a
//     missing file and RemoveDir of a missing directory are OK.
//   - Rename replaces the target atomically; a directory moves with its
//     whole subtree (onto a missing or empty directory only).
//   - LockFile creates the file, takes an exclusive lock on the path and
//     writes "<pid>\n" into it: a second LockFile of that path, from any
//     thread, fails with kFailedPrecondition ("<path> is locked by pid
//     <this pid>") until the first FileLock is destroyed (as flock
//     on two descriptors does within one process). Locks are by path name:
//     renaming a locked file does not move its lock.
//   - Durability is not emulated: everything written is kept; `sync` and
//     SyncDir are only counted (Synced() tells whether a file's last write
//     asked for fsync).
//
// Fault injection (ErrorEnv): InjectFault() makes the next `count` calls of
// one operation, optionally only for paths containing a substring, return
// an error. By default the failing call changes nothing; with `applied`
// it takes effect and then reports the error (a write whose fsync failed,
// a rename whose directory sync failed: the caller cannot tell whether it
// happened). Faults are matched in the order they were injected.
//
// What it counts: Calls(op) (every call, failed ones included) and
// Injected(op) (calls that failed by injection).
//
// Thread-safety: thread-safe; one mutex guards the whole tree. A FileLock
// may outlive the MemFileSystem that issued it.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace shardhose::test {

class MemFileSystem : public FileSystem {
 public:
  // The FileSystem methods, for Calls()/Injected()/InjectFault().
  enum class Op {
    kLockFile,
    kReadFile,
    kWriteFile,
    kRename,  // matched against both paths
    kSyncDir,
    kCreateDirs,
    kRemove,
    kExists,  // never fails: a fault on it is ignored
    kListDir,
    kRemoveDir,
    kCheckWritableDir,
  };
  static constexpr size_t kOps = 11;
  static std::string_view OpName(Op op);

  MemFileSystem();
  ~MemFileSystem() override;
  MemFileSystem(const MemFileSystem&) = delete;
  MemFileSystem& operator=(const MemFileSystem&) = delete;

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status WriteFile(const std::string& path, std::string_view data, bool sync) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status Remove(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status RemoveDir(const std::string& dir) override;
  // OK unless `dir` or an ancestor is a file (kIOError) or a fault is
  // injected (e.g. a kPermissionDenied one, for an unwritable directory).
  Status CheckWritableDir(const std::string& dir) override;

  // The next `count` calls of `op` whose path contains `path_contains`
  // ("" = any path) fail with `error` (an IOError naming the call and path
  // if `error` is OK). With `applied`, the call does its work first.
  // count < 0: every such call, until ClearFaults().
  void InjectFault(Op op, int count, std::string path_contains = "", Status error = Status::OK(), bool applied = false);
  void ClearFaults();

  int Calls(Op op) const;
  int Injected(Op op) const;

  // Every file, by normalised path -> contents.
  std::map<std::string, std::string> Files() const;
  // Every directory but "/" and ".", by normalised path.
  std::set<std::string> Dirs() const;
  // Whether the file exists and its last WriteFile had sync = true.
  bool Synced(const std::string& path) const;

  // The normalised form of `path` (what Files() and Dirs() hold).
  static std::string Normalize(std::string_view path);

 private:
  struct State;
  struct Fault;
  class MemFileLock;

  // Counts the call and consumes a matching fault; returns it (OK = none)
  // and whether it is to be applied first. REQUIRES: state_->mu held.
  Status Check(Op op, const std::string& path, const std::string& path2, bool* applied);

  std::shared_ptr<State> state_;  // shared with the locks it issued
};

}  // namespace shardhose::test

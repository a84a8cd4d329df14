#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/kill_point.h"

namespace shardhose {
namespace {

Status Errno(std::string_view what, const std::string& path, int err) {
  return Status::IOError(fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

// Failures an operator fixes with permissions or a mount option.
bool IsAccessError(int err) { return err == EACCES || err == EPERM || err == EROFS; }

// Errno(), but kPermissionDenied for an access error.
Status AccessErrno(std::string_view what, const std::string& path, int err) {
  if (!IsAccessError(err)) return Errno(what, path, err);
  return Status::PermissionDenied(fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing releases the flock

 private:
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return AccessErrno("open", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      if (err == EWOULDBLOCK) {
        // The holder wrote its pid right after taking the lock (below).
        char buf[32] = {};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
        return Status::FailedPrecondition(pid > 0 ? fmt::format("{} is locked by pid {}", path, pid)
                                                  : fmt::format("{} is locked by another process", path));
      }
      ::close(fd);
      return Errno("flock", path, err);
    }
    // Who holds it, for the next one to ask. Best effort: the lock is what
    // counts, not the text.
    const std::string pid = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      // Nothing to do: the next one says "another process".
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }

  Result<std::string> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound(fmt::format("{} does not exist", path));
      return Errno("open", path, errno);
    }
    std::string out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));  // no regrowth
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return Errno("read", path, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  Status WriteFile(const std::string& path, std::string_view data, bool sync) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path, errno);
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return Errno("write", path, err);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (sync && ::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      return Errno("fsync", path, err);
    }
    if (::close(fd) != 0) return Errno("close", path, errno);
    return Status::OK();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename to " + to, from, errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Errno("fsync", dir, err);
    return Status::OK();
  }

  Status CreateDirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError(fmt::format("mkdir {}: {}", dir, ec.message()));
    return Status::OK();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("unlink", path, errno);
    return Status::OK();
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return Status::NotFound(fmt::format("{} does not exist", dir));
      return Errno("opendir", dir, errno);
    }
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent* e = ::readdir(d);
      if (e == nullptr) break;
      std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return Errno("readdir", dir, err);
    return names;
  }

  Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return Errno("rmdir", dir, errno);
    return Status::OK();
  }

  Status CheckWritableDir(const std::string& dir) override {
    // The nearest existing ancestor is where CreateDirs would write first.
    std::string d = dir.empty() ? "." : dir;
    struct stat st;
    while (::stat(d.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) return AccessErrno("stat", d, errno);
      const std::string parent = DirName(d);
      if (parent == d) break;
      d = parent;
    }
    if (!S_ISDIR(st.st_mode)) return Status::IOError(fmt::format("{} is not a directory", d));
    const auto denied = [&](int err) {
      return Status::PermissionDenied(fmt::format("{} is not writable by uid {}{}: {}", d, ::geteuid(),
                                                  d == dir ? "" : fmt::format(" (so {} cannot be created)", dir),
                                                  std::strerror(err)));
    };
    int fd = ::open(d.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);  // an unnamed file: gone with its descriptor
      return Status::OK();
    }
    int err = errno;
    if (IsAccessError(err)) return denied(err);
    if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL) return Errno("create a file in", d, err);
    std::string tmpl = d + "/.shardhose-write-check-XXXXXX";
    fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
      err = errno;
      return IsAccessError(err) ? denied(err) : Errno("create a file in", d, err);
    }
    ::close(fd);
    ::unlink(tmpl.c_str());
    return Status::OK();
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  static PosixFileSystem* fs = new PosixFileSystem();
  return fs;
}

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

Status WriteFileAtomic(FileSystem* fs, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  SHARDHOSE_RETURN_IF_ERROR(fs->WriteFile(tmp, data, /*sync=*/true));
  SHARDHOSE_KILL_POINT("fs.before_rename");
  SHARDHOSE_RETURN_IF_ERROR(fs->Rename(tmp, path));
  return fs->SyncDir(DirName(path));
}

}  // namespace shardhose

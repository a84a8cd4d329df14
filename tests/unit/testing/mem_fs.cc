#include "testing/mem_fs.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

namespace shardhose::test {
namespace {

// Every path below is normalised: "/", ".", "/a/b" or "a/b"; "" only for
// an empty path given by the caller (ENOENT everywhere, as open("")).
bool IsRoot(const std::string& p) { return p == "/" || p == "."; }

std::string Parent(const std::string& p) {
  if (IsRoot(p)) return p;
  const size_t slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

// Whether `p` lies strictly below directory `d`.
bool IsUnder(const std::string& p, const std::string& d) {
  if (d == "/") return p.size() > 1 && p[0] == '/';
  if (d == ".") return !p.empty() && p != "." && p[0] != '/';
  return p.size() > d.size() + 1 && p.compare(0, d.size(), d) == 0 && p[d.size()] == '/';
}

// The path with `from` (a prefix ending at a segment boundary) replaced by `to`.
std::string Moved(const std::string& p, const std::string& from, const std::string& to) {
  return to + p.substr(from.size());
}

Status Errno(std::string_view call, const std::string& path, int err) {
  return Status::IOError(std::string(call) + " " + path + ": " + std::strerror(err));
}

}  // namespace

struct MemFileSystem::Fault {
  Op op;
  int count;  // < 0: forever
  std::string path_contains;
  Status error;
  bool applied;
};

struct MemFileSystem::State {
  struct File {
    std::string data;
    bool synced = false;
  };

  mutable std::mutex mu;
  std::map<std::string, File> files;
  std::set<std::string> dirs;    // without "/" and "."
  std::set<std::string> locked;  // paths with a live FileLock
  std::array<int, kOps> calls{};
  std::array<int, kOps> injected{};
  std::vector<Fault> faults;

  bool IsDir(const std::string& p) const { return IsRoot(p) || dirs.count(p) > 0; }
  bool IsFile(const std::string& p) const { return files.count(p) > 0; }
  bool HasChildren(const std::string& d) const {
    for (const auto& [f, _] : files) {
      if (Parent(f) == d) return true;
    }
    for (const auto& sub : dirs) {
      if (Parent(sub) == d) return true;
    }
    return false;
  }
  // The errno a lookup of `p` meets on its way: 0 if every ancestor is a
  // directory, ENOTDIR if the first one that is not is a file, else ENOENT.
  int ParentErrno(const std::string& p) const {
    if (p.empty()) return ENOENT;
    std::vector<std::string> up;
    for (std::string a = Parent(p); !IsRoot(a); a = Parent(a)) up.push_back(a);
    for (auto it = up.rbegin(); it != up.rend(); ++it) {
      if (IsFile(*it)) return ENOTDIR;
      if (!IsDir(*it)) return ENOENT;
    }
    return 0;
  }
};

class MemFileSystem::MemFileLock final : public FileLock {
 public:
  MemFileLock(std::shared_ptr<State> state, std::string path) : state_(std::move(state)), path_(std::move(path)) {}
  ~MemFileLock() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->locked.erase(path_);
  }

 private:
  std::shared_ptr<State> state_;
  std::string path_;
};

std::string_view MemFileSystem::OpName(Op op) {
  static constexpr std::array<std::string_view, kOps> kNames = {"LockFile", "ReadFile",   "WriteFile",       "Rename",
                                                                "SyncDir",  "CreateDirs", "Remove",          "Exists",
                                                                "ListDir",  "RemoveDir",  "CheckWritableDir"};
  return kNames[static_cast<size_t>(op)];
}

std::string MemFileSystem::Normalize(std::string_view path) {
  if (path.empty()) return "";
  const bool absolute = path[0] == '/';
  std::vector<std::string_view> segs;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg == "..") {
      if (!segs.empty() && segs.back() != "..") {
        segs.pop_back();
      } else if (!absolute) {
        segs.push_back(seg);
      }
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    start = end + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i) out += '/';
    out += segs[i];
  }
  return out.empty() ? "." : out;
}

MemFileSystem::MemFileSystem() : state_(std::make_shared<State>()) {}
MemFileSystem::~MemFileSystem() = default;

Status MemFileSystem::Check(Op op, const std::string& path, const std::string& path2, bool* applied) {
  const size_t i = static_cast<size_t>(op);
  ++state_->calls[i];
  *applied = false;
  for (Fault& f : state_->faults) {
    if (f.op != op || f.count == 0) continue;
    if (!f.path_contains.empty() && path.find(f.path_contains) == std::string::npos &&
        path2.find(f.path_contains) == std::string::npos) {
      continue;
    }
    if (f.count > 0) --f.count;
    ++state_->injected[i];
    *applied = f.applied;
    if (!f.error.ok()) return f.error;
    return Status::IOError("injected: " + std::string(OpName(op)) + " " + path);
  }
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> MemFileSystem::LockFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kLockFile, path, "", &applied);
  if (!fault.ok() && !applied) return fault;
  const std::string p = Normalize(path);
  if (int e = state_->ParentErrno(p)) return Errno("open", path, e);
  if (state_->IsDir(p)) return Errno("open", path, EISDIR);
  state_->files.try_emplace(p);
  // Every holder is this process: the message and the content name its pid.
  if (state_->locked.count(p)) {
    return Status::FailedPrecondition(path + " is locked by pid " + std::to_string(::getpid()));
  }
  if (!fault.ok()) return fault;  // the file was created; the lock is not held
  state_->locked.insert(p);
  state_->files[p].data = std::to_string(::getpid()) + "\n";
  return std::unique_ptr<FileLock>(new MemFileLock(state_, p));
}

Result<std::string> MemFileSystem::ReadFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kReadFile, path, "", &applied);
  if (!fault.ok()) return fault;  // reading changes nothing: applied or not
  const std::string p = Normalize(path);
  const int e = state_->ParentErrno(p);
  if (e == ENOTDIR) return Errno("open", path, e);
  if (e == ENOENT || (!state_->IsFile(p) && !state_->IsDir(p))) return Status::NotFound(path + " does not exist");
  if (state_->IsDir(p)) return Errno("read", path, EISDIR);
  return state_->files.at(p).data;
}

Status MemFileSystem::WriteFile(const std::string& path, std::string_view data, bool sync) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kWriteFile, path, "", &applied);
  if (!fault.ok() && !applied) return fault;
  const std::string p = Normalize(path);
  if (int e = state_->ParentErrno(p)) return Errno("open", path, e);
  if (state_->IsDir(p)) return Errno("open", path, EISDIR);
  State::File& f = state_->files[p];
  f.data.assign(data);
  f.synced = sync;
  return fault;
}

Status MemFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kRename, from, to, &applied);
  if (!fault.ok() && !applied) return fault;
  const std::string f = Normalize(from), t = Normalize(to);
  const std::string call = "rename to " + to;
  if (int e = state_->ParentErrno(f)) return Errno(call, from, e);
  if (!state_->IsFile(f) && !state_->IsDir(f)) return Errno(call, from, ENOENT);
  if (int e = state_->ParentErrno(t)) return Errno(call, from, e);
  if (f == t) return fault;
  if (state_->IsFile(f)) {
    if (state_->IsDir(t)) return Errno(call, from, EISDIR);
    state_->files[t] = std::move(state_->files.at(f));
    state_->files.erase(f);
    return fault;
  }
  if (IsRoot(f) || IsRoot(t)) return Errno(call, from, EBUSY);
  if (IsUnder(t, f)) return Errno(call, from, EINVAL);
  if (state_->IsFile(t)) return Errno(call, from, ENOTDIR);
  if (state_->IsDir(t) && state_->HasChildren(t)) return Errno(call, from, ENOTEMPTY);
  std::map<std::string, State::File> files;
  for (auto it = state_->files.begin(); it != state_->files.end();) {
    if (IsUnder(it->first, f)) {
      files[Moved(it->first, f, t)] = std::move(it->second);
      it = state_->files.erase(it);
    } else {
      ++it;
    }
  }
  std::set<std::string> dirs = {t};
  for (auto it = state_->dirs.begin(); it != state_->dirs.end();) {
    if (*it == f || IsUnder(*it, f)) {
      if (*it != f) dirs.insert(Moved(*it, f, t));
      it = state_->dirs.erase(it);
    } else {
      ++it;
    }
  }
  state_->files.merge(files);
  state_->dirs.merge(dirs);
  return fault;
}

Status MemFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kSyncDir, dir, "", &applied);
  if (!fault.ok() && !applied) return fault;
  const std::string d = Normalize(dir);
  if (int e = state_->ParentErrno(d)) return Errno("open", dir, e);
  if (state_->IsFile(d)) return Errno("open", dir, ENOTDIR);
  if (!state_->IsDir(d)) return Errno("open", dir, ENOENT);
  return fault;
}

Status MemFileSystem::CreateDirs(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kCreateDirs, dir, "", &applied);
  if (!fault.ok() && !applied) return fault;
  const std::string d = Normalize(dir);
  if (d.empty()) return Status::IOError("mkdir " + dir + ": " + std::strerror(ENOENT));
  std::vector<std::string> chain;  // d and its ancestors, deepest first
  for (std::string a = d; !IsRoot(a); a = Parent(a)) chain.push_back(a);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    // std::filesystem::create_directories says ENOTDIR even for `d` itself.
    if (state_->IsFile(*it)) return Status::IOError("mkdir " + dir + ": " + std::strerror(ENOTDIR));
  }
  state_->dirs.insert(chain.begin(), chain.end());
  return fault;
}

Status MemFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kRemove, path, "", &applied);
  if (!fault.ok() && !applied) return fault;
  const std::string p = Normalize(path);
  const int e = state_->ParentErrno(p);
  if (e == ENOTDIR) return Errno("unlink", path, e);
  if (e == 0 && state_->IsDir(p)) return Errno("unlink", path, EISDIR);
  if (e == 0) state_->files.erase(p);
  return fault;
}

bool MemFileSystem::Exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  ++state_->calls[static_cast<size_t>(Op::kExists)];
  const std::string p = Normalize(path);
  return state_->IsFile(p) || (!p.empty() && state_->IsDir(p));
}

Result<std::vector<std::string>> MemFileSystem::ListDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kListDir, dir, "", &applied);
  if (!fault.ok()) return fault;  // listing changes nothing: applied or not
  const std::string d = Normalize(dir);
  const int e = state_->ParentErrno(d);
  if (e == ENOTDIR) return Errno("opendir", dir, e);
  if (state_->IsFile(d)) return Errno("opendir", dir, ENOTDIR);
  if (e == ENOENT || !state_->IsDir(d)) return Status::NotFound(dir + " does not exist");
  auto name = [&](const std::string& p) { return d == "/" ? p.substr(1) : d == "." ? p : p.substr(d.size() + 1); };
  std::vector<std::string> names;
  for (const auto& [f, _] : state_->files) {
    if (Parent(f) == d) names.push_back(name(f));
  }
  for (const auto& sub : state_->dirs) {
    if (Parent(sub) == d) names.push_back(name(sub));
  }
  return names;
}

Status MemFileSystem::RemoveDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kRemoveDir, dir, "", &applied);
  if (!fault.ok() && !applied) return fault;
  const std::string d = Normalize(dir);
  const int e = state_->ParentErrno(d);
  if (e == ENOTDIR) return Errno("rmdir", dir, e);
  if (e == ENOENT || (!state_->IsFile(d) && !state_->IsDir(d))) return fault;
  if (state_->IsFile(d)) return Errno("rmdir", dir, ENOTDIR);
  if (IsRoot(d)) return Errno("rmdir", dir, EBUSY);
  if (state_->HasChildren(d)) return Errno("rmdir", dir, ENOTEMPTY);
  state_->dirs.erase(d);
  return fault;
}

void MemFileSystem::InjectFault(Op op, int count, std::string path_contains, Status error, bool applied) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.push_back(Fault{op, count, std::move(path_contains), std::move(error), applied});
}

void MemFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.clear();
}

int MemFileSystem::Calls(Op op) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->calls[static_cast<size_t>(op)];
}

int MemFileSystem::Injected(Op op) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->injected[static_cast<size_t>(op)];
}

std::map<std::string, std::string> MemFileSystem::Files() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::map<std::string, std::string> out;
  for (const auto& [p, f] : state_->files) out[p] = f.data;
  return out;
}

std::set<std::string> MemFileSystem::Dirs() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->dirs;
}

bool MemFileSystem::Synced(const std::string& path) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->files.find(Normalize(path));
  return it != state_->files.end() && it->second.synced;
}

}  // namespace shardhose::test

namespace shardhose::test {

Status MemFileSystem::CheckWritableDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  bool applied = false;
  Status fault = Check(Op::kCheckWritableDir, dir, "", &applied);
  if (!fault.ok()) return fault;
  for (std::string a = Normalize(dir); !a.empty() && !IsRoot(a); a = Parent(a)) {
    if (state_->IsFile(a)) return Status::IOError(a + " is not a directory");
  }
  return Status::OK();
}

}  // namespace shardhose::test

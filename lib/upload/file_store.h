// File: upload/file_store.h
//
// The local-directory ObjectStore (the contract is upload/object_store.h):
// the same key layout as S3, under a local directory (endpoint_url =
// "file:///some/dir"). Each object is written atomically (temp file
// "<path>.tmp", fsync, rename, fsync the directory), so Put() OK means
// durable. Multipart uploads are kept under
// <root>/.shardhose-multipart/<upload id>/; the layout is described at the
// top of file_store.cc.
//
// Keys: empty keys, keys starting with '/', ending with '/', containing
// NUL, with a ".." segment or under ".shardhose-multipart/" are rejected
// with kInvalidArgument. Local failures are kIOError (common/fs.h).
//
// Conditional writes (object_store.h): supported; the file's existence is
// checked, then it is written (safe with one writer per key, which the
// contract and the checkpoint lock give; not atomic against other
// processes writing the directory).
//
// Thread-safety: as object_store.h (the temp file "<path>.tmp" is why two
// writes of one key must not overlap).
#pragma once

#include <memory>
#include <string>

#include "common/fs.h"
#include "upload/object_store.h"

namespace shardhose::upload {

// `root` is a local directory (created if missing). REQUIRES: fs outlives
// the store.
std::unique_ptr<ObjectStore> NewFileObjectStore(std::string root, FileSystem* fs);

}  // namespace shardhose::upload

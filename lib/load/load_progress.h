// File: load/load_progress.h
//
// Which data files of one export are in the lake: a small JSON file beside
// the checkpoint, "<checkpoint directory>/load-<export id>.json", replaced
// atomically (written to a temp file, fsynced, renamed, directory fsynced)
// after each data file's objects are all durable. A load that stops at any
// instant starts again at the first file not listed; a file's objects have
// deterministic keys and bytes (load/loader.h), so writing one again
// replaces it with the same bytes.
//
//   {"format":"shardhose-load-progress","version":1,"export_id":"...",
//    "settings":"...","files_done":[0,1,5]}
//
// `settings` is what shaped the objects (output format, compression,
// prefixes, batch limits): objects cut under other settings would have
// other keys, so a load resumed with different ones is refused
// (loader.h). A file that cannot be parsed is kCorruption naming it: the
// load stops rather than start over or skip ahead.
//
// Thread-safety: none needed; one load per export at a time.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/fs.h"
#include "common/status.h"

namespace shardhose::load {

struct LoadProgress {
  std::string export_id;
  std::string settings;
  std::set<size_t> files_done;  // indexes into manifest-files.json's lines
};

// "<dir of checkpoint_path>/load-<export id>.json".
std::string LoadProgressPath(std::string_view checkpoint_path, std::string_view export_id);

// nullopt if there is no file.
Result<std::optional<LoadProgress>> ReadLoadProgress(FileSystem* fs, const std::string& path);
Status WriteLoadProgress(FileSystem* fs, const std::string& path, const LoadProgress& progress);

}  // namespace shardhose::load

// File: load/loader.h
//
// `shardhose load`: a DynamoDB export's items into the lake, as SNAPSHOT
// lines (decode/change_record.h, kExportItem; an incremental export's
// changes as INSERT/MODIFY/REMOVE lines) through the same partition
// templates, output format and compression as the stream's lines.
//
// Per data file, in manifest order, skipping those the progress file
// (load/load_progress.h) lists:
//   read      the file's bytes (ExportReader: a local file, or S3
//             GetObject), retried with backoff;
//   verify    its md5Checksum, before anything of it is written: a mismatch
//             writes nothing for the file and fails the load naming it;
//   decode    its lines, gunzipped a chunk at a time (load/gzip_lines.h),
//             event id "<export id>:<file index>:<line number>", file
//             indexes from 0 in manifest order, line numbers from 1; a line
//             that is not an item becomes an error line (error_prefix);
//   batch     one open object per partition (load/object_builder.h:
//             with gzip, compressed 1 MiB at a time as lines arrive), cut
//             before a line would take it past batch.max_bytes
//             uncompressed (a longer line is an object alone), or at
//             batch.max_records lines;
//   upload    each cut as one object, a single PUT (max_bytes is at most
//             5 GiB, S3's limit for one PUT, so batch.part_bytes does not
//             apply), under
//               <partition><table>-<kind>-<export id>-<file:06>-<cut:04><suffix>
//             (kind "snapshot", or "incremental" for an incremental export),
//             cut numbers counted per partition within the file from 1, so
//             the same file under the same settings always gives the same
//             keys and the same bytes. Retried with backoff while the error
//             is retryable; any other error fails the load;
//   progress  once every object of the file is durable, the file is added
//             to the progress file.
// A data file is the unit of resumption: a load stopped mid-file writes
// that file's objects again, the same keys with the same bytes, so the
// lake never holds an item twice. Settings that shape the objects are kept
// in the progress file; resuming under others is refused (kFailedPrecondition,
// naming what changed) rather than cut the rest differently.
//
// Memory: one data file's bytes as stored (gzip), plus per open partition
// its object so far (with gzip: compressed, plus one 1 MiB chunk; without:
// up to batch.max_bytes) -- SNAPSHOT lines share one event time, so usually
// one partition plus the errors'; an incremental export's changes open one
// per event-time partition of its window. Not the export's size:
// bench/load_bench.cc measures it.
//
// Thread-safety: one Run() at a time; the progress callback is called on
// the caller's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/fs.h"
#include "common/status.h"
#include "config/config.h"
#include "load/export_manifest.h"
#include "upload/object_store.h"

namespace shardhose::load {

// Where the export's files are read from.
class ExportReader {
 public:
  virtual ~ExportReader() = default;
  // The whole file at `where` (a path, or an S3 key). One attempt; errors
  // classified as for ObjectStore (retryable or not).
  virtual Result<std::string> Read(const std::string& where) = 0;
  // "s3://bucket/key" / the path, for messages.
  virtual std::string Name(const std::string& where) const = 0;
};
// Files of a local directory, through `fs`.
std::unique_ptr<ExportReader> NewLocalExportReader(FileSystem* fs);
// Objects of an S3 bucket, through `store` (ObjectStore::Get).
std::unique_ptr<ExportReader> NewS3ExportReader(upload::ObjectStore* store, std::string bucket);

struct LoadStats {
  size_t files_total = 0;
  size_t files_done = 0;     // in the lake, this run or before
  size_t files_skipped = 0;  // done before this run
  uint64_t items = 0;        // SNAPSHOT lines written this run
  uint64_t error_lines = 0;
  uint64_t bytes_read = 0;  // export data, as stored (gzip)
  uint64_t bytes_in = 0;    // export data, decompressed (its lines)
  uint64_t bytes_out = 0;   // uncompressed output lines
  uint64_t objects = 0;
};

struct LoadOptions {
  ExportLocation location;
  std::vector<std::string> key_attributes;  // the table's key schema
  std::string progress_path;                // load/load_progress.h
  // Called after each data file and about once a second within one.
  std::function<void(const LoadStats&)> on_progress;
};

class Loader {
 public:
  // REQUIRES: every pointer outlives the Loader.
  Loader(const config::Config& cfg, ExportReader* in, upload::ObjectStore* out, FileSystem* fs, Clock* clock);

  // The export's summary (manifest-summary.json): the table, export time
  // and id, for Run().
  Result<ExportSummary> ReadSummary(const ExportLocation& location);

  // Loads every data file of the export `summary` describes not yet done.
  // OK: all are in the lake.
  Result<LoadStats> Run(const LoadOptions& options, const ExportSummary& summary);

 private:
  class FileLoad;
  Result<std::string> ReadWithRetry(const std::string& where);
  Status PutWithRetry(const std::string& key, std::string_view body);
  std::string Settings(const std::vector<std::string>& key_attributes) const;

  const config::Config& cfg_;
  ExportReader* const in_;
  upload::ObjectStore* const out_;
  FileSystem* const fs_;
  Clock* const clock_;
};

}  // namespace shardhose::load

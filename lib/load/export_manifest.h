// File: load/export_manifest.h
//
// What a DynamoDB export says about itself (AWS's "DynamoDB table export
// output format"): manifest-summary.json, one JSON object, and
// manifest-files.json, one JSON object per line, one line per data file.
// Parsing is strict about what the load relies on and ignores the rest:
//   summary: exportArn (the export id is its last path part), tableArn (the
//            table name is the part after "table/"), exportTime (RFC 3339),
//            outputFormat ("DYNAMODB_JSON"; "ION" is refused, naming it),
//            exportType ("FULL_EXPORT" when absent; "INCREMENTAL_EXPORT"),
//            itemCount;
//   files:   dataFileS3Key, itemCount, md5Checksum (base64 of the MD5 of the
//            data file's bytes, as stored: gzip), etag.
// Every error is kInvalidArgument naming the file and the member.
//
// Where a data file is (ResolveDataFile): the manifest gives keys as S3
// keys. Real exports give the full key, the export's prefix included; a key
// that begins "AWSDynamoDB/" (as in the documentation's example) is taken
// relative to the export's parent prefix. For an export copied to a local
// directory, the part after "AWSDynamoDB/<export id>/" maps into it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shardhose::load {

struct ExportSummary {
  std::string export_arn;
  std::string export_id;  // the last part of export_arn: "01716200000000-abcdef12"
  std::string table_arn;
  std::string table;  // from table_arn
  int64_t export_time_us = 0;
  bool incremental = false;  // exportType INCREMENTAL_EXPORT
  int64_t item_count = -1;   // -1 if not given
};

struct ExportDataFile {
  std::string key;          // dataFileS3Key as given
  int64_t item_count = -1;  // -1 if not given
  std::string md5_base64;   // md5Checksum; "" if not given
  std::string etag;
};

// `what` names the file in messages ("manifest-summary.json").
Result<ExportSummary> ParseManifestSummary(std::string_view json, std::string_view what);
Result<std::vector<ExportDataFile>> ParseManifestFiles(std::string_view ndjson, std::string_view what);

// Where an export is: an S3 folder or a local directory. Parsed from the
// --export argument: "s3://bucket/prefix/AWSDynamoDB/<id>/" or a path.
struct ExportLocation {
  bool s3 = false;
  std::string bucket;  // s3
  // s3: the key prefix of the export's folder, ending in '/'; local: the
  // directory, without a '/' at the end.
  std::string folder;
};
Result<ExportLocation> ParseExportLocation(std::string_view uri);

// The S3 key (s3) or file path (local) of the export's own file `name`
// ("manifest-summary.json").
std::string ExportFile(const ExportLocation& loc, std::string_view name);
// The S3 key or file path of a data file named by the manifest of export
// `export_id`. Refuses a key holding a ".." part or, for a local
// directory, one that does not lie under "AWSDynamoDB/<export id>/".
Result<std::string> ResolveDataFile(const ExportLocation& loc, std::string_view export_id,
                                    std::string_view data_file_key);

}  // namespace shardhose::load

// File: daemon/load_command.h
//
// `shardhose load --config F (--export URI | --start-export s3://bucket/prefix
// [--table T]) [--key-attributes pk,sk] [--then-stream [--drain]
// [--then-stream-margin-s N]]`: a
// DynamoDB export's items into the lake as SNAPSHOT lines, or an
// incremental export's changes as change lines (load/loader.h
// has what is written and how a stopped load resumes). URI is the export's
// folder: s3://bucket/prefix/AWSDynamoDB/<export id>/ (read with the
// [output] S3 settings: region, endpoint, credentials) or a local
// directory; [load] region / endpoint_url, when set, replace [output]'s
// for it. The key schema is --key-attributes, else [load] key_attributes,
// else the table's (DescribeTable at [load] dynamodb_endpoint_url, else
// source.table_endpoint_url for a dynamodb-streams source, else
// coordination.endpoint_url: AWS_ENDPOINT_URL_DYNAMODB). The
// progress file lives beside the checkpoint (load/load_progress.h). A
// progress line goes to stderr after each data file and every few seconds.
//
// Exit status: 0 every data file is in the lake; 1 a data file could not be
// read or written, or does not match its manifest's MD5 (nothing of it
// written; named), or the export started with --start-export FAILED; 2 bad
// configuration or options, an ION export, a manifest that cannot be
// parsed, point-in-time recovery off for --start-export; 3 the progress
// file is corrupt, or the load was begun with other output settings; 4
// another load of the same export is running (it holds "<progress
// file>.lock"). With --then-stream, after a load that ends 0, the exit
// status of `run`.
#pragma once

#include <string>

#include "commands.h"

namespace shardhose::daemon {

struct LoadOptions {
  std::string export_uri;  // or start_export
  // --start-export s3://bucket/prefix: ExportTableToPointInTime of `table`
  // (default source.table_name) into it, waited for, then loaded
  // (start_export.h); the DynamoDB endpoint is the one DescribeTable uses.
  std::string start_export;
  std::string table;
  std::string key_attributes;  // "pk,sk"; "" = DescribeTable
  // --then-stream: once every data file is in the lake, go on as `shardhose
  // run` (--drain: `run --drain`). With no checkpoint yet, the stream's
  // first start is the export time minus `margin_s`: AT_TIMESTAMP for a
  // Kinesis source (ApproximateArrivalTimestamp, which trails the change a
  // little; changes before the export that are read too lose to the
  // snapshot in <table>_latest); for DynamoDB Streams, which has no
  // AT_TIMESTAMP, TRIM_HORIZON while that time is within the 24 hours a
  // record is kept, refused (exit 2) once it is not. With a checkpoint the
  // stream goes on from it (it was started before, a note says so).
  bool then_stream = false;
  bool drain = false;
  int64_t margin_s = 300;
};

int LoadCommand(const CommonOptions& options, const LoadOptions& load);

}  // namespace shardhose::daemon

// File: daemon/start_export.h
//
// `shardhose load --start-export s3://bucket/prefix`: asks DynamoDB for a
// full export of the table as it is now (ExportTableToPointInTime, format
// DYNAMODB_JSON), waits for it (DescribeExport), and answers the export's
// folder, s3://bucket/<prefix>/AWSDynamoDB/<export id>/, for the load.
//
//   1. DescribeTable gives the TableArn;
//   2. ExportTableToPointInTime {TableArn, S3Bucket, S3Prefix,
//      ExportFormat DYNAMODB_JSON, ClientToken}. The ClientToken is derived
//      from the table ARN, bucket and prefix, so a command run again (after
//      a crash or a ^C while waiting) finds the same export within the 8
//      hours DynamoDB keeps tokens instead of starting a second one.
//      PointInTimeRecoveryUnavailableException (point-in-time recovery is
//      off) is kFailedPrecondition with the command that turns it on;
//   3. DescribeExport every `poll` (doubling from 1 s up to it) until
//      COMPLETED (its ExportManifest names the folder) or FAILED
//      (kUnavailable with FailureCode and FailureMessage). Throttling and
//      5xx are retried; other errors end the wait.
// `on_wait` is told the status after each DescribeExport.
//
// Thread-safety: one call at a time per client (the client is thread-safe).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "aws/dynamodb.h"
#include "common/clock.h"
#include "common/status.h"

namespace shardhose::daemon {

struct ExportRequest {
  std::string table;
  std::string bucket;
  std::string prefix;  // no leading or trailing '/'; may be empty
  std::chrono::seconds poll{10};
};

// The export's folder, "s3://<bucket>/<prefix>/AWSDynamoDB/<export id>/".
Result<std::string> StartExportAndWait(const aws::DynamoDbClient& ddb, const ExportRequest& req, Clock* clock,
                                       const std::function<void(const std::string& status, double seconds)>& on_wait);

}  // namespace shardhose::daemon

// File: pipeline/destination_check.h
//
// The start-up check of the output, run by `shardhose run` before the
// stream is read: a small object is written to
// <static part of output.prefix>_shardhose_probe (the prefix up to its
// first '{', e.g. "ddb/_shardhose_probe"; names starting with '_' are
// ignored by Athena and Hive, and the key is inside the grant of
// deploy/iam-policy.json, which covers the static part). A static part
// that ends mid-segment ("lake/table_name=" of "lake/table_name={table}/")
// takes the probe one level down,
// "lake/table_name=_shardhose_probe/_shardhose_probe", so the object's
// name still starts with '_' and the key stays inside the grant. The same
// under output.error_prefix ("errors/_shardhose_probe"), where records
// that fail to decode go. That proves the bucket exists, the credentials
// resolve and are accepted, s3:PutObject (and KMS, under SSE-KMS) is
// allowed; for file:// that the directory is writable. HeadBucket is not
// used: it needs s3:ListBucket.
//
// With output.conditional_writes = "auto" the probe is then written again
// with If-None-Match: *: 412 means the store honours conditional writes
// (S3, moto, the file store); a 2xx means it ignores them (s3rver).
//
// Failures retrying can fix (network, 5xx, throttling) are retried with
// back-off until `budget` is spent; the others (NoSuchBucket,
// AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, ...) end the
// check at once. The error Status names the AWS code and what to do.
#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "upload/object_store.h"

namespace shardhose::pipeline {

// The keys the probe is written to: under output.prefix, and under
// output.error_prefix (when its static part differs).
std::string ProbeKey(const config::Config& cfg);
std::string ErrorProbeKey(const config::Config& cfg);

// Checks the destination; on success returns whether conditional writes
// are to be used (output.conditional_writes "on"/"off" as set, "auto" as
// probed). REQUIRES: store and clock outlive the call.
Result<bool> CheckDestination(upload::ObjectStore* store, const config::Config& cfg, Clock* clock,
                              std::chrono::seconds budget = std::chrono::seconds(60));

}  // namespace shardhose::pipeline

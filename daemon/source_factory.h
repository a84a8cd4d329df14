// File: daemon/source_factory.h
//
// The configured change source (source.type; poll/change_source.h), built
// in one place for `run` and for the commands that read the stream (`tap`,
// `checkpoint show`, `leases`), so that each reads the stream the daemon
// reads: a Kinesis data stream -- polled, or through an enhanced fan-out
// consumer when source.consumer = "efo" and the caller asks for it -- or a
// table's DynamoDB stream (source.table_name or stream_arn).
#pragma once

#include <chrono>
#include <memory>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
#include "config/config.h"
#include "poll/change_source.h"
#include "poll/kinesis_client.h"

namespace shardhose::daemon {

struct SourceUse {
  bool efo = false;  // honour source.consumer = "efo" (only `run` does: it registers a consumer)
  std::chrono::milliseconds timeout{30000};  // each API call
};

// Owns the clients behind `source`. Destroyed as a whole.
struct ConfiguredSource {
  std::unique_ptr<poll::KinesisClient> kinesis;  // Kinesis only
  std::unique_ptr<poll::KinesisClient> efo;      // reads records; everything else goes through `kinesis`
  std::unique_ptr<poll::ChangeSource> source;
};

// REQUIRES: http, creds and clock outlive the result. Makes no call.
ConfiguredSource NewConfiguredSource(const config::Config& cfg, aws::HttpClient* http, aws::CredentialsProvider* creds,
                                     Clock* clock, SourceUse use = {});

}  // namespace shardhose::daemon

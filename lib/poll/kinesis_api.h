// File: poll/kinesis_api.h
//
// The KinesisClient (poll/kinesis_client.h) that calls the Kinesis Data
// Streams API over HTTP: the JSON protocol (POST /, X-Amz-Target:
// Kinesis_20131202.<Op>, SigV4 service "kinesis"; requests built by
// kinesis_request.h), records read by GetRecords polling. Each method is
// one attempt as kinesis_client.h says; ListShards follows NextToken
// paging, one attempt per page. Implemented in kinesis_client.cc.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "aws/credentials.h"
#include "aws/http.h"
#include "common/clock.h"
#include "poll/kinesis_client.h"

namespace shardhose::poll {

struct KinesisOptions {
  std::string region = "us-east-1";
  std::string endpoint_url;  // "" = https://kinesis.<region>.amazonaws.com
  std::chrono::milliseconds timeout{30000};
};

// REQUIRES: http, creds and clock outlive the client.
std::unique_ptr<KinesisClient> NewKinesisClient(KinesisOptions options, aws::HttpClient* http,
                                                aws::CredentialsProvider* creds, Clock* clock);

}  // namespace shardhose::poll

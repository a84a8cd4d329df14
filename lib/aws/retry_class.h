// File: aws/retry_class.h
//
// Turns an AWS HTTP answer into a Status with a RetryClass, once, at the
// edge. Everything above the edge decides what to do from
// Status::retry_class() and Status::peer_code() alone.
//
//   2xx                                   -> OK
//   429, 503 SlowDown, *Throttl*, ProvisionedThroughputExceededException,
//   LimitExceededException, RequestLimitExceeded -> kThrottled (kUnavailable)
//   5xx                                   -> kServerError (kUnavailable)
//   403 ExpiredToken / RequestExpired / SignatureDoesNotMatch with skew
//                                         -> kServerError (retry after refresh)
//   other 4xx                             -> kClientError; status code
//        kNotFound (ResourceNotFoundException, NoSuchBucket),
//        kPermissionDenied (AccessDenied*, 401/403),
//        kInvalidArgument otherwise (ExpiredIteratorException included:
//        callers match on peer_code()).
#pragma once

#include <string>
#include <string_view>

#include "aws/http.h"
#include "common/status.h"

namespace shardhose::aws {

// The AWS error code of a failed response: the JSON "__type" (after any
// '#'), the XML <Code>, or the x-amzn-ErrorType header; "" if none.
std::string AwsErrorCode(const HttpResponse& response);

// OK for 2xx; otherwise a Status classified as above, whose message names
// `operation`, the HTTP status, the AWS code and message.
Status ClassifyResponse(std::string_view operation, const HttpResponse& response);

}  // namespace shardhose::aws

// File: aws/retry_class.h
//
// Turns an AWS HTTP answer into a Status with a RetryClass, once, at the
// edge. Everything above the edge decides what to do from
// Status::retry_class() and Status::peer_code() alone.
//
// The AWS code comes from the body (JSON "__type"/"code", XML <Code>) or
// the x-amzn-ErrorType header; the first row that matches wins:
//
//   2xx                                   -> OK
//   429, 503 SlowDown, *Throttl*, ProvisionedThroughputExceededException,
//   LimitExceededException, RequestLimitExceeded, TooManyRequestsException,
//   BandwidthLimitExceeded                -> kThrottled (kUnavailable)
//   5xx                                   -> kServerError (kUnavailable)
//   409 ConditionalRequestConflict (S3: a conditional write raced another)
//                                         -> kServerError (kUnavailable)
//   4xx ExpiredToken(Exception) / RequestExpired / RequestTimeTooSkewed /
//   RequestInTheFuture, SignatureDoesNotMatch / InvalidSignatureException
//   whose message says "Signature expired" or "skew"
//                                         -> kServerError (kUnavailable;
//                                            retry after refresh/re-sign)
//   other 4xx                             -> kClientError; status code
//        kNotFound (ResourceNotFoundException, NoSuchBucket, NoSuchKey,
//          NoSuchUpload, 404 without a code),
//        kPermissionDenied (AccessDenied*, InvalidAccessKeyId,
//          UnrecognizedClientException, signature errors, 401/403),
//        kInvalidArgument otherwise (ExpiredIteratorException included:
//        callers match on peer_code()). 1xx/3xx (e.g. S3's 301
//        PermanentRedirect) are treated like "other 4xx".
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

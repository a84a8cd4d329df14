// File: aws/http.h
//
// The HTTP transport seam. Every request shardhose makes to AWS (Kinesis,
// S3, and later STS/IMDS) goes through an HttpClient, so unit tests can put
// an in-process fake behind it and the real implementation (libcurl) is the
// only code that touches sockets.
//
// Contract of Send():
//   - Returns the response for ANY HTTP status (2xx, 4xx, 5xx are all OK
//     Results); interpreting the status is the caller's job (retry_class.h).
//   - Returns a non-OK Status with RetryClass::kNetwork only when no complete
//     HTTP response arrived: DNS failure, connection refused or reset, TLS
//     failure, or a timeout.
//   - Returns InvalidArgument (no retry class) for a URL curl cannot use
//     (malformed, unsupported scheme).
//   - Never retries by itself and never sleeps.
//   - Sends a body (any method but GET/HEAD/DELETE without one; PUT and POST
//     always) with Content-Length from the caller's bytes, never
//     "Transfer-Encoding: chunked" and never "Expect: 100-continue"; adds no
//     Content-Type of its own. Redirects are not followed. Error messages
//     name the URL without its query (presigned queries carry secrets).
//
// Thread-safety: Send() may be called concurrently from any number of
// threads. Connections are pooled and reused (keep-alive).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shardhose::aws {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "GET";  // GET, PUT, POST, HEAD, DELETE
  // Absolute URL, scheme://host[:port]/path[?query], with path and query
  // already URI-encoded exactly as they are to be sent (and signed).
  std::string url;
  std::vector<HttpHeader> headers;
  // The body. REQUIRES: the viewed bytes stay alive until Send() returns.
  std::string_view body;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{60000};  // whole request, 0 = none
  // Where the response body goes; nullptr = HttpResponse::body. A caller
  // that sends many requests with large answers (a poller's GetRecords
  // page) passes one buffer it reuses: it is cleared, its capacity kept, so
  // no reallocation and no freshly faulted-in pages per answer.
  // REQUIRES: the string outlives Send() and nothing else touches it meanwhile.
  // (Test doubles may ignore it and answer in HttpResponse::body.)
  std::string* body_sink = nullptr;

  // Sets (replacing, case-insensitively) or adds a header.
  void SetHeader(std::string_view name, std::string value);
  // The value of the first header named `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;  // names as received
  std::string body;

  std::string_view Header(std::string_view name) const;  // case-insensitive
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// The libcurl implementation. Thread-safe; keeps a pool of easy handles.
std::unique_ptr<HttpClient> NewCurlHttpClient();

// URI-encodes per SigV4 rules: unreserved characters (A-Z a-z 0-9 - _ . ~)
// pass through, everything else becomes %XX (uppercase hex). If
// `keep_slash`, '/' passes through too (for object keys in paths).
std::string UriEncode(std::string_view s, bool keep_slash);

}  // namespace shardhose::aws

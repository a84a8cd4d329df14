// File: aws/http.h
//
// The HTTP transport seam. Every request shardhose makes to AWS (Kinesis,
// S3, and later STS/IMDS) goes through an HttpClient, so unit tests can put
// an in-process fake behind it and the real implementation (libcurl,
// aws/curl_http.h) is the only code that touches sockets.
//
// Contract of Send():
//   - Returns the response for ANY HTTP status (2xx, 4xx, 5xx are all OK
//     Results); interpreting the status is the caller's job (retry_class.h).
//   - Returns a non-OK Status with RetryClass::kNetwork only when no complete
//     HTTP response arrived: DNS failure, connection refused or reset, TLS
//     failure, or a timeout.
//   - Returns InvalidArgument (no retry class) for a URL the client cannot
//     use (malformed, unsupported scheme).
//   - Never retries by itself and never sleeps.
//   - Sends a body (any method but GET/HEAD/DELETE without one; PUT and POST
//     always) with Content-Length from the caller's bytes, never
//     "Transfer-Encoding: chunked" and never "Expect: 100-continue"; adds no
//     Content-Type of its own. Redirects are not followed. Error messages
//     name the URL without its query (presigned queries carry secrets).
//
// Contract of Stream() (a long response read as it arrives, e.g. Kinesis
// SubscribeToShard's HTTP/2 event stream, open for up to 5 minutes):
//   - Sends the request as Send() does (but in HTTP/2 if asked), then
//     calls `on_head(head)` once with the final status and headers (head.body
//     empty; interim 1xx responses are skipped), and `on_body(bytes)` with
//     the body's bytes in order as they arrive, in pieces of any size > 0.
//     Both run on the calling thread; they may block (reading stops, and
//     TCP or HTTP/2 flow control holds the server back).
//   - Returns StreamEnd::kComplete when the whole response arrived (any
//     status, as Send()), StreamEnd::kStopped when a callback returned
//     false or `*stop` was seen true: the transfer is abandoned and its
//     connection closed. `*stop` may be set from any thread and is seen
//     within about a second, also while no bytes arrive.
//   - Errors as Send(): RetryClass::kNetwork when no complete response
//     arrived (connect failure, reset, TLS failure, the request's
//     `timeout` -- the whole stream, 0 = none, which a stream usually
//     wants -- a stall (see stall_timeout), the connection ending
//     mid-body); the callbacks may have seen part of the response by then.
//     InvalidArgument for an unusable URL. Never retries, never sleeps.
//   - `body_sink` is ignored.
//   The default implementation, for test doubles that answer only Send(),
//   sends with Send() and delivers the whole body in one piece.
//
// Thread-safety: Send() and Stream() may be called concurrently from any
// number of threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
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

// How a Stream() is read (see the contract at the top).
struct HttpStreamOptions {
  // HTTP/2: negotiated by ALPN for https:// (HTTP/1.1 if the server does
  // not offer h2), by prior knowledge for http:// (the server must speak
  // h2c). false = HTTP/1.1, as Send().
  bool http2 = false;
  // No byte of the response for this long (from the start, or since the
  // last byte, time spent in the callbacks not counted) ends the stream
  // with kNetwork; 0 = no limit. Checked about once a second.
  std::chrono::milliseconds stall_timeout{0};
  // Polled while streaming; true stops the stream (kStopped).
  // REQUIRES: outlives Stream(). nullptr = never.
  const std::atomic<bool>* stop = nullptr;
  // The response head: final status and headers. false = stop. nullptr =
  // go on.
  std::function<bool(const HttpResponse& head)> on_head;
  // The next bytes of the body. false = stop. Required.
  std::function<bool(std::string_view bytes)> on_body;
};

enum class StreamEnd {
  kComplete,  // the whole response arrived
  kStopped,   // a callback returned false, or *stop was set
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
  // REQUIRES: options.on_body is set.
  virtual Result<StreamEnd> Stream(const HttpRequest& request, const HttpStreamOptions& options);
};

// URI-encodes per SigV4 rules: unreserved characters (A-Z a-z 0-9 - _ . ~)
// pass through, everything else becomes %XX (uppercase hex). If
// `keep_slash`, '/' passes through too (for object keys in paths).
std::string UriEncode(std::string_view s, bool keep_slash);

}  // namespace shardhose::aws

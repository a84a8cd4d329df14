// File: aws/curl_http.h
//
// The libcurl HttpClient (the contract is aws/http.h), the only code in
// shardhose that touches sockets. Send()'s connections are pooled and
// reused (keep-alive): the client keeps a pool of easy handles. Each
// Stream() runs on a connection of its own, closed at the end (streams are
// few and long; none is pooled). A URL curl cannot use (malformed,
// unsupported scheme) is InvalidArgument. How it does this is at the top
// of http.cc, which implements it.
//
// Thread-safety: thread-safe, as http.h says.
#pragma once

#include <memory>

#include "aws/http.h"

namespace shardhose::aws {

// The libcurl implementation. Thread-safe; keeps a pool of easy handles
// for Send(); each Stream() uses a handle of its own.
std::unique_ptr<HttpClient> NewCurlHttpClient();

}  // namespace shardhose::aws

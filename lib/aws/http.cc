// The libcurl HttpClient.
//
// Connection reuse: a CurlHttpClient owns a pool of easy handles. Send()
// takes one out of the pool under the mutex, resets its options (which keeps
// its live connections and DNS cache), performs the request without holding
// the mutex, and puts the handle back. Keep-alive therefore works across
// requests as long as the pool has a free handle for the host.
//
// What goes on the wire: the request's own headers, plus what curl adds
// itself (Host, Content-Length, Accept). "Expect: 100-continue" and
// "Transfer-Encoding: chunked" are suppressed; a body is always sent with a
// Content-Length straight from the caller's string_view (no copy).
//
// Stream() sets the same options (SetRequestOptions) on an easy handle of
// its own, cleaned up (connection closed) when the stream ends. The head
// goes to on_head at the blank line that ends the final header block (or
// with the first body byte, or at the end of a response without a body);
// a progress callback, which curl calls at least once a second even when
// idle, polls the stop flag and the stall timer. The stall timer is ours,
// not curl's low-speed check, which averages over the last ~5 s and so
// noticed a stall up to 6 s late.
#include "aws/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "aws/curl_http.h"
#include "common/mutex.h"

namespace shardhose::aws {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view FindHeader(const std::vector<HttpHeader>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

bool HasHeader(const std::vector<HttpHeader>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const HttpHeader& h) { return EqualsIgnoreCase(h.name, name); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Owns a curl_slist.
class HeaderList {
 public:
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  ~HeaderList() { curl_slist_free_all(list_); }
  bool Append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) return false;
    list_ = next;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// Adds one header line as curl hands it over to *headers; a status line
// ("HTTP/...", a new header block, e.g. after an interim 1xx response)
// starts over.
void AddHeaderLine(std::string_view line, std::vector<HttpHeader>* headers) {
  if (line.starts_with("HTTP/")) {
    headers->clear();
    return;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;  // blank line, junk
  HttpHeader h;
  h.name = std::string(Trim(line.substr(0, colon)));
  h.value = std::string(Trim(line.substr(colon + 1)));
  if (!h.name.empty()) headers->push_back(std::move(h));
}

// Per-request state the callbacks write into.
struct Transfer {
  HttpResponse response;
  std::string* body = &response.body;  // or the request's body_sink
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->body->empty()) {
    // First bytes: size the buffer from Content-Length once, instead of
    // doubling through a large answer (a reused buffer too, when this answer
    // is bigger than any before it: one move, not one per doubling).
    const std::string_view length = t->response.Header("Content-Length");
    size_t n = 0;
    for (char c : length) {
      if (c < '0' || c > '9' || n > (size_t{1} << 40)) {
        n = 0;
        break;
      }
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    // + room for a parser's SIMD padding (poll/kinesis_client.cc pads in
    // place), so that does not reallocate either.
    if (n > 0 && n <= (size_t{64} << 20) && n + 64 > t->body->capacity()) t->body->reserve(n + 64);
  }
  t->body->append(data, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  AddHeaderLine(std::string_view(data, size * nmemb), &t->response.headers);
  return size * nmemb;
}

// Per-stream state the callbacks write into.
struct StreamTransfer {
  const HttpStreamOptions* options = nullptr;
  CURL* handle = nullptr;
  HttpResponse head;
  bool head_sent = false;
  bool stopped = false;  // a callback said stop, or *stop was seen
  bool stalled = false;  // stall_timeout passed without a byte
  // When the last byte arrived (or the stream started, or a callback that
  // may block returned: time spent in the caller's callbacks is no stall).
  std::chrono::steady_clock::time_point last_byte = std::chrono::steady_clock::now();
};

// Hands the head to on_head, once. False: stop.
bool DeliverHead(StreamTransfer* t) {
  if (t->head_sent) return true;
  t->head_sent = true;
  long code = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
  t->head.status = static_cast<int>(code);
  if (t->options->on_head && !t->options->on_head(t->head)) {
    t->stopped = true;
    return false;
  }
  return true;
}

size_t StreamHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<StreamTransfer*>(user);
  const std::string_view line(data, size * nmemb);
  t->last_byte = std::chrono::steady_clock::now();
  if (t->head_sent) return line.size();  // trailers
  if (line == "\r\n" || line == "\n") {
    // The end of a header block: the final one unless 1xx (or a proxy's
    // CONNECT answer, which leaves the response code 0).
    long code = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && !DeliverHead(t)) return 0;
    t->last_byte = std::chrono::steady_clock::now();
    return line.size();
  }
  AddHeaderLine(line, &t->head.headers);
  return line.size();
}

size_t StreamBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<StreamTransfer*>(user);
  const size_t n = size * nmemb;
  if (!DeliverHead(t)) return 0;
  if (n == 0) return 0;
  if (!t->options->on_body(std::string_view(data, n))) {
    t->stopped = true;
    return 0;
  }
  t->last_byte = std::chrono::steady_clock::now();
  return n;
}

int StreamProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<StreamTransfer*>(user);
  if (t->options->stop != nullptr && t->options->stop->load()) {
    t->stopped = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  const auto stall = t->options->stall_timeout;
  if (stall.count() > 0 && std::chrono::steady_clock::now() - t->last_byte >= stall) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

// The URL without its query (a presigned URL's query holds a signature and
// possibly a session token).
std::string UrlForLog(const std::string& url) { return url.substr(0, url.find('?')); }

// Sets what every request needs, Send() and Stream() alike: URL, method
// and body, headers, HTTP/1.1, timeouts, the error buffer. `*headers` and
// `errbuf` are pointed to by the handle: the caller keeps them alive until
// the transfer is over and clears CURLOPT_HTTPHEADER and
// CURLOPT_ERRORBUFFER before they go.
Status SetRequestOptions(CURL* h, const HttpRequest& req, HeaderList* headers, char* errbuf) {
  errbuf[0] = '\0';
  bool ok = true;
  for (const auto& hd : req.headers) {
    // "Name;" is curl's syntax for a header with an empty value.
    ok = ok && headers->Append(hd.value.empty() ? hd.name + ";" : hd.name + ": " + hd.value);
  }
  // Never let curl add these on its own.
  if (!HasHeader(req.headers, "Expect")) ok = ok && headers->Append("Expect:");
  if (!HasHeader(req.headers, "Transfer-Encoding")) ok = ok && headers->Append("Transfer-Encoding:");
  // curl would add "Content-Type: application/x-www-form-urlencoded" to a
  // body sent with POSTFIELDS.
  if (!HasHeader(req.headers, "Content-Type")) ok = ok && headers->Append("Content-Type:");
  if (!ok) return Status::Internal("curl_slist_append failed");

  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // the path is signed as is
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));

  const std::string& m = req.method;
  if (m == "GET" && req.body.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (m == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (m == "DELETE" && req.body.empty()) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    // POST, PUT, or anything with a body: POSTFIELDS sends the caller's
    // bytes without copying, with a Content-Length (also for size 0).
    static const char kEmpty[] = "";
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? kEmpty : req.body.data());
    if (m != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers->get());
  return Status::OK();
}

// A failed curl_easy_perform, classified as the contract says.
Status TransferError(const HttpRequest& req, CURLcode rc, const char* errbuf) {
  std::string msg = std::string(req.method) + " " + UrlForLog(req.url) + ": " + curl_easy_strerror(rc);
  if (errbuf[0] != '\0') {
    msg += " (";
    msg += errbuf;
    msg += ")";
  }
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return Status::InvalidArgument(std::move(msg));
    case CURLE_OUT_OF_MEMORY:
      return Status::Internal(std::move(msg));
    default:
      return Status::Unavailable(std::move(msg)).WithPeer(RetryClass::kNetwork, "");
  }
}

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient() { GlobalInitOnce(); }
  ~CurlHttpClient() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    CURL* handle = Acquire();
    if (handle == nullptr) return Status::Internal("curl_easy_init failed");
    Result<HttpResponse> result = Perform(handle, request);
    Release(handle);
    return result;
  }

  Result<StreamEnd> Stream(const HttpRequest& request, const HttpStreamOptions& options) override {
    // Declared before the handle, which points to them: destroyed after it.
    HeaderList headers;
    char errbuf[CURL_ERROR_SIZE];
    std::unique_ptr<CURL, void (*)(CURL*)> handle(curl_easy_init(), &curl_easy_cleanup);
    if (handle == nullptr) return Status::Internal("curl_easy_init failed");
    CURL* h = handle.get();
    SHARDHOSE_RETURN_IF_ERROR(SetRequestOptions(h, request, &headers, errbuf));
    if (options.http2) {
      const bool tls = request.url.starts_with("https://");
      curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                       tls ? long{CURL_HTTP_VERSION_2TLS} : long{CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE});
    }
    StreamTransfer t;
    t.options = &options;
    t.handle = h;
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &StreamHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &StreamBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &StreamProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);

    const CURLcode rc = curl_easy_perform(h);
    if (t.stopped) return StreamEnd::kStopped;  // the abort we asked for
    if (t.stalled) {
      return Status::Unavailable(std::string(request.method) + " " + UrlForLog(request.url) + ": no byte for " +
                                 std::to_string(options.stall_timeout.count()) + " ms")
          .WithPeer(RetryClass::kNetwork, "");
    }
    if (rc != CURLE_OK) return TransferError(request, rc, errbuf);
    // A response without a body has not been handed over yet.
    return DeliverHead(&t) ? StreamEnd::kComplete : StreamEnd::kStopped;
  }

 private:
  static constexpr size_t kMaxIdleHandles = 32;

  CURL* Acquire() {
    {
      MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* handle) {
    {
      MutexLock lock(&mu_);
      if (idle_.size() < kMaxIdleHandles) {
        idle_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }

  static Result<HttpResponse> Perform(CURL* h, const HttpRequest& req) {
    // Keeps the handle's connection cache; clears every option.
    curl_easy_reset(h);

    Transfer transfer;
    if (req.body_sink != nullptr) {
      req.body_sink->clear();
      transfer.body = req.body_sink;
    }
    char errbuf[CURL_ERROR_SIZE];
    HeaderList headers;
    SHARDHOSE_RETURN_IF_ERROR(SetRequestOptions(h, req, &headers, errbuf));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);

    CURLcode rc = curl_easy_perform(h);
    // The handle keeps pointers to `headers` and `errbuf`; clear them before
    // both go out of scope (the handle returns to the pool).
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    Status error = rc == CURLE_OK ? Status::OK() : TransferError(req, rc, errbuf);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (!error.ok()) return error;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    transfer.response.status = static_cast<int>(code);
    return std::move(transfer.response);
  }

  Mutex mu_;
  std::vector<CURL*> idle_ GUARDED_BY(mu_);
};

}  // namespace

void HttpRequest::SetHeader(std::string_view name, std::string value) {
  auto it =
      std::find_if(headers.begin(), headers.end(), [&](const HttpHeader& h) { return EqualsIgnoreCase(h.name, name); });
  if (it == headers.end()) {
    headers.push_back(HttpHeader{std::string(name), std::move(value)});
    return;
  }
  it->value = std::move(value);
  // Drop any further headers of the same name.
  auto rest =
      std::remove_if(std::next(it), headers.end(), [&](const HttpHeader& h) { return EqualsIgnoreCase(h.name, name); });
  headers.erase(rest, headers.end());
}

std::string_view HttpRequest::Header(std::string_view name) const { return FindHeader(headers, name); }

std::string_view HttpResponse::Header(std::string_view name) const { return FindHeader(headers, name); }

Result<StreamEnd> HttpClient::Stream(const HttpRequest& request, const HttpStreamOptions& options) {
  HttpRequest copy = request;
  copy.body_sink = nullptr;
  Result<HttpResponse> response = Send(copy);
  if (!response.ok()) return response.status();
  if (options.stop != nullptr && options.stop->load()) return StreamEnd::kStopped;
  std::string body = std::move(response->body);
  response->body.clear();
  if (options.on_head && !options.on_head(*response)) return StreamEnd::kStopped;
  if (!body.empty() && !options.on_body(body)) return StreamEnd::kStopped;
  return StreamEnd::kComplete;
}

std::unique_ptr<HttpClient> NewCurlHttpClient() { return std::make_unique<CurlHttpClient>(); }

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace shardhose::aws

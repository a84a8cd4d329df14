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
#include "aws/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

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
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n')) {
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

// Per-request state the callbacks write into.
struct Transfer {
  HttpResponse response;
  std::string* body = &response.body;  // or the request's body_sink
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->body->empty() && t->body->capacity() < (1u << 16)) {
    // First bytes: size the buffer from Content-Length once, instead of
    // doubling through a large answer.
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
    if (n > 0 && n <= (size_t{64} << 20)) t->body->reserve(n + 64);
  }
  t->body->append(data, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * nmemb);
  if (line.starts_with("HTTP/")) {
    // A new header block (e.g. after an interim 1xx response): start over.
    t->response.headers.clear();
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();  // blank line, junk
  HttpHeader h;
  h.name = std::string(Trim(line.substr(0, colon)));
  h.value = std::string(Trim(line.substr(colon + 1)));
  if (!h.name.empty()) t->response.headers.push_back(std::move(h));
  return line.size();
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

 private:
  static constexpr size_t kMaxIdleHandles = 32;

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
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
      std::lock_guard<std::mutex> lock(mu_);
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
    errbuf[0] = '\0';

    HeaderList headers;
    bool ok = true;
    for (const auto& hd : req.headers) {
      // "Name;" is curl's syntax for a header with an empty value.
      ok = ok && headers.Append(hd.value.empty() ? hd.name + ";" : hd.name + ": " + hd.value);
    }
    // Never let curl add these on its own.
    if (!HasHeader(req.headers, "Expect")) ok = ok && headers.Append("Expect:");
    if (!HasHeader(req.headers, "Transfer-Encoding")) ok = ok && headers.Append("Transfer-Encoding:");
    // curl would add "Content-Type: application/x-www-form-urlencoded" to a
    // body sent with POSTFIELDS.
    if (!HasHeader(req.headers, "Content-Type")) ok = ok && headers.Append("Content-Type:");
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
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);

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
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    CURLcode rc = curl_easy_perform(h);
    // The handle keeps pointers to `headers` and `errbuf`; clear them before
    // both go out of scope (the handle returns to the pool).
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    if (rc != CURLE_OK) {
      std::string msg = std::string(req.method) + " " + UrlForLog(req.url) + ": " +
                        curl_easy_strerror(rc);
      if (errbuf[0] != '\0') {
        msg += " (";
        msg += errbuf;
        msg += ")";
      }
      curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
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
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    transfer.response.status = static_cast<int>(code);
    return std::move(transfer.response);
  }

  // The URL without its query (a presigned URL's query holds a signature and
  // possibly a session token).
  static std::string UrlForLog(const std::string& url) {
    return url.substr(0, url.find('?'));
  }

  std::mutex mu_;
  std::vector<CURL*> idle_;  // GUARDED_BY(mu_)
};

}  // namespace

void HttpRequest::SetHeader(std::string_view name, std::string value) {
  auto it = std::find_if(headers.begin(), headers.end(),
                         [&](const HttpHeader& h) { return EqualsIgnoreCase(h.name, name); });
  if (it == headers.end()) {
    headers.push_back(HttpHeader{std::string(name), std::move(value)});
    return;
  }
  it->value = std::move(value);
  // Drop any further headers of the same name.
  auto rest = std::remove_if(std::next(it), headers.end(),
                             [&](const HttpHeader& h) { return EqualsIgnoreCase(h.name, name); });
  headers.erase(rest, headers.end());
}

std::string_view HttpRequest::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

std::string_view HttpResponse::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

std::unique_ptr<HttpClient> NewCurlHttpClient() { return std::make_unique<CurlHttpClient>(); }

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~';
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

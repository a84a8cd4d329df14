// The per-value checks of the option table (config/schema.h),
// ParseHostPort() and SplitList().
#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/rfc3339.h"
#include "config/schema.h"
#include "partition/template.h"

namespace shardhose::config {
namespace internal {
namespace {

std::string CheckHttpUrl(const std::string& v) {
  std::string_view rest;
  if (StartsWith(v, "http://")) {
    rest = std::string_view(v).substr(7);
  } else if (StartsWith(v, "https://")) {
    rest = std::string_view(v).substr(8);
  } else {
    return "";  // not http(s); the caller reports
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == ':') return "missing host in " + Quote(v);
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) return "must not contain spaces, got " + Quote(v);
  return "";
}

// A key prefix template: it parses, and what it renders is a key prefix S3
// takes as written. Rendered with sample values: substituted values are
// sanitised to [A-Za-z0-9._=-] (partition/template.h), so whatever the
// checks below find comes from the template's own text. The characters
// refused are the control characters and those AWS's "Creating object key
// names" lists as "characters to avoid" (\ { } ^ % ` [ ] " < > ~ # |);
// a literal '{' / '}' ("{{" / "}}") is one of them.
std::string CheckTemplate(const std::string& v, partition::TemplateKind kind) {
  auto parsed = partition::KeyTemplate::Parse(v, kind);
  if (!parsed.ok()) return parsed.status().message();
  const partition::PartitionFields sample{"table", "INSERT",         "stream",     "shardId-000000000000",
                                          "error", 1716192000000000, 1716192000000};
  const std::string key = parsed->Render(sample);
  if (!key.empty() && key[0] == '/') {
    return "must not start with '/' (S3 keys would begin with an empty segment, \"/ddb/...\"; write \"ddb/...\"), "
           "got " +
           Quote(v);
  }
  if (key.find("//") != std::string::npos) return "must not contain \"//\" (an empty key segment), got " + Quote(v);
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "must not contain control characters, got " + Quote(v);
    if (std::string_view("\\{}^%`[]\"<>~#|").find(c) != std::string_view::npos) {
      return std::string("must not contain '") + c +
             "' (a character S3 key names should avoid; placeholders are {name}), got " + Quote(v);
    }
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    const std::string_view seg = std::string_view(key).substr(start, end - start);
    if (seg == "." || seg == "..") {
      return "must not contain a \"" + std::string(seg) + "\" segment (tools resolve it as a relative path), got " +
             Quote(v);
    }
    start = end + 1;
  }
  return "";
}

}  // namespace

std::string CheckSourceEndpoint(const std::string& v) {
  if (v.empty()) return "";
  if (StartsWith(v, "file://")) return "file:// is only supported for output.endpoint_url, got " + Quote(v);
  if (!StartsWith(v, "http://") && !StartsWith(v, "https://")) {
    return "must start with http:// or https://, got " + Quote(v);
  }
  return CheckHttpUrl(v);
}

std::string CheckOutputEndpoint(const std::string& v) {
  if (v.empty()) return "";
  if (StartsWith(v, "file://")) {
    std::string_view path = std::string_view(v).substr(7);
    if (path.empty() || path[0] != '/') {
      return "a file:// endpoint must name an absolute directory (file:///abs/path), got " + Quote(v);
    }
    if (path.find_first_not_of('/') == std::string_view::npos) {
      return "a file:// endpoint must name a directory other than /, got " + Quote(v);
    }
    return "";
  }
  if (!StartsWith(v, "http://") && !StartsWith(v, "https://")) {
    return "must start with http://, https:// or file:///, got " + Quote(v);
  }
  return CheckHttpUrl(v);
}

// arn:<partition>:kinesis:<region>:<12-digit account>:stream/<name>
std::string CheckStreamArn(const std::string& v) {
  if (v.empty()) return "";
  const std::string bad = "must look like arn:aws:kinesis:<region>:<account>:stream/<name>, got " + Quote(v);
  std::vector<std::string_view> parts;
  std::string_view s(v);
  for (int i = 0; i < 5; ++i) {
    size_t colon = s.find(':');
    if (colon == std::string_view::npos) return bad;
    parts.push_back(s.substr(0, colon));
    s.remove_prefix(colon + 1);
  }
  parts.push_back(s);
  if (parts[0] != "arn" || !StartsWith(parts[1], "aws") || parts[2] != "kinesis" || parts[3].empty()) return bad;
  if (parts[4].size() != 12 ||
      !std::all_of(parts[4].begin(), parts[4].end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad;
  }
  if (!StartsWith(parts[5], "stream/")) return bad;
  std::string_view name = parts[5].substr(7);
  if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
      })) {
    return bad;
  }
  return "";
}

// AWS's general purpose bucket naming rules ("General purpose bucket naming
// rules", Amazon S3 User Guide). Legacy us-east-1 names with upper case or
// '_' are refused too: they cannot be addressed virtual-hosted style.
std::string CheckBucket(const std::string& v) {
  if (v.empty()) return "";  // required or not: ValidateTogether decides
  if (v.find("://") != std::string::npos || v.find('/') != std::string::npos) {
    return "must be a bucket name only (put the key prefix in output.prefix), got " + Quote(v);
  }
  if (v.find_first_of(" \t\r\n") != std::string::npos) return "must not contain spaces, got " + Quote(v);
  const std::string rules = " (S3 bucket naming rules), got " + Quote(v);
  if (v.size() < 3 || v.size() > 63) return "must be 3 to 63 characters long" + rules;
  const auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : v) {
    if (!lower_or_digit(c) && c != '.' && c != '-') {
      return "may contain only lower-case letters, digits, '.' and '-'" + rules;
    }
  }
  if (!lower_or_digit(v.front()) || !lower_or_digit(v.back())) {
    return "must begin and end with a lower-case letter or a digit" + rules;
  }
  if (v.find("..") != std::string::npos) return "must not contain two adjacent periods" + rules;
  // Formatted as an IPv4 address: four dot-separated groups of digits.
  int groups = 1;
  bool digits_only = true;
  for (char c : v) {
    if (c == '.') {
      ++groups;
    } else if (c < '0' || c > '9') {
      digits_only = false;
    }
  }
  if (digits_only && groups == 4) return "must not be formatted as an IP address" + rules;
  for (std::string_view p : {"xn--", "sthree-", "amzn-s3-demo-"}) {
    if (StartsWith(v, p)) return "must not start with \"" + std::string(p) + "\" (reserved)" + rules;
  }
  for (std::string_view sfx : {"-s3alias", "--ol-s3", ".mrap"}) {
    if (v.size() >= sfx.size() && std::string_view(v).substr(v.size() - sfx.size()) == sfx) {
      return "must not end with \"" + std::string(sfx) + "\" (reserved for access point aliases)" + rules;
    }
  }
  return "";
}

std::string CheckRecordTemplate(const std::string& v) { return CheckTemplate(v, partition::TemplateKind::kRecord); }
std::string CheckErrorTemplate(const std::string& v) { return CheckTemplate(v, partition::TemplateKind::kError); }

std::string CheckTimestamp(const std::string& v) {
  if (v.empty()) return "";
  auto ms = ParseRfc3339Millis(v);
  return ms.ok() ? "" : ms.status().message();
}

// Kinesis consumer names: [a-zA-Z0-9_.-]{1,128}.
std::string CheckConsumerName(const std::string& v) {
  if (v.size() > 128) return "must be at most 128 characters";
  for (char ch : v) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == '-';
    if (!ok) return "may contain only letters, digits, '_', '.' and '-'";
  }
  return "";
}

// DynamoDB table names: [a-zA-Z0-9_.-]{3,255}; "" = the default. The
// workers table adds "-workers" (8), so the name itself may have 247.
std::string CheckTableName(const std::string& v) {
  if (v.empty()) return "";
  if (v.size() < 3 || v.size() > 247) {
    return "must be 3 to 247 characters (DynamoDB's 255, less \"-workers\" for the workers table), got " + Quote(v);
  }
  for (char ch : v) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == '-';
    if (!ok) return "may contain only letters, digits, '_', '.' and '-' (DynamoDB's rule), got " + Quote(v);
  }
  return "";
}

std::string CheckDynamoDbEndpoint(const std::string& v) {
  if (v.empty()) return "";
  if (!StartsWith(v, "http://") && !StartsWith(v, "https://")) {
    return "must start with http:// or https://, got " + Quote(v);
  }
  return CheckHttpUrl(v);
}

// A worker id is a DynamoDB string written into every lease it holds:
// printable ASCII, no spaces, at most 256 bytes.
std::string CheckWorkerId(const std::string& v) {
  if (v.size() > 256) return "must be at most 256 characters";
  for (char ch : v) {
    if (ch <= ' ' || ch > '~') return "may contain only printable ASCII without spaces, got " + Quote(v);
  }
  return "";
}

std::string CheckListen(const std::string& v) {
  if (v.empty()) return "";
  auto hp = ParseHostPort(v);
  if (!hp.ok()) return hp.status().message();
  if (hp->port == 0) return "port must be between 1 and 65535, got " + Quote(v);
  return "";
}

std::string CheckLogLevel(const std::string& v) {
  for (const char* name : {"trace", "debug", "info", "warn", "error"}) {
    if (v == name) return "";
  }
  return "must be one of trace|debug|info|warn|error, got " + Quote(v);
}

std::string CheckLogFormat(const std::string& v) {
  if (v == "text" || v == "json") return "";
  return "must be one of text|json, got " + Quote(v);
}

std::string CheckKeyAttributes(const std::string& v) {
  const std::vector<std::string> names = SplitList(v);
  for (const std::string& name : names) {
    if (name.empty()) return "a name is empty in " + Quote(v);
  }
  if (names.size() > 2) return "a key has one or two attributes (partition key, sort key), got " + Quote(v);
  return "";
}

}  // namespace internal

using internal::Quote;
using internal::StartsWith;

std::vector<std::string> SplitList(std::string_view value) {
  std::vector<std::string> names;
  for (size_t start = 0; !value.empty() && start <= value.size();) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    names.emplace_back(value.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

Result<HostPort> ParseHostPort(const std::string& s) {
  const std::string shape = "must be host:port or [v6addr]:port (e.g. \"127.0.0.1:9600\"), got " + Quote(s);
  HostPort out;
  std::string_view port;
  if (StartsWith(s, "[")) {
    const size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Status::InvalidArgument(shape);
    }
    out.host = s.substr(1, close - 1);
    port = std::string_view(s).substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument(shape);
    out.host = s.substr(0, colon);
    port = std::string_view(s).substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return Status::InvalidArgument("an IPv6 address needs brackets ([::1]:9600), got " + Quote(s));
    }
  }
  if (out.host.empty()) return Status::InvalidArgument("missing host in " + Quote(s));
  if (out.host.find_first_of(" \t\r\n/[]") != std::string::npos) return Status::InvalidArgument(shape);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument(shape);
  }
  std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (out.port > 65535) return Status::InvalidArgument("port must be between 1 and 65535, got " + Quote(s));
  return out;
}

}  // namespace shardhose::config

// Container credentials: the ECS agent (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)
// and EKS Pod Identity / custom endpoints (AWS_CONTAINER_CREDENTIALS_FULL_URI
// with an Authorization token or token file).
//
//   GET <url>   [Authorization: <token>]
//   200 {"AccessKeyId":..,"SecretAccessKey":..,"Token":..,"Expiration":..}
//
// FULL_URI host rules (as the AWS SDKs): https may point anywhere; plain
// http only at this host (loopback, the ECS and EKS link-local agents), so
// the token and the answer never cross a network in clear text.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "aws/credentials_internal.h"
#include "common/fs.h"

namespace shardhose::aws::internal {
namespace {

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Host part of an URL's authority: "[fd00:ec2::23]:80" -> "fd00:ec2::23".
std::string HostOf(std::string_view url) {
  size_t scheme_end = url.find("://");
  std::string_view rest = url.substr(scheme_end + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    return std::string(authority.substr(1, close - 1));
  }
  size_t colon = authority.find(':');
  return std::string(authority.substr(0, colon));
}

bool AllowedHttpHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    const uint32_t a = ntohl(v4.s_addr);
    if ((a >> 24) == 127) return true;                           // 127.0.0.0/8
    return host == "169.254.170.2" || host == "169.254.170.23";  // ECS, EKS agents
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    in6_addr eks{};
    inet_pton(AF_INET6, "fd00:ec2::23", &eks);
    return IN6_IS_ADDR_LOOPBACK(&v6) || std::memcmp(&v6, &eks, sizeof(v6)) == 0;
  }
  return false;
}

Result<std::string> AuthorizationValue(const ContainerParams& p) {
  std::string value;
  if (!p.auth_file.empty()) {
    Result<std::string> text = FileSystem::Default()->ReadFile(p.auth_file);
    if (!text.ok()) {
      if (text.status().IsNotFound()) {
        return Status::InvalidArgument("container credentials: authorization token file " + p.auth_file +
                                       " does not exist");
      }
      return Status::Unavailable("container credentials: " + text.status().message())
          .WithPeer(RetryClass::kServerError, "");
    }
    value = std::move(*text);
    while (!value.empty() &&
           (value.back() == '\n' || value.back() == '\r' || value.back() == ' ' || value.back() == '\t')) {
      value.pop_back();
    }
  } else {
    value = p.auth_token;
  }
  if (value.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("container credentials: the authorization token contains a line break");
  }
  return value;
}

Result<Credentials> FetchContainer(const ContainerParams& p, HttpClient* http) {
  Result<std::string> auth = AuthorizationValue(p);
  if (!auth.ok()) return auth.status();
  HttpRequest req;
  req.method = "GET";
  req.url = p.url;
  req.timeout = p.timeout;
  req.connect_timeout = std::min(p.timeout, std::chrono::milliseconds(2000));
  req.SetHeader("Accept", "application/json");
  if (!auth->empty()) req.SetHeader("Authorization", std::move(*auth));
  Result<HttpResponse> resp = http->Send(req);
  if (!resp.ok()) return resp.status().WithContext("container credentials");
  if (resp->status < 200 || resp->status >= 300) {
    return EndpointError("container credentials", resp->status);
  }
  return ParseJsonCredentials(resp->body, "container credentials", "Token");
}

}  // namespace

Status CheckContainerFullUri(std::string_view url) {
  const std::string lower = ToLowerAscii(url);
  if (lower.starts_with("https://")) return Status::OK();
  if (!lower.starts_with("http://")) {
    return Status::InvalidArgument("AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http:// or https:// URL");
  }
  const std::string host = ToLowerAscii(HostOf(url));
  if (AllowedHttpHost(host)) return Status::OK();
  return Status::InvalidArgument(
      "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is only allowed to a loopback address, "
      "169.254.170.2, 169.254.170.23 or fd00:ec2::23 (host " +
      host + ")");
}

CredentialSource ContainerSource(ContainerParams params, HttpClient* http) {
  CredentialSource s;
  s.name = "container " + UrlOrigin(params.url);
  s.fetch = [p = std::move(params), http] { return FetchContainer(p, http); };
  return s;
}

}  // namespace shardhose::aws::internal

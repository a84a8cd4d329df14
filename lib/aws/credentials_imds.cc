// EC2 instance metadata (IMDSv2 only):
//
//   PUT  /latest/api/token                      X-aws-ec2-metadata-token-ttl-seconds: 21600
//        -> 200 <token>
//   GET  /latest/meta-data/iam/security-credentials/          X-aws-ec2-metadata-token: <token>
//        -> 200 "<role>\n"  (404: no instance profile)
//   GET  /latest/meta-data/iam/security-credentials/<role>    X-aws-ec2-metadata-token: <token>
//        -> 200 {"Code":"Success","AccessKeyId":..,"SecretAccessKey":..,"Token":..,
//                "Expiration":..}
//
// Every request has a short connect and total timeout so that a host that
// is not on EC2 (169.254.169.254 unreachable) costs about a second at
// startup. A fresh session token is taken for every fetch (once an hour).
#include <rapidjson/document.h>

#include <string>
#include <utility>

#include "aws/credentials_internal.h"

namespace shardhose::aws::internal {
namespace {

constexpr char kCredentialsPath[] = "/latest/meta-data/iam/security-credentials/";

HttpRequest ImdsRequest(const ImdsParams& p, std::string method, std::string path) {
  HttpRequest req;
  req.method = std::move(method);
  req.url = p.endpoint + path;
  req.timeout = p.timeout;
  req.connect_timeout = p.timeout;
  return req;
}

Result<std::string> SessionToken(const ImdsParams& p, HttpClient* http) {
  HttpRequest req = ImdsRequest(p, "PUT", "/latest/api/token");
  req.SetHeader("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  Result<HttpResponse> resp = http->Send(req);
  if (!resp.ok()) return resp.status().WithContext("imds token");
  if (resp->status != 200) return EndpointError("imds token", resp->status);
  if (resp->body.empty() || resp->body.find_first_of("\r\n") != std::string::npos) {
    return Status::Unavailable("imds token: malformed answer").WithPeer(RetryClass::kServerError, "");
  }
  return std::move(resp->body);
}

Result<std::string> RoleName(const ImdsParams& p, const std::string& token, HttpClient* http) {
  HttpRequest req = ImdsRequest(p, "GET", kCredentialsPath);
  req.SetHeader("X-aws-ec2-metadata-token", token);
  Result<HttpResponse> resp = http->Send(req);
  if (!resp.ok()) return resp.status().WithContext("imds role");
  if (resp->status == 404) {
    return Status::NotFound("imds: no IAM role attached to this instance");
  }
  if (resp->status != 200) return EndpointError("imds role", resp->status);
  std::string_view body = resp->body;
  size_t eol = body.find_first_of("\r\n");
  std::string_view role = body.substr(0, eol);
  while (!role.empty() && (role.back() == ' ' || role.back() == '\t')) role.remove_suffix(1);
  if (role.empty()) return Status::NotFound("imds: no IAM role attached to this instance");
  return std::string(role);
}

Result<Credentials> FetchImds(const ImdsParams& p, HttpClient* http) {
  Result<std::string> token = SessionToken(p, http);
  if (!token.ok()) return token.status();
  // The instance profile can be swapped while we run: ask for the role each time.
  Result<std::string> role = RoleName(p, *token, http);
  if (!role.ok()) return role.status();
  HttpRequest req = ImdsRequest(p, "GET", kCredentialsPath + UriEncode(*role, false));
  req.SetHeader("X-aws-ec2-metadata-token", *token);
  Result<HttpResponse> resp = http->Send(req);
  if (!resp.ok()) return resp.status().WithContext("imds credentials");
  if (resp->status != 200) return EndpointError("imds credentials", resp->status);
  {
    // "Code" other than "Success" means IMDS could not get credentials.
    std::string padded = resp->body;
    padded.append(16, '\0');
    rapidjson::Document doc;
    doc.Parse(padded.data(), resp->body.size());
    if (!doc.HasParseError() && doc.IsObject()) {
      auto it = doc.FindMember("Code");
      if (it != doc.MemberEnd() && it->value.IsString() &&
          std::string_view(it->value.GetString(), it->value.GetStringLength()) != "Success") {
        return Status::Unavailable("imds credentials: Code is not Success").WithPeer(RetryClass::kServerError, "");
      }
    }
  }
  return ParseJsonCredentials(resp->body, "imds credentials", "Token");
}

}  // namespace

Result<std::string> ImdsRoleName(const ImdsParams& params, HttpClient* http) {
  Result<std::string> token = SessionToken(params, http);
  if (!token.ok()) {
    if (token.status().retry_class() == RetryClass::kNetwork) {
      return Status::NotFound("imds: not reachable at " + params.endpoint + " (" + token.status().message() + ")");
    }
    return token.status();
  }
  return RoleName(params, *token, http);
}

CredentialSource ImdsSource(ImdsParams params, std::string role, HttpClient* http) {
  CredentialSource s;
  s.name = "imds role " + role;
  s.fetch = [p = std::move(params), http] { return FetchImds(p, http); };
  return s;
}

}  // namespace shardhose::aws::internal

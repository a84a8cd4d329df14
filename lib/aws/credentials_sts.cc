// Web identity: a token file (EKS IRSA, any OIDC provider) exchanged for
// temporary credentials with STS AssumeRoleWithWebIdentity.
//
// Wire format (Query API, unsigned; the token is the authentication):
//   POST <sts>/  Content-Type: application/x-www-form-urlencoded; charset=utf-8
//   Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=<enc>
//       &RoleSessionName=<enc>&WebIdentityToken=<enc>
// Answer: <AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>
//   <Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/>
//   <Expiration>2026-01-01T00:00:00Z</Expiration></Credentials>...
// The token file is read on every fetch and its contents never leave this
// function except in the request body.
#include <algorithm>
#include <string>
#include <utility>

#include "aws/credentials_internal.h"
#include "aws/retry_class.h"
#include "common/fs.h"

namespace shardhose::aws::internal {
namespace {

Result<Credentials> AssumeRoleWithWebIdentity(const WebIdentityParams& p, HttpClient* http) {
  Result<std::string> token = FileSystem::Default()->ReadFile(p.token_file);
  if (!token.ok()) {
    // The path is fine to name; the status from fs names path + errno only.
    if (token.status().IsNotFound()) {
      return Status::InvalidArgument("web identity: token file " + p.token_file + " does not exist");
    }
    return Status::Unavailable("web identity: " + token.status().message()).WithPeer(RetryClass::kServerError, "");
  }
  std::string_view tok = TrimWs(*token);
  if (tok.empty()) {
    return Status::InvalidArgument("web identity: token file " + p.token_file + " is empty");
  }

  std::string body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=";
  body += UriEncode(p.role_arn, false);
  body += "&RoleSessionName=";
  body += UriEncode(p.session_name, false);
  body += "&WebIdentityToken=";
  body += UriEncode(tok, false);

  HttpRequest req;
  req.method = "POST";
  req.url = p.sts_url + "/";
  req.body = body;
  req.timeout = p.timeout;
  req.connect_timeout = std::min(p.timeout, std::chrono::milliseconds(5000));
  req.SetHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  req.SetHeader("Accept", "text/xml");
  Result<HttpResponse> resp = http->Send(req);
  if (!resp.ok()) return resp.status().WithContext("web identity");

  Status st = ClassifyResponse("STS AssumeRoleWithWebIdentity", *resp);
  if (!st.ok()) {
    // The SDKs retry these two: the identity provider was unreachable, or
    // the token was rotated under us.
    if (st.peer_code() == "IDPCommunicationError" || st.peer_code() == "InvalidIdentityToken") {
      std::string code = st.peer_code();
      return Status::Unavailable(st.message()).WithPeer(RetryClass::kServerError, std::move(code));
    }
    return st.WithContext("web identity");
  }
  return ParseStsCredentials(resp->body);
}

}  // namespace

CredentialSource WebIdentitySource(WebIdentityParams params, HttpClient* http) {
  CredentialSource s;
  s.name = "web identity role " + params.role_arn;
  s.fetch = [p = std::move(params), http] { return AssumeRoleWithWebIdentity(p, http); };
  return s;
}

}  // namespace shardhose::aws::internal

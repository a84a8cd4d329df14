// ExportTableToPointInTime and the wait for it (start_export.h).
#include "start_export.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "aws/sigv4.h"

namespace shardhose::daemon {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Member(Writer& w, const char* name, const std::string& value) {
  w.Key(name);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string Str(const rapidjson::Value& o, const char* name) {
  auto m = o.FindMember(name);
  return m != o.MemberEnd() && m->value.IsString() ? std::string(m->value.GetString(), m->value.GetStringLength())
                                                   : std::string();
}

// The ExportDescription of an answer.
Result<rapidjson::Document> Description(std::string_view op, const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("ExportDescription") || !d["ExportDescription"].IsObject()) {
    return Status::Internal(fmt::format("{}: the answer has no ExportDescription", op));
  }
  return d;
}

}  // namespace

Result<std::string> StartExportAndWait(const aws::DynamoDbClient& ddb, const ExportRequest& req, Clock* clock,
                                       const std::function<void(const std::string&, double)>& on_wait) {
  auto table = ddb.DescribeTable(req.table);
  if (!table.ok()) return table.status().WithContext("DescribeTable " + req.table);
  if (table->arn.empty()) return Status::Internal("DescribeTable " + req.table + ": the answer has no TableArn");

  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  Member(w, "TableArn", table->arn);
  Member(w, "S3Bucket", req.bucket);
  if (!req.prefix.empty()) Member(w, "S3Prefix", req.prefix);
  Member(w, "ExportFormat", "DYNAMODB_JSON");
  Member(w, "ClientToken",
         "shardhose-" + aws::HexSha256(table->arn + "\n" + req.bucket + "\n" + req.prefix).substr(0, 32));
  w.EndObject();
  auto started = ddb.Call("ExportTableToPointInTime", std::string_view(sb.GetString(), sb.GetSize()));
  if (!started.ok()) {
    const Status& st = started.status();
    if (st.peer_code() == "PointInTimeRecoveryUnavailableException") {
      return Status::FailedPrecondition(
          fmt::format("table {} has point-in-time recovery off, and an export needs it: turn it on (aws dynamodb "
                      "update-continuous-backups --table-name {} --point-in-time-recovery-specification "
                      "PointInTimeRecoveryEnabled=true), or give an existing export with --export",
                      req.table, req.table));
    }
    return st.WithContext("ExportTableToPointInTime of " + req.table);
  }
  auto d = Description("ExportTableToPointInTime", *started);
  if (!d.ok()) return d.status();
  const std::string arn = Str((*d)["ExportDescription"], "ExportArn");
  if (arn.empty()) return Status::Internal("ExportTableToPointInTime: the answer has no ExportArn");

  rapidjson::StringBuffer q;
  Writer qw(q);
  qw.StartObject();
  Member(qw, "ExportArn", arn);
  qw.EndObject();
  const MonoTime t0 = clock->Now();
  std::chrono::seconds wait{1};
  for (;;) {
    auto answer = ddb.Call("DescribeExport", std::string_view(q.GetString(), q.GetSize()));
    std::string status = "?";
    if (answer.ok()) {
      auto desc = Description("DescribeExport", *answer);
      if (!desc.ok()) return desc.status();
      const rapidjson::Value& e = (*desc)["ExportDescription"];
      status = Str(e, "ExportStatus");
      if (status == "COMPLETED") {
        // "<prefix>/AWSDynamoDB/<export id>/manifest-summary.json"
        const std::string manifest = Str(e, "ExportManifest");
        const size_t slash = manifest.rfind('/');
        if (manifest.empty() || slash == std::string::npos) {
          return Status::Internal("DescribeExport: a COMPLETED export without ExportManifest: " + arn);
        }
        return fmt::format("s3://{}/{}/", req.bucket, manifest.substr(0, slash));
      }
      if (status == "FAILED") {
        return Status::Unavailable(
            fmt::format("export {} FAILED: {}: {}", arn, Str(e, "FailureCode"), Str(e, "FailureMessage")));
      }
    } else if (!answer.status().IsRetryable()) {
      return answer.status().WithContext("DescribeExport " + arn);
    }
    if (on_wait) on_wait(status, std::chrono::duration<double>(clock->Now() - t0).count());
    clock->SleepFor(wait);
    wait = std::min(wait * 2, std::max(req.poll, std::chrono::seconds{1}));
  }
}

}  // namespace shardhose::daemon

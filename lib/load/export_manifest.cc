#include "load/export_manifest.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "config/rfc3339.h"

namespace shardhose::load {
namespace {

// `lhs = value of expr` (a Result), or return its Status.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(CONCAT(result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(r, lhs, expr) \
  auto r = (expr);                          \
  if (!r.ok()) return r.status();           \
  lhs = std::move(r).value()
#define CONCAT_INNER(a, b) a##b
#define CONCAT(a, b) CONCAT_INNER(a, b)

constexpr std::string_view kExportsFolder = "AWSDynamoDB/";

// Parses one JSON object (a copy, padded for rapidjson's SSE2 scan).
Status ParseObject(std::string_view text, std::string_view what, std::string* buf, rapidjson::Document* d) {
  buf->assign(text);
  buf->append(16, '\0');
  d->Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(buf->data(), text.size());
  if (d->HasParseError() || !d->IsObject()) return Status::InvalidArgument(fmt::format("{}: not a JSON object", what));
  return Status::OK();
}

// A string member: "" and OK if absent or null and !required.
Result<std::string> Str(const rapidjson::Value& o, const char* name, std::string_view what, bool required) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || it->value.IsNull()) {
    if (required) return Status::InvalidArgument(fmt::format("{}: {} is missing", what, name));
    return std::string();
  }
  if (!it->value.IsString()) return Status::InvalidArgument(fmt::format("{}: {} is not a string", what, name));
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// A count (a JSON number, or a string of digits as some tools write it):
// -1 if absent.
Result<int64_t> Count(const rapidjson::Value& o, const char* name, std::string_view what) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || it->value.IsNull()) return int64_t{-1};
  const std::string_view text =
      it->value.IsString() ? std::string_view(it->value.GetString(), it->value.GetStringLength()) : "";
  int64_t v = 0;
  if (text.empty() || text.size() > 18) {
    return Status::InvalidArgument(fmt::format("{}: {} is not a count", what, name));
  }
  for (char c : text) {
    if (c < '0' || c > '9') return Status::InvalidArgument(fmt::format("{}: {} is not a count", what, name));
    v = v * 10 + (c - '0');
  }
  return v;
}

// The part after the last '/' of an ARN.
std::string_view LastPart(std::string_view s) {
  const size_t slash = s.rfind('/');
  return slash == std::string_view::npos ? s : s.substr(slash + 1);
}

bool HasDotDot(std::string_view key) {
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    if (key.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

Result<ExportSummary> ParseManifestSummary(std::string_view json, std::string_view what) {
  std::string buf;
  rapidjson::Document d;
  SHARDHOSE_RETURN_IF_ERROR(ParseObject(json, what, &buf, &d));
  ExportSummary s;
  ASSIGN_OR_RETURN(s.export_arn, Str(d, "exportArn", what, true));
  s.export_id = std::string(LastPart(s.export_arn));
  if (s.export_arn.find("/export/") == std::string::npos || s.export_id.empty()) {
    return Status::InvalidArgument(fmt::format("{}: exportArn {} does not end in /export/<id>", what, s.export_arn));
  }
  ASSIGN_OR_RETURN(s.table_arn, Str(d, "tableArn", what, true));
  const size_t table_at = s.table_arn.find(":table/");
  if (table_at == std::string::npos) {
    return Status::InvalidArgument(fmt::format("{}: tableArn {} names no table", what, s.table_arn));
  }
  s.table = s.table_arn.substr(table_at + 7);
  s.table = s.table.substr(0, s.table.find('/'));
  ASSIGN_OR_RETURN(std::string format, Str(d, "outputFormat", what, false));
  if (format == "ION") {
    return Status::InvalidArgument(fmt::format(
        "{}: the export's outputFormat is ION; shardhose loads DYNAMODB_JSON exports only (export the table again "
        "with --export-format DYNAMODB_JSON)",
        what));
  }
  if (!format.empty() && format != "DYNAMODB_JSON") {
    return Status::InvalidArgument(fmt::format("{}: outputFormat {} is not DYNAMODB_JSON", what, format));
  }
  ASSIGN_OR_RETURN(std::string type, Str(d, "exportType", what, false));
  if (type == "INCREMENTAL_EXPORT") {
    s.incremental = true;
  } else if (!type.empty() && type != "FULL_EXPORT") {
    return Status::InvalidArgument(
        fmt::format("{}: exportType {} is neither FULL_EXPORT nor INCREMENTAL_EXPORT", what, type));
  }
  ASSIGN_OR_RETURN(std::string time, Str(d, "exportTime", what, !s.incremental));
  if (s.incremental && time.empty()) {
    // An incremental export is as of the end of its period.
    ASSIGN_OR_RETURN(time, Str(d, "exportToTime", what, true));
  }
  auto ms = config::ParseRfc3339Millis(time);
  if (!ms.ok()) return Status::InvalidArgument(fmt::format("{}: exportTime {}: {}", what, time, ms.status().message()));
  s.export_time_us = *ms * 1000;
  ASSIGN_OR_RETURN(s.item_count, Count(d, "itemCount", what));
  return s;
}

Result<std::vector<ExportDataFile>> ParseManifestFiles(std::string_view ndjson, std::string_view what) {
  std::vector<ExportDataFile> files;
  std::string buf;
  size_t line_no = 0;
  size_t start = 0;
  while (start < ndjson.size()) {
    size_t end = ndjson.find('\n', start);
    if (end == std::string_view::npos) end = ndjson.size();
    const std::string_view line = ndjson.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = fmt::format("{} line {}", what, line_no);
    rapidjson::Document d;
    SHARDHOSE_RETURN_IF_ERROR(ParseObject(line, where, &buf, &d));
    ExportDataFile f;
    ASSIGN_OR_RETURN(f.key, Str(d, "dataFileS3Key", where, true));
    ASSIGN_OR_RETURN(f.item_count, Count(d, "itemCount", where));
    ASSIGN_OR_RETURN(f.md5_base64, Str(d, "md5Checksum", where, false));
    ASSIGN_OR_RETURN(f.etag, Str(d, "etag", where, false));
    files.push_back(std::move(f));
  }
  return files;
}

Result<ExportLocation> ParseExportLocation(std::string_view uri) {
  ExportLocation loc;
  if (uri.starts_with("s3://")) {
    std::string_view rest = uri.substr(5);
    const size_t slash = rest.find('/');
    loc.s3 = true;
    loc.bucket = std::string(rest.substr(0, slash));
    loc.folder = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
    if (loc.bucket.empty() || loc.folder.empty()) {
      return Status::InvalidArgument(
          fmt::format("--export {}: expected s3://<bucket>/<prefix>/AWSDynamoDB/<export id>/", uri));
    }
    if (loc.folder.back() != '/') loc.folder.push_back('/');
    return loc;
  }
  if (uri.starts_with("file://")) uri.remove_prefix(7);
  if (uri.empty()) return Status::InvalidArgument("--export: empty");
  loc.folder = std::string(uri);
  while (loc.folder.size() > 1 && loc.folder.back() == '/') loc.folder.pop_back();
  return loc;
}

std::string ExportFile(const ExportLocation& loc, std::string_view name) {
  return loc.s3 ? loc.folder + std::string(name) : loc.folder + "/" + std::string(name);
}

Result<std::string> ResolveDataFile(const ExportLocation& loc, std::string_view export_id,
                                    std::string_view data_file_key) {
  if (data_file_key.empty() || HasDotDot(data_file_key)) {
    return Status::InvalidArgument(fmt::format("dataFileS3Key '{}': not a data file key", data_file_key));
  }
  if (loc.s3) {
    if (!data_file_key.starts_with(kExportsFolder)) return std::string(data_file_key);  // the full key
    // Relative to the export's parent prefix (the documentation's example).
    const size_t at = loc.folder.rfind(kExportsFolder);
    const std::string parent = at == std::string::npos ? "" : loc.folder.substr(0, at);
    return parent + std::string(data_file_key);
  }
  const std::string marker = fmt::format("{}{}/", kExportsFolder, export_id);
  const size_t at = data_file_key.find(marker);
  if (at == std::string_view::npos || (at > 0 && data_file_key[at - 1] != '/')) {
    return Status::InvalidArgument(
        fmt::format("dataFileS3Key {}: not under {} (the export's folder)", data_file_key, marker));
  }
  return loc.folder + "/" + std::string(data_file_key.substr(at + marker.size()));
}

#undef ASSIGN_OR_RETURN
#undef ASSIGN_OR_RETURN_IMPL
#undef CONCAT
#undef CONCAT_INNER

}  // namespace shardhose::load

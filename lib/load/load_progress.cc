#include "load/load_progress.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace shardhose::load {
namespace {

constexpr char kFormat[] = "shardhose-load-progress";

std::string DirOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace

std::string LoadProgressPath(std::string_view checkpoint_path, std::string_view export_id) {
  return fmt::format("{}/load-{}.json", DirOf(checkpoint_path), export_id);
}

Result<std::optional<LoadProgress>> ReadLoadProgress(FileSystem* fs, const std::string& path) {
  Result<std::string> text = fs->ReadFile(path);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) return std::optional<LoadProgress>();
  if (!text.ok()) return text.status();
  auto corrupt = [&](std::string_view what) {
    return Status::Corruption(fmt::format(
        "{}: {}; the load cannot tell which data files are in the lake. Move the file aside to load the export "
        "again from its first file (objects already written are replaced with the same bytes)",
        path, what));
  };
  rapidjson::Document d;
  d.Parse(text->c_str(), text->size());
  if (d.HasParseError() || !d.IsObject()) return corrupt("not a JSON object");
  auto str = [&](const char* name, std::string* out) {
    auto it = d.FindMember(name);
    if (it == d.MemberEnd() || !it->value.IsString()) return false;
    out->assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  std::string format;
  if (!str("format", &format) || format != kFormat) return corrupt("not a shardhose load progress file");
  auto version = d.FindMember("version");
  if (version == d.MemberEnd() || !version->value.IsInt() || version->value.GetInt() != 1) {
    return corrupt("unknown version");
  }
  LoadProgress p;
  if (!str("export_id", &p.export_id) || !str("settings", &p.settings)) return corrupt("export_id or settings missing");
  auto files = d.FindMember("files_done");
  if (files == d.MemberEnd() || !files->value.IsArray()) return corrupt("files_done missing");
  for (const auto& v : files->value.GetArray()) {
    if (!v.IsUint64()) return corrupt("files_done holds something other than file indexes");
    p.files_done.insert(static_cast<size_t>(v.GetUint64()));
  }
  return std::optional<LoadProgress>(std::move(p));
}

Status WriteLoadProgress(FileSystem* fs, const std::string& path, const LoadProgress& progress) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("format");
  w.String(kFormat);
  w.Key("version");
  w.Int(1);
  w.Key("export_id");
  w.String(progress.export_id.c_str(), static_cast<rapidjson::SizeType>(progress.export_id.size()));
  w.Key("settings");
  w.String(progress.settings.c_str(), static_cast<rapidjson::SizeType>(progress.settings.size()));
  w.Key("files_done");
  w.StartArray();
  for (size_t i : progress.files_done) w.Uint64(i);
  w.EndArray();
  w.EndObject();
  std::string text(sb.GetString(), sb.GetSize());
  text.push_back('\n');
  const std::string tmp = path + ".tmp";
  SHARDHOSE_RETURN_IF_ERROR(fs->CreateDirs(DirOf(path)));
  SHARDHOSE_RETURN_IF_ERROR(fs->WriteFile(tmp, text, /*sync=*/true));
  SHARDHOSE_RETURN_IF_ERROR(fs->Rename(tmp, path));
  return fs->SyncDir(DirOf(path));
}

}  // namespace shardhose::load

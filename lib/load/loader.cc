#include "load/loader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <map>
#include <memory>

#include "common/backoff.h"
#include "common/base64.h"
#include "common/kill_point.h"
#include "compress/compress.h"
#include "decode/change_record.h"
#include "load/gzip_lines.h"
#include "load/load_progress.h"
#include "load/object_builder.h"
#include "partition/template.h"

namespace shardhose::load {
namespace {

class LocalReader final : public ExportReader {
 public:
  explicit LocalReader(FileSystem* fs) : fs_(fs) {}
  Result<std::string> Read(const std::string& where) override { return fs_->ReadFile(where); }
  std::string Name(const std::string& where) const override { return where; }

 private:
  FileSystem* fs_;
};

class S3Reader final : public ExportReader {
 public:
  S3Reader(upload::ObjectStore* store, std::string bucket) : store_(store), bucket_(std::move(bucket)) {}
  Result<std::string> Read(const std::string& where) override { return store_->Get(where); }
  std::string Name(const std::string& where) const override { return fmt::format("s3://{}/{}", bucket_, where); }

 private:
  upload::ObjectStore* store_;
  std::string bucket_;
};

std::string Md5Base64(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_md5(), nullptr);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(md), n));
}

// Retries go on while the error is retryable, for at most this long.
constexpr std::chrono::minutes kRetryFor{10};

}  // namespace

std::unique_ptr<ExportReader> NewLocalExportReader(FileSystem* fs) { return std::make_unique<LocalReader>(fs); }
std::unique_ptr<ExportReader> NewS3ExportReader(upload::ObjectStore* store, std::string bucket) {
  return std::make_unique<S3Reader>(store, std::move(bucket));
}

Loader::Loader(const config::Config& cfg, ExportReader* in, upload::ObjectStore* out, FileSystem* fs, Clock* clock)
    : cfg_(cfg), in_(in), out_(out), fs_(fs), clock_(clock) {}

Result<std::string> Loader::ReadWithRetry(const std::string& where) {
  Backoff backoff;
  const MonoTime give_up = clock_->Now() + kRetryFor;
  for (;;) {
    Result<std::string> r = in_->Read(where);
    if (r.ok() || !r.status().IsRetryable() || clock_->Now() >= give_up) {
      if (!r.ok()) return r.status().WithContext("reading " + in_->Name(where));
      return r;
    }
    const auto delay = backoff.Next(r.status().retry_class());
    spdlog::warn("reading {} failed, retrying in {} ms: {}", in_->Name(where), delay.count(), r.status().ToString());
    clock_->SleepFor(delay);
  }
}

Status Loader::PutWithRetry(const std::string& key, std::string_view body) {
  upload::ObjectMeta meta;
  if (cfg_.output.compression == config::Compression::kGzip) meta.content_encoding = "gzip";
  Backoff backoff;
  const MonoTime give_up = clock_->Now() + kRetryFor;
  for (;;) {
    Status st = out_->Put(key, body, meta);
    if (st.ok() || !st.IsRetryable() || clock_->Now() >= give_up) return st;
    const auto delay = backoff.Next(st.retry_class());
    spdlog::warn("uploading {} failed, retrying in {} ms: {}", key, delay.count(), st.ToString());
    clock_->SleepFor(delay);
  }
}

std::string Loader::Settings(const std::vector<std::string>& key_attributes) const {
  return fmt::format("format={};compression={};level={};prefix={};error_prefix={};max_bytes={};max_records={};keys={}",
                     cfg_.output.format == config::OutputFormat::kRaw ? "raw" : "unmarshalled",
                     cfg_.output.compression == config::Compression::kGzip ? "gzip" : "none",
                     cfg_.output.compression_level, cfg_.output.prefix, cfg_.output.error_prefix, cfg_.batch.max_bytes,
                     cfg_.batch.max_records, fmt::join(key_attributes, ","));
}

Result<ExportSummary> Loader::ReadSummary(const ExportLocation& location) {
  const std::string where = ExportFile(location, "manifest-summary.json");
  Result<std::string> text = ReadWithRetry(where);
  if (!text.ok()) return text.status();
  return ParseManifestSummary(*text, in_->Name(where));
}

Result<LoadStats> Loader::Run(const LoadOptions& options, const ExportSummary& export_summary) {
  const ExportSummary* summary = &export_summary;
  const std::string files_where = ExportFile(options.location, "manifest-files.json");
  Result<std::string> files_text = ReadWithRetry(files_where);
  if (!files_text.ok()) return files_text.status();
  Result<std::vector<ExportDataFile>> files = ParseManifestFiles(*files_text, in_->Name(files_where));
  if (!files.ok()) return files.status();

  // Progress so far.
  LoadProgress progress{summary->export_id, Settings(options.key_attributes), {}};
  Result<std::optional<LoadProgress>> before = ReadLoadProgress(fs_, options.progress_path);
  if (!before.ok()) return before.status();
  if (before->has_value()) {
    if ((*before)->settings != progress.settings) {
      return Status::FailedPrecondition(fmt::format(
          "{}: this export was partly loaded with other settings ({}); now {}. Objects cut under other settings "
          "would not replace the ones written: load with the settings it began with, or move the progress file "
          "aside and remove the export's objects to load it again",
          options.progress_path, (*before)->settings, progress.settings));
    }
    progress.files_done = (*before)->files_done;
  }

  auto record_prefix = partition::KeyTemplate::Parse(cfg_.output.prefix, partition::TemplateKind::kRecord);
  if (!record_prefix.ok()) return record_prefix.status().WithContext("output.prefix");
  auto error_prefix = partition::KeyTemplate::Parse(cfg_.output.error_prefix, partition::TemplateKind::kError);
  if (!error_prefix.ok()) return error_prefix.status().WithContext("output.error_prefix");
  const auto format = cfg_.output.format == config::OutputFormat::kRaw ? decode::OutputFormat::kRaw
                                                                       : decode::OutputFormat::kUnmarshalled;
  decode::Decoder decoder(format, summary->table, decode::InputFormat::kExportItem, summary->table);
  decoder.SetExport(decode::ExportSpec{summary->export_time_us, options.key_attributes, summary->incremental});
  const std::string_view kind = summary->incremental ? "incremental" : "snapshot";
  const bool gzip = cfg_.output.compression == config::Compression::kGzip;
  const compress::Codec codec = gzip ? compress::Codec::kGzip : compress::Codec::kNone;
  const int level = static_cast<int>(cfg_.output.compression_level);

  LoadStats stats;
  stats.files_total = files->size();
  MonoTime last_report = clock_->Now();
  auto report = [&] {
    if (options.on_progress) options.on_progress(stats);
    last_report = clock_->Now();
  };
  // One open object per partition of a file; builders (and their buffers)
  // are kept across files.
  struct Open {
    std::unique_ptr<ObjectBuilder> object;
    int cuts = 0;
  };
  std::vector<std::unique_ptr<ObjectBuilder>> spare;
  for (size_t index = 0; index < files->size(); ++index) {
    const ExportDataFile& file = (*files)[index];
    if (progress.files_done.contains(index)) {
      ++stats.files_done;
      ++stats.files_skipped;
      continue;
    }
    Result<std::string> where = ResolveDataFile(options.location, summary->export_id, file.key);
    if (!where.ok()) return where.status().WithContext(in_->Name(files_where));
    Result<std::string> bytes = ReadWithRetry(*where);
    if (!bytes.ok()) return bytes.status();
    if (!file.md5_base64.empty() && Md5Base64(*bytes) != file.md5_base64) {
      return Status::Corruption(fmt::format(
          "{} (data file {} of the manifest): its MD5 is {}, the manifest says {}; nothing of it was written",
          in_->Name(*where), index, Md5Base64(*bytes), file.md5_base64));
    }
    stats.bytes_read += bytes->size();

    // Decode into one open object per partition; cut at the batch limits.
    std::map<std::string, Open> open;
    std::string partition;
    std::string key;
    decode::DecodedRecord rec;
    uint64_t line_no = 0;
    uint64_t items_in_file = 0;
    auto cut = [&](const std::string& part, Open& o) -> Status {
      ObjectBuilder& object = *o.object;
      if (object.records() == 0) return Status::OK();
      ++o.cuts;
      key = fmt::format("{}{}-{}-{}-{:06}-{:04}{}", part, summary->table, kind, summary->export_id, index, o.cuts,
                        compress::ObjectSuffix(codec));
      Result<std::string_view> body = object.Finish();
      if (!body.ok()) return body.status().WithContext(fmt::format("compressing {}", key));
      Status st = PutWithRetry(key, *body);
      if (!st.ok()) return st.WithContext(fmt::format("uploading {}", key));
      SHARDHOSE_KILL_POINT("load.after_object");
      stats.bytes_out += object.uncompressed_bytes();
      ++stats.objects;
      object.Reset();
      return Status::OK();
    };
    auto last = open.end();  // the partition of the last item line
    int64_t last_time = 0;
    std::string last_event, last_table;
    const std::string event_prefix = summary->export_id + ":" + std::to_string(index) + ":";
    std::string event_id;
    Status st = ForEachGzipLine(*bytes, [&](std::string_view line) -> Status {
      ++line_no;
      stats.bytes_in += line.size() + 1;
      if (line.empty()) return Status::OK();  // a blank line is no item
      event_id.assign(event_prefix);
      event_id.append(std::to_string(line_no));
      decoder.DecodeExportLine(line, event_id, file.key, &rec);
      // Lines of one event time (every SNAPSHOT line) share a partition:
      // rendered once, not per line.
      const bool same = rec.ok && last != open.end() && rec.event_time_us == last_time &&
                        rec.event_name == last_event && rec.table == last_table;
      if (!same) {
        partition::PartitionFields f{rec.table,
                                     rec.event_name,
                                     summary->table,
                                     "",
                                     rec.error,
                                     rec.event_time_us,
                                     summary->export_time_us / 1000};
        partition.clear();
        (rec.ok ? *record_prefix : *error_prefix).Render(f, &partition);
        last = open.find(partition);
        if (last == open.end()) {
          std::unique_ptr<ObjectBuilder> object;
          if (spare.empty()) {
            object = std::make_unique<ObjectBuilder>(gzip, level);
          } else {
            object = std::move(spare.back());
            spare.pop_back();
          }
          last = open.emplace(partition, Open{std::move(object), 0}).first;
        }
      }
      const auto it = last;
      if (rec.ok) {
        last_time = rec.event_time_us;
        last_event = rec.event_name;
        last_table = rec.table;
      } else {
        last = open.end();
      }
      Open& o = it->second;
      // As the daemon's batches: cut before a line would take the object
      // past batch.max_bytes (a longer line goes alone).
      if (o.object->records() > 0 &&
          o.object->uncompressed_bytes() + rec.line.size() > static_cast<uint64_t>(cfg_.batch.max_bytes)) {
        SHARDHOSE_RETURN_IF_ERROR(cut(it->first, o));
      }
      SHARDHOSE_RETURN_IF_ERROR(o.object->Append(rec.line));
      if (rec.ok) {
        ++items_in_file;
      } else {
        ++stats.error_lines;
      }
      if (cfg_.batch.max_records > 0 && o.object->records() >= cfg_.batch.max_records) {
        SHARDHOSE_RETURN_IF_ERROR(cut(it->first, o));
      }
      if ((line_no & 1023) == 0 && clock_->Now() - last_report >= std::chrono::seconds(1)) report();
      return Status::OK();
    });
    if (!st.ok()) return st.WithContext(in_->Name(*where));
    for (auto& [part, o] : open) {
      SHARDHOSE_RETURN_IF_ERROR(cut(part, o));
      spare.push_back(std::move(o.object));  // empty; its buffers serve the next file
    }
    stats.items += items_in_file;
    if (file.item_count >= 0 && static_cast<int64_t>(line_no) < file.item_count) {
      spdlog::warn("{}: {} lines, the manifest says {} items", in_->Name(*where), line_no, file.item_count);
    }

    progress.files_done.insert(index);
    SHARDHOSE_RETURN_IF_ERROR(WriteLoadProgress(fs_, options.progress_path, progress));
    SHARDHOSE_KILL_POINT("load.after_file");
    ++stats.files_done;
    report();
  }
  return stats;
}

}  // namespace shardhose::load

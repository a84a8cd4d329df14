// Logging (common/logging.h): one sink for every style, so that plain
// spdlog calls and LogWithFields calls come out alike. Fields reach the
// sink through a thread-local span: the default logger is synchronous, so
// the sink runs on the thread that logs, inside LogWithFields.
#include "common/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>

namespace shardhose {
namespace {

thread_local std::span<const LogField> tl_fields;

void AppendIsoMillis(std::chrono::system_clock::time_point tp, std::string* out) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  fmt::format_to(std::back_inserter(*out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

std::string_view ColourOf(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "\033[37m";
    case spdlog::level::debug:
      return "\033[36m";
    case spdlog::level::info:
      return "\033[32m";
    case spdlog::level::warn:
      return "\033[33m\033[1m";
    case spdlog::level::err:
      return "\033[31m\033[1m";
    default:
      return "\033[1m\033[41m";
  }
}

// A text field value: bare if it is a plain token, quoted otherwise.
void AppendTextValue(std::string_view v, std::string* out) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '\\' || c == 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->append(v);
    return;
  }
  *out += '"';
  AppendJsonEscaped(v, out);
  *out += '"';
}

void AppendNumber(const LogField& f, std::string* out) {
  if (f.kind == LogField::Kind::kInt) {
    fmt::format_to(std::back_inserter(*out), "{}", f.i);
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", f.u);
  }
}

class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LineSink(LogStyle style, std::FILE* out) : style_(style), out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string line =
        FormatLogLine(style_, msg.time, msg.level, std::string_view(msg.payload.data(), msg.payload.size()), tl_fields);
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  void flush_() override { std::fflush(out_); }

 private:
  const LogStyle style_;
  std::FILE* const out_;
};

}  // namespace

Result<int> ParseLogLevel(std::string_view name) {
  if (name == "trace") return static_cast<int>(spdlog::level::trace);
  if (name == "debug") return static_cast<int>(spdlog::level::debug);
  if (name == "info") return static_cast<int>(spdlog::level::info);
  if (name == "warn") return static_cast<int>(spdlog::level::warn);
  if (name == "error") return static_cast<int>(spdlog::level::err);
  return Status::InvalidArgument(fmt::format("log level '{}' is not one of trace|debug|info|warn|error", name));
}

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return Status::InvalidArgument(fmt::format("log format '{}' is not one of text|json", name));
}

std::string_view LogLevelName(int level) {
  switch (static_cast<spdlog::level::level_enum>(level)) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

int SyslogPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;  // SD_DEBUG
    case spdlog::level::info:
      return 6;  // SD_INFO
    case spdlog::level::warn:
      return 4;  // SD_WARNING
    case spdlog::level::err:
      return 3;  // SD_ERR
    default:
      return 2;  // SD_CRIT
  }
}

std::string FormatLogLine(const LogStyle& style, std::chrono::system_clock::time_point time,
                          spdlog::level::level_enum level, std::string_view msg, std::span<const LogField> fields) {
  std::string line;
  line.reserve(msg.size() + 48 + fields.size() * 24);
  if (style.journal) {
    line += '<';
    line += static_cast<char>('0' + SyslogPriority(level));
    line += '>';
  }
  const auto lv = spdlog::level::to_string_view(level);
  if (style.format == LogFormat::kJson) {
    line += "{\"ts\":\"";
    AppendIsoMillis(time, &line);
    line += "\",\"level\":\"";
    line.append(lv.data(), lv.size());
    line += "\",\"msg\":\"";
    AppendJsonEscaped(msg, &line);
    line += '"';
    for (const LogField& f : fields) {
      if (f.kind == LogField::Kind::kText && f.text.empty()) continue;
      line += ",\"";
      AppendJsonEscaped(f.key, &line);
      line += "\":";
      if (f.kind == LogField::Kind::kText) {
        line += '"';
        AppendJsonEscaped(f.text, &line);
        line += '"';
      } else {
        AppendNumber(f, &line);
      }
    }
    line += "}\n";
    return line;
  }
  if (!style.journal) {
    AppendIsoMillis(time, &line);
    line += ' ';
  }
  const bool colour = style.colour && !style.journal;
  if (colour) line += ColourOf(level);
  line.append(lv.data(), lv.size());
  if (colour) line += "\033[m";
  for (size_t n = lv.size(); n < 5; ++n) line += ' ';
  line += ' ';
  line.append(msg);
  for (const LogField& f : fields) {
    if (f.kind == LogField::Kind::kText && f.text.empty()) continue;
    line += ' ';
    line.append(f.key);
    line += '=';
    if (f.kind == LogField::Kind::kText) {
      AppendTextValue(f.text, &line);
    } else {
      AppendNumber(f, &line);
    }
  }
  line += '\n';
  return line;
}

bool IsJournalStream(const char* journal_stream, int fd) {
  if (journal_stream == nullptr || journal_stream[0] == '\0') return false;
  unsigned long long dev = 0, ino = 0;
  char tail = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%c", &dev, &ino, &tail) != 2) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void InitLogging(int level, LogFormat format) {
  LogStyle style;
  style.format = format;
  const int fd = format == LogFormat::kJson ? STDOUT_FILENO : STDERR_FILENO;
  style.journal = IsJournalStream(std::getenv("JOURNAL_STREAM"), fd);
  style.colour = format == LogFormat::kText && !style.journal && isatty(fd) && std::getenv("NO_COLOR") == nullptr;
  auto sink = std::make_shared<LineSink>(style, format == LogFormat::kJson ? stdout : stderr);
  auto logger = std::make_shared<spdlog::logger>("shardhose", std::move(sink));
  logger->set_level(static_cast<spdlog::level::level_enum>(level));
  logger->flush_on(spdlog::level::trace);  // a line is written whole, at once
  spdlog::set_default_logger(logger);
}

void SetLogLevel(int level) { spdlog::default_logger_raw()->set_level(static_cast<spdlog::level::level_enum>(level)); }

int CurrentLogLevel() { return static_cast<int>(spdlog::default_logger_raw()->level()); }

void LogWithFields(spdlog::level::level_enum level, std::string_view msg, LogFields fields) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  const std::span<const LogField> saved = tl_fields;
  tl_fields = std::span<const LogField>(fields.begin(), fields.size());
  logger->log(level, spdlog::string_view_t(msg.data(), msg.size()));
  tl_fields = saved;
}

std::string ShortCause(const Status& st, std::string_view drop, size_t max_chars) {
  if (st.ok()) return "";
  std::string_view m = st.message();
  std::string out;
  while (!m.empty()) {
    const size_t end = m.find(": ");
    const std::string_view part = m.substr(0, end);
    if (drop.empty() || part.find(drop) == std::string_view::npos) {
      if (!out.empty()) out += ": ";
      out.append(part);
    }
    if (end == std::string_view::npos) break;
    m.remove_prefix(end + 2);
  }
  if (out.empty()) out = std::string(StatusCodeName(st.code()));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (out.size() > max_chars) {
    out.resize(max_chars > 3 ? max_chars - 3 : 0);
    out += "...";
  }
  return out;
}

void AppendJsonEscaped(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          *out += kHex[c >> 4];
          *out += kHex[c & 15];
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
}

}  // namespace shardhose

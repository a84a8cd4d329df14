// File: common/logging.h
//
// Process-wide logging setup on top of spdlog. Modules log through spdlog's
// default logger: spdlog::info(...) for a sentence, or LogInfo/LogWarn/...
// (below) for a short message with structured fields. Only the daemon
// calls InitLogging.
//
//   text    - "2026-11-22T21:56:47.123Z warning upload failed, retrying
//             key=ddb/t/x.json.gz attempt=3 aws_code=SlowDown", on stderr,
//             coloured when stderr is a terminal. Field values holding a
//             space, '"' or '\' are quoted ("a b"), with '"', '\'
//             and control characters escaped ('=' is not quoted: object
//             keys hold it, and a value ends at the next space).
//   json    - one JSON object per line on stdout: ts, level, msg, then the
//             fields in the order given (integers as JSON numbers):
//             {"ts":"2026-...Z","level":"warning","msg":"...","key":"...","attempt":3}
//   journal - when the stream written to is journald's (JOURNAL_STREAM
//             names its device:inode, as systemd sets it for
//             StandardOutput/StandardError=journal), every line starts with
//             its syslog priority, as sd-daemon.h's SD_ERR etc.: "<3>" error
//             and critical, "<4>" warning, "<6>" info, "<7>" debug and
//             trace. Text lines then carry no timestamp of their own
//             (journald stamps each line) and no colour; JSON lines keep
//             their "ts". So `journalctl -p err` finds the errors.
//
// A text field with an empty value is left out (an absent AWS error code,
// say), in both formats.
//
// Fields cost nothing when the level is off: LogWithFields checks the
// level first, and a LogField only views its key and text (the caller's
// strings must live for the call).
//
// Secrets (secret keys, session tokens, Authorization headers) are never
// passed to a log call; nothing here tries to scrub them after the fact.
//
// Thread-safety: the Log* functions and FormatLogLine may be called from
// any thread; InitLogging and SetLogLevel from any thread, but InitLogging
// replaces the default logger (call it before threads log, as the daemon
// does).
#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/status.h"

namespace shardhose {

enum class LogFormat { kText, kJson };

// Parses "trace|debug|info|warn|error" / "text|json".
Result<int> ParseLogLevel(std::string_view name);  // spdlog::level::level_enum
Result<LogFormat> ParseLogFormat(std::string_view name);
// The name ParseLogLevel takes for a level ("warn" for warning).
std::string_view LogLevelName(int level);

// One structured field: a key (snake_case: shard, key, bytes, attempt,
// aws_code, cause, ...) and a text or integer value. Views its strings.
struct LogField {
  enum class Kind { kText, kInt, kUint };
  LogField(std::string_view k, std::string_view v) : key(k), text(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), text(v) {}
  LogField(std::string_view k, const char* v) : key(k), text(v) {}
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  LogField(std::string_view k, T v) : key(k), kind(std::is_signed_v<T> ? Kind::kInt : Kind::kUint) {
    if constexpr (std::is_signed_v<T>) {
      i = static_cast<int64_t>(v);
    } else {
      u = static_cast<uint64_t>(v);
    }
  }

  std::string_view key;
  Kind kind = Kind::kText;
  std::string_view text;
  int64_t i = 0;
  uint64_t u = 0;
};
using LogFields = std::initializer_list<LogField>;

// How a line is written (InitLogging decides; tests choose).
struct LogStyle {
  LogFormat format = LogFormat::kText;
  bool colour = false;   // text only: ANSI colour on the level
  bool journal = false;  // syslog priority prefix; text: no timestamp, no colour
};

// One line, ending in '\n', as the sink writes it.
std::string FormatLogLine(const LogStyle& style, std::chrono::system_clock::time_point time,
                          spdlog::level::level_enum level, std::string_view msg, std::span<const LogField> fields);

// The syslog priority of a level (sd-daemon.h: SD_ERR = 3, SD_WARNING = 4,
// SD_INFO = 6, SD_DEBUG = 7).
int SyslogPriority(spdlog::level::level_enum level);

// True when JOURNAL_STREAM (`journal_stream`, "DEV:INO") names the file
// open as `fd`: then the stream goes to journald.
bool IsJournalStream(const char* journal_stream, int fd);

// Replaces the default logger. Text goes to stderr, JSON to stdout; either
// is written for journald when that stream is journald's (above).
void InitLogging(int level, LogFormat format);

// Changes the default logger's level (SIGHUP). Thread-safe.
void SetLogLevel(int level);
int CurrentLogLevel();

// `msg` plus `fields` through the default logger, if `level` is on.
void LogWithFields(spdlog::level::level_enum level, std::string_view msg, LogFields fields);
inline void LogDebug(std::string_view msg, LogFields fields = {}) { LogWithFields(spdlog::level::debug, msg, fields); }
inline void LogInfo(std::string_view msg, LogFields fields = {}) { LogWithFields(spdlog::level::info, msg, fields); }
inline void LogWarn(std::string_view msg, LogFields fields = {}) { LogWithFields(spdlog::level::warn, msg, fields); }
inline void LogError(std::string_view msg, LogFields fields = {}) { LogWithFields(spdlog::level::err, msg, fields); }

// A failure's cause, short enough for a log line: the status message with
// every ": "-separated part that names `drop` (an object key the line
// carries as a field already, a URL holding it) left out, cut at
// `max_chars` (with "..."). "" for OK.
std::string ShortCause(const Status& st, std::string_view drop = {}, size_t max_chars = 160);

// Escapes `s` for inclusion inside a JSON string (no surrounding quotes).
void AppendJsonEscaped(std::string_view s, std::string* out);

}  // namespace shardhose

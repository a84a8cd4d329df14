// File: common/logging.h
//
// Process-wide logging setup on top of spdlog. Modules log through spdlog's
// default logger (spdlog::info(...)); only the daemon calls InitLogging.
//
//   text - "2026-11-22T21:56:47.123Z info  message", coloured when the
//          stream is a terminal.
//   json - one JSON object per line on stdout:
//          {"ts":"2026-11-22T21:56:47.123Z","level":"info","msg":"..."}
//
// Secrets (secret keys, session tokens, Authorization headers) are never
// passed to a log call; nothing here tries to scrub them after the fact.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace shardhose {

enum class LogFormat { kText, kJson };

// Parses "trace|debug|info|warn|error" / "text|json".
Result<int> ParseLogLevel(std::string_view name);  // spdlog::level::level_enum
Result<LogFormat> ParseLogFormat(std::string_view name);

// Replaces the default logger. Text goes to stderr, JSON to stdout.
void InitLogging(int level, LogFormat format);

// Escapes `s` for inclusion inside a JSON string (no surrounding quotes).
void AppendJsonEscaped(std::string_view s, std::string* out);

}  // namespace shardhose

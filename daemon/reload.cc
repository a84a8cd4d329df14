// SIGHUP reloads (daemon/reload.h).
#include "reload.h"

#include <spdlog/spdlog.h>

#include "aws/credentials_chain.h"
#include "common/logging.h"

namespace shardhose::daemon {
namespace {

// log.progress_interval_s is applied by the progress reporter's hook (commands.cc).
constexpr std::string_view kLiveKeys[] = {"log.level", "batch.max_bytes", "batch.max_interval_s", "batch.max_records",
                                          "log.progress_interval_s"};

// "batch.max_bytes" at the start of a config::Load problem line, or "".
std::string_view KeyOf(std::string_view line) {
  const size_t colon = line.find(": ");
  if (colon == std::string_view::npos || colon == 0) return {};
  const std::string_view head = line.substr(0, colon);
  for (char c : head) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok) return {};
  }
  return head;
}

std::string Names(const std::vector<config::KeyChange>& changes) {
  std::string out;
  for (const auto& c : changes) {
    if (!out.empty()) out += ',';
    out += c.key;
  }
  return out;
}

}  // namespace

bool IsLiveKey(std::string_view key) {
  for (std::string_view k : kLiveKeys) {
    if (k == key) return true;
  }
  return false;
}

ReloadPlan PlanReload(const config::Config& running, const config::Config& next, bool log_level_fixed) {
  ReloadPlan plan;
  plan.effective = running;
  for (config::KeyChange& c : config::Diff(running, next)) {
    if (c.key == "log.level" && log_level_fixed) {
      plan.overridden.push_back(std::move(c));
    } else if (c.key == "batch.max_bytes" && next.batch.max_bytes > running.batch.max_buffered_bytes) {
      plan.restart.push_back(std::move(c));  // the cap stays the running one until a restart
    } else if (IsLiveKey(c.key)) {
      plan.live.push_back(std::move(c));
    } else {
      plan.restart.push_back(std::move(c));
    }
  }
  for (const config::KeyChange& c : plan.live) {
    if (c.key == "log.level") plan.effective.log.level = next.log.level;
    if (c.key == "batch.max_bytes") plan.effective.batch.max_bytes = next.batch.max_bytes;
    if (c.key == "batch.max_interval_s") plan.effective.batch.max_interval_s = next.batch.max_interval_s;
    if (c.key == "batch.max_records") plan.effective.batch.max_records = next.batch.max_records;
    if (c.key == "log.progress_interval_s") plan.effective.log.progress_interval_s = next.log.progress_interval_s;
  }
  return plan;
}

void LogConfigProblems(spdlog::level::level_enum level, std::string_view msg, const std::string& config_path,
                       const Status& st) {
  std::string_view rest = st.message();
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    const std::string_view key = KeyOf(line);
    const std::string_view problem = key.empty() ? line : line.substr(key.size() + 2);
    if (key.empty()) {
      LogWithFields(level, msg, {{"problem", problem}, {"config", config_path}});
    } else {
      LogWithFields(level, msg, {{"key", key}, {"problem", problem}, {"config", config_path}});
    }
  }
}

Reloader::Reloader(CommonOptions options, config::Config running, pipeline::Pipeline* pipeline)
    : options_(std::move(options)), pipeline_(pipeline), running_(std::move(running)) {}

void Reloader::OnReload(Hook hook) { hooks_.push_back(std::move(hook)); }

void Reloader::SetOverride(std::function<void(config::Config*)> override) { override_ = std::move(override); }

bool Reloader::Reload() {
  MutexLock lock(&mu_);
  LogInfo("SIGHUP: reading the configuration again", {{"config", options_.config_path}});
  auto next = config::Load(options_.config_path, aws::ProcessEnv());
  if (!next.ok()) {
    LogConfigProblems(spdlog::level::err, "invalid configuration on reload", options_.config_path, next.status());
    LogError("configuration not reloaded: still running on the previous one");
    return false;
  }
  if (override_) override_(&*next);
  ReloadPlan plan = PlanReload(running_, *next, !options_.log_level.empty());
  if (plan.live.empty() && plan.restart.empty() && plan.overridden.empty()) {
    LogInfo("configuration unchanged");
  }
  for (const auto& c : plan.live) {
    if (c.key == "log.level") {
      auto level = ParseLogLevel(plan.effective.log.level);
      if (level.ok()) SetLogLevel(*level);
    }
    LogInfo("configuration change applied", {{"key", c.key}, {"from", c.before}, {"to", c.after}});
  }
  bool flush_rules = false;
  for (const auto& c : plan.live) flush_rules |= c.key.rfind("batch.", 0) == 0;
  if (flush_rules && pipeline_ != nullptr) pipeline_->SetFlushRules(plan.effective.batch);
  for (const auto& c : plan.overridden) {
    LogWarn("configuration change ignored: the command line or SHARDHOSE_LOG_LEVEL sets it",
            {{"key", c.key}, {"from", c.before}, {"to", c.after}, {"in_effect", options_.log_level}});
  }
  for (const auto& c : plan.restart) {
    LogWarn("configuration change needs a restart; the running value stays",
            {{"key", c.key}, {"from", c.before}, {"to", c.after}});
  }
  if (!plan.live.empty() || !plan.restart.empty()) {
    LogInfo("configuration reloaded", {{"applied", Names(plan.live)}, {"needs_restart", Names(plan.restart)}});
  }
  running_ = std::move(plan.effective);
  for (const Hook& hook : hooks_) hook(running_);
  return true;
}

}  // namespace shardhose::daemon

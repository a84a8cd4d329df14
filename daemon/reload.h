// File: daemon/reload.h
//
// SIGHUP: the configuration is read again -- the file and the environment,
// as at start (the environment is the process's own, which does not change
// while it runs) -- and what can change live is applied:
//
//   log.level                              the logger's level, at once
//                                          (unless --log-level or
//                                          SHARDHOSE_LOG_LEVEL set it: the
//                                          command line wins, as at start)
//   batch.max_bytes, batch.max_interval_s, the flush rule, for the batches
//   batch.max_records                      already open too
//                                          (Pipeline::SetFlushRules)
//   log.progress_interval_s                through a hook (OnReload)
//
// Every other changed key is named as needing a restart, with both values;
// the daemon keeps running on its old value. Settings the command line
// put over the file at start (`load --then-stream`'s first stream
// position) are put over each reloaded configuration too (SetOverride),
// so they do not read as changes. batch.max_bytes also needs a
// restart when it would pass the running batch.max_buffered_bytes.
//
// An invalid configuration is logged, every problem on its own line (the
// key as a field), and ignored: the daemon keeps running on the
// configuration in effect. A reload never stops the daemon, drops a record
// or touches a batch's records (a batch the new rule makes due is sealed
// and uploaded like any other).
//
// Thread-safety: Reload() may be called from any thread (the signal
// watcher's); reloads run one at a time. OnReload() before the first
// Reload().
#pragma once

#include <spdlog/common.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "common/mutex.h"
#include "common/status.h"
#include "config/config.h"
#include "pipeline/pipeline.h"

namespace shardhose::daemon {

// The keys a reload applies live.
bool IsLiveKey(std::string_view key);

// What a reload does with each changed key.
struct ReloadPlan {
  std::vector<config::KeyChange> live;        // applied now
  std::vector<config::KeyChange> restart;     // need a restart; the old value stays
  std::vector<config::KeyChange> overridden;  // the command line's value wins (log.level)
  config::Config effective;                   // running, with the live changes
};

// REQUIRES: `next` passed config::Load. `log_level_fixed`: --log-level (or
// SHARDHOSE_LOG_LEVEL) was given.
ReloadPlan PlanReload(const config::Config& running, const config::Config& next, bool log_level_fixed);

// Logs a configuration's problems (config::Load's message, one per line)
// through the logger at `level`: each as `msg` with fields key (when the
// line starts with one), problem and config (the file, if any).
void LogConfigProblems(spdlog::level::level_enum level, std::string_view msg, const std::string& config_path,
                       const Status& st);

class Reloader {
 public:
  using Hook = std::function<void(const config::Config& effective)>;

  // `running` is the configuration the daemon started with.
  // REQUIRES: pipeline outlives the reloader.
  Reloader(CommonOptions options, config::Config running, pipeline::Pipeline* pipeline);

  // `hook` runs after every valid reload, with the configuration now in
  // effect (e.g. the progress reporter's SetInterval).
  void OnReload(Hook hook);

  // `override` changes each configuration read on reload before it is
  // compared, as the command did to the one it started with. Before the
  // first Reload().
  void SetOverride(std::function<void(config::Config*)> override);

  // Reads, plans, applies and logs. False if the new configuration was
  // invalid (nothing changed).
  bool Reload() EXCLUDES(mu_);

 private:
  const CommonOptions options_;
  pipeline::Pipeline* const pipeline_;
  std::vector<Hook> hooks_;
  std::function<void(config::Config*)> override_;
  Mutex mu_;
  config::Config running_ GUARDED_BY(mu_);
};

}  // namespace shardhose::daemon

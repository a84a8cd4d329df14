#include "pipeline/destination_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <functional>

#include "common/backoff.h"
#include "common/mutex.h"
#include "pipeline/uploader.h"

namespace shardhose::pipeline {
namespace {

constexpr std::string_view kProbeBody = "shardhose start-up write check; safe to delete\n";

// Calls `attempt` until it answers something retrying cannot change, or
// `deadline` passes; returns the last answer.
Status Retrying(Clock* clock, MonoTime deadline, const std::function<Status()>& attempt) {
  Backoff backoff;
  Mutex mu;
  CondVar cv;
  for (;;) {
    Status st = attempt();
    if (!st.IsRetryable() || clock->Now() >= deadline) return st;
    auto delay = backoff.Next(st.retry_class());
    spdlog::warn("checking the output: {}; retrying in {} ms", st.ToString(), delay.count());
    MutexLock lock(&mu);
    clock->WaitUntil(&cv, &mu, std::min(deadline, clock->Now() + delay));
  }
}

}  // namespace

namespace {

// A static part ending a path segment ("ddb/", "") takes the probe as it
// is; one ending mid-segment ("lake/table_name=") takes it one level
// down, so the object's own name still starts with '_'.
std::string ProbeUnder(const std::string& static_part) {
  constexpr std::string_view kName = "_shardhose_probe";
  if (static_part.empty() || static_part.back() == '/') return static_part + std::string(kName);
  return static_part + std::string(kName) + "/" + std::string(kName);
}

}  // namespace

std::string ProbeKey(const config::Config& cfg) { return ProbeUnder(StaticPrefix(cfg.output.prefix)); }
std::string ErrorProbeKey(const config::Config& cfg) { return ProbeUnder(StaticPrefix(cfg.output.error_prefix)); }

Result<bool> CheckDestination(upload::ObjectStore* store, const config::Config& cfg, Clock* clock,
                              std::chrono::seconds budget) {
  ClockParticipant participant(clock);
  const MonoTime deadline = clock->Now() + budget;
  const std::string key = ProbeKey(cfg);
  upload::ObjectMeta meta;
  meta.content_type = "text/plain";
  Status st = Retrying(clock, deadline, [&] { return store->Put(key, kProbeBody, meta); });
  // Records that fail to decode go under the error prefix: a grant that
  // misses it would refuse them forever, so it is probed too.
  const std::string error_key = ErrorProbeKey(cfg);
  if (st.ok() && error_key != key) {
    st = Retrying(clock, deadline, [&] { return store->Put(error_key, kProbeBody, meta); });
    if (!st.ok()) {
      return Status(st.code(), fmt::format("cannot write to {} (probe object {}, under output.error_prefix): {}; {}",
                                           store->Describe(), error_key, st.ToString(), PermanentErrorHint(st, cfg)))
          .WithPeer(st.retry_class(), st.peer_code());
    }
  }
  if (!st.ok()) {
    return Status(st.code(), fmt::format("cannot write to {} (probe object {}): {}; {}", store->Describe(), key,
                                         st.ToString(), PermanentErrorHint(st, cfg)))
        .WithPeer(st.retry_class(), st.peer_code());
  }
  switch (cfg.output.conditional_writes) {
    case config::ConditionalWrites::kOn:
      return true;
    case config::ConditionalWrites::kOff:
      return false;
    case config::ConditionalWrites::kAuto:
      break;
  }
  meta.if_absent = true;
  st = Retrying(clock, deadline, [&] { return store->Put(key, kProbeBody, meta); });
  if (upload::IsAlreadyWritten(st)) return true;
  if (!st.ok()) {
    spdlog::warn("conditional writes: the probe answered {}; not using them (set output.conditional_writes)",
                 st.ToString());
  }
  // 2xx: the store ignored If-None-Match (s3rver).
  return false;
}

}  // namespace shardhose::pipeline

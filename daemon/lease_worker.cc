#include "lease_worker.h"

#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/logging.h"
#include "lease/dynamodb_lease_table.h"
#include "lease/lease_store.h"

namespace shardhose::daemon {

std::string WorkerId(const config::Config& cfg) {
  if (!cfg.coordination.worker_id.empty()) return cfg.coordination.worker_id;
  if (const char* pod = std::getenv("POD_NAME"); pod && *pod) return pod;
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "shardhose");
  return fmt::format("{}-{}", host, getpid());
}

Result<std::unique_ptr<LeaseMode>> SetUpLeaseMode(const config::Config& cfg, aws::HttpClient* http,
                                                  aws::CredentialsProvider* creds, Clock* clock) {
  auto m = std::make_unique<LeaseMode>();
  aws::DynamoDbOptions dopts;
  dopts.region = cfg.CoordinationRegion();
  dopts.endpoint_url = cfg.coordination.endpoint_url;
  m->client = std::make_unique<aws::DynamoDbClient>(dopts, http, creds, clock);
  lease::DynamoDbLeaseTableOptions topts;
  topts.table = cfg.LeaseTableName();
  m->table = lease::NewDynamoDbLeaseTable(topts, m->client.get(), clock);
  SHARDHOSE_RETURN_IF_ERROR(m->table->Ensure(cfg.coordination.create_table));
  lease::CoordinatorOptions copts;
  copts.worker_id = WorkerId(cfg);
  copts.lease_duration = Millis(cfg.coordination.lease_duration_s * 1000);
  copts.max_leases_per_worker = cfg.coordination.max_leases_per_worker;
  switch (cfg.source.initial_position) {
    case config::InitialPosition::kTrimHorizon:
      copts.initial_position = lease::InitialPosition::kTrimHorizon;
      break;
    case config::InitialPosition::kLatest:
      copts.initial_position = lease::InitialPosition::kLatest;
      break;
    case config::InitialPosition::kAtTimestamp:
      copts.initial_position = lease::InitialPosition::kAtTimestamp;
      copts.initial_timestamp_ms = cfg.source.initial_timestamp_ms;
      break;
  }
  m->coordinator = std::make_unique<lease::Coordinator>(m->table.get(), clock, copts);
  m->store = std::make_unique<lease::LeaseStore>(m->table.get(), m->coordinator.get());
  return m;
}

void LeaseWorker::Start() {
  thread_ = StartParticipant(clock_, [this] { Loop(); });
}

void LeaseWorker::Freeze() {
  MutexLock lock(&mu_);
  frozen_ = true;
}

void LeaseWorker::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.NotifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

void LeaseWorker::Loop() {
  for (;;) {
    const MonoTime now = clock_->Now();
    if (now >= next_listing_) ListShards();
    Status st = coordinator_->Tick(now);
    if (!st.ok()) LogWarn("lease table: a tick failed, will retry", {{"cause", ShortCause(st)}});
    bool frozen;
    {
      MutexLock lock(&mu_);
      frozen = frozen_;
    }
    if (!frozen) Apply();
    if (!frozen && drained_ && st.ok() && Drained()) {
      LogInfo("every lease held here is read to the tip and none is left without a live reader; flushing");
      auto drained = std::move(drained_);
      drained_ = nullptr;
      drained();
    }
    MutexLock lock(&mu_);
    if (stop_) return;
    clock_->WaitFor(&cv_, &mu_, coordinator_->TickInterval());
    if (stop_) return;
  }
}

void LeaseWorker::ListShards() {
  auto listed = source_->ListShards();
  if (!listed.ok()) {
    LogWarn("ListShards failed, will retry",
            {{"aws_code", listed.status().peer_code()}, {"cause", ShortCause(listed.status())}});
    next_listing_ = clock_->Now() + coordinator_->TickInterval();
    return;
  }
  std::vector<lease::StreamShard> shards;
  shards.reserve(listed->size());
  for (const poll::ShardInfo& s : *listed) {
    shards.push_back(
        lease::StreamShard{s.id, s.parent, s.adjacent_parent, s.starting_hash_key, s.ending_hash_key, s.closed()});
  }
  coordinator_->SetShards(std::move(shards));
  listed_ = true;
  next_listing_ = clock_->Now() + std::chrono::seconds(cfg_.source.shard_refresh_s);
}

void LeaseWorker::Apply() {
  const lease::Coordinator::HeldLeases held = coordinator_->Held();
  // Gone, or moved away and back since handed over: stop reading.
  for (auto it = reading_.begin(); it != reading_.end();) {
    auto h = held.find(it->first);
    if (h == held.end() || h->second.counter != it->second) {
      pipeline_->DropShard(it->first);
      store_->Dropped(it->first);
      it = reading_.erase(it);
    } else {
      ++it;
    }
  }
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->WallNow().time_since_epoch()).count();
  for (const auto& [id, l] : held) {
    if (reading_.count(id) || l.finished()) continue;
    store_->Handed(id, l.counter);
    Status st = pipeline_->AddShard(lease::ToLeasedShard(l, cfg_.source.initial_timestamp_ms, now_ms));
    if (!st.ok()) {
      store_->Dropped(id);
      LogWarn(fmt::format("shard {}: cannot start reading it", id), {{"shard", id}, {"cause", ShortCause(st)}});
      continue;
    }
    reading_[id] = l.counter;
  }
}

bool LeaseWorker::Drained() const {
  if (!listed_ || coordinator_->stats().unattended != 0) return false;
  for (const auto& [id, l] : coordinator_->Held()) {
    if (!l.finished() && !reading_.count(id)) return false;  // not handed over (AddShard failed)
  }
  return pipeline_->ReadToTip();
}

}  // namespace shardhose::daemon

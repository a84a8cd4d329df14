// File: daemon/lease_worker.h
//
// `run` with coordination.mode = "dynamodb": the thread that keeps this
// worker's leases (lease/coordinator.h) and tells the pipeline which shards
// to read (pipeline.h, "Lease mode").
//
// Every Coordinator::TickInterval() (lease_duration / 3) it lists the
// stream's shards (every source.shard_refresh_s), runs one Tick, then makes
// the pipeline read exactly the leases held: AddShard for each lease taken
// (its position and journal as the lease says), DropShard for each lease
// lost or given up, and DropShard + AddShard for a lease whose counter
// changed under it (it moved away and back: what this process read of it
// before is stale). The lease store is told which counter each shard's
// reading was handed with (LeaseStore::Handed before AddShard, Dropped
// after DropShard), so that the progress of a reading never goes into a
// lease taken again meanwhile. After Freeze() (shutdown) it only keeps
// ticking, so the heartbeat goes on while the pipeline flushes and no lease
// expires under it; Stop() joins the thread, and the caller then releases
// the leases.
//
// `run --drain` (DrainThen): after a Tick that succeeded, following a
// successful shard listing, the worker is drained when
//   - no unfinished lease is left unattended (coordinator.h: none free,
//     expired or just created -- each is taken by a live worker first), and
//   - every lease it holds is handed to the pipeline and read to the
//     stream's tip or to its end (Pipeline::ReadToTip).
// Then `drained` is called once, on the worker's thread; the caller stops
// the pipeline as for SIGTERM: it flushes, checkpoints into the leases and
// releases them (the drain's exit status says whether all was durable).
// So a drain of several workers ends when each has read what it holds and
// nothing is left without a live reader; a shard held by a worker that
// is not draining is that worker's to read. A worker holding nothing, with
// every lease in live hands, is drained at once.
//
// Thread-safety: Start, Freeze and Stop from one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "aws/credentials.h"
#include "aws/dynamodb.h"
#include "aws/http.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "config/config.h"
#include "lease/coordinator.h"
#include "lease/lease_store.h"
#include "lease/lease_table.h"
#include "pipeline/pipeline.h"
#include "poll/change_source.h"

namespace shardhose::daemon {

// What `run` needs in lease mode, built from the configuration: the
// DynamoDB client, the lease table (both tables made, with
// coordination.create_table, and ACTIVE), this worker's coordinator and the
// checkpoint store that writes into its leases.
struct LeaseMode {
  std::unique_ptr<aws::DynamoDbClient> client;
  std::unique_ptr<lease::LeaseTable> table;
  std::unique_ptr<lease::Coordinator> coordinator;
  std::unique_ptr<lease::LeaseStore> store;
};
// The table's failure (kNotFound naming it without create_table, access
// denied, ...) if it cannot be used.
Result<std::unique_ptr<LeaseMode>> SetUpLeaseMode(const config::Config& cfg, aws::HttpClient* http,
                                                  aws::CredentialsProvider* creds, Clock* clock);
// coordination.worker_id, else $POD_NAME, else <host name>-<pid>.
std::string WorkerId(const config::Config& cfg);

class LeaseWorker {
 public:
  // REQUIRES: every pointer outlives the worker.
  LeaseWorker(const config::Config& cfg, poll::ChangeSource* source, pipeline::Pipeline* pipeline,
              lease::Coordinator* coordinator, lease::LeaseStore* store, Clock* clock)
      : cfg_(cfg), source_(source), pipeline_(pipeline), coordinator_(coordinator), store_(store), clock_(clock) {}
  ~LeaseWorker() { Stop(); }

  // run --drain: see above. REQUIRES: before Start().
  void DrainThen(std::function<void()> drained) { drained_ = std::move(drained); }
  void Start();
  // From now on the pipeline's shards are left alone (shutdown).
  void Freeze();
  void Stop();

 private:
  void Loop();
  void ListShards();
  void Apply();
  bool Drained() const;

  const config::Config& cfg_;
  poll::ChangeSource* const source_;
  pipeline::Pipeline* const pipeline_;
  lease::Coordinator* const coordinator_;
  lease::LeaseStore* const store_;
  Clock* const clock_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  bool frozen_ GUARDED_BY(mu_) = false;
  // Worker thread only: the shards handed to the pipeline, by the lease
  // counter they were handed with.
  std::map<std::string, int64_t> reading_;
  MonoTime next_listing_{};
  bool listed_ = false;  // a shard listing succeeded
  std::function<void()> drained_;
};

}  // namespace shardhose::daemon

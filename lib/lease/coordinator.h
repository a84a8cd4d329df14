// File: lease/coordinator.h
//
// One worker's side of lease-table coordination (issue 11): which shards
// this worker reads, decided with the other workers through a LeaseTable
// (lease_table.h) and nothing else. One iteration is Tick(now); the caller
// runs it every TickInterval() on a thread of its own (tests call it by
// hand with a SimulatedClock's Now()). Nothing in here sleeps or starts a
// thread.
//
// One Tick, in order:
//   1. heartbeat (at most once per lease_duration / 3): one write to the
//      workers table, whatever the number of shards. Lease counters change
//      only when a lease moves, so this is all the renewal there is;
//   2. list the leases, then the workers (in that order: a steal we see was
//      made by a worker whose heartbeat, written before it, we see too);
//      a failed listing ends the Tick with its status, holdings unchanged;
//   3. feed both to Liveness (liveness.h): clocks of other machines are
//      never compared with ours;
//   4. check what we hold against the table: a lease now owned by another
//      worker, or with another counter, or gone, is LOST (dropped, counted,
//      logged); one at SHARD_END is FINISHED (dropped); the rest are
//      refreshed with the values listed. A lease in the table owned by our
//      worker_id that we do not hold (a restart reusing its worker_id) is
//      taken again with a Transfer to ourselves, so that its counter moves
//      and any earlier incarnation is fenced off;
//   5. create a lease (LeaseTable::Create, unowned) for every shard of the
//      last SetShards() listing that the table lacks. Where it starts:
//        - a shard with a parent among the listed leases (a reshard's
//          child): where its parents' run started: AT_TIMESTAMP with the
//          parents' (largest) shStartMs when they have one, else
//          TRIM_HORIZON. Every record of a child arrived after the
//          child was made, so a child made after that timestamp is read
//          whole (no loss), while one that existed before it (two workers
//          creating a fresh table at once, each seeing part of it) gets
//          the same start as its parents (LATEST stays LATEST);
//        - any other shard (every shard of an empty table): the configured
//          initial position; LATEST is pinned: checkpoint AT_TIMESTAMP,
//          shStartMs = our wall clock now; AT_TIMESTAMP: shStartMs = the
//          configured timestamp.
//      A closed shard that an existing lease names as its parent, on a
//      non-empty table, is not created again (it was finished and deleted).
//      A lease that another worker created first is left alone (refused
//      condition: counted in `conflicts`). Caveat: a pinned start is our
//      clock against Kinesis arrival times; a reshard within clock skew of
//      a LATEST first start could skip a child's first records;
//   6. release every finished lease (SHARD_END) that still has an owner,
//      when the owner is us (the engine finished it; step 4 dropped it) or
//      a worker no longer live (it died between finishing and releasing):
//      a finished lease keeps no owner;
//      then Balance() (balancer.h) over the live workers (every owner Liveness
//      judges alive, plus us), then apply the plan: give up (Transfer to
//      ""; over the cap, or shed down to our share while another worker
//      is short), take and steal (Transfer to us). A refused condition
//      means another worker moved the lease first: skipped. A lease given
//      up leaves Held() at once, like a lost one: the engine stops reading
//      it and the next owner re-forms its journaled cuts (the same path as
//      a steal; nothing is flushed first);
//   7. publish: Held(), the gauges of stats() (`unattended`: unfinished
//      leases no live worker holds once the plan is applied -- free,
//      expired, given up -- and every lease just created), and, when the
//      keys or counters held changed, the on_change callback.
// Shutdown: after the caller stopped reading and made every held shard's
// progress durable (flush, journal, checkpoint written with the counters
// held), ReleaseAll() releases every held lease (Transfer to "") and
// removes our heartbeat row, so another worker takes them at its next Tick
// without waiting for an expiry.
//
// The held leases are the leases as last seen by this worker: `counter` is
// what the engine's conditional writes (LeaseTable::Update) must carry.
// When such a write is refused, the engine calls ReportLost(key) and stops
// reading the shard; a Tick would find out anyway. A lease the engine
// finished (its Update wrote SHARD_END) stays in Held() until the next Tick
// drops it: the engine must not write it again (a later progress write
// would un-finish it, and a child may already be read by another worker).
//
// Thread-safety: Tick, ReleaseAll and SetShards are called from one thread
// (the coordinator's); Held, Holds, stats, ReportLost from any thread. The
// table calls are made without the internal lock; on_change is called on
// the Tick thread without it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "lease/balancer.h"
#include "lease/lease.h"
#include "lease/lease_table.h"
#include "lease/liveness.h"

namespace shardhose::lease {

// One shard of the stream's listing (from poll::ShardInfo + hash range).
struct StreamShard {
  std::string id;
  std::string parent;           // "" if none
  std::string adjacent_parent;  // "" if none
  std::string starting_hash_key;
  std::string ending_hash_key;
  bool closed = false;  // has an ending sequence number
};

enum class InitialPosition { kTrimHorizon, kLatest, kAtTimestamp };

struct CoordinatorOptions {
  std::string worker_id;  // REQUIRED non-empty, unique among live workers
  Millis lease_duration{10000};
  int64_t max_leases_per_worker = 0;  // 0 = no cap
  InitialPosition initial_position = InitialPosition::kTrimHorizon;
  int64_t initial_timestamp_ms = 0;  // with kAtTimestamp
  // Heartbeat rows of workers silent this long and owning no lease are
  // removed (housekeeping of a table where worker ids change at restarts).
  Millis forget_workers_after{600000};
};

// Counters since construction (the *_total metrics) and gauges (as of the
// last Tick). Plain values: the caller exports them.
struct CoordinatorStats {
  int64_t held = 0;          // gauge: leases held now
  int64_t target = 0;        // gauge: my share at the last balance
  int64_t live_workers = 0;  // gauge: live workers counted, me included
  // gauge: unfinished leases nobody live reads after the last Tick (free,
  // expired, or given up by us); -1 before the first Tick that listed the
  // table. `run --drain` ends only at 0 (daemon/lease_worker.h).
  int64_t unattended = -1;
  int64_t taken = 0;         // free or expired leases taken (re-takes of our own included)
  int64_t stolen = 0;        // leases stolen from a live worker
  int64_t lost = 0;          // held leases found moved, gone, or reported lost
  int64_t released = 0;      // given up over the cap, released at shutdown, or finished and released
  int64_t finished = 0;      // held leases seen at SHARD_END and dropped
  int64_t created = 0;       // lease items created for new shards
  int64_t conflicts = 0;     // Transfers/Creates refused: another worker was first
  int64_t heartbeats = 0;    // heartbeat writes that succeeded
  int64_t table_errors = 0;  // table calls failed for another reason
  int64_t ticks = 0;
};

class Coordinator {
 public:
  using HeldLeases = std::map<std::string, Lease>;  // shard id -> lease as last seen

  // `table` and `clock` must outlive the Coordinator. `clock` gives wall
  // time (heartbeat written_ms, LATEST pinning); Tick's `now` is the
  // monotonic time liveness is judged by.
  Coordinator(LeaseTable* table, Clock* clock, CoordinatorOptions options);

  // The shards the stream has (the caller lists them; the next Tick creates
  // the leases the table lacks).
  void SetShards(std::vector<StreamShard> shards);

  // One iteration (see above). Non-OK when listing the tables failed; the
  // caller logs and calls again at the next interval.
  Status Tick(MonoTime now);

  // Releases every held lease and removes our heartbeat row. Returns the
  // first failure (every lease is still tried; a refused condition is a
  // lease already lost, not a failure).
  Status ReleaseAll();

  // The engine's conditional write on `key` was refused: drop it.
  void ReportLost(const std::string& key);

  HeldLeases Held() const;
  bool Holds(const std::string& key) const;
  CoordinatorStats stats() const;
  // Holds its share: at least target - 1 leases (issue: balance is +-1).
  bool HoldsShare() const;
  // Why this worker is not ready (/readyz), or "" if it is, in this order:
  //   - no Tick has listed the table yet;
  //   - no Tick listed it, or no heartbeat was written, for longer than
  //     the lease duration (other workers may take our leases);
  //   - it holds fewer than its share - 1 leases (still balancing).
  // When ready, *note (if given) says what it holds, e.g. "holds 3 leases
  // (share 3) of 8, 3 live workers".
  std::string NotReadyReason(MonoTime now, std::string* note = nullptr) const;

  // Called after a Tick changed the keys or counters held.
  void set_on_change(std::function<void(const HeldLeases&)> f) { on_change_ = std::move(f); }

  Millis TickInterval() const { return options_.lease_duration / 3; }
  const std::string& worker_id() const { return options_.worker_id; }

 private:
  void Heartbeat(MonoTime now);
  void CheckHeld(const std::vector<Lease>& leases);
  // Appends the leases it made; returns how many listed shards still have
  // none (another worker made them first, or the create failed).
  int64_t CreateMissing(std::vector<Lease>* leases);
  // A finished lease keeps no owner (step 6 of Tick).
  void ReleaseFinished(std::vector<Lease>* leases, const std::set<std::string>& live);
  void Apply(const BalancePlan& plan);
  // Transfer to `owner`; the stored lease, or nullopt (refused or failed).
  std::optional<Lease> Move(const Lease& seen, const std::string& owner, const char* why);
  void ForgetWorkers(const std::vector<WorkerBeat>& workers, const std::vector<Lease>& leases, MonoTime now);
  void Count(int64_t CoordinatorStats::*field, int64_t n = 1);

  LeaseTable* const table_;
  Clock* const clock_;
  const CoordinatorOptions options_;
  std::function<void(const HeldLeases&)> on_change_;

  // Tick thread only.
  Liveness liveness_;
  std::vector<StreamShard> shards_;
  int64_t beat_;
  std::optional<MonoTime> next_beat_;

  mutable Mutex mu_;
  HeldLeases held_ GUARDED_BY(mu_);
  CoordinatorStats stats_ GUARDED_BY(mu_);
  int64_t leases_listed_ GUARDED_BY(mu_) = 0;            // at the last Tick that listed the table
  std::optional<MonoTime> last_listed_ GUARDED_BY(mu_);  // that Tick's `now`
  std::optional<MonoTime> last_beat_ GUARDED_BY(mu_);    // the last heartbeat written
};

}  // namespace shardhose::lease

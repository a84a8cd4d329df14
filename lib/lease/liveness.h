// File: lease/liveness.h
//
// Which lease owners are alive, judged without trusting any clock but our
// own: an owner is alive while something it writes keeps changing, as seen
// by this process at its local monotonic time (common/clock.h Now()).
//
// What counts as a sign of life of owner X, compared with the previous
// Observe():
//   - X's heartbeat row (lease_table.h WorkerBeat) has another `beat`;
//   - a lease owned by X has another leaseCounter, or X owns a lease it did
//     not own before (X took it: only the taker moves a lease to itself).
//     A KCL worker has no heartbeat row but bumps its counters on every
//     renewal, so it is judged by those.
// An owner first seen counts as changed at that Observe() (a worker just
// started gives every owner a full lease duration). X is expired when no
// sign of life was seen for lease_duration or longer. An owner neither in
// the workers table nor owning a lease is forgotten (if it comes back, it
// is first seen again).
//
// Observations are only as fresh as the listings fed in: call Observe()
// more often than lease_duration (the coordinator does so every
// lease_duration / 3).
//
// Thread-safety: none (the coordinator owns one, on its thread).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "lease/lease.h"
#include "lease/lease_table.h"

namespace shardhose::lease {

class Liveness {
 public:
  explicit Liveness(Millis lease_duration) : lease_duration_(lease_duration) {}

  // One listing of both tables, made at (about) `now`.
  void Observe(const std::vector<WorkerBeat>& workers, const std::vector<Lease>& leases, MonoTime now);

  // True when `owner` showed a sign of life less than lease_duration before
  // `now`. An owner never observed is alive (it is first seen now). ""
  // (no owner) is never alive.
  bool Alive(const std::string& owner, MonoTime now) const;

  // How long since `owner`'s last sign of life (0 if never observed).
  Millis Silent(const std::string& owner, MonoTime now) const;

  // Every owner known from the last Observe() that is Alive().
  std::vector<std::string> LiveOwners(MonoTime now) const;

  Millis lease_duration() const { return lease_duration_; }

 private:
  struct Owner {
    bool has_beat = false;
    int64_t beat = 0;
    std::map<std::string, int64_t> counters;  // lease key -> counter, leases it owns
    MonoTime last_change;
  };
  Millis lease_duration_;
  std::map<std::string, Owner> owners_;
};

}  // namespace shardhose::lease

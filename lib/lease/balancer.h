// File: lease/balancer.h
//
// Which leases this worker should take, steal or give up now: a pure
// function of the lease table as last listed, the set of live workers
// (lease/liveness.h) and the worker's own id. The coordinator applies the
// plan with conditional Transfer()s (lease_table.h), so a plan made from a
// stale listing is safe: the write that lost the race is refused.
//
// Rules (issue 11 point 3; KCL's DynamoDBLeaseTaker decides the same way):
//   - A lease is FREE when it has no owner or its owner is not live.
//   - A lease is ELIGIBLE when it is not finished (checkpoint != SHARD_END)
//     and every parent is finished in the table or absent from it (a child
//     is read only after its parents: parents before children across
//     workers).
//   - A worker's COUNT is the number of unfinished leases it owns. Workers
//     are `live` plus `me` (always live).
//   - N = unfinished leases that are eligible or owned by a live worker.
//     SHARES: the workers sorted by count (largest first, ties by id); the
//     first N % W get ceil(N / W), the others floor(N / W); each capped by
//     max_leases_per_worker when > 0. So the shares differ by at most one,
//     sum to N (without a cap), and the larger ones go to the workers that
//     already hold more: reaching them moves as few leases as possible.
//     `target` is my share.
//   - GIVE UP (Transfer to "", largest keys first): when
//     max_leases_per_worker > 0 and my count exceeds it, the excess;
//     otherwise, when my count exceeds my share while another live worker
//     holds less than its share, down to my share. This is how a joining
//     worker (or, on a fresh table, every worker but the first, which saw
//     nobody else and took everything) gets its share in a tick or two
//     instead of one steal per tick.
//   - need = target - my count. When need > 0: TAKE up to `need` free
//     eligible leases, in a deterministic order: by key, rotated by a hash
//     of `me`, so that workers starting together mostly try different ones.
//   - When need > 0 and no free eligible lease exists: STEAL ONE lease from
//     the other live worker most over its share (ties: the most loaded,
//     then the smallest id); none when nobody is over its share. A steal
//     or a shed moves a lease from a worker over its share to one under
//     it, never the other way, so leases do not ping-pong; once the set of
//     workers stops changing every worker reaches its share (+-1 of each
//     other) after a round of sheds and takes (steals cover workers whose
//     view is older than ours).
//   Finished leases are never taken, stolen, counted or given up.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "lease/lease.h"

namespace shardhose::lease {

struct BalancePlan {
  std::vector<Lease> take;     // free eligible leases, as listed: Transfer(l, me)
  std::vector<Lease> steal;    // at most one, owned by a live worker: Transfer(l, me)
  std::vector<Lease> give_up;  // mine, over the cap or shed: Transfer(l, "")
  int64_t target = 0;          // my share
  int64_t mine = 0;            // my count before the plan
  int64_t workers = 0;         // live workers counted, me included
};

// REQUIRES: `me` non-empty; `leases` with unique keys (any order).
BalancePlan Balance(const std::vector<Lease>& leases, const std::set<std::string>& live, const std::string& me,
                    int64_t max_leases_per_worker);

// The eligibility rule above, for one lease of `leases`.
bool Eligible(const Lease& lease, const std::vector<Lease>& leases);

}  // namespace shardhose::lease

// File: daemon/lease_metrics.h
//
// Lease mode's metrics: the coordinator's stats() (lease/coordinator.h)
// as Prometheus families, read at every scrape (Registry::OnExpose):
//   shardhose_leases_held          gauge    leases this worker holds
//   shardhose_leases_target        gauge    its share at the last balance
//   shardhose_lease_workers_live   gauge    live workers counted, itself included
//   shardhose_leases_unattended    gauge    unfinished leases no live worker holds
//                                           (-1 before the first tick)
//   shardhose_lease_moves_total    counter  {kind}: taken, stolen, lost, released, finished
//   shardhose_leases_created_total counter  lease items made for new shards
//   shardhose_lease_conflicts_total counter moves/creates another worker made first
//   shardhose_lease_table_errors_total counter table calls failed otherwise
// Documented in lib/metrics/names.md.
//
// Thread-safety: as the registry's; `coordinator` must outlive every
// scrape (the HTTP server goes before it).
#pragma once

#include "lease/coordinator.h"
#include "metrics/metrics.h"

namespace shardhose::daemon {

void ExportLeaseMetrics(metrics::Registry& registry, const lease::Coordinator* coordinator);

}  // namespace shardhose::daemon

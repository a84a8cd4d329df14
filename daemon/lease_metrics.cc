#include "lease_metrics.h"

namespace shardhose::daemon {

void ExportLeaseMetrics(metrics::Registry& registry, const lease::Coordinator* coordinator) {
  auto& held = registry.AddGauge("shardhose_leases_held", "Leases this worker holds.").Get();
  auto& target = registry.AddGauge("shardhose_leases_target", "This worker's share of the leases.").Get();
  auto& live = registry.AddGauge("shardhose_lease_workers_live", "Live workers counted, this one included.").Get();
  auto& unattended =
      registry.AddGauge("shardhose_leases_unattended", "Unfinished leases no live worker holds (-1: no tick yet).")
          .Get();
  // Cumulative in the coordinator: float counters set at each scrape.
  auto& moves = registry.AddFloatCounter("shardhose_lease_moves_total", "Leases moved, by kind.", {"kind"});
  auto& taken = moves.With({"taken"});
  auto& stolen = moves.With({"stolen"});
  auto& lost = moves.With({"lost"});
  auto& released = moves.With({"released"});
  auto& finished = moves.With({"finished"});
  auto& created = registry.AddFloatCounter("shardhose_leases_created_total", "Lease items made for new shards.").Get();
  auto& conflicts =
      registry.AddFloatCounter("shardhose_lease_conflicts_total", "Lease moves or creates another worker made first.")
          .Get();
  auto& errors =
      registry.AddFloatCounter("shardhose_lease_table_errors_total", "Lease table calls failed otherwise.").Get();
  registry.OnExpose([=, &held, &target, &live, &unattended, &taken, &stolen, &lost, &released, &finished, &created,
                     &conflicts, &errors] {
    const lease::CoordinatorStats s = coordinator->stats();
    held.Set(static_cast<double>(s.held));
    target.Set(static_cast<double>(s.target));
    live.Set(static_cast<double>(s.live_workers));
    unattended.Set(static_cast<double>(s.unattended));
    taken.Set(static_cast<double>(s.taken));
    stolen.Set(static_cast<double>(s.stolen));
    lost.Set(static_cast<double>(s.lost));
    released.Set(static_cast<double>(s.released));
    finished.Set(static_cast<double>(s.finished));
    created.Set(static_cast<double>(s.created));
    conflicts.Set(static_cast<double>(s.conflicts));
    errors.Set(static_cast<double>(s.table_errors));
  });
}

}  // namespace shardhose::daemon

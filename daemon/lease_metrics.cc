#include "lease_metrics.h"

#include <utility>
#include <vector>

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
  using S = lease::CoordinatorStats;
  const std::vector<std::pair<metrics::Gauge*, int64_t S::*>> fields = {
      {&held, &S::held},         {&target, &S::target},   {&live, &S::live_workers},   {&unattended, &S::unattended},
      {&taken, &S::taken},       {&stolen, &S::stolen},   {&lost, &S::lost},           {&released, &S::released},
      {&finished, &S::finished}, {&created, &S::created}, {&conflicts, &S::conflicts}, {&errors, &S::table_errors},
  };
  registry.OnExpose([coordinator, fields] {
    const S s = coordinator->stats();
    for (const auto& [gauge, field] : fields) gauge->Set(static_cast<double>(s.*field));
  });
}

}  // namespace shardhose::daemon

#include "lease/balancer.h"

#include <algorithm>
#include <map>

namespace shardhose::lease {
namespace {

// FNV-1a: a rotation that is the same in every build.
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// `v` sorted by key, rotated to start at a position derived from `me`.
std::vector<Lease> Rotated(std::vector<Lease> v, const std::string& me) {
  std::sort(v.begin(), v.end(), [](const Lease& a, const Lease& b) { return a.key < b.key; });
  if (!v.empty()) std::rotate(v.begin(), v.begin() + static_cast<long>(Fnv1a(me) % v.size()), v.end());
  return v;
}

bool EligibleIn(const Lease& l, const std::map<std::string, const Lease*>& by_key) {
  if (l.finished()) return false;
  for (const std::string& p : l.parents) {
    auto it = by_key.find(p);
    if (it != by_key.end() && !it->second->finished()) return false;
  }
  return true;
}

}  // namespace

bool Eligible(const Lease& lease, const std::vector<Lease>& leases) {
  std::map<std::string, const Lease*> by_key;
  for (const Lease& l : leases) by_key.emplace(l.key, &l);
  return EligibleIn(lease, by_key);
}

BalancePlan Balance(const std::vector<Lease>& leases, const std::set<std::string>& live, const std::string& me,
                    int64_t max_leases_per_worker) {
  std::map<std::string, const Lease*> by_key;
  for (const Lease& l : leases) by_key.emplace(l.key, &l);

  std::map<std::string, int64_t> counts;  // live worker -> unfinished leases owned
  for (const std::string& w : live) counts[w] = 0;
  counts[me] = 0;

  std::vector<Lease> free;
  std::vector<Lease> mine;
  int64_t n = 0;
  for (const Lease& l : leases) {
    if (l.finished()) continue;
    const bool owned_live = !l.owner.empty() && counts.count(l.owner) > 0;
    const bool eligible = EligibleIn(l, by_key);
    if (owned_live) {
      ++counts[l.owner];
      if (l.owner == me) mine.push_back(l);
    } else if (eligible) {
      free.push_back(l);
    }
    if (owned_live || eligible) ++n;
  }

  BalancePlan plan;
  plan.workers = static_cast<int64_t>(counts.size());
  plan.mine = counts[me];

  // Shares: workers by (count desc, id), the first N % W get one more.
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [w, c] : counts) order.emplace_back(-c, w);
  std::sort(order.begin(), order.end());
  std::map<std::string, int64_t> share;
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t s = n / plan.workers + (static_cast<int64_t>(i) < n % plan.workers ? 1 : 0);
    if (max_leases_per_worker > 0) s = std::min(s, max_leases_per_worker);
    share[order[i].second] = s;
  }
  plan.target = share[me];
  bool starving = false;  // some worker holds less than its share
  for (const auto& [w, c] : counts) {
    if (w != me && c < share[w]) starving = true;
  }

  // Give up: over the cap, or over my share while another worker is short.
  int64_t excess = 0;
  if (max_leases_per_worker > 0 && plan.mine > max_leases_per_worker) {
    excess = plan.mine - max_leases_per_worker;
  } else if (plan.mine > plan.target && starving) {
    excess = plan.mine - plan.target;
  }
  if (excess > 0) {
    std::sort(mine.begin(), mine.end(), [](const Lease& a, const Lease& b) { return a.key > b.key; });
    mine.resize(static_cast<size_t>(excess));
    plan.give_up = std::move(mine);
    return plan;
  }

  int64_t need = plan.target - plan.mine;
  if (need <= 0) return plan;
  if (!free.empty()) {
    free = Rotated(std::move(free), me);
    if (static_cast<int64_t>(free.size()) > need) free.resize(static_cast<size_t>(need));
    plan.take = std::move(free);
    return plan;
  }

  // Steal one from the worker most over its share (ties: the most loaded,
  // then the smallest id).
  std::string victim;
  int64_t most_over = 0, most = -1;
  for (const auto& [w, c] : counts) {
    const int64_t over = c - share[w];
    if (w != me && over > 0 && (over > most_over || (over == most_over && c > most))) {
      victim = w;
      most_over = over;
      most = c;
    }
  }
  if (victim.empty()) return plan;
  std::vector<Lease> candidates;
  for (const Lease& l : leases) {
    if (!l.finished() && l.owner == victim) candidates.push_back(l);
  }
  if (candidates.empty()) return plan;
  plan.steal.push_back(Rotated(std::move(candidates), me).front());
  return plan;
}

}  // namespace shardhose::lease

#include "testing/fake_lease_table.h"

#include <fmt/format.h>

#include "lease/lease_item.h"

namespace shardhose::testing {

using lease::Lease;
using lease::WorkerBeat;

Status ConditionFailed(const std::string& what) {
  return Status::FailedPrecondition(fmt::format("conditional request failed: {}", what))
      .WithPeer(RetryClass::kClientError, "ConditionalCheckFailedException");
}

namespace {

// A LeaseTable whose calls carry `who`.
class Handle final : public lease::LeaseTable {
 public:
  Handle(FakeLeaseTable* t, std::string who) : t_(t), who_(std::move(who)) {}
  Status Ensure(bool create) override { return t_->Ensure(create); }
  std::string Describe() const override { return t_->Describe() + " as " + who_; }
  Result<std::vector<Lease>> List() override { return t_->ListAs(who_); }
  Result<std::optional<Lease>> Get(const std::string& key) override { return t_->GetAs(who_, key); }
  Status Create(const Lease& lease) override { return t_->CreateAs(who_, lease); }
  Result<Lease> Transfer(const Lease& seen, const std::string& new_owner) override {
    return t_->TransferAs(who_, seen, new_owner);
  }
  Status Update(const Lease& lease) override { return t_->UpdateAs(who_, lease); }
  Status Delete(const Lease& seen) override { return t_->DeleteAs(who_, seen); }
  Status Heartbeat(const WorkerBeat& beat) override { return t_->HeartbeatAs(who_, beat); }
  Result<std::vector<WorkerBeat>> ListWorkers() override { return t_->ListWorkersAs(who_); }
  Status RemoveWorker(const std::string& worker_id) override { return t_->RemoveWorkerAs(who_, worker_id); }

 private:
  FakeLeaseTable* t_;
  std::string who_;
};

}  // namespace

std::unique_ptr<lease::LeaseTable> FakeLeaseTable::Connect(std::string who) {
  return std::make_unique<Handle>(this, std::move(who));
}

void FakeLeaseTable::Clear() {
  MutexLock lock(&mu_);
  hook_ = nullptr;
  fail_next_.clear();
  calls_.clear();
  items_.clear();
  workers_.clear();
}

void FakeLeaseTable::set_hook(Hook hook) {
  MutexLock lock(&mu_);
  hook_ = std::move(hook);
}

void FakeLeaseTable::FailNext(Op op, Status status) {
  MutexLock lock(&mu_);
  fail_next_[op].push_back(std::move(status));
}

int64_t FakeLeaseTable::calls(Op op) const {
  MutexLock lock(&mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

int64_t FakeLeaseTable::writes() const {
  return calls(Op::kCreate) + calls(Op::kTransfer) + calls(Op::kUpdate) + calls(Op::kDelete) + calls(Op::kHeartbeat) +
         calls(Op::kRemoveWorker);
}

void FakeLeaseTable::PutItem(const aws::Item& item) {
  MutexLock lock(&mu_);
  items_[aws::StringOf(item, lease::attr::kLeaseKey).value_or("")] = item;
}

void FakeLeaseTable::PutLease(const Lease& lease) { PutItem(lease::LeaseToItem(lease)); }

std::optional<Lease> FakeLeaseTable::Peek(const std::string& key) const {
  MutexLock lock(&mu_);
  if (!items_.count(key)) return std::nullopt;
  Result<Lease> l = LoadLocked(key);
  if (!l.ok()) return std::nullopt;
  return *l;
}

std::vector<Lease> FakeLeaseTable::Leases() const {
  MutexLock lock(&mu_);
  std::vector<Lease> out;
  for (const auto& [key, item] : items_) {
    Result<Lease> l = LoadLocked(key);
    if (l.ok()) out.push_back(*l);
  }
  return out;
}

std::vector<WorkerBeat> FakeLeaseTable::Workers() const {
  MutexLock lock(&mu_);
  std::vector<WorkerBeat> out;
  for (const auto& [id, w] : workers_) out.push_back(w);
  return out;
}

Result<Lease> FakeLeaseTable::LoadLocked(const std::string& key) const {
  auto it = items_.find(key);
  if (it == items_.end()) return Status::NotFound(fmt::format("no lease {}", key));
  return lease::LeaseFromItem(it->second);
}

Status FakeLeaseTable::Before(const std::string& who, Op op, const std::string& key) {
  Hook hook;
  {
    MutexLock lock(&mu_);
    ++calls_[op];
    auto it = fail_next_.find(op);
    if (it != fail_next_.end() && !it->second.empty()) {
      Status st = it->second.front();
      it->second.erase(it->second.begin());
      return st;
    }
    hook = hook_;
  }
  if (hook) return hook(who, op, key);
  return Status::OK();
}

Result<std::vector<Lease>> FakeLeaseTable::ListAs(const std::string& who) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kList, ""));
  MutexLock lock(&mu_);
  std::vector<Lease> out;
  for (const auto& [key, item] : items_) {
    if (!lease::IsLeaseItem(item)) continue;
    Result<Lease> l = lease::LeaseFromItem(item);
    if (!l.ok()) return l.status();
    out.push_back(*l);
  }
  return out;
}

Result<std::optional<Lease>> FakeLeaseTable::GetAs(const std::string& who, const std::string& key) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kGet, key));
  MutexLock lock(&mu_);
  if (!items_.count(key)) return std::optional<Lease>();
  Result<Lease> l = LoadLocked(key);
  if (!l.ok()) return l.status();
  return std::optional<Lease>(*l);
}

Status FakeLeaseTable::CreateAs(const std::string& who, const Lease& lease) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kCreate, lease.key));
  MutexLock lock(&mu_);
  if (items_.count(lease.key)) return ConditionFailed(fmt::format("lease {} exists", lease.key));
  items_[lease.key] = lease::LeaseToItem(lease);
  return Status::OK();
}

Result<Lease> FakeLeaseTable::TransferAs(const std::string& who, const Lease& seen, const std::string& new_owner) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kTransfer, seen.key));
  MutexLock lock(&mu_);
  if (!items_.count(seen.key)) return ConditionFailed(fmt::format("no lease {}", seen.key));
  Result<Lease> cur = LoadLocked(seen.key);
  if (!cur.ok()) return cur.status();
  Lease l = *cur;
  if (l.counter != seen.counter || l.owner != seen.owner) {
    return ConditionFailed(fmt::format("lease {}: seen owner \"{}\" counter {}, stored owner \"{}\" counter {}",
                                       seen.key, seen.owner, seen.counter, l.owner, l.counter));
  }
  if (!l.owner.empty() && !new_owner.empty() && l.owner != new_owner) ++l.owner_switches;
  l.owner = new_owner;
  ++l.counter;
  items_[l.key] = lease::LeaseToItem(l);
  return l;
}

Status FakeLeaseTable::UpdateAs(const std::string& who, const Lease& lease) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kUpdate, lease.key));
  MutexLock lock(&mu_);
  if (!items_.count(lease.key)) return ConditionFailed(fmt::format("no lease {}", lease.key));
  Result<Lease> cur = LoadLocked(lease.key);
  if (!cur.ok()) return cur.status();
  Lease l = *cur;
  if (lease.owner.empty() || l.owner != lease.owner || l.counter != lease.counter) {
    return ConditionFailed(fmt::format("lease {}: owner \"{}\" counter {} is not \"{}\" {}", lease.key, l.owner,
                                       l.counter, lease.owner, lease.counter));
  }
  l.owner_switches = lease.checkpoint != l.checkpoint ? 0 : lease.owner_switches;
  l.checkpoint = lease.checkpoint;
  l.checkpoint_sub = lease.checkpoint_sub;
  l.start_ms = lease.start_ms;
  l.caught_up_ms = lease.caught_up_ms;
  l.journal = lease.journal;
  l.children = lease.children;
  items_[l.key] = lease::LeaseToItem(l);
  return Status::OK();
}

Status FakeLeaseTable::DeleteAs(const std::string& who, const Lease& seen) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kDelete, seen.key));
  MutexLock lock(&mu_);
  Result<Lease> cur = LoadLocked(seen.key);
  if (!cur.ok() || cur->counter != seen.counter) return ConditionFailed(fmt::format("lease {}", seen.key));
  items_.erase(seen.key);
  return Status::OK();
}

Status FakeLeaseTable::HeartbeatAs(const std::string& who, const WorkerBeat& beat) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kHeartbeat, beat.worker_id));
  MutexLock lock(&mu_);
  workers_[beat.worker_id] = beat;
  return Status::OK();
}

Result<std::vector<WorkerBeat>> FakeLeaseTable::ListWorkersAs(const std::string& who) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kListWorkers, ""));
  MutexLock lock(&mu_);
  std::vector<WorkerBeat> out;
  for (const auto& [id, w] : workers_) out.push_back(w);
  return out;
}

Status FakeLeaseTable::RemoveWorkerAs(const std::string& who, const std::string& worker_id) {
  SHARDHOSE_RETURN_IF_ERROR(Before(who, Op::kRemoveWorker, worker_id));
  MutexLock lock(&mu_);
  workers_.erase(worker_id);
  return Status::OK();
}

}  // namespace shardhose::testing

#include "lease/dynamodb_lease_table.h"

#include <fmt/format.h>

#include <map>
#include <utility>

#include "common/logging.h"
#include "common/mutex.h"
#include "lease/lease_item.h"

namespace shardhose::lease {
namespace {

using aws::AttributeValue;
using aws::Expression;
using aws::Item;

constexpr const char* kLeaseKey = "leaseKey";
constexpr const char* kWorkerId = "workerId";
constexpr int kMaxPages = 100000;

// What Update() writes: the owner's progress (lease_table.h).
constexpr const char* kProgressAttributes[] = {
    "checkpoint",
    "checkpointSubSequenceNumber",
    "ownerSwitchesSinceCheckpoint",
    "childShardIds",
    "shStartMs",
    "shCaughtUpMs",
    "shJournal",
};

// Names every attribute (#c, #o, ...) and value (:seen, ...) an expression
// uses, and only those: DynamoDB refuses unused ones.
Expression Fenced(const Lease& seen, bool check_owner) {
  Expression e;
  e.names["#c"] = "leaseCounter";
  e.values[":seen"] = AttributeValue::N(seen.counter);
  e.condition = "#c = :seen";
  if (check_owner) {
    e.names["#o"] = "leaseOwner";
    if (seen.owner.empty()) {
      e.condition += " AND attribute_not_exists(#o)";
    } else {
      e.values[":owner"] = AttributeValue::S(seen.owner);
      e.condition += " AND #o = :owner";
    }
  }
  return e;
}

Item LeaseKey(const std::string& key) { return Item{{kLeaseKey, AttributeValue::S(key)}}; }

Result<Lease> ToLease(const Item& item, const std::string& table) {
  auto lease = LeaseFromItem(item);
  if (!lease.ok()) {
    return lease.status().WithContext(
        fmt::format("table {} item {}", table, aws::StringOf(item, kLeaseKey).value_or("<no leaseKey>")));
  }
  return lease;
}

class DynamoDbLeaseTable final : public LeaseTable {
 public:
  DynamoDbLeaseTable(DynamoDbLeaseTableOptions options, aws::DynamoDbClient* client, Clock* clock)
      : options_(std::move(options)), workers_(WorkersTableName(options_.table)), client_(client), clock_(clock) {}

  Status Ensure(bool create) override {
    const std::pair<const std::string*, const char*> tables[] = {{&options_.table, kLeaseKey}, {&workers_, kWorkerId}};
    bool waiting = false;
    for (const auto& [table, hash_key] : tables) {
      auto info = client_->DescribeTable(*table);
      if (info.ok()) {
        waiting = waiting || info->status != "ACTIVE";
        continue;
      }
      if (!info.status().IsNotFound()) return info.status().WithContext(Name(*table));
      if (!create) {
        return Status::NotFound(fmt::format("{} does not exist (and creating it is not enabled)", Name(*table)))
            .WithPeer(RetryClass::kClientError, info.status().peer_code());
      }
      auto created = client_->CreateTable(*table, hash_key);
      if (!created.ok()) return created.status().WithContext("creating " + Name(*table));
      if (*created) LogInfo("created DynamoDB table", {{"table", *table}, {"region", client_->options().region}});
      waiting = true;
    }
    if (!waiting) return Status::OK();
    const MonoTime deadline = clock_->Now() + options_.ensure_timeout;
    for (const auto& [table, hash_key] : tables) {
      SHARDHOSE_RETURN_IF_ERROR(WaitActive(*table, deadline));
    }
    return Status::OK();
  }

  std::string Describe() const override { return Name(options_.table); }

  Result<std::vector<Lease>> List() override {
    std::vector<Lease> leases;
    Status st = ScanAll(options_.table, [&](const Item& item) -> Status {
      if (!IsLeaseItem(item)) return Status::OK();  // KCL 3.x's other entities
      auto lease = ToLease(item, options_.table);
      if (!lease.ok()) return lease.status();
      Remember(*lease);
      leases.push_back(std::move(lease).value());
      return Status::OK();
    });
    if (!st.ok()) return st;
    return leases;
  }

  Result<std::optional<Lease>> Get(const std::string& key) override {
    auto item = client_->GetItem(options_.table, LeaseKey(key), /*consistent=*/true);
    if (!item.ok()) return item.status();
    if (!item->has_value()) return std::optional<Lease>();
    auto lease = ToLease(**item, options_.table);
    if (!lease.ok()) return lease.status();
    Remember(*lease);
    return std::optional<Lease>(std::move(lease).value());
  }

  Status Create(const Lease& lease) override {
    Expression e;
    e.condition = "attribute_not_exists(#k)";
    e.names["#k"] = kLeaseKey;
    Status st = client_->PutItem(options_.table, LeaseToItem(lease), e);
    if (!st.ok()) return st.WithContext("creating lease " + lease.key);
    Remember(lease);
    return st;
  }

  Result<Lease> Transfer(const Lease& seen, const std::string& new_owner) override {
    Expression e = Fenced(seen, /*check_owner=*/true);
    e.names["#o"] = "leaseOwner";
    e.values[":one"] = AttributeValue::N(1);
    std::string update = "SET #c = #c + :one";
    if (!new_owner.empty()) {
      e.values[":new"] = AttributeValue::S(new_owner);
      update += ", #o = :new";
    }
    if (!seen.owner.empty() && !new_owner.empty() && new_owner != seen.owner) {
      e.names["#s"] = "ownerSwitchesSinceCheckpoint";
      e.values[":zero"] = AttributeValue::N(0);
      update += ", #s = if_not_exists(#s, :zero) + :one";
    }
    if (new_owner.empty()) update += " REMOVE #o";
    auto item = client_->UpdateItem(options_.table, LeaseKey(seen.key), update, e, /*return_all_new=*/true);
    if (!item.ok()) return item.status().WithContext("transferring lease " + seen.key);
    auto lease = ToLease(*item, options_.table);
    if (lease.ok()) Remember(*lease);
    return lease;
  }

  Status Update(const Lease& given) override {
    if (given.owner.empty()) {
      return Status::FailedPrecondition(
                 fmt::format("updating lease {}: a lease without owner is not updated", given.key))
          .WithPeer(RetryClass::kClientError, "ConditionalCheckFailedException");
    }
    Lease lease = given;
    if (CheckpointMoved(lease)) lease.owner_switches = 0;
    Expression e = Fenced(lease, /*check_owner=*/true);
    const Item item = LeaseToItem(lease);
    std::string set, remove;
    int n = 0;
    for (const char* attr : kProgressAttributes) {
      const std::string name = fmt::format("#p{}", n);
      e.names[name] = attr;
      auto it = item.find(attr);
      if (it != item.end()) {
        const std::string value = fmt::format(":p{}", n);
        e.values[value] = it->second;
        set += fmt::format("{}{} = {}", set.empty() ? "SET " : ", ", name, value);
      } else {
        remove += fmt::format("{}{}", remove.empty() ? "REMOVE " : ", ", name);
      }
      ++n;
    }
    const std::string update = set.empty() ? remove : remove.empty() ? set : set + " " + remove;
    Status st = client_->UpdateItem(options_.table, LeaseKey(lease.key), update, e, /*return_all_new=*/false).status();
    if (!st.ok()) return st.WithContext("updating lease " + lease.key);
    Remember(lease);
    return st;
  }

  Status Delete(const Lease& seen) override {
    Status st = client_->DeleteItem(options_.table, LeaseKey(seen.key), Fenced(seen, /*check_owner=*/false));
    if (!st.ok()) return st.WithContext("deleting lease " + seen.key);
    MutexLock lock(&mu_);
    stored_.erase(seen.key);
    return st;
  }

  Status Heartbeat(const WorkerBeat& beat) override {
    Item item{{kWorkerId, AttributeValue::S(beat.worker_id)},
              {"beat", AttributeValue::N(beat.beat)},
              {"leases", AttributeValue::N(beat.leases)},
              {"writtenMs", AttributeValue::N(beat.written_ms)}};
    return client_->PutItem(workers_, item).WithContext("heartbeat of " + beat.worker_id);
  }

  Result<std::vector<WorkerBeat>> ListWorkers() override {
    std::vector<WorkerBeat> beats;
    Status st = ScanAll(workers_, [&](const Item& item) -> Status {
      WorkerBeat b;
      auto id = aws::StringOf(item, kWorkerId);
      auto beat = aws::NumberOf(item, "beat");
      if (!id || !beat) return Status::Corruption(fmt::format("table {}: an item without workerId or beat", workers_));
      b.worker_id = *id;
      b.beat = *beat;
      b.leases = aws::NumberOf(item, "leases").value_or(0);
      b.written_ms = aws::NumberOf(item, "writtenMs").value_or(0);
      beats.push_back(std::move(b));
      return Status::OK();
    });
    if (!st.ok()) return st;
    return beats;
  }

  Status RemoveWorker(const std::string& worker_id) override {
    return client_->DeleteItem(workers_, Item{{kWorkerId, AttributeValue::S(worker_id)}})
        .WithContext("removing worker " + worker_id);
  }

 private:
  std::string Name(const std::string& table) const {
    return fmt::format("dynamodb table {} ({})", table, client_->options().region);
  }

  // Every item of `table`, strongly consistent, page by page.
  template <typename Fn>
  Status ScanAll(const std::string& table, Fn&& on_item) {
    aws::ScanRequest req;
    req.consistent = true;
    req.limit = options_.scan_limit;
    for (int page = 0; page < kMaxPages; ++page) {
      auto p = client_->Scan(table, req);
      if (!p.ok()) return p.status();
      for (const Item& item : p->items) SHARDHOSE_RETURN_IF_ERROR(on_item(item));
      if (p->last_key.empty()) return Status::OK();
      req.start_key = std::move(p->last_key);
    }
    return Status::Internal(fmt::format("{}: more than {} scan pages", Name(table), kMaxPages));
  }

  // Polls DescribeTable until `table` is ACTIVE. Right after CreateTable,
  // DescribeTable may still answer ResourceNotFoundException, and a retryable
  // failure may pass: both are polled through until the deadline.
  Status WaitActive(const std::string& table, MonoTime deadline) {
    std::string last = "not described yet";
    while (true) {
      auto info = client_->DescribeTable(table);
      if (info.ok()) {
        if (info->status == "ACTIVE") return Status::OK();
        last = "status " + info->status;
      } else if (info.status().IsNotFound() || info.status().IsRetryable()) {
        last = info.status().message();
      } else {
        return info.status().WithContext(Name(table));
      }
      if (clock_->Now() >= deadline) {
        return Status::Unavailable(
            fmt::format("{} not ACTIVE after {} s ({})", Name(table), options_.ensure_timeout.count() / 1000, last));
      }
      clock_->SleepFor(options_.ensure_poll);
    }
  }

  // What this table last read or wrote of a lease: its counter and
  // checkpoint. An Update is fenced by the counter, so while the counter is
  // the one remembered, the stored checkpoint is the one remembered.
  void Remember(const Lease& l) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    stored_[l.key] = {l.counter, l.checkpoint};
  }
  // True when `l` moves the checkpoint stored at its counter (known only
  // if this table read or wrote the lease at that counter).
  bool CheckpointMoved(const Lease& l) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto it = stored_.find(l.key);
    return it != stored_.end() && it->second.first == l.counter && it->second.second != l.checkpoint;
  }

  const DynamoDbLeaseTableOptions options_;
  const std::string workers_;
  aws::DynamoDbClient* const client_;
  Clock* const clock_;
  Mutex mu_;
  std::map<std::string, std::pair<int64_t, std::string>> stored_ GUARDED_BY(mu_);  // lease key -> counter, checkpoint
};

}  // namespace

std::string WorkersTableName(const std::string& table) { return table + "-workers"; }

std::unique_ptr<LeaseTable> NewDynamoDbLeaseTable(DynamoDbLeaseTableOptions options, aws::DynamoDbClient* client,
                                                  Clock* clock) {
  return std::make_unique<DynamoDbLeaseTable>(std::move(options), client, clock);
}

}  // namespace shardhose::lease

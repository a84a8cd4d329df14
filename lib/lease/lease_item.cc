#include "lease/lease_item.h"

#include <fmt/format.h>

#include <algorithm>

#include "checkpoint/checkpoint.h"
#include "common/seqnum.h"

namespace shardhose::lease {
namespace {

using aws::AttributeValue;
using Type = AttributeValue::Type;

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kS:
      return "S";
    case Type::kN:
      return "N";
    case Type::kB:
      return "B";
    case Type::kSS:
      return "SS";
    case Type::kBOOL:
      return "BOOL";
    case Type::kNULL:
      return "NULL";
  }
  return "?";
}

// Reads the attributes of one item, naming the lease in every error.
class Reader {
 public:
  Reader(const aws::Item& item, std::string key) : item_(item), key_(std::move(key)) {}

  Status Bad(std::string_view name, std::string_view what) const {
    return Status::Corruption(fmt::format("lease {}: attribute {}: {}", key_.empty() ? "?" : key_, name, what));
  }

  // nullptr when absent; kCorruption when present with another type.
  Result<const AttributeValue*> Find(const char* name, Type want) const {
    auto it = item_.find(name);
    if (it == item_.end()) return static_cast<const AttributeValue*>(nullptr);
    if (it->second.type != want) {
      return Bad(name, fmt::format("is of type {}, expected {}", TypeName(it->second.type), TypeName(want)));
    }
    return &it->second;
  }

  Status String(const char* name, bool required, std::string* out) const {
    Result<const AttributeValue*> a = Find(name, Type::kS);
    if (!a.ok()) return a.status();
    if (*a == nullptr) return required ? Bad(name, "missing") : Status::OK();
    *out = (*a)->s;
    return Status::OK();
  }

  Status Number(const char* name, bool required, int64_t* out) const {
    Result<const AttributeValue*> a = Find(name, Type::kN);
    if (!a.ok()) return a.status();
    if (*a == nullptr) return required ? Bad(name, "missing") : Status::OK();
    std::optional<int64_t> v = aws::NumberOf(item_, name);
    if (!v) return Bad(name, fmt::format("\"{}\" is not a 64-bit integer", (*a)->s.substr(0, 64)));
    *out = *v;
    return Status::OK();
  }

  Status Set(const char* name, std::vector<std::string>* out) const {
    Result<const AttributeValue*> a = Find(name, Type::kSS);
    if (!a.ok()) return a.status();
    if (*a == nullptr) return Status::OK();
    *out = (*a)->ss;
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return Status::OK();
  }

 private:
  const aws::Item& item_;
  std::string key_;
};

}  // namespace

bool IsValidCheckpoint(const std::string& checkpoint) {
  return checkpoint == kTrimHorizon || checkpoint == kLatest || checkpoint == kAtTimestamp || checkpoint == kShardEnd ||
         IsValidSeq(checkpoint);
}

bool IsLeaseItem(const aws::Item& item) {
  auto it = item.find(attr::kEntityType);
  return it == item.end() || (it->second.type == Type::kS && it->second.s == attr::kEntityTypeLease);
}

aws::Item LeaseToItem(const Lease& lease) {
  aws::Item item;
  item[attr::kLeaseKey] = AttributeValue::S(lease.key);
  item[attr::kLeaseCounter] = AttributeValue::N(lease.counter);
  item[attr::kCheckpoint] = AttributeValue::S(lease.checkpoint);
  item[attr::kCheckpointSub] = AttributeValue::N(lease.checkpoint_sub);
  item[attr::kOwnerSwitches] = AttributeValue::N(lease.owner_switches);
  if (!lease.owner.empty()) item[attr::kLeaseOwner] = AttributeValue::S(lease.owner);
  if (!lease.parents.empty()) item[attr::kParentShardId] = AttributeValue::SS(lease.parents);
  if (!lease.children.empty()) item[attr::kChildShardIds] = AttributeValue::SS(lease.children);
  if (!lease.starting_hash_key.empty() && !lease.ending_hash_key.empty()) {
    item[attr::kStartingHashKey] = AttributeValue::S(lease.starting_hash_key);
    item[attr::kEndingHashKey] = AttributeValue::S(lease.ending_hash_key);
  }
  if (lease.start_ms != 0) item[attr::kStartMs] = AttributeValue::N(lease.start_ms);
  if (lease.caught_up_ms != 0) item[attr::kCaughtUpMs] = AttributeValue::N(lease.caught_up_ms);
  if (!lease.journal.empty()) item[attr::kJournal] = AttributeValue::S(checkpoint::EncodeCuts(lease.journal));
  return item;
}

Result<Lease> LeaseFromItem(const aws::Item& item) {
  Lease l;
  {
    Reader key_reader(item, "");
    SHARDHOSE_RETURN_IF_ERROR(key_reader.String(attr::kLeaseKey, /*required=*/true, &l.key));
    if (l.key.empty()) return key_reader.Bad(attr::kLeaseKey, "empty");
  }
  if (!IsLeaseItem(item)) {
    return Status::InvalidArgument(fmt::format("item {}: not a lease (entityType {})", l.key,
                                               aws::StringOf(item, attr::kEntityType).value_or("of another type")));
  }
  const Reader r(item, l.key);
  SHARDHOSE_RETURN_IF_ERROR(r.String(attr::kLeaseOwner, false, &l.owner));
  if (item.count(attr::kLeaseOwner) && l.owner.empty()) return r.Bad(attr::kLeaseOwner, "empty");
  SHARDHOSE_RETURN_IF_ERROR(r.Number(attr::kLeaseCounter, true, &l.counter));
  if (l.counter < 0) return r.Bad(attr::kLeaseCounter, "negative");
  SHARDHOSE_RETURN_IF_ERROR(r.String(attr::kCheckpoint, true, &l.checkpoint));
  if (!IsValidCheckpoint(l.checkpoint)) {
    return r.Bad(attr::kCheckpoint,
                 fmt::format("\"{}\" is neither a sequence number nor a sentinel", l.checkpoint.substr(0, 64)));
  }
  SHARDHOSE_RETURN_IF_ERROR(r.Number(attr::kCheckpointSub, false, &l.checkpoint_sub));
  SHARDHOSE_RETURN_IF_ERROR(r.Number(attr::kOwnerSwitches, false, &l.owner_switches));
  SHARDHOSE_RETURN_IF_ERROR(r.Set(attr::kParentShardId, &l.parents));
  SHARDHOSE_RETURN_IF_ERROR(r.Set(attr::kChildShardIds, &l.children));
  SHARDHOSE_RETURN_IF_ERROR(r.String(attr::kStartingHashKey, false, &l.starting_hash_key));
  SHARDHOSE_RETURN_IF_ERROR(r.String(attr::kEndingHashKey, false, &l.ending_hash_key));
  SHARDHOSE_RETURN_IF_ERROR(r.Number(attr::kStartMs, false, &l.start_ms));
  SHARDHOSE_RETURN_IF_ERROR(r.Number(attr::kCaughtUpMs, false, &l.caught_up_ms));
  std::string journal;
  SHARDHOSE_RETURN_IF_ERROR(r.String(attr::kJournal, false, &journal));
  if (!journal.empty()) {
    Result<std::vector<checkpoint::PendingCut>> cuts = checkpoint::DecodeCuts(journal);
    if (!cuts.ok()) return r.Bad(attr::kJournal, cuts.status().message());
    l.journal = std::move(cuts).value();
  }
  return l;
}

}  // namespace shardhose::lease

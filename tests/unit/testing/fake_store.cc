#include "testing/fake_store.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "testing/change_records.h"

namespace shardhose::test {

Status FakeStore::Write(std::string op, std::string key) {
  last_op = std::move(op);
  last_key = std::move(key);
  ++puts;
  if (on_put) on_put(puts);
  if (puts <= fail_first) {
    return Status::Unavailable("503 SlowDown").WithPeer(RetryClass::kThrottled, "SlowDown");
  }
  if (!deny_prefix.empty() && last_key.starts_with(deny_prefix)) {
    return Status::PermissionDenied("HTTP 403 AccessDenied").WithPeer(RetryClass::kClientError, "AccessDenied");
  }
  return write_error;
}

Status FakeStore::Condition(const std::string& key) {
  if (ignore_conditions || !objects.count(key)) return Status::OK();
  ++precondition_failed;
  return Status::InvalidArgument("HTTP 412 PreconditionFailed")
      .WithPeer(RetryClass::kClientError, "PreconditionFailed");
}

void FakeStore::Store(const std::string& key, std::string body) {
  auto it = objects.find(key);
  if (it != objects.end() && it->second != body) {
    std::string why = FirstDifference(it->second, body);
    (why == kSameLinesOtherBytes ? recompressed : rewritten).push_back(key + ": " + why);
  }
  objects[key] = std::move(body);
}

Status FakeStore::Put(const std::string& key, std::string_view body, const upload::ObjectMeta& meta) {
  std::lock_guard<std::mutex> lock(mu);
  SHARDHOSE_RETURN_IF_ERROR(Write("put", key));
  if (meta.if_absent) SHARDHOSE_RETURN_IF_ERROR(Condition(key));
  Store(key, std::string(body));
  return Status::OK();
}

Result<bool> FakeStore::Holds(const std::string& key, std::string_view body) {
  std::lock_guard<std::mutex> lock(mu);
  ++heads;
  if (!head_error.ok()) return head_error;
  auto it = objects.find(key);
  return it != objects.end() && it->second == body;
}

Result<bool> FakeStore::HoldsDigest(const std::string& key, const upload::ObjectDigest& digest) {
  std::lock_guard<std::mutex> lock(mu);
  ++heads;
  if (!head_error.ok()) return head_error;
  auto it = objects.find(key);
  return it != objects.end() && it->second.size() == digest.size && Md5(it->second) == digest.md5;
}

Result<std::string> FakeStore::CreateMultipart(const std::string& key, const upload::ObjectMeta&) {
  std::lock_guard<std::mutex> lock(mu);
  std::string id = "upload-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + "-" + std::to_string(++created);
  uploads[id].key = key;
  return id;
}

Result<std::string> FakeStore::UploadPart(const std::string& key, const std::string& upload_id, int number,
                                          std::string_view body) {
  std::lock_guard<std::mutex> lock(mu);
  SHARDHOSE_RETURN_IF_ERROR(Write("part", key));
  auto held = uploads.find(upload_id);
  if (held != uploads.end() && static_cast<int>(held->second.parts.size()) == vanish_holding) {
    uploads.erase(held);
    vanish_holding = -1;  // once
  }
  auto it = uploads.find(upload_id);
  if (it == uploads.end() || it->second.key != key) return Status::NotFound("NoSuchUpload");
  it->second.parts[number] = std::string(body);
  ++parts_put;
  return "\"" + std::to_string(number) + "\"";
}

Status FakeStore::CompleteMultipartIfAbsent(const std::string& key, const std::string& upload_id,
                                            const std::vector<upload::PartReceipt>& receipts) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!ignore_conditions && objects.count(key)) {
      SHARDHOSE_RETURN_IF_ERROR(Write("complete", key));
      return Condition(key);
    }
  }
  return CompleteMultipart(key, upload_id, receipts);
}

Status FakeStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                    const std::vector<upload::PartReceipt>& receipts) {
  std::lock_guard<std::mutex> lock(mu);
  SHARDHOSE_RETURN_IF_ERROR(Write("complete", key));
  auto it = uploads.find(upload_id);
  if (it == uploads.end() || it->second.key != key) return Status::NotFound("NoSuchUpload");
  std::string body;
  EXPECT_EQ(receipts.size(), it->second.parts.size());
  for (const auto& r : receipts) body += it->second.parts.at(r.number);
  Store(key, std::move(body));
  uploads.erase(it);
  ++completes;
  return Status::OK();
}

Status FakeStore::AbortMultipart(const std::string&, const std::string& upload_id) {
  std::lock_guard<std::mutex> lock(mu);
  aborts += uploads.erase(upload_id);
  return Status::OK();
}

Result<std::vector<std::string>> FakeStore::ListMultipart(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::string> ids;
  for (const auto& [id, u] : uploads) {
    if (u.key == key) ids.push_back(id);
  }
  return ids;
}

std::map<std::string, int> FakeStore::EventIds(std::vector<std::string>* keys_of_errors) {
  std::lock_guard<std::mutex> lock(mu);
  return CountEventIds(objects, keys_of_errors);
}

}  // namespace shardhose::test

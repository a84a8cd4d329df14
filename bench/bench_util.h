// File: bench/bench_util.h
//
// What several benchmarks share: the process's CPU time, the machine's load
// average for the report header, and an object store that counts what it is
// given and keeps none of it (single PUTs only). Benchmarks only.
// Thread-safety: DiscardStore may be Put() from many threads.
#pragma once

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "upload/object_store.h"

namespace shardhose::bench {

// User + system CPU seconds of the whole process so far.
inline double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// "0.12 0.34 0.56", or "?".
inline std::string LoadAverage() {
  double l[3];
  if (getloadavg(l, 3) != 3) return "?";
  char b[64];
  std::snprintf(b, sizeof b, "%.2f %.2f %.2f", l[0], l[1], l[2]);
  return b;
}

// Counts what is Put and keeps none of it. Single PUTs only (part_bytes 0).
class DiscardStore final : public upload::ObjectStore {
 public:
  Status Put(const std::string&, std::string_view body, const upload::ObjectMeta&) override {
    bytes_ += body.size();
    objects_ += 1;
    return Status::OK();
  }
  Result<bool> Holds(const std::string&, std::string_view) override { return false; }
  Result<bool> HoldsDigest(const std::string&, const upload::ObjectDigest&) override { return false; }
  Result<std::string> CreateMultipart(const std::string&, const upload::ObjectMeta&) override { return Unsupported(); }
  Result<std::string> UploadPart(const std::string&, const std::string&, int, std::string_view) override {
    return Unsupported();
  }
  Status CompleteMultipart(const std::string&, const std::string&, const std::vector<upload::PartReceipt>&) override {
    return Unsupported();
  }
  Status AbortMultipart(const std::string&, const std::string&) override { return Unsupported(); }
  Result<std::vector<std::string>> ListMultipart(const std::string&) override { return Unsupported(); }
  std::string Describe() const override { return "discard://"; }

  uint64_t bytes() const { return bytes_; }
  uint64_t objects() const { return objects_; }

 private:
  static Status Unsupported() { return Status::FailedPrecondition("the benchmarks' discard store has no multipart"); }
  std::atomic<uint64_t> bytes_{0}, objects_{0};
};

}  // namespace shardhose::bench

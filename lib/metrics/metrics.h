// File: metrics/metrics.h
//
// Metrics: counters, gauges and histograms with labels, registered once in
// a Registry and exposed in the Prometheus text format (version 0.0.4).
// Each pipeline stage declares its metrics in one struct built from the
// registry (e.g. pipeline/pipeline_metrics.h); tests assert on values.
//
// Usage:
//   metrics::Registry registry;
//   auto& records = registry.AddCounter("shardhose_records_in_total",
//                                       "Records read from Kinesis", {"shard"});
//   records.With({"shardId-000000000000"}).Inc(42);
//   std::string text = registry.Expose();
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]*; Add* with a bad or duplicate name is a programming
// error (assert). Label values are escaped on exposition.
//
// Thread-safety: everything is thread-safe. Inc/Set/Observe on a child are
// lock-free; With() takes a lock only the first time a label set is seen
// (callers on hot paths keep the returned reference: children live as long
// as the registry and never move).
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace shardhose::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // sorted, +Inf implied
  void Observe(double v);
  uint64_t count() const;
  double sum() const;
  // Cumulative counts per bound, then +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// A metric with a fixed list of label names; one child per label-value set.
template <typename T>
class Family {
 public:
  // The child for these label values (as many as label names).
  T& With(std::initializer_list<std::string_view> label_values);
  // The child without labels (for families declared with none).
  T& Get() { return With({}); }

  const std::string& name() const { return name_; }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}
  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // GUARDED_BY(mu_)
};

class Registry {
 public:
  Registry();
  ~Registry();
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help, std::vector<std::string> labels,
                                  std::vector<double> upper_bounds);
  // Prometheus text exposition of every family, in registration order.
  std::string Expose() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exponential bucket bounds: start, start*factor, ... (count bounds).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

}  // namespace shardhose::metrics

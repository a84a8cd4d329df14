// File: metrics/metrics.h
//
// Metrics: counters, gauges and histograms with labels, registered once in
// a Registry and exposed in the Prometheus text format (version 0.0.4).
// Each pipeline stage declares its metrics in one struct built from the
// registry (e.g. pipeline/pipeline_metrics.h); tests assert on values. The
// names shardhose exposes are listed in metrics/names.md.
//
// Usage:
//   metrics::Registry registry;
//   auto& records = registry.AddCounter("shardhose_records_in_total",
//                                       "Records read from Kinesis", {"shard"});
//   records.With({"shardId-000000000000"}).Inc(42);
//   auto& upload = registry.AddHistogram("shardhose_upload_seconds", "...", {},
//                                        metrics::ExponentialBuckets(0.01, 2, 12));
//   upload.Get().Observe(0.3);
//   std::string text = registry.Expose();
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__"; a histogram may not
// have a label "le". Two families may not produce the same series name (a
// histogram "x" owns x_bucket, x_sum and x_count). Breaking one of these
// rules, a duplicate name, a duplicate label name, With() with the wrong
// number of values, or unsorted histogram bounds is a programming error:
// the process prints the reason and aborts (also in release builds; metrics
// are declared at startup, so a test catches it at once). Label values are
// any UTF-8 (not checked) and are escaped on exposition. Counter names
// should end in "_total" (`promtool check metrics` complains otherwise; not
// enforced here).
//
// Exposition (Registry::Expose): families in registration order, each with
// "# HELP" and "# TYPE" lines, then its children sorted by label values.
// A family without labels has its one child from the start (so it shows
// 0); a labelled family shows only the label sets seen so far: callers
// that want a series to start at 0 create it up front with With().
//
// Thread-safety: everything is thread-safe. Inc/Set/Add/Observe on a child
// are lock-free (relaxed atomics). With() takes a shared lock for a label
// set already seen and an exclusive one the first time (callers on hot
// paths keep the returned reference: children live as long as the registry
// and never move). Expose() may run concurrently with updates; it sees each
// value at some moment during the call (a histogram's _sum may be one
// observation apart from its _count; _count always equals the +Inf bucket).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
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
  void Add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  // REQUIRES: bounds strictly increasing and not NaN; a trailing +Inf is
  // dropped (+Inf is always implied).
  explicit Histogram(std::vector<double> upper_bounds);
  // Counts `v` in the first bucket whose bound is >= v. NaN is ignored.
  void Observe(double v);
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Cumulative counts per bound, then +Inf (bounds().size() + 1 values).
  std::vector<uint64_t> CumulativeCounts() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Orders label-value lists; lets With() look up without building strings.
struct LabelValuesLess {
  using is_transparent = void;
  bool operator()(const std::vector<std::string>& a, const std::vector<std::string>& b) const { return a < b; }
  bool operator()(const std::vector<std::string>& a, std::span<const std::string_view> b) const;
  bool operator()(std::span<const std::string_view> a, const std::vector<std::string>& b) const;
};

// A metric with a fixed list of label names; one child per label-value set.
// Instantiated for Counter, Gauge and Histogram; created only by Registry.
template <typename T>
class Family {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for these label values (as many as label names; aborts
  // otherwise). Created at 0 the first time.
  T& With(std::initializer_list<std::string_view> label_values);
  // The child without labels (for families declared with none).
  T& Get() { return With({}); }

  // Counters: the sum over the children whose label values `keep` accepts
  // (every child without a filter), for end-of-run summaries and tests.
  template <typename U = T>
  uint64_t Total(const std::function<bool(const std::vector<std::string>&)>& keep = {}) const {
    static_assert(std::is_same_v<U, Counter>, "Total() sums counters");
    std::shared_lock<std::shared_mutex> lock(mu_);
    uint64_t sum = 0;
    for (const auto& [labels, child] : children_) {
      if (!keep || keep(labels)) sum += child->value();
    }
    return sum;
  }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return labels_; }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds = {});
  std::unique_ptr<T> NewChild() const;
  // Appends the HELP/TYPE lines and every child's samples to *out.
  void Expose(std::string* out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;  // histograms only
  bool float_counter_ = false;        // gauges only: exposed as TYPE counter (AddFloatCounter)
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, LabelValuesLess> children_;  // GUARDED_BY(mu_)
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The returned family lives as long as the registry.
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  // A counter whose value is a float read from elsewhere and Set() (e.g.
  // process_cpu_seconds_total from /proc): exposed as TYPE counter. The
  // caller must never set it lower than before.
  Family<Gauge>& AddFloatCounter(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help, std::vector<std::string> labels,
                                  std::vector<double> upper_bounds);

  // Runs `hook` at the start of every Expose(), on the calling thread, one
  // Expose() at a time; for gauges that are cheapest to compute when
  // scraped (e.g. ages from Pipeline::GetHealth()). REQUIRES: whatever the
  // hook touches outlives the registry, or the registry is no longer
  // exposed when it goes.
  void OnExpose(std::function<void()> hook);

  // Prometheus text exposition (0.0.4) of every family, in registration
  // order; "" for an empty registry.
  std::string Expose() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exponential bucket bounds: start, start*factor, ... (count bounds).
// REQUIRES: start > 0, factor > 1, count >= 1.
std::vector<double> ExponentialBuckets(double start, double factor, int count);
// Linear bucket bounds: start, start+width, ... (count bounds).
// REQUIRES: width > 0, count >= 1.
std::vector<double> LinearBuckets(double start, double width, int count);

// Exposition helpers (exposed for tests).
// A sample value: shortest round-trip decimal, "+Inf", "-Inf" or "NaN".
std::string FormatValue(double v);
// A label value with \ " and newline escaped.
std::string EscapeLabelValue(std::string_view v);
// HELP text with \ and newline escaped.
std::string EscapeHelp(std::string_view v);

}  // namespace shardhose::metrics

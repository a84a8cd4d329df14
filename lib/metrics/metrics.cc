// Metrics registry and Prometheus text exposition (format 0.0.4):
//
//   exposition := family*
//   family     := "# HELP " name " " escaped-help "\n"
//                 "# TYPE " name " " ("counter" | "gauge" | "histogram") "\n"
//                 sample*
//   sample     := series labels? " " value "\n"
//   labels     := "{" name "=\"" escaped-value "\"" ("," ...)* "}"
// A histogram child writes series name_bucket (its labels plus le="bound",
// cumulative, ending with le="+Inf"), then name_sum and name_count.

#include "metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <set>
#include <variant>

namespace shardhose::metrics {
namespace {

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// {a="x",b="y"} from names and values, plus an optional extra pair (le).
void AppendLabels(std::string* out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) out->push_back(',');
    first = false;
    out->append(names[i]);
    out->append("=\"");
    out->append(EscapeLabelValue(values[i]));
    out->push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) out->push_back(',');
    out->append(extra_name);
    out->append("=\"");
    out->append(extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

void AppendHeader(std::string* out, const std::string& name, const std::string& help, std::string_view type) {
  out->append("# HELP ").append(name).append(" ").append(EscapeHelp(help)).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <typename A, typename B>
bool LexLess(const A& a, const B& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](std::string_view x, std::string_view y) { return x < y; });
}

}  // namespace

// ---------------------------------------------------------------------------
// Formatting.

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip
  return std::string(buf, r.ptr);
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Histogram.

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (std::isnan(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
      Fatal("histogram bounds must be strictly increasing and not NaN");
    }
  }
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);  // zeroed
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    n += buckets_[i].load(std::memory_order_relaxed);
    out[i] = n;
  }
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) Fatal("ExponentialBuckets: bad arguments");
  std::vector<double> out;
  out.reserve(count);
  double b = start;
  for (int i = 0; i < count; ++i, b *= factor) out.push_back(b);
  return out;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) Fatal("LinearBuckets: bad arguments");
  std::vector<double> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

// ---------------------------------------------------------------------------
// Family.

bool LabelValuesLess::operator()(const std::vector<std::string>& a, std::span<const std::string_view> b) const {
  return LexLess(a, b);
}
bool LabelValuesLess::operator()(std::span<const std::string_view> a, const std::vector<std::string>& b) const {
  return LexLess(a, b);
}

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds)
    : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}

template <>
std::unique_ptr<Counter> Family<Counter>::NewChild() const {
  return std::make_unique<Counter>();
}
template <>
std::unique_ptr<Gauge> Family<Gauge>::NewChild() const {
  return std::make_unique<Gauge>();
}
template <>
std::unique_ptr<Histogram> Family<Histogram>::NewChild() const {
  return std::make_unique<Histogram>(bounds_);
}

template <typename T>
T& Family<T>::With(std::initializer_list<std::string_view> label_values) {
  if (label_values.size() != labels_.size()) {
    Fatal(name_ + ": With() got " + std::to_string(label_values.size()) + " label values for " +
          std::to_string(labels_.size()) + " labels");
  }
  const std::span<const std::string_view> key(label_values.begin(), label_values.size());
  {
    std::shared_lock lock(mu_);
    auto it = children_.find(key);
    if (it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) {
    it = children_.emplace(std::vector<std::string>(label_values.begin(), label_values.end()), NewChild()).first;
  }
  return *it->second;
}

template <>
void Family<Counter>::Expose(std::string* out) const {
  AppendHeader(out, name_, help_, "counter");
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    out->append(name_);
    AppendLabels(out, labels_, values);
    out->push_back(' ');
    AppendUint(out, child->value());
    out->push_back('\n');
  }
}

template <>
void Family<Gauge>::Expose(std::string* out) const {
  AppendHeader(out, name_, help_, float_counter_ ? "counter" : "gauge");
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    out->append(name_);
    AppendLabels(out, labels_, values);
    out->push_back(' ');
    out->append(FormatValue(child->value()));
    out->push_back('\n');
  }
}

template <>
void Family<Histogram>::Expose(std::string* out) const {
  AppendHeader(out, name_, help_, "histogram");
  std::vector<std::string> les;
  les.reserve(bounds_.size() + 1);
  for (double b : bounds_) les.push_back(FormatValue(b));
  les.push_back("+Inf");
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    const std::vector<uint64_t> counts = child->CumulativeCounts();
    const double sum = child->sum();
    for (size_t i = 0; i < counts.size(); ++i) {
      out->append(name_).append("_bucket");
      AppendLabels(out, labels_, values, "le", les[i]);
      out->push_back(' ');
      AppendUint(out, counts[i]);
      out->push_back('\n');
    }
    out->append(name_).append("_sum");
    AppendLabels(out, labels_, values);
    out->push_back(' ');
    out->append(FormatValue(sum));
    out->push_back('\n');
    out->append(name_).append("_count");
    AppendLabels(out, labels_, values);
    out->push_back(' ');
    AppendUint(out, counts.back());
    out->push_back('\n');
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---------------------------------------------------------------------------
// Registry.

struct Registry::Impl {
  using AnyFamily = std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                                 std::unique_ptr<Family<Histogram>>>;

  mutable std::mutex mu;                      // guards families, series, hooks
  std::vector<AnyFamily> families;            // GUARDED_BY(mu), registration order
  std::set<std::string, std::less<>> series;  // GUARDED_BY(mu), every series name in use
  std::vector<std::function<void()>> hooks;   // GUARDED_BY(mu)
  mutable std::mutex expose_mu;               // one Expose() at a time (hooks)

  // Checks the names and claims the series names; aborts on a violation.
  void Claim(const std::string& name, const std::vector<std::string>& labels, bool histogram) {
    if (!IsMetricName(name)) Fatal("bad metric name \"" + name + "\"");
    std::set<std::string_view> seen;
    for (const std::string& l : labels) {
      if (!IsLabelName(l) || l.compare(0, 2, "__") == 0) {
        Fatal(name + ": bad label name \"" + l + "\"");
      }
      if (histogram && l == "le") Fatal(name + ": a histogram may not have a label \"le\"");
      if (!seen.insert(l).second) Fatal(name + ": duplicate label name \"" + l + "\"");
    }
    std::vector<std::string> names = {name};
    if (histogram) names = {name, name + "_bucket", name + "_sum", name + "_count"};
    for (const std::string& n : names) {
      if (series.count(n)) Fatal("metric \"" + name + "\" registered twice (series " + n + ")");
    }
    // A plain metric may also not take a name a histogram owns, e.g. x_sum.
    for (const std::string& n : names) series.insert(n);
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Family<Counter>& Registry::AddCounter(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(impl_->mu);
  impl_->Claim(name, labels, false);
  auto f = std::unique_ptr<Family<Counter>>(new Family<Counter>(std::move(name), std::move(help), std::move(labels)));
  Family<Counter>& ref = *f;
  if (ref.labels_.empty()) ref.Get();
  impl_->families.emplace_back(std::move(f));
  return ref;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(impl_->mu);
  impl_->Claim(name, labels, false);
  auto f = std::unique_ptr<Family<Gauge>>(new Family<Gauge>(std::move(name), std::move(help), std::move(labels)));
  Family<Gauge>& ref = *f;
  if (ref.labels_.empty()) ref.Get();
  impl_->families.emplace_back(std::move(f));
  return ref;
}

Family<Gauge>& Registry::AddFloatCounter(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(impl_->mu);
  impl_->Claim(name, labels, false);
  auto f = std::unique_ptr<Family<Gauge>>(new Family<Gauge>(std::move(name), std::move(help), std::move(labels)));
  Family<Gauge>& ref = *f;
  ref.float_counter_ = true;
  if (ref.labels_.empty()) ref.Get();
  impl_->families.emplace_back(std::move(f));
  return ref;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help, std::vector<std::string> labels,
                                          std::vector<double> upper_bounds) {
  std::lock_guard lock(impl_->mu);
  impl_->Claim(name, labels, true);
  // Validate (and normalise a trailing +Inf) once, through a throwaway child.
  Histogram probe(std::move(upper_bounds));
  auto f = std::unique_ptr<Family<Histogram>>(
      new Family<Histogram>(std::move(name), std::move(help), std::move(labels), probe.bounds()));
  Family<Histogram>& ref = *f;
  if (ref.labels_.empty()) ref.Get();
  impl_->families.emplace_back(std::move(f));
  return ref;
}

void Registry::OnExpose(std::function<void()> hook) {
  std::lock_guard lock(impl_->mu);
  impl_->hooks.push_back(std::move(hook));
}

std::string Registry::Expose() const {
  std::lock_guard expose_lock(impl_->expose_mu);
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(impl_->mu);
    hooks = impl_->hooks;
  }
  for (const auto& h : hooks) h();  // without mu: a hook may use the registry
  std::string out;
  std::lock_guard lock(impl_->mu);
  for (const auto& f : impl_->families) {
    std::visit([&out](const auto& family) { family->Expose(&out); }, f);
  }
  return out;
}

}  // namespace shardhose::metrics

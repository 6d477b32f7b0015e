// prometheus.cpp — see prometheus.hpp.
#include "serve/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace bert_emotion::serve {

std::vector<double> duration_buckets() {
  std::vector<double> b;
  double v = 1e-5;
  for (int i = 0; i < 35; ++i, v *= 1.5) b.push_back(v);
  return b;
}

std::vector<double> power_of_two_buckets(double max_value) {
  std::vector<double> b;
  for (double v = 1.0; v <= max_value; v *= 2.0) b.push_back(v);
  return b;
}

std::string prometheus_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip, locale-free
  return std::string(buf, r.ptr);
}

void MetricsRegistry::add_histogram(const std::string& name, std::vector<double> upper_bounds) {
  std::lock_guard lock(mutex_);
  Histogram h;
  h.counts.assign(upper_bounds.size(), 0);
  h.upper_bounds = std::move(upper_bounds);
  histograms_[name] = std::move(h);
}

void MetricsRegistry::increment(const std::string& name, const std::string& labels, double by) {
  std::lock_guard lock(mutex_);
  counters_[name][labels] += by;
}

void MetricsRegistry::observe(const std::string& name, double value) {
  std::lock_guard lock(mutex_);
  auto it = histograms_.find(name);
  if (it == histograms_.end()) throw std::logic_error("histogram " + name + " was not added");
  Histogram& h = it->second;
  for (size_t i = 0; i < h.upper_bounds.size(); ++i)
    if (value <= h.upper_bounds[i]) {
      ++h.counts[i];
      break;
    }
  ++h.count;
  h.sum += value;
}

void MetricsRegistry::set_gauge(const std::string& name, double value) {
  std::lock_guard lock(mutex_);
  gauges_[name] = value;
}

double MetricsRegistry::counter(const std::string& name, const std::string& labels) const {
  std::lock_guard lock(mutex_);
  auto it = counters_.find(name);
  if (it == counters_.end()) return 0.0;
  auto jt = it->second.find(labels);
  return jt == it->second.end() ? 0.0 : jt->second;
}

uint64_t MetricsRegistry::histogram_count(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = histograms_.find(name);
  return it == histograms_.end() ? 0 : it->second.count;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, series] : counters_) {
    out += "# TYPE " + name + " counter\n";
    for (const auto& [labels, value] : series)
      out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + prometheus_number(value) + "\n";
  }
  for (const auto& [name, value] : gauges_) {
    out += "# TYPE " + name + " gauge\n";
    out += name + " " + prometheus_number(value) + "\n";
  }
  for (const auto& [name, h] : histograms_) {
    out += "# TYPE " + name + " histogram\n";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
      cumulative += h.counts[i];
      out += name + "_bucket{le=\"" + prometheus_number(h.upper_bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += name + "_sum " + prometheus_number(h.sum) + "\n";
    out += name + "_count " + std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace bert_emotion::serve

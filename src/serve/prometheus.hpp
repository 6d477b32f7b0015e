// prometheus.hpp — a small thread-safe metrics registry rendered in Prometheus text format 0.0.4.
//
// The server exports TEI's metric names (router/src/prometheus.rs) so that TEI dashboards work:
// counters te_request_count{method}, te_request_success{method}, te_request_failure{err}; histograms
// te_request_duration, te_request_tokenization_duration, te_request_queue_duration,
// te_request_inference_duration, te_request_input_length, te_batch_next_size, te_batch_next_tokens;
// gauge te_queue_size. Bucket helpers give TEI's bucket layouts.
//
//   MetricsRegistry m;
//   m.add_histogram("te_request_duration", duration_buckets());
//   m.increment("te_request_count", "method=\"predict\"");
//   m.observe("te_request_duration", 0.012);
//   m.set_gauge("te_queue_size", 3);
//   std::string text = m.render();   // GET /metrics
//
// Label sets are passed pre-rendered (`key="value"`, values from a fixed vocabulary, never user
// text). Observing a histogram that was not added throws std::logic_error (a programming error).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bert_emotion::serve {

// Geometric x1.5 from 1e-5 s, 35 buckets (TEI's duration buckets).
std::vector<double> duration_buckets();
// 1, 2, 4, ... while <= max_value.
std::vector<double> power_of_two_buckets(double max_value);

class MetricsRegistry {
 public:
  void add_histogram(const std::string& name, std::vector<double> upper_bounds);
  void increment(const std::string& name, const std::string& labels = {}, double by = 1.0);
  void observe(const std::string& name, double value);
  void set_gauge(const std::string& name, double value);

  // Current value of a counter / gauge (0 if never touched) — for tests and logs.
  double counter(const std::string& name, const std::string& labels = {}) const;
  uint64_t histogram_count(const std::string& name) const;

  std::string render() const;

 private:
  struct Histogram {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0.0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, double>> counters_;  // name -> labels -> value
  std::map<std::string, double> gauges_;
  std::map<std::string, Histogram> histograms_;
};

// Shortest round-trip text of a double, "+Inf"/"-Inf"/"NaN" as Prometheus spells them.
std::string prometheus_number(double v);

}  // namespace bert_emotion::serve

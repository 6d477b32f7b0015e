// bench_common.hpp — what the benchmark executables share (header-only: each bench/*_bench.cpp
// is built on its own, see bench/CMakeLists.txt).
//
// For the plain-main benches (inference_bench, perf_bench), which print one JSON line:
//   bench::now()              steady-clock seconds
//   bench::peak_rss_mb()      getrusage's ru_maxrss in MiB
//   bench::median(v)          Python's statistics.median
//   bench::Options            their `prog WHAT [--option value | --switch]...` command line:
//
//     bench::Options opts;
//     opts.value("--model", model).value("--iters", iters).flag("--sorted", sorted);
//     if (!opts.parse(argc, argv)) return 2;   // it printed why
//
// For the Google Benchmark ones (model_bench, optimizer_bench):
//   bench::base_emotion_config()   distilbert-base-cased's shape with the 4 TweetEval emotion labels
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "model/config.hpp"

namespace bert_emotion::bench {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Options after the benchmark's name (argv[1]). value() options take the next argument (ints
// through std::stoi, uint64_t through std::stoull); flag() options take none.
class Options {
 public:
  Options& value(std::string name, std::string& v) {
    return add(std::move(name), true, [&v](const std::string& s) { v = s; });
  }
  Options& value(std::string name, int& v) {
    return add(std::move(name), true, [&v](const std::string& s) { v = std::stoi(s); });
  }
  Options& value(std::string name, uint64_t& v) {
    return add(std::move(name), true, [&v](const std::string& s) { v = std::stoull(s); });
  }
  Options& flag(std::string name, bool& v) {
    return add(std::move(name), false, [&v](const std::string&) { v = true; });
  }

  // Parses argv[2..]. False (after saying why on stderr) for an option missing its value or one
  // not declared.
  bool parse(int argc, char** argv) const {
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      const Option* o = find(a);
      if (!o) {
        std::cerr << "unknown option " << a << "\n";
        return false;
      }
      if (!o->takes_value) {
        o->set({});
        continue;
      }
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        return false;
      }
      o->set(argv[++i]);
    }
    return true;
  }

 private:
  struct Option {
    std::string name;
    bool takes_value;
    std::function<void(const std::string&)> set;
  };
  std::vector<Option> options_;

  Options& add(std::string name, bool takes_value, std::function<void(const std::string&)> set) {
    options_.push_back({std::move(name), takes_value, std::move(set)});
    return *this;
  }
  const Option* find(const std::string& name) const {
    for (const auto& o : options_)
      if (o.name == name) return &o;
    return nullptr;
  }
};

inline ModelConfig base_emotion_config() {
  ModelConfig cfg = preset_config("base");
  set_labels(cfg, {"anger", "joy", "optimism", "sadness"});
  return cfg;
}

}  // namespace bert_emotion::bench

// openmp_waits.hpp — how long idle OpenMP workers spin before sleeping, chosen from the machine's load.
//
// libgomp's workers wait between parallel regions: spinning keeps the next region's start cheap
// when every worker has a CPU of its own (batch-1 latency 10.2 -> 8.1 ms with a 10,000 spin on an
// idle 2-core machine), but when other processes compete for the CPUs a spinning worker burns the
// time slice the thread it waits for needs (tiny-model predict 2-5x slower than one thread). So the
// CLI spins only when the 1-minute load average leaves a CPU for every thread, and otherwise sleeps
// at once (PASSIVE, spin 0). Measured in docs/PERFORMANCE.md "OpenMP waiting". libgomp reads the
// variables when it loads, so the caller sets them and re-executes (src/cli/main.cpp).
//
//   const OpenMpWaits w = choose_openmp_waits(omp_get_num_procs(), omp_get_max_threads(), read_load_average());
//   setenv("OMP_WAIT_POLICY", w.policy, 1);  setenv("GOMP_SPINCOUNT", w.spin_count, 1);
#pragma once

#include <filesystem>
#include <optional>

namespace bert_emotion {

struct OpenMpWaits {
  const char* policy;      // OMP_WAIT_POLICY
  const char* spin_count;  // GOMP_SPINCOUNT
  bool contended;          // the load left fewer idle CPUs than threads
};

// cpus: the CPUs this process may run on; threads: its OpenMP team size; load: the 1-minute load
// average read before this process starts working (other processes' runnable threads), nullopt
// when unknown (treated as idle, the previous default).
OpenMpWaits choose_openmp_waits(int cpus, int threads, std::optional<double> load);

// The first field of /proc/loadavg ("0.52 0.58 0.59 1/467 12345"); nullopt if unreadable or malformed.
std::optional<double> read_load_average(const std::filesystem::path& file = "/proc/loadavg");

}  // namespace bert_emotion

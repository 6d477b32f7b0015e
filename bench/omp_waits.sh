# omp_waits.sh — sourced by bench/run.sh and bench/dtype_peers.sh: the GOMP_SPINCOUNT the CLI would
# pick for our engine (src/util/openmp_waits.hpp), so that benchmarks time what users run.
#
#   source "$ROOT/bench/omp_waits.sh"
#   SPIN=$(cli_spin_count)     # decide once, at the start, before the script's own setup loads the machine
#
# 10000 only when the 1-minute load average leaves a CPU for each of the 2 threads, else 0.
cli_spin_count() {
  awk -v n="$(nproc)" '{ print ($1 + 2 > n + 0.5) ? 0 : 10000 }' /proc/loadavg
}

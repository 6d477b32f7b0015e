#!/usr/bin/env bash
# openmp_contention.sh — the CLI's OpenMP wait defaults under CPU contention (issue 20, item 20;
# docs/PERFORMANCE.md "OpenMP waiting"): `predict` of a tiny model over LINES, and base-size
# batch-1 latency (inference_bench), each setting interleaved REPEATS times, first with the machine
# as it is, then with one `yes > /dev/null` beside it.
#
#   bench/openmp_contention.sh TINY_MODEL LINES.txt BASE_MODEL LENGTHS.json   BUILD=build REPEATS=3
#
# TINY_MODEL: `bert-emotion init --config tiny ...`; LINES.txt: e.g. 20,000 tweets; BASE_MODEL and
# LENGTHS.json as bench/families.sh makes them (a bert-base directory, perf_bench lengths).
# Prints one line per run: the setting, wall seconds (or the latency JSON), the 1-minute load average.
set -u
[ $# = 4 ] || { sed -n 2,12p "$0"; exit 2; }
TINY=$1 LINES=$2 BASE=$3 LENGTHS=$4
BUILD="${BUILD:-build}"
REPEATS="${REPEATS:-3}"
load() { cut -d' ' -f1 /proc/loadavg; }
predict() {  # label [VAR=value ...] -- [predict options]
  local label=$1; shift
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  local t0; t0=$(date +%s.%N)
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "${envs[@]}" "$BUILD/bert-emotion" predict -m "$TINY" -i "$LINES" "$@" >/dev/null
  echo "$label: $(echo "$(date +%s.%N) - $t0" | bc) s, load $(load)"
}
for busy in 0 1; do
  ypid=""
  if [ "$busy" = 1 ]; then yes >/dev/null & ypid=$!; sleep 2; fi
  for _ in $(seq "$REPEATS"); do
    predict "busy=$busy PASSIVE+GOMP_SPINCOUNT=10000, 2 threads" OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=10000 --
    predict "busy=$busy PASSIVE+GOMP_SPINCOUNT=10000, --threads 1" OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=10000 -- --threads 1
    predict "busy=$busy CLI default (chosen by load), 2 threads" X=1 --
    predict "busy=$busy PASSIVE+GOMP_SPINCOUNT=0, 2 threads" OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=0 --
  done
  for _ in $(seq "$REPEATS"); do
    for spin in 10000 0; do
      echo "busy=$busy base latency, GOMP_SPINCOUNT=$spin: $(OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=$spin \
        "$BUILD/bench/inference_bench" latency --model "$BASE" --lengths "$LENGTHS" --threads 2 --iters 40 --warmup 5), load $(load)"
    done
  done
  if [ -n "$ypid" ]; then kill "$ypid"; fi
done

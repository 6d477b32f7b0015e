// dist_allreduce — what data parallelism adds to a training step: dist::Communicator::allreduce_sum
// of a distilbert-base-sized gradient arena (65.8 M floats, 263 MB) over the ranks of an mpirun,
// per bucket size, plus the weights checksum. Rank 0 prints one line per bucket size: bytes, time
// per allreduce (median of the timed runs, after one warm-up) and the bus bandwidth the ring model
// of docs/SCALING.md implies (2 (N-1)/N x bytes / time). Not a Google Benchmark: every rank must
// run the same number of collectives.
//
//   mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 build/bench/dist_allreduce [runs] [floats]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_common.hpp"
#include "dist/communicator.hpp"
#include "model/weights.hpp"

using namespace bert_emotion;

int main(int argc, char** argv) {
  dist::Communicator& comm = dist::world();
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const size_t floats =
      argc > 2 ? std::strtoull(argv[2], nullptr, 10) : ParamLayout(bench::base_emotion_config()).size();
  std::vector<float> grads(floats, 1e-3f);
  const double bytes = static_cast<double>(floats) * sizeof(float);
  const int N = comm.size();
  if (comm.is_root())
    std::printf("ranks %d, gradient %zu floats (%.1f MB), %d timed runs\n", N, floats, bytes / 1e6, runs);
  for (size_t bucket : {size_t{1} << 18, size_t{1} << 20, size_t{4} << 20, size_t{16} << 20, floats}) {
    comm.set_bucket_floats(bucket);
    std::vector<double> t;
    for (int r = 0; r <= runs; ++r) {
      comm.barrier();
      const auto t0 = std::chrono::steady_clock::now();
      comm.allreduce_sum(grads.data(), grads.size());
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r > 0) t.push_back(s);  // the first run warms up buffers and connections
    }
    std::sort(t.begin(), t.end());
    const double med = t[t.size() / 2];
    if (comm.is_root())
      std::printf("bucket %9zu floats (%6.1f MB): allreduce %8.1f ms (min %8.1f), bus bandwidth %6.2f GB/s\n", bucket,
                  bucket * 4 / 1e6, med * 1e3, t.front() * 1e3, 2.0 * (N - 1) / N * bytes / med / 1e9);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const bool same = comm.same_on_all_ranks(dist::arena_checksum(grads.data(), grads.size()));
  const double check = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (comm.is_root())
    std::printf("weights checksum + compare: %.1f ms (%s)\n", check * 1e3, same ? "equal" : "DIFFERENT");
  return 0;
}

// communicator.hpp — the few collective operations data-parallel training and sharded inference
// need, over MPI when the process was started by `mpirun`, and a one-process stand-in otherwise.
//
// world() is this process's communicator. Started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or
// PMI_SIZE / PMIX_RANK of other launchers) in a build with MPI, it initialises MPI once (threads:
// FUNNELED — only the main thread calls MPI; OpenMP workers never do) and spans every rank;
// otherwise it is solo(): rank 0 of 1, where every collective is a no-op or a copy, so a binary
// run without mpirun behaves exactly as one built without MPI. MPI is finalised at exit.
//
// Errors: MPI's default handler (MPI_ERRORS_ARE_FATAL) aborts the whole job on a failed call, and
// mpirun ends every rank when one exits abnormally; abort() ends the job from an exception that
// only some ranks may have seen (the CLI calls it with the exit code of the error it printed).
//
//   dist::Communicator& comm = dist::world();
//   comm.allreduce_sum(grads.data(), grads.size());           // every rank: the sum over ranks
//   if (!comm.same_on_all_ranks(weights_checksum)) throw Error("ranks diverged");
//   std::vector<float> all = comm.allgather(mine);            // rank 0's part, then rank 1's, ...
//   if (comm.is_root()) write_outputs();
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bert_emotion::dist {

class Communicator {
 public:
  // The one-process communicator: rank 0 of 1.
  static Communicator& solo();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }
  // Ranks on this machine (OMPI_COMM_WORLD_LOCAL_SIZE; 1 when unknown or solo).
  int local_size() const { return local_size_; }

  // In-place sums over all ranks; every rank ends with the same values. Floats travel in buckets
  // of bucket_floats(), all posted at once (MPI_Iallreduce) and then awaited.
  void allreduce_sum(float* data, size_t n);
  void allreduce_sum(double* data, size_t n);
  size_t bucket_floats() const { return bucket_floats_; }
  void set_bucket_floats(size_t n) { bucket_floats_ = n > 0 ? n : 1; }

  // True when `value` is equal on every rank (one 16-byte allreduce).
  bool same_on_all_ranks(uint64_t value);

  // Every rank's `mine`, concatenated in rank order, on every rank (sizes may differ).
  std::vector<float> allgather(const std::vector<float>& mine);

  // Rank 0's `text` on every rank.
  void broadcast(std::string& text);

  void barrier();

  // Ends every rank of the job with `exit_code` (MPI_Abort); solo: std::exit.
  [[noreturn]] void abort(int exit_code);

  // Whether this binary was built with MPI (tests skip the mpirun cases without it).
  static bool mpi_built();

 protected:
  Communicator(int rank, int size, int local_size) : rank_(rank), size_(size), local_size_(local_size) {}

 private:
  friend Communicator& world();
  int rank_ = 0, size_ = 1, local_size_ = 1;
  size_t bucket_floats_ = size_t{4} << 20;  // 16 MiB per bucket (docs/SCALING.md)
};

// This process's communicator (see the overview). The first call initialises MPI when needed.
Communicator& world();

// The first `n` items split into `parts` contiguous ranges as evenly as possible; part `i` is
// [first, last). Used to shard batches and inputs by rank.
struct Range {
  size_t first = 0, last = 0;
  size_t size() const { return last - first; }
};
Range even_share(size_t n, int parts, int i);

// OpenMP threads per rank when the user chose none: the CPUs this rank may use, divided among
// the ranks on this machine when they all share the same CPUs (mpirun --bind-to none).
int default_threads_per_rank(const Communicator& comm);

// An order-sensitive 64-bit checksum of a float arena (its bit patterns), for comparing weights
// across ranks: any changed bit changes it.
uint64_t arena_checksum(const float* data, size_t n);

}  // namespace bert_emotion::dist

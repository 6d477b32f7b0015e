// communicator.cpp — MPI behind dist::Communicator (see communicator.hpp). Without
// BERT_EMOTION_HAVE_MPI every process is solo and the collectives are identities.
#include "dist/communicator.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>

#include "util/error.hpp"

#ifdef BERT_EMOTION_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (Open MPI would pull in its deprecated C++ bindings)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace bert_emotion::dist {

namespace {

#ifdef BERT_EMOTION_HAVE_MPI
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (*end == '\0' && x > 0 && x < std::numeric_limits<int>::max()) ? static_cast<int>(x) : fallback;
}
#endif

// Set by Open MPI's mpirun (OMPI_*), by PMIx launchers (PMIX_RANK) or PMI ones (PMI_SIZE: MPICH, Slurm).
bool launched_by_mpi_launcher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
         std::getenv("PMI_SIZE") != nullptr;
}

}  // namespace

Communicator& Communicator::solo() {
  static Communicator c(0, 1, 1);
  return c;
}

bool Communicator::mpi_built() {
#ifdef BERT_EMOTION_HAVE_MPI
  return true;
#else
  return false;
#endif
}

#ifdef BERT_EMOTION_HAVE_MPI

namespace {

// MPI_Finalize at normal exit (static destruction), when this process initialised MPI.
struct MpiSession {
  bool active = false;
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (active && !finalized) MPI_Finalize();
  }
};

MpiSession& mpi_session() {
  static MpiSession s;
  return s;
}

// Counts travel as int: split longer arrays (never needed below 2^31 floats, but cheap to honour).
constexpr size_t kMaxCount = static_cast<size_t>(std::numeric_limits<int>::max());

template <typename T>
void allreduce_buckets(T* data, size_t n, size_t bucket, MPI_Datatype type) {
  bucket = std::min(bucket, kMaxCount);
  std::vector<MPI_Request> requests;
  requests.reserve(n / bucket + 1);
  for (size_t off = 0; off < n; off += bucket) {
    requests.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(bucket, n - off)), type, MPI_SUM, MPI_COMM_WORLD,
                   &requests.back());
  }
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
}

}  // namespace

Communicator& world() {
  static Communicator& c = []() -> Communicator& {
    if (!launched_by_mpi_launcher()) return Communicator::solo();
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    mpi_session().active = true;
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static Communicator w(rank, size, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1));
    return w;
  }();
  return c;
}

void Communicator::allreduce_sum(float* data, size_t n) {
  if (size_ > 1 && n > 0) allreduce_buckets(data, n, bucket_floats_, MPI_FLOAT);
}

void Communicator::allreduce_sum(double* data, size_t n) {
  if (size_ > 1 && n > 0) allreduce_buckets(data, n, kMaxCount, MPI_DOUBLE);
}

bool Communicator::same_on_all_ranks(uint64_t value) {
  if (size_ == 1) return true;
  uint64_t v[2] = {value, ~value};  // max of v and max of ~v = ~min of v
  MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  return v[0] == ~v[1];
}

std::vector<float> Communicator::allgather(const std::vector<float>& mine) {
  if (size_ == 1) return mine;
  if (mine.size() > kMaxCount) throw InvalidArgument("allgather: more than 2^31 floats from one rank");
  std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
  int count = static_cast<int>(mine.size());
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  size_t total = 0;
  for (int r = 0; r < size_; ++r) {
    if (total > kMaxCount) throw InvalidArgument("allgather: more than 2^31 floats in all");
    displs[static_cast<size_t>(r)] = static_cast<int>(total);
    total += static_cast<size_t>(counts[static_cast<size_t>(r)]);
  }
  std::vector<float> all(total);
  MPI_Allgatherv(mine.data(), count, MPI_FLOAT, all.data(), counts.data(), displs.data(), MPI_FLOAT, MPI_COMM_WORLD);
  return all;
}

void Communicator::broadcast(std::string& text) {
  if (size_ == 1) return;
  uint64_t len = text.size();
  MPI_Bcast(&len, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  text.resize(len);
  for (size_t off = 0; off < len; off += kMaxCount)
    MPI_Bcast(text.data() + off, static_cast<int>(std::min<uint64_t>(kMaxCount, len - off)), MPI_CHAR, 0,
              MPI_COMM_WORLD);
}

void Communicator::barrier() {
  if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void Communicator::abort(int exit_code) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized && size_ > 1) {
    std::cerr << std::flush;
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  }
  std::exit(exit_code);
}

#else  // no MPI: every process is solo

Communicator& world() {
  if (launched_by_mpi_launcher()) {
    static const bool warned = [] {
      std::cerr << "warning: started by an MPI launcher, but this bert-emotion was built without MPI; every "
                   "process runs alone (rebuild with libopenmpi-dev installed)\n";
      return true;
    }();
    (void)warned;
  }
  return Communicator::solo();
}

void Communicator::allreduce_sum(float*, size_t) {}
void Communicator::allreduce_sum(double*, size_t) {}
bool Communicator::same_on_all_ranks(uint64_t) { return true; }
std::vector<float> Communicator::allgather(const std::vector<float>& mine) { return mine; }
void Communicator::broadcast(std::string&) {}
void Communicator::barrier() {}
void Communicator::abort(int exit_code) { std::exit(exit_code); }

#endif

Range even_share(size_t n, int parts, int i) {
  const size_t p = static_cast<size_t>(std::max(parts, 1)), k = static_cast<size_t>(std::clamp(i, 0, parts - 1));
  return {n * k / p, n * (k + 1) / p};
}

int default_threads_per_rank(const Communicator& comm) {
  const int usable = omp_get_num_procs();  // this rank's CPU affinity
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  // Unbound ranks all see every CPU: share them. Bound ranks already have their own CPUs.
  if (online > 0 && usable >= online) return std::max(1, usable / std::max(1, comm.local_size()));
  return std::max(1, usable);
}

uint64_t arena_checksum(const float* data, size_t n) {
  uint64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    sum += (static_cast<uint64_t>(bits) + 0x9E3779B97F4A7C15ull) * (2 * static_cast<uint64_t>(i) + 1);
  }
  return sum;
}

}  // namespace bert_emotion::dist

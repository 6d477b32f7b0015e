// bert-emotion: fine-tune, evaluate and serve DistilBERT text classifiers.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>

#include "cli/command.hpp"
#include "dist/communicator.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}
}  // namespace bert_emotion::cli

namespace {
// OpenMP workers that spin between parallel regions starve the HTTP threads, the tokenizer and any
// other process on a small machine (libgomp's default spins ~3 ms after every region: 30-100x
// slowdowns measured on a busy 2-core box), while workers that sleep at once pay a futex wake-up
// per region (~20% of batch-1 latency). So, unless the user chose either variable: PASSIVE with a
// short spin, GOMP_SPINCOUNT=10000 (~0.1 ms; libgomp's count overrides the policy's 0 and drops to
// 0 when threads outnumber the CPUs). Measured in docs/PERFORMANCE.md "OpenMP waiting". libgomp
// reads both when it is loaded, before main(), hence one re-execution.
void default_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::setenv("GOMP_SPINCOUNT", "10000", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default policy
}
// Under mpirun: MPI starts here, after the re-execution above (which keeps the pid and the
// launcher's environment). Ranks that share a machine's CPUs split them, unless the user chose
// OMP_NUM_THREADS (or --threads, applied later by each command).
bert_emotion::dist::Communicator& start_ranks() {
  auto& comm = bert_emotion::dist::world();
  if (comm.distributed() && std::getenv("OMP_NUM_THREADS") == nullptr)
    omp_set_num_threads(bert_emotion::dist::default_threads_per_rank(comm));
  return comm;
}
// The exit code of an engine error, by its type (src/util/error.hpp).
int exit_code_for(const std::exception& e) {
  using namespace bert_emotion;
  using namespace bert_emotion::cli;
  if (dynamic_cast<const InvalidArgument*>(&e)) return kExitUsage;
  if (dynamic_cast<const IoError*>(&e)) return kExitIo;
  if (dynamic_cast<const NetworkError*>(&e)) return kExitNetwork;
  if (dynamic_cast<const FormatError*>(&e) || dynamic_cast<const UnsupportedError*>(&e)) return kExitInput;
  return kExitFailure;
}
}  // namespace

int main(int argc, char** argv) {
  default_openmp_waits(argv);
  auto& comm = start_ranks();
  using namespace bert_emotion;
  using namespace bert_emotion::cli;
  CLI::App app{"bert-emotion " BERT_EMOTION_VERSION
               ": fine-tune, evaluate and serve DistilBERT/BERT text classifiers natively"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bert-emotion ") + BERT_EMOTION_VERSION);

  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const CommandEntry& a, const CommandEntry& b) { return a.name < b.name; });
  std::map<std::string, std::function<int()>> runners;
  for (auto& entry : registry) runners[entry.name] = entry.setup(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  for (auto* sub : app.get_subcommands()) {
    auto it = runners.find(sub->get_name());
    if (it == runners.end()) continue;
    try {
      return it->second();
    } catch (const std::exception& e) {
      if (!comm.distributed()) {
        std::cerr << "error: " << e.what() << "\n";
        return exit_code_for(e);
      }
      // One rank's error ends the job: the others may be waiting in a collective.
      std::cerr << "error (rank " << comm.rank() << " of " << comm.size() << "): " << e.what() << "\n";
      comm.abort(exit_code_for(e));
    }
  }
  return kExitUsage;
}

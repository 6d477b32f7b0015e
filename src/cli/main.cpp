// bert-emotion: fine-tune, evaluate and serve DistilBERT text classifiers.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "dist/communicator.hpp"
#include "kernels/cpu_isa.hpp"
#include "util/error.hpp"
#include "util/openmp_waits.hpp"

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
// per region (~20% of batch-1 latency on an idle machine). So, unless the user chose either
// variable: PASSIVE, with a short spin (GOMP_SPINCOUNT=10000) only when the load average leaves a
// CPU for every thread, else none (a spinning worker steals the CPU of the one it waits for:
// tiny-model predict 2-5x slower). util/openmp_waits.hpp; measured in docs/PERFORMANCE.md
// "OpenMP waiting". libgomp reads both when it is loaded, before main(), hence one re-execution.
void default_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  const auto waits =
      bert_emotion::choose_openmp_waits(omp_get_num_procs(), omp_get_max_threads(), bert_emotion::read_load_average());
  ::setenv("OMP_WAIT_POLICY", waits.policy, 1);
  ::setenv("GOMP_SPINCOUNT", waits.spin_count, 1);
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

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The candidate closest to `word` if it is close enough to be a typo (a third of its letters), else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

// " Did you mean --learning-rate?" for the unknown --options of argv, given the subcommand.
std::string option_suggestions(const CLI::App* sub, int argc, char** argv) {
  if (sub == nullptr) return "";
  std::vector<std::string> names;
  for (const CLI::Option* opt : sub->get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  }
  std::string out;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    arg = arg.substr(0, arg.find('='));
    if (std::find(names.begin(), names.end(), arg) != names.end()) continue;
    const std::string guess = closest(arg, names);
    if (!guess.empty()) out += "\n  " + arg + ": did you mean " + guess + "?";
  }
  return out;
}

// The instruction set the int8 kernels use; a bad $BERT_EMOTION_MAX_CPU_ISA shows here instead of
// ending --version.
std::string cpu_isa_line() {
  try {
    return bert_emotion::cpu_isa_summary();
  } catch (const std::exception& e) {
    return std::string("unknown (") + e.what() + ")";
  }
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
  app.set_version_flag("--version", std::string("bert-emotion ") + BERT_EMOTION_VERSION + "\ncpu: " + cpu_isa_line());

  auto& registry = command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const CommandEntry& a, const CommandEntry& b) { return a.name < b.name; });
  std::map<std::string, std::function<int()>> runners;
  for (auto& entry : registry) runners[entry.name] = entry.setup(app);

  // A misspelled command would otherwise read "A subcommand is required".
  if (argc > 1 && argv[1][0] != '-' && !runners.count(argv[1])) {
    std::vector<std::string> names;
    std::string list;
    for (const auto& [name, run] : runners) names.push_back(name), list += (list.empty() ? "" : ", ") + name;
    const std::string guess = closest(argv[1], names);
    std::cerr << "error: unknown command '" << argv[1] << "'"
              << (guess.empty() ? "" : "; did you mean '" + guess + "'?") << "\ncommands: " << list
              << " (bert-emotion COMMAND --help for its options)\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e) == 0 ? kExitOk : kExitUsage;  // --help, --version
    // One "error: " line (docs/ERRORS.md), a typo's likely meaning, and where the options are listed.
    const auto subs = app.get_subcommands();
    const CLI::App* sub = subs.empty() ? nullptr : subs.front();
    std::cerr << "error: " << (sub ? sub->get_name() + ": " : std::string()) << e.what()
              << option_suggestions(sub, argc, argv) << "\nRun bert-emotion " << (sub ? sub->get_name() + " " : "")
              << "--help for the options.\n";
    return kExitUsage;
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

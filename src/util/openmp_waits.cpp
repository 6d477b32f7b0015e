// openmp_waits.cpp — the load-dependent OpenMP wait defaults (see openmp_waits.hpp).
#include "util/openmp_waits.hpp"

#include <fstream>

namespace bert_emotion {

OpenMpWaits choose_openmp_waits(int cpus, int threads, std::optional<double> load) {
  // Half a runnable thread of slack: a load average of 0.3 on an idle 2-core machine is the shell,
  // an editor, a cron job; 1.0 is a process that wants a CPU all the time.
  const bool contended = load && *load + threads > cpus + 0.5;
  return {"PASSIVE", contended ? "0" : "10000", contended};
}

std::optional<double> read_load_average(const std::filesystem::path& file) {
  std::ifstream in(file);
  double load = 0;
  if (!(in >> load) || load < 0) return std::nullopt;
  return load;
}

}  // namespace bert_emotion

// cli_harness.hpp — run the built `bert-emotion` CLI from a test and inspect what it left behind.
//
// Used by the bad-input matrix (errors_*_test.cpp) and the crash-safety test. run_cli() forks and
// execs BERT_EMOTION_BIN with stdout/stderr captured to files; options put the child under a
// file-size limit (RLIMIT_FSIZE with SIGXFSZ ignored, so write() fails with EFBIG like a full disk)
// or kill it after a wall-clock timeout. partial_outputs() lists what a failed command must never
// leave: model.safetensors files and `*.tmp-*` temp files/dirs of the atomic writers. TinyModelTest is
// a fixture with a copy of a tiny model in a temporary folder. (TempDir, slurp, spit: test_support.hpp.)
//
//   TempDir tmp;
//   CliResult r = run_cli({"init", "--out", (tmp.path / "m").string()}, {.file_size_limit = 1 << 20});
//   EXPECT_EQ(r.exit_code, 4) << r.err;
//   EXPECT_THAT(partial_outputs(tmp.path / "m"), testing::IsEmpty());
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace bert_emotion::testing_support {

namespace fs = std::filesystem;

struct CliOptions {
  long long file_size_limit = -1;  // bytes; RLIMIT_FSIZE of the child (-1 = unlimited)
  double timeout_s = 300;          // SIGKILL after this long
  std::string stdin_text;          // fed on stdin (through a file)
  fs::path cwd;                    // working directory of the child (empty = ours)
};

struct CliResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, if any
  bool timed_out = false;
  double seconds = 0;
  std::string out, err;
};

// In a forked child: replaces it with the CLI run with `args` (exit 127 if that fails).
[[noreturn]] inline void exec_cli(const std::vector<std::string>& args) {
  std::string bin = BERT_EMOTION_BIN;
  std::vector<std::string> copy = args;
  std::vector<char*> argv{bin.data()};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(bin.c_str(), argv.data());
  ::_exit(127);
}

// Starts the CLI and returns its pid; stdout/stderr go to `out`/`err`.
inline pid_t spawn_cli(const std::vector<std::string>& args, const fs::path& out, const fs::path& err,
                       const CliOptions& opts = {}) {
  fs::path in_path;
  if (!opts.stdin_text.empty()) {
    in_path = out.string() + ".stdin";
    spit(in_path, opts.stdin_text);
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fi = ::open(in_path.empty() ? "/dev/null" : in_path.c_str(), O_RDONLY);
    if (fo < 0 || fe < 0 || fi < 0) ::_exit(126);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) ::_exit(126);
    if (opts.file_size_limit >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // write() past the limit then fails with EFBIG instead of killing us
      rlimit rl{static_cast<rlim_t>(opts.file_size_limit), static_cast<rlim_t>(opts.file_size_limit)};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    std::vector<char*> argv;
    std::string bin = BERT_EMOTION_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to `timeout_s`; kills with SIGKILL after that. Fills exit_code/signal/timed_out.
inline void wait_cli(pid_t pid, double timeout_s, CliResult& r) {
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed > timeout_s) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
}

// Runs the CLI to completion. stdout/stderr come back through pipes (not files), so a file-size
// limit on the child restricts only the files it writes, never its error message.
inline CliResult run_cli(const std::vector<std::string>& args, const CliOptions& opts = {}) {
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) std::abort();
  static int counter = 0;
  const fs::path in_path = fs::temp_directory_path() / ("bert-emotion-cli-" + std::to_string(::getpid()) + "-" +
                                                        std::to_string(counter++) + ".stdin");
  if (!opts.stdin_text.empty()) spit(in_path, opts.stdin_text);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fi = ::open(opts.stdin_text.empty() ? "/dev/null" : in_path.c_str(), O_RDONLY);
    if (fi < 0) ::_exit(126);
    ::dup2(fi, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) ::_exit(126);
    if (opts.file_size_limit >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // write() past the limit then fails with EFBIG instead of killing us
      rlimit rl{static_cast<rlim_t>(opts.file_size_limit), static_cast<rlim_t>(opts.file_size_limit)};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    exec_cli(args);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CliResult r;
  const auto start = std::chrono::steady_clock::now();
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    const double left =
        opts.timeout_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (left <= 0) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(std::min(left, 1.0) * 1000) + 1) < 0 && errno != EINTR) break;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[k]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  std::error_code ec;
  fs::remove(in_path, ec);
  return r;
}

// model.safetensors files and atomic-writer temporaries (`*.tmp-*`) anywhere under `dir`.
inline std::vector<std::string> partial_outputs(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return found;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "model.safetensors" || name.find(".tmp-") != std::string::npos)
      found.push_back(fs::relative(it->path(), dir).string());
  }
  return found;
}

// A random-init tiny DistilBertForSequenceClassification (labels anger,joy,optimism,sadness) with the
// real distilbert-base-cased tokenizer, made once per test binary by `bert-emotion init` and copied.
inline void make_tiny_model(const fs::path& dir) {
  static TempDir cache;  // shared by every test of the binary, removed at exit
  static bool made = false;
  if (!made) {
    made = true;
    CliResult r = run_cli({"init", "--config", "tiny", "--seed", "1", "--out", (cache.path / "m").string(),
                           "--tokenizer", SHARED_DIR "/models/distilbert-base-cased"});
    if (r.exit_code != 0) {
      fprintf(stderr, "init failed: %s\n", r.err.c_str());
      std::abort();
    }
  }
  fs::copy(cache.path / "m", dir, fs::copy_options::recursive);
}

// A fixture holding a temporary folder `tmp` with a tiny model (make_tiny_model) at `model`.
class TinyModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model = tmp.path / "model";
    make_tiny_model(model);
  }

  TempDir tmp;
  fs::path model;
};

}  // namespace bert_emotion::testing_support

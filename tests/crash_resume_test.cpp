// crash_resume_test — SIGKILL a training run at random moments and during checkpoint writes;
// after every kill the newest checkpoint must be complete, and resuming must end bit-identical.
//
// Setup: the tiny random model (bert-emotion init), 64 labelled rows, batch 4, 6 epochs = 96 steps,
// a checkpoint-N/ at every epoch end (save_strategy epoch), one thread (deterministic). The
// uninterrupted run gives the reference model.safetensors. Each trial then trains into a fresh
// output directory, killing the process (seeded std::mt19937: reproducible) either after a random
// delay within the reference run's duration or the moment a `checkpoint-N.tmp-<pid>` temp dir
// appears (a crash in the middle of a save). After each kill:
//   * every directory named exactly checkpoint-<digits> is complete: load_model_dir and
//     load_checkpoint succeed on it, its optimizer step matches its name;
//   * latest_checkpoint() names the largest of them and never a temp dir;
// then the run restarts with --resume-from-checkpoint latest (or from scratch when no checkpoint
// exists yet), possibly to be killed again. The final model.safetensors must equal the reference
// byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_harness.hpp"
#include "model/model_dir.hpp"
#include "train/checkpoint.hpp"

namespace {

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

bool is_checkpoint_name(const std::string& n) {
  if (n.rfind("checkpoint-", 0) != 0 || n.size() == 11) return false;
  return std::all_of(n.begin() + 11, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether process `pid` is writing checkpoint `step` right now (its `checkpoint-N.tmp-<pid>` exists;
// temp dirs of earlier killed processes carry other pids).
bool writing_checkpoint(const fs::path& out, pid_t pid, int64_t step) {
  const std::string suffix = "checkpoint-" + std::to_string(step) + ".tmp-" + std::to_string(pid);
  std::error_code ec;
  for (auto it = fs::directory_iterator(out, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n == suffix) return true;
  }
  return false;
}

class CrashResume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared = new TempDir();
    make_tiny_model(shared->path / "model");
    std::mt19937 rng(7);
    const char* words[] = {"happy", "sad", "angry", "hope", "great", "awful", "love", "hate", "rain", "sun", "win"};
    const char* labels[] = {"anger", "joy", "optimism", "sadness"};
    std::string csv = "text,label\n";
    for (int i = 0; i < 64; ++i) {
      const int n = 3 + static_cast<int>(rng() % 10);
      for (int w = 0; w < n; ++w) csv += std::string(w ? " " : "") + words[rng() % 11];
      csv += std::string(",") + labels[rng() % 4] + "\n";
    }
    spit(shared->path / "train.csv", csv);
  }
  static void TearDownTestSuite() {
    delete shared;
    shared = nullptr;
  }

  static std::vector<std::string> train_args(const fs::path& out, bool resume) {
    std::vector<std::string> a = {"train",
                                  "--model",
                                  (shared->path / "model").string(),
                                  "--data",
                                  (shared->path / "train.csv").string(),
                                  "--output-dir",
                                  out.string(),
                                  "--eval-split",
                                  "none",
                                  "--test-split",
                                  "none",
                                  "--epochs",
                                  "6",
                                  "--batch-size",
                                  "4",
                                  "--threads",
                                  "1",
                                  "--no-plots",
                                  "-q"};
    if (resume) a.insert(a.end(), {"--resume-from-checkpoint", "latest"});
    return a;
  }

  // Every checkpoint-<digits> directory loads completely; latest_checkpoint is the largest of them.
  static void check_checkpoints(const fs::path& out, const std::string& when) {
    SCOPED_TRACE(when);
    if (!fs::exists(out)) return;
    int64_t largest = -1;
    for (const auto& e : fs::directory_iterator(out)) {
      const std::string name = e.path().filename().string();
      if (!e.is_directory() || !is_checkpoint_name(name)) continue;
      const int64_t step = std::stoll(name.substr(11));
      largest = std::max(largest, step);
      try {
        const LoadedModel m = load_model_dir(e.path(), {.owned_arena = true});
        const LoadedCheckpoint c = load_checkpoint(e.path(), m.layout);
        EXPECT_EQ(c.state.global_step, step) << name;
        EXPECT_EQ(c.params.size(), m.layout.size()) << name;
      } catch (const std::exception& ex) {
        ADD_FAILURE() << name << " is not a complete checkpoint: " << ex.what();
      }
    }
    const auto latest = latest_checkpoint(out);
    if (largest < 0) {
      EXPECT_FALSE(latest.has_value());
    } else {
      ASSERT_TRUE(latest.has_value());
      EXPECT_EQ(latest->filename().string(), "checkpoint-" + std::to_string(largest));
    }
  }

  static TempDir* shared;
};
TempDir* CrashResume::shared = nullptr;

TEST_F(CrashResume, KilledRunsResumeToBitIdenticalWeights) {
  // Reference: one uninterrupted run.
  TempDir tmp;
  const fs::path ref_out = tmp.path / "reference";
  const auto t0 = std::chrono::steady_clock::now();
  const CliResult ref = run_cli(train_args(ref_out, false));
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  const std::string reference = slurp(ref_out / "model.safetensors");
  ASSERT_FALSE(reference.empty());
  ASSERT_TRUE(fs::exists(ref_out / "checkpoint-96"));

  std::mt19937 rng(20261126);
  int kills = 0, mid_save_kills = 0, resumes = 0;
  for (int trial = 0; trial < 3; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const fs::path out = tmp.path / ("trial" + std::to_string(trial));
    // Up to 3 kills per trial, then a run to completion.
    for (int attempt = 0;; ++attempt) {
      ASSERT_LT(attempt, 8) << "no progress";
      const bool resume = latest_checkpoint(out).has_value();
      resumes += resume;
      const bool last = attempt >= 3;
      const fs::path log = tmp.path / "log";
      const pid_t pid = spawn_cli(train_args(out, resume), log.string() + ".out", log.string() + ".err");
      CliResult r;
      if (!last) {
        const bool at_save = rng() % 2 == 0;  // half the kills land inside a checkpoint write
        // ... of a checkpoint after the latest one (16, 32, ..., 96), so that the run progresses.
        const auto latest = latest_checkpoint(out);
        const int64_t done = latest ? std::stoll(latest->filename().string().substr(11)) : 0;
        const int64_t target = done + 16 * (1 + static_cast<int64_t>(rng() % std::max<int64_t>(1, (96 - done) / 16)));
        const double delay = std::uniform_real_distribution<double>(0.05, 1.0)(rng) * run_s;
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
          const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          if (::waitpid(pid, nullptr, WNOHANG) == pid) {  // finished before we struck
            r.exit_code = 0;
            break;
          }
          const bool in_save = at_save && writing_checkpoint(out, pid, target);
          // Under load the poll can miss the short save window: then strike right after that save.
          const bool missed_save = at_save && !in_save && fs::exists(out / ("checkpoint-" + std::to_string(target)));
          if (in_save || missed_save || (!at_save && t >= delay) || t > 10 * run_s + 60) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            ++kills;
            mid_save_kills += in_save;
            r.signal = SIGKILL;
            break;
          }
          std::this_thread::yield();  // busy-poll: a checkpoint write lasts only milliseconds
        }
      } else {
        wait_cli(pid, 600, r);
        EXPECT_EQ(r.exit_code, 0) << slurp(log.string() + ".err");
      }
      check_checkpoints(out, "after attempt " + std::to_string(attempt));
      if (r.signal == 0 && (last || fs::exists(out / "train_results.json"))) break;
    }
    ASSERT_TRUE(fs::exists(out / "model.safetensors"));
    EXPECT_TRUE(slurp(out / "model.safetensors") == reference) << "final weights differ from the uninterrupted run";
    EXPECT_TRUE(fs::exists(out / "checkpoint-96"));
  }
  // The seeded schedule must actually have exercised kills, including inside a save, and resumes.
  EXPECT_GE(kills, 5);
  EXPECT_GE(mid_save_kills, 1);
  EXPECT_GE(resumes, 3);
  std::printf("crash_resume: %d kills (%d inside a checkpoint write), %d resumes, reference run %.2f s\n", kills,
              mid_save_kills, resumes, run_s);
}

TEST_F(CrashResume, LatestIgnoresTempAndMalformedNames) {
  // What a crash can leave next to real checkpoints: a temp dir of a larger step, a stray file.
  TempDir tmp;
  const fs::path out = tmp.path / "run";
  const CliResult r = run_cli(train_args(out, false));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::create_directories(out / "checkpoint-999.tmp-12345");
  fs::create_directories(out / "checkpoint-1000x");
  spit(out / "checkpoint-2000", "not a directory");
  const auto latest = latest_checkpoint(out);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename().string(), "checkpoint-96");
}

TEST_F(CrashResume, SigtermAndSigintSaveTheCurrentStep) {
  // Schedulers, `timeout` and container stops send SIGTERM: it must save like Ctrl-C does.
  for (const int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    TempDir tmp;
    const fs::path out = tmp.path / "run", log = tmp.path / "log";
    const std::vector<std::string> args = {"train",
                                           "--model",
                                           (shared->path / "model").string(),
                                           "--data",
                                           (shared->path / "train.csv").string(),
                                           "--output-dir",
                                           out.string(),
                                           "--eval-split",
                                           "none",
                                           "--test-split",
                                           "none",
                                           "--epochs",
                                           "1000",
                                           "--save-strategy",
                                           "no",
                                           "--threads",
                                           "1",
                                           "--no-plots"};
    const pid_t pid = spawn_cli(args, log.string() + ".out", log.string() + ".err");
    const auto start = std::chrono::steady_clock::now();
    while (slurp(log.string() + ".err").find("training on") == std::string::npos &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(120))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(pid, sig);
    CliResult r;
    wait_cli(pid, 120, r);
    const std::string err = slurp(log.string() + ".err");
    EXPECT_EQ(r.signal, 0) << err;
    EXPECT_EQ(r.exit_code, 128 + sig) << err;
    const auto latest = latest_checkpoint(out);
    ASSERT_TRUE(latest.has_value()) << err;
    const LoadedModel m = load_model_dir(*latest, {.owned_arena = true});
    const LoadedCheckpoint c = load_checkpoint(*latest, m.layout);
    EXPECT_GE(c.state.global_step, 1);
    EXPECT_THAT(err, ::testing::HasSubstr(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopped after step " +
                                          std::to_string(c.state.global_step) + ", saved " + latest->string()));
    EXPECT_FALSE(fs::exists(out / "model.safetensors"));  // no final model from an interrupted run
  }
}

}  // namespace

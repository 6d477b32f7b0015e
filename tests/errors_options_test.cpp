// errors_options_test — the bad-input matrix of docs/ERRORS.md: nonsensical options, output
// directories that cannot be written, and the disk filling up during a save.
//
// Options: exit code 2 and a message naming the option and the accepted range, before any work.
// Outputs: exit code 4 and a message naming the path and the OS error; nothing half-written left
// behind (no model.safetensors, no `*.tmp-*` files or checkpoint temp dirs). "Disk full" is a
// file-size limit (RLIMIT_FSIZE) on the child with SIGXFSZ ignored, so write() fails with EFBIG
// exactly where ENOSPC would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_harness.hpp"

namespace {

using namespace bert_emotion::testing_support;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
namespace fs = std::filesystem;

class OptionErrors : public TinyModelTest {
 protected:
  void SetUp() override {
    TinyModelTest::SetUp();
    data = tmp.path / "train.csv";
    spit(data, "text,label\nI love it,joy\nso angry,anger\nhopeful,optimism\nsad day,sadness\nyay,joy\n");
  }
  std::vector<std::string> train_args(const fs::path& out) {
    return {"train",
            "--model",
            model.string(),
            "--data",
            data.string(),
            "--output-dir",
            out.string(),
            "--eval-split",
            "none",
            "--test-split",
            "none",
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--no-plots",
            "-q",
            "--threads",
            "1"};
  }
  // `a` with each `--option value` pair of `more` replacing the option's value, or appended.
  static std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
    const std::vector<std::string> m(more);
    for (size_t i = 0; i < m.size(); ++i) {
      const bool has_value = i + 1 < m.size() && m[i + 1].rfind("--", 0) != 0;
      auto it = std::find(a.begin(), a.end(), m[i]);
      if (it != a.end() && has_value && it + 1 != a.end()) {
        *(it + 1) = m[++i];
      } else {
        a.push_back(m[i]);
        if (has_value) a.push_back(m[++i]);
      }
    }
    return a;
  }
  void expect_usage_error(const CliResult& r, const std::string& option) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(option));
  }

  fs::path data;
};

TEST_F(OptionErrors, Baseline_TrainingOneEpochWorks) {
  const fs::path out = tmp.path / "run";
  const CliResult r = run_cli(train_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
  EXPECT_TRUE(fs::exists(out / "checkpoint-3" / "optimizer.safetensors"));
}

TEST_F(OptionErrors, TrainBatchSizeZero) {
  const fs::path out = tmp.path / "run";
  const CliResult r = run_cli(with(train_args(out), {"--batch-size", "0"}));
  expect_usage_error(r, "batch-size");
  EXPECT_THAT(r.err, HasSubstr("got 0"));
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(OptionErrors, TrainNegativeLearningRate) {
  const fs::path out = tmp.path / "run";
  const CliResult r = run_cli(with(train_args(out), {"--learning-rate", "-1e-5"}));
  expect_usage_error(r, "learning-rate");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(OptionErrors, TrainZeroEpochs) {
  const fs::path out = tmp.path / "run";
  const CliResult r = run_cli(with(train_args(out), {"--epochs", "0"}));
  expect_usage_error(r, "epochs");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(OptionErrors, TrainNegativeWarmup) {
  // (--max-grad-norm <= 0 is not an error: it switches clipping off, as in the HF Trainer.)
  const fs::path out = tmp.path / "run";
  expect_usage_error(run_cli(with(train_args(out), {"--warmup-steps", "-3"})), "warmup");
  expect_usage_error(run_cli(with(train_args(out), {"--warmup-ratio", "1.5"})), "warmup");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(OptionErrors, TrainResumeFromMissingCheckpoint) {
  const fs::path out = tmp.path / "run";
  const CliResult r = run_cli(with(train_args(out), {"--resume-from-checkpoint", (tmp.path / "nope").string()}));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr((tmp.path / "nope").string()));
}

TEST_F(OptionErrors, EvalAndPredictBatchSizeZero) {
  // The accepted range in plain integers (CLI11's PositiveNumber printed "0.000000 to 1797...").
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval", "--model", model.string(), "--data", data.string(), "--batch-size", "0"},
           {"predict", "--model", model.string(), "--batch-size", "0", "hi"}}) {
    const CliResult r = run_cli(args);
    expect_usage_error(r, args[args.size() - (args[0] == "eval" ? 2 : 3)]);
    EXPECT_THAT(r.err, HasSubstr(" to 2147483647"));
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("1797693")));
  }
  // --threads reads the same in every inference command (as serve's, below).
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval", "--model", model.string(), "--data", data.string(), "--threads", "-1"},
           {"predict", "--model", model.string(), "--threads", "-1", "hi"}}) {
    const CliResult r = run_cli(args);
    expect_usage_error(r, "--threads");
    EXPECT_THAT(r.err, HasSubstr("must be an integer >= 0 (got -1)"));
  }
}

TEST_F(OptionErrors, ParseErrorsSuggestAndPrintIntegers) {
  // A misspelled command: named, with its likely meaning (was "A subcommand is required").
  CliResult r = run_cli({"predcit", "--model", model.string(), "hi"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("error: unknown command 'predcit'; did you mean 'predict'?"));
  // A misspelled option: "did you mean", behind the promised "error:" prefix.
  r = run_cli(with(train_args(tmp.path / "run"), {"--lerning-rate", "1e-4"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("error: train: ", 0), 0u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--lerning-rate: did you mean --learning-rate?"));
  // Integer ranges print as integers (was "Value 0 not in range 0.000000 to 1797...").
  std::vector<std::vector<std::string>> cases = {{"tokenize", "--model", model.string(), "--max-length", "0", "x"}};
  for (const char* flag :
       {"--max-concurrent-requests", "--max-batch-tokens", "--max-client-batch-size", "--payload-limit"})
    cases.push_back({"serve", "-m", model.string(), flag, "0"});
  for (const char* flag : {"--threads", "--http-workers", "--max-batch-requests", "--max-input-length"})
    cases.push_back({"serve", "-m", model.string(), flag, "-1"});
  cases.push_back({"serve", "-m", model.string(), "--port", "70000"});
  CliOptions quick;
  quick.timeout_s = 30;
  for (const auto& args : cases) {
    r = run_cli(args, quick);
    const std::string& flag = args[args.size() - (args[0] == "tokenize" ? 3 : 2)];
    EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("error: "));
    EXPECT_THAT(r.err, HasSubstr(flag + ": must be an integer ")) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("0.000000"))) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("1797693"))) << r.err;
  }
  // --adam-epsilon 0 trained to NaN; a negative --seed wrapped to 2^64-1.
  const fs::path out = tmp.path / "run";
  expect_usage_error(run_cli(with(train_args(out), {"--adam-epsilon", "0"})), "--adam-epsilon must be > 0");
  expect_usage_error(run_cli(with(train_args(out), {"--seed", "-1"})), "--seed: must be an integer >= 0 (got -1)");
  expect_usage_error(run_cli({"init", "--seed", "-1", "--out", (tmp.path / "m").string()}), "--seed");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(tmp.path / "m"));
}

TEST_F(OptionErrors, ShortModelFlagEverywhereAndHelpDefaults) {
  EXPECT_EQ(run_cli({"tokenize", "-m", model.string(), "hi"}).exit_code, 0);
  CliResult r = run_cli({"inspect", "--model", model.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(run_cli({"inspect", "-m", model.string()}).exit_code, 0);
  EXPECT_EQ(run_cli({"inspect", model.string()}).out, r.out);
  r = run_cli({"train", "-m", model.string(), "--data", data.string(), "--output-dir", (tmp.path / "r").string(),
               "--max-steps", "1", "--eval-split", "none", "--test-split", "none", "--save-strategy", "no", "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // --help shows the defaults.
  r = run_cli({"predict", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ::testing::ContainsRegex("--batch-size[^\n]*=32"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("--format[^\n]*=jsonl"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("--on-invalid-utf8[^\n]*=error"));
  r = run_cli({"eval", "--help"});
  EXPECT_THAT(r.out, ::testing::ContainsRegex("--split[^\n]*=test"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("--batch-size[^\n]*=32"));
  r = run_cli({"serve", "--help"});
  EXPECT_THAT(r.out, ::testing::ContainsRegex("--threads[^\n]*=0"));
}

TEST_F(OptionErrors, UnknownSplit) {
  const CliResult r = run_cli({"eval", "--model", model.string(), "--data", tmp.path.string(), "--split", "dev2"});
  expect_usage_error(r, "dev2");
}

TEST_F(OptionErrors, OutputDirectoryUnderAFile) {
  // A regular file where a directory is needed: cannot be created, even as root.
  spit(tmp.path / "afile", "x");
  const fs::path out = tmp.path / "afile" / "run";
  const CliResult r = run_cli(train_args(out));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr((tmp.path / "afile").string()));

  const CliResult i = run_cli({"init", "--out", (tmp.path / "afile" / "m").string()});
  EXPECT_EQ(i.exit_code, 4) << i.err;
  EXPECT_THAT(i.err, HasSubstr((tmp.path / "afile" / "m").string()));

  const CliResult e = run_cli({"eval", "--model", model.string(), "--data", data.string(), "--output",
                               (tmp.path / "afile" / "metrics.json").string()});
  EXPECT_EQ(e.exit_code, 4) << e.err;
  EXPECT_THAT(e.err, HasSubstr((tmp.path / "afile").string()));
}

TEST_F(OptionErrors, OutputPathIsADirectory) {
  fs::create_directories(tmp.path / "metrics.json");
  const CliResult e = run_cli(
      {"eval", "--model", model.string(), "--data", data.string(), "--output", (tmp.path / "metrics.json").string()});
  EXPECT_EQ(e.exit_code, 4) << e.err;
  EXPECT_THAT(e.err, HasSubstr((tmp.path / "metrics.json").string()));
  EXPECT_THAT(partial_outputs(tmp.path / "metrics.json"), IsEmpty());
}

TEST_F(OptionErrors, DiskFullDuringInit) {
  // 1 MB limit: config.json fits, the 3.8 MB model.safetensors does not.
  const fs::path out = tmp.path / "m2";
  CliOptions o;
  o.file_size_limit = 1 << 20;
  const CliResult r = run_cli({"init", "--config", "tiny", "--out", out.string()}, o);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr((out / "model.safetensors").string()));
  EXPECT_THAT(r.err, HasSubstr("too large"));  // strerror(EFBIG)
  EXPECT_THAT(partial_outputs(out), IsEmpty());
}

TEST_F(OptionErrors, DiskFullDuringCheckpointSave) {
  // 5 MB limit: the checkpoint's model.safetensors (3.8 MB) is written, its optimizer.safetensors
  // (7.6 MB) is not. The run fails naming that file; no checkpoint-N (whole or partial), no temp
  // directory, no final model is left in the output directory.
  const fs::path out = tmp.path / "run";
  CliOptions o;
  o.file_size_limit = 5 << 20;
  const CliResult r = run_cli(train_args(out), o);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("optimizer.safetensors"));
  EXPECT_THAT(partial_outputs(out), IsEmpty());
  EXPECT_FALSE(fs::exists(out / "checkpoint-3"));
}

TEST_F(OptionErrors, DiskFullDuringFinalModelSave) {
  // No checkpoints (--save-strategy no), 1 MB limit: the final model.safetensors cannot be written.
  const fs::path out = tmp.path / "run";
  CliOptions o;
  o.file_size_limit = 1 << 20;
  const CliResult r = run_cli(with(train_args(out), {"--save-strategy", "no"}), o);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("model.safetensors"));
  EXPECT_THAT(partial_outputs(out), IsEmpty());
}

TEST_F(OptionErrors, DiskFullWritingEvalMetrics) {
  const fs::path out = tmp.path / "metrics.json";
  CliOptions o;
  o.file_size_limit = 16;  // smaller than any metrics JSON
  const CliResult r =
      run_cli({"eval", "--model", model.string(), "--data", data.string(), "--output", out.string()}, o);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr(out.string()));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(partial_outputs(tmp.path), ::testing::Each(::testing::Not(HasSubstr(".tmp-"))));
}

}  // namespace

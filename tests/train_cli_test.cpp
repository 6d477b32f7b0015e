// `bert-emotion train` end to end on a tiny random model and a small CSV dataset: the output
// directory's files (model, config labels, trainer_state.json, *_results.json, model card, SVGs,
// checkpoints), resuming through the CLI, starting from a checkpoint without a head, head/label
// mismatches, and option errors that name the flag.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/config.hpp"
#include "model/init.hpp"
#include "model/safetensors.hpp"
#include "train/checkpoint.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

RunResult run(const std::string& args) {
  static int n = 0;
  const fs::path log =
      fs::temp_directory_path() / ("train_cli_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".log");
  const std::string cmd = std::string(BERT_EMOTION_BIN) + " train " + args + " > " + log.string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = read_file(log);
  fs::remove(log);
  return r;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("train_cli_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "data");
    ModelConfig cfg = preset_config("tiny");
    cfg.max_position_embeddings = 64;
    set_labels(cfg, {"LABEL_0", "LABEL_1"});
    create_random_model_dir(root_ / "tiny", cfg, 5, fs::path(SHARED_DIR) / "models" / "distilbert-base-cased");
    // 10 training rows (batch 3 -> 4 steps per epoch, the last one a single example), 3 labels by name.
    write_file_atomic(root_ / "data" / "train.csv",
                      "text,label\n"
                      "I love this so much,joy\n"
                      "This is terrible and I hate it,anger\n"
                      "\"Tomorrow will be better, I hope\",optimism\n"
                      "what a wonderful day,joy\n"
                      "so angry right now,anger\n"
                      "things will work out,optimism\n"
                      "best news ever!,joy\n"
                      "furious about the delay,anger\n"
                      "keep going you can do it,optimism\n"
                      "happy happy happy,joy\n");
    write_file_atomic(root_ / "data" / "val.csv",
                      "text,label\nI am so happy,joy\nthis makes me mad,anger\nwe will get there,optimism\n");
    write_file_atomic(root_ / "data" / "test.csv",
                      "text,label\nlovely,joy\nannoying,anger\nhopeful,optimism\ngreat,joy\n");
    common_ = "--model " + (root_ / "tiny").string() + " --data " + (root_ / "data").string() +
              " --num_train_epochs 2 --per_device_train_batch_size 3 --logging_steps 3 --learning_rate 1e-3 --threads "
              "1 --ignore_mismatched_sizes";
    first_ = run(common_ + " --output_dir " + (root_ / "out").string());
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static fs::path root_;
  static std::string common_;
  static RunResult first_;
};
fs::path TrainCli::root_;
std::string TrainCli::common_;
RunResult TrainCli::first_;

}  // namespace

TEST_F(TrainCli, WritesTrainerCompatibleOutputs) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const fs::path out = root_ / "out";
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "trainer_state.json",
                        "train_results.json", "eval_results.json", "test_results.json", "all_results.json", "README.md",
                        "loss_curve.svg", "eval_metrics.svg", "train_log.jsonl", "training_args.json"})
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f;

  // config.json: the data's labels (sorted names of a CSV), the sequence-classification architecture.
  const auto cfg = read_json(out / "config.json");
  EXPECT_EQ(cfg["architectures"], nlohmann::json::array({"DistilBertForSequenceClassification"}));
  EXPECT_EQ(cfg["id2label"], (nlohmann::json{{"0", "anger"}, {"1", "joy"}, {"2", "optimism"}}));
  EXPECT_EQ(cfg["label2id"], (nlohmann::json{{"anger", 0}, {"joy", 1}, {"optimism", 2}}));
  EXPECT_EQ(cfg["problem_type"], "single_label_classification");
  auto weights = SafetensorsFile::open(out / "model.safetensors");
  EXPECT_EQ(weights->at("classifier.weight").shape, (std::vector<int64_t>{3, 32}));

  // trainer_state.json: 2 epochs x 4 steps; logging at steps 3, 4 (epoch end), 6, 8 + two evaluations
  // + the final train summary.
  const auto st = read_json(out / "trainer_state.json");
  EXPECT_EQ(st["global_step"], 8);
  EXPECT_EQ(st["max_steps"], 8);
  EXPECT_EQ(st["num_train_epochs"], 2);
  EXPECT_EQ(st["train_batch_size"], 3);
  EXPECT_EQ(st["logging_steps"], 3);
  EXPECT_DOUBLE_EQ(st["epoch"].get<double>(), 2.0);
  std::vector<int64_t> loss_steps, eval_steps;
  for (const auto& h : st["log_history"]) {
    if (h.contains("loss")) {
      loss_steps.push_back(h["step"].get<int64_t>());
      for (const char* k : {"grad_norm", "learning_rate", "epoch"}) EXPECT_TRUE(h.contains(k)) << k;
    }
    if (h.contains("eval_loss")) {
      eval_steps.push_back(h["step"].get<int64_t>());
      for (const char* k : {"eval_precision", "eval_recall", "eval_f1", "eval_accuracy", "eval_runtime", "epoch"})
        EXPECT_TRUE(h.contains(k)) << k;
    }
  }
  EXPECT_EQ(loss_steps, (std::vector<int64_t>{3, 4, 6, 8}));
  EXPECT_EQ(eval_steps, (std::vector<int64_t>{4, 8}));
  EXPECT_TRUE(st["log_history"].back().contains("train_loss"));
  EXPECT_TRUE(st["log_history"].back().contains("train_runtime"));

  const auto args = read_json(out / "training_args.json");
  EXPECT_EQ(args["per_device_train_batch_size"], 3);
  EXPECT_DOUBLE_EQ(args["learning_rate"].get<double>(), 1e-3);
  EXPECT_EQ(args["num_train_epochs"], 2);
  EXPECT_EQ(args["seed"], 42);
  const auto all = read_json(out / "all_results.json");
  for (const char* k :
       {"epoch", "train_loss", "train_runtime", "train_samples", "train_samples_per_second", "train_steps_per_second",
        "total_flos", "eval_loss", "eval_f1", "eval_precision", "eval_recall", "eval_samples", "test_loss", "test_f1"})
    EXPECT_TRUE(all.contains(k)) << k;
  EXPECT_EQ(all["train_samples"], 10);
  EXPECT_EQ(all["eval_samples"], 3);
  const auto train_res = read_json(out / "train_results.json");
  EXPECT_FALSE(train_res.contains("eval_loss"));

  const std::string card = read_file(out / "README.md");
  for (const char* s :
       {"# out\n", "This model is a fine-tuned version of tiny on the data dataset.",
        "- Loss: ", "- F1: ", "## Training procedure", "- learning_rate: 0.001\n", "- train_batch_size: 3\n",
        "- num_epochs: 2\n", "### Training results", "| 1.0   | 4    |", "| 2.0   | 8    |", "### Framework versions"})
    EXPECT_NE(card.find(s), std::string::npos) << s << "\n" << card;

  const std::string svg = read_file(out / "loss_curve.svg");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("validation loss"), std::string::npos);

  // Checkpoints at each epoch end, each loadable as a model plus optimizer state.
  for (const char* ck : {"checkpoint-4", "checkpoint-8"})
    for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json",
                          "training_state.json", "training_args.json", "vocab.txt"})
      EXPECT_TRUE(fs::is_regular_file(out / ck / f)) << ck << "/" << f;
  auto opt = SafetensorsFile::open(out / "checkpoint-4" / "optimizer.safetensors");
  EXPECT_EQ(opt->metadata().at("format"), "bert-emotion-adamw");
  EXPECT_EQ(opt->at("exp_avg_sq.classifier.weight").shape, (std::vector<int64_t>{3, 32}));
  EXPECT_EQ(read_json(out / "checkpoint-4" / "training_state.json")["epoch"], 1);
  // The results table is printed.
  EXPECT_NE(first_.output.find("| Training Loss | Epoch | Step | Validation Loss | Precision | Recall | F1"),
            std::string::npos);
}

TEST_F(TrainCli, ResumeLatestReproducesTheFinalWeights) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  const fs::path out2 = root_ / "resumed";
  fs::create_directories(out2);
  fs::copy(root_ / "out" / "checkpoint-4", out2 / "checkpoint-4", fs::copy_options::recursive);
  const RunResult r = run(common_ + " --output_dir " + out2.string() + " --resume_from_checkpoint latest");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(out2 / "model.safetensors"), read_file(root_ / "out" / "model.safetensors"));
  EXPECT_EQ(read_json(out2 / "trainer_state.json")["global_step"], 8);
}

TEST_F(TrainCli, ReusedOutputDirKeepsTheEarlierRunsCheckpoints) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  // An earlier run's directory with a stale large checkpoint (as after a long run).
  const fs::path dir = root_ / "reused";
  fs::copy(root_ / "out", dir, fs::copy_options::recursive);
  fs::remove_all(dir / "checkpoint-4");
  fs::copy(dir / "checkpoint-8", dir / "checkpoint-6520", fs::copy_options::recursive);
  const std::string stale = read_file(dir / "checkpoint-6520" / "training_state.json");
  const std::string model = read_file(dir / "model.safetensors");
  const std::string args =
      common_ + " --output_dir " + dir.string() + " --max-steps 6 --save-steps 2 --save-total-limit 1";

  // A new run is refused, as the Trainer's scripts refuse a non-empty output dir; nothing changes.
  RunResult r = run(args);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("already holds an earlier run's 2 checkpoints (checkpoint-8 ... checkpoint-6520)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("--overwrite-output-dir"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir / "model.safetensors"), model);
  EXPECT_FALSE(fs::exists(dir / "checkpoint-2"));

  // --overwrite-output-dir: --save-total-limit 1 rotates only this run's checkpoints (2, 4, 6 are
  // saved; 6 stays) and never the earlier run's.
  r = run(args + " --overwrite-output-dir");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_directory(dir / "checkpoint-6"));
  EXPECT_FALSE(fs::exists(dir / "checkpoint-2"));
  EXPECT_FALSE(fs::exists(dir / "checkpoint-4"));
  EXPECT_TRUE(fs::is_directory(dir / "checkpoint-8"));
  EXPECT_EQ(read_file(dir / "checkpoint-6520" / "training_state.json"), stale);
  EXPECT_NE(r.output.find("deleted " + (dir / "checkpoint-4").string() + " (--save-total-limit 1)"), std::string::npos)
      << r.output;
  // "latest" is this run's newest checkpoint, not the stale checkpoint-6520.
  EXPECT_EQ(latest_checkpoint(dir)->filename(), "checkpoint-6");
  r = run(args + " --resume-from-checkpoint latest");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_json(dir / "trainer_state.json")["global_step"], 6);

  // --save-total-limit 1 with a single save never deletes the checkpoint just saved.
  const fs::path one = root_ / "reused_one";
  fs::create_directories(one);
  fs::copy(root_ / "out" / "checkpoint-8", one / "checkpoint-6520", fs::copy_options::recursive);
  r = run(common_ + " --output_dir " + one.string() + " --max-steps 2 --save-total-limit 1 --overwrite-output-dir");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_directory(one / "checkpoint-2"));
  EXPECT_TRUE(fs::is_directory(one / "checkpoint-6520"));
}

TEST_F(TrainCli, StartsFromACheckpointWithoutHead) {
  // A masked-LM-style directory: the same tensors minus pre_classifier/classifier.
  const fs::path mlm = root_ / "mlm";
  fs::create_directories(mlm);
  for (const char* f :
       {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    if (fs::exists(root_ / "tiny" / f)) fs::copy_file(root_ / "tiny" / f, mlm / f);
  auto src = SafetensorsFile::open(root_ / "tiny" / "model.safetensors");
  std::vector<TensorToWrite> keep;
  for (const auto& t : src->tensors()) {
    if (t.name.rfind("pre_classifier", 0) == 0 || t.name.rfind("classifier", 0) == 0) continue;
    auto bytes = src->bytes(t);
    keep.push_back({t.name, t.dtype, t.shape, bytes.data(), bytes.size()});
  }
  write_safetensors(mlm / "model.safetensors", keep);
  const RunResult r = run("--model " + mlm.string() + " --data " + (root_ / "data").string() +
                          " --num_train_epochs 1 --per_device_train_batch_size 5 --output_dir " +
                          (root_ / "from_mlm").string() + " --eval-split none --test-split none --save-strategy no");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("created a new classification head for 3 labels"), std::string::npos) << r.output;
  auto w = SafetensorsFile::open(root_ / "from_mlm" / "model.safetensors");
  EXPECT_EQ(w->at("classifier.weight").shape, (std::vector<int64_t>{3, 32}));
  EXPECT_FALSE(fs::exists(root_ / "from_mlm" / "checkpoint-2"));
  EXPECT_FALSE(fs::exists(root_ / "from_mlm" / "eval_results.json"));
}

TEST_F(TrainCli, HeadWithOtherLabelCountNeedsIgnoreMismatchedSizes) {
  // The tiny model has a 2-label head; the data has 3 labels. (The other tests pass the flag.)
  const std::string base = "--model " + (root_ / "tiny").string() + " --data " + (root_ / "data").string() +
                           " --max-steps 1 --eval-split none --test-split none --save-strategy no --output-dir ";
  const RunResult r = run(base + (root_ / "mismatch").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("2 labels but the data has 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--ignore-mismatched-sizes"), std::string::npos) << r.output;
  const RunResult ok = run(base + (root_ / "mismatch_ok").string() + " --ignore_mismatched_sizes");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

TEST_F(TrainCli, BadOptionsNameTheFlag) {
  const std::string base = "--model " + (root_ / "tiny").string() + " --data " + (root_ / "data").string() +
                           " --output-dir " + (root_ / "bad").string() + " ";
  struct Case {
    std::string args, needle;
  };
  for (const Case& c :
       {Case{"--per-device-train-batch-size 0", "--per-device-train-batch-size"},
        Case{"--per_device_eval_batch_size 0", "--per-device-eval-batch-size"},
        Case{"--learning_rate -0.1", "--learning-rate"}, Case{"--learning-rate 0", "--learning-rate"},
        Case{"--num_train_epochs 0", "--num-train-epochs"}, Case{"--num-train-epochs -0.5", "--num-train-epochs"},
        Case{"--adam-epsilon 0", "--adam-epsilon"}, Case{"--warmup-ratio 2", "--warmup-ratio"},
        Case{"--dropout maybe", "--dropout"},
        Case{"--per-device-train-batch-size abc", "--per-device-train-batch-size"}}) {
    const RunResult r = run(base + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << "\n" << r.output;
  }
  const RunResult missing = run("--data x --output-dir y");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("--model"), std::string::npos) << missing.output;
  EXPECT_FALSE(fs::exists(root_ / "bad" / "model.safetensors"));
}

TEST_F(TrainCli, FractionalEpochsTrainTheTrainersStepCount) {
  // 10 rows, batch 3: 4 steps per epoch; 1.5 epochs = ceil(1.5 * 4) = 6 steps, as the Trainer.
  const RunResult r = run("--model " + (root_ / "tiny").string() + " --data " + (root_ / "data").string() +
                          " --num-train-epochs 1.5 --per-device-train-batch-size 3 --eval-split none --test-split none"
                          " --ignore-mismatched-sizes --threads 1 --output-dir " +
                          (root_ / "frac").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto st = read_json(root_ / "frac" / "trainer_state.json");
  EXPECT_EQ(st["global_step"], 6);
  EXPECT_DOUBLE_EQ(st["epoch"].get<double>(), 1.5);
  EXPECT_TRUE(fs::is_directory(root_ / "frac" / "checkpoint-4"));
  EXPECT_TRUE(fs::is_directory(root_ / "frac" / "checkpoint-6"));
  EXPECT_EQ(read_json(root_ / "frac" / "training_args.json")["num_train_epochs"], 1.5);
  EXPECT_NE(read_file(root_ / "frac" / "README.md").find("num_epochs: 1.5"), std::string::npos);
}

TEST_F(TrainCli, SingleFileDataHasNoEvalSplitUnlessGiven) {
  const std::string base = "--model " + (root_ / "tiny").string() + " --data " +
                           (root_ / "data" / "train.csv").string() +
                           " --max-steps 2 --save-strategy no --ignore-mismatched-sizes --output-dir ";
  const RunResult r = run(base + (root_ / "single").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("is a single file: no 'val' split"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(root_ / "single" / "eval_results.json"));  // no evaluation on the training file
  const RunResult r2 =
      run(base + (root_ / "single2").string() + " --validation_file " + (root_ / "data" / "val.csv").string());
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(read_json(root_ / "single2" / "eval_results.json")["eval_samples"], 3);
}

TEST_F(TrainCli, KeepsTheModelsLabelIdsWhenTheNamesMatch) {
  ASSERT_EQ(first_.exit_code, 0) << first_.output;
  // Continue training the 3-label model on data naming the same labels in another order
  // (a TweetEval folder whose mapping lists optimism first) and on unnamed integer labels.
  const fs::path tw = root_ / "tweeteval";
  fs::create_directories(tw);
  write_file_atomic(tw / "mapping.txt", "0\toptimism\n1\tanger\n2\tjoy\n");
  write_file_atomic(tw / "train_text.txt", "hopeful days\nso mad\nyay\nwe can do it\n");
  write_file_atomic(tw / "train_labels.txt", "0\n1\n2\n0\n");
  const RunResult r = run("--model " + (root_ / "out").string() + " --data " + tw.string() +
                          " --max-steps 1 --save-strategy no --output-dir " + (root_ / "remapped").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("mapping the data's labels onto the model's label ids"), std::string::npos) << r.output;
  const auto cfg = read_json(root_ / "remapped" / "config.json");
  EXPECT_EQ(cfg["id2label"], (nlohmann::json{{"0", "anger"}, {"1", "joy"}, {"2", "optimism"}}));
  // Integer labels (LABEL_i) take the model's names.
  write_file_atomic(root_ / "ints.csv", "text,label\na,0\nb,1\nc,2\n");
  const RunResult r2 = run("--model " + (root_ / "out").string() + " --data " + (root_ / "ints.csv").string() +
                           " --max-steps 1 --save-strategy no --output-dir " + (root_ / "ints").string());
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(read_json(root_ / "ints" / "config.json")["id2label"]["2"], "optimism");
}

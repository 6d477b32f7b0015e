// cli_multilabel_test.cpp — multi-label models end to end through the built CLI: predict's labels,
// --threshold and --top-k in every format, `eval --predictions` reading each of predict's formats
// (and run_classification.py's predict_results.txt) against label-set gold data, multi-label
// training for the DistilBERT, BERT and RoBERTa families (problem_type in config.json), and
// issue 20 item 13: a multi-label file is never read as label combinations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "model/config.hpp"
#include "model/init.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const fs::path kTokenizerDir = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";
const fs::path kRobertaTokenizerDir = fs::path(SHARED_DIR) / "models" / "roberta-bpe-test";

struct Result {
  int rc = -1;
  std::string out;
};

// Runs the CLI with `args`; stdout captured (stderr too with `merge`).
Result cli(const std::string& args, bool merge = false) {
  Result r;
  const std::string cmd = std::string("'") + BERT_EMOTION_BIN + "' " + args + (merge ? " 2>&1" : " 2>/dev/null");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string q(const fs::path& p) {
  std::string s(1, '\'');
  s += p.string();
  s += '\'';
  return s;
}

const std::vector<std::string> kNames = {"anger", "joy", "optimism", "sadness"};
const std::vector<std::string> kTexts = {"so happy and hopeful", "furious and sad",   "meh",
                                         "what a wonderful day", "I cry every night", "angry, angry, angry"};
const std::vector<std::string> kGold = {"joy,optimism", "anger,sadness", "sadness", "joy", "sadness", "anger"};

class Env : public ::testing::Environment {
 public:
  static inline fs::path root, multi_model, single_model, data;
  void SetUp() override {
    root = fs::temp_directory_path() / ("bert_emotion_cli_ml_test_" + std::to_string(::getpid()));
    fs::create_directories(root);
    ModelConfig cfg = preset_config("tiny");
    set_labels(cfg, kNames);
    cfg.initializer_range = 0.5f;  // spread-out scores: some pass 0.5, some do not
    single_model = root / "single";
    create_random_model_dir(single_model, cfg, 5, kTokenizerDir);
    cfg.problem_type = "multi_label_classification";
    multi_model = root / "multi";
    create_random_model_dir(multi_model, cfg, 5, kTokenizerDir);
    // Gold label sets by name ("joy,optimism"); the texts alone for predict.
    std::string csv = "text,label\n", texts;
    for (size_t i = 0; i < kTexts.size(); ++i) {
      csv += "\"" + kTexts[i] + "\",\"" + kGold[i] + "\"\n";
      texts += kTexts[i] + "\n";
    }
    data = root / "gold.csv";
    write_file_atomic(data, csv);
    write_file_atomic(root / "texts.txt", texts);
  }
  void TearDown() override { fs::remove_all(root); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Env);

// Rows in their written key order ("scores" by descending score with --top-k).
std::vector<nlohmann::ordered_json> jsonl(const std::string& s) {
  std::vector<nlohmann::ordered_json> rows;
  for (const auto& line : split_lines(s, "stdout"))
    if (!line.empty()) rows.push_back(nlohmann::ordered_json::parse(line));
  return rows;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

}  // namespace

TEST(CliMultiLabel, PredictReportsPassingLabelsThresholdAndTopK) {
  const std::string base = "predict --model " + q(Env::multi_model) + " --input " + q(Env::root / "texts.txt");
  const Result all = cli(base + " --threshold 0");
  ASSERT_EQ(all.rc, 0) << all.out;
  const auto rows = jsonl(all.out);
  ASSERT_EQ(rows.size(), kTexts.size());
  for (const auto& r : rows) {
    EXPECT_EQ(r["labels"].size(), kNames.size()) << r;  // every sigmoid score is > 0
    EXPECT_EQ(r["scores"].size(), kNames.size());
    // "labels" lists the passing labels by descending score; "label" is the best one.
    EXPECT_EQ(r["labels"][0], r["label"]);
    for (size_t k = 1; k < r["labels"].size(); ++k)
      EXPECT_GE(r["scores"][r["labels"][k - 1].get<std::string>()].get<double>(),
                r["scores"][r["labels"][k].get<std::string>()].get<double>());
  }
  const Result none = cli(base + " --threshold 1");
  ASSERT_EQ(none.rc, 0);
  for (const auto& r : jsonl(none.out)) EXPECT_TRUE(r["labels"].empty()) << r;

  const Result top = cli(base + " --top-k 2");
  ASSERT_EQ(top.rc, 0);
  for (const auto& r : jsonl(top.out)) {
    ASSERT_EQ(r["scores"].size(), 2u) << r;
    auto it = r["scores"].begin();
    const double first = it.value().get<double>();
    EXPECT_EQ(it.key(), r["label"].get<std::string>());  // the best score first
    ++it;
    EXPECT_GE(first, it.value().get<double>());
  }
  const Result csv = cli(base + " --format csv");
  ASSERT_EQ(csv.rc, 0);
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')), "text,label,score,labels,anger,joy,optimism,sadness");
  const Result table = cli(base + " --format table --top-k 3 --threshold 1");
  ASSERT_EQ(table.rc, 0);
  EXPECT_THAT(table.out, HasSubstr("(none)"));
  EXPECT_THAT(table.out, HasSubstr("  top     "));
  EXPECT_NE(cli(base + " --top-k 0", true).rc, 0);
  EXPECT_NE(cli(base + " --threshold 1.5", true).rc, 0);
}

TEST(CliMultiLabel, EvalPredictionsReadsEveryFormatPredictWrites) {
  const fs::path dir = Env::root / "eval_formats";
  fs::create_directories(dir);
  const std::string predict = "predict --model " + q(Env::multi_model) + " --input " + q(Env::root / "texts.txt");
  // The model itself, at its default threshold 0.5.
  Result r =
      cli("eval --model " + q(Env::multi_model) + " --data " + q(Env::data) + " --output " + q(dir / "model.json"));
  ASSERT_EQ(r.rc, 0) << r.out;
  const nlohmann::json want = read_json(dir / "model.json");
  for (const std::string format : {"jsonl", "csv", "table"}) {
    SCOPED_TRACE(format);
    const Result p = cli(predict + " --format " + format);
    ASSERT_EQ(p.rc, 0);
    const fs::path file = dir / ("pred." + format);
    write_file_atomic(file, p.out);
    r = cli("eval --predictions " + q(file) + " --data " + q(Env::data) + " --output " + q(dir / (format + ".json")),
            true);
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("multi-label"));
    const nlohmann::json got = read_json(dir / (format + ".json"));
    for (const char* key : {"eval_f1", "eval_f1_micro", "eval_f1_samples", "eval_accuracy", "eval_hamming_loss"})
      EXPECT_DOUBLE_EQ(got[key].get<double>(), want[key].get<double>()) << key;
  }
  // run_classification.py's predict_results.txt for a multi-label model: a Python list per row.
  const auto rows = jsonl(cli(predict).out);
  std::string txt = "index\tprediction\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string list;
    for (const auto& l : rows[i]["labels"]) list += (list.empty() ? "'" : ", '") + l.get<std::string>() + "'";
    txt += std::to_string(i) + "\t[" + list + "]\n";
  }
  write_file_atomic(dir / "predict_results.txt", txt);
  r = cli("eval --predictions " + q(dir / "predict_results.txt") + " --data " + q(Env::data) + " --output " +
          q(dir / "txt.json"));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_DOUBLE_EQ(read_json(dir / "txt.json")["eval_f1_micro"].get<double>(), want["eval_f1_micro"].get<double>());
  // A name that is no label names the file and line.
  write_file_atomic(dir / "bad.txt", "joy\nanger,fear\n\njoy\nsadness\nanger\n");
  r = cli("eval --predictions " + q(dir / "bad.txt") + " --data " + q(Env::data), true);
  EXPECT_NE(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("bad.txt:2: unknown label 'fear'"));
}

// Issue 20 item 13: "2,7" label fields are label sets, never the 711 distinct "combination" labels.
TEST(CliMultiLabel, MultiLabelDataIsNeverReadAsLabelCombinations) {
  const fs::path dir = Env::root / "combinations";
  fs::create_directories(dir);
  // Scoring single-label lines against label-set gold: multi-label metrics over 4 labels.
  write_file_atomic(dir / "one_each.txt", "1\n0\n2\n1\n3\n0\n");
  Result r = cli("eval --predictions " + q(dir / "one_each.txt") + " --data " + q(Env::data) + " --output " +
                     q(dir / "one_each.json"),
                 true);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("multi-label"));
  EXPECT_THAT(r.out, Not(HasSubstr("joy,optimism")));  // no label named after a combination
  const nlohmann::json m = read_json(dir / "one_each.json");
  EXPECT_EQ(m["eval_samples"], kTexts.size());
  size_t per_label = 0;
  for (const auto& [key, value] : m.items())
    per_label += key.rfind("eval_f1_", 0) == 0 && key != "eval_f1_micro" && key != "eval_f1_weighted" &&
                 key != "eval_f1_samples";
  EXPECT_EQ(per_label, kNames.size());
  EXPECT_TRUE(m.contains("eval_f1_optimism"));
  // A single-label model on multi-label data: a clear error naming the line, not combinations.
  r = cli("eval --model " + q(Env::single_model) + " --data " + q(Env::data), true);
  EXPECT_NE(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("gold.csv:2: label 'joy,optimism' holds several labels: this is multi-label data"));
  // Training declared single-label on it: the same error.
  r = cli("train --model " + q(Env::single_model) + " --data " + q(Env::data) + " --output-dir " + q(dir / "run") +
              " --max-steps 1 --quiet --no-plots --problem-type single_label_classification",
          true);
  EXPECT_NE(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("holds several labels"));
}

// Multi-label training writes problem_type for every family, and the trained model predicts label sets.
TEST(CliMultiLabel, EveryFamilyTrainsAndPredictsMultiLabel) {
  struct Case {
    const char* preset;
    fs::path tokenizer;
    const char* architecture;
  };
  for (const Case& c : {Case{"tiny", kTokenizerDir, "DistilBertForSequenceClassification"},
                        Case{"bert-tiny", kTokenizerDir, "BertForSequenceClassification"},
                        Case{"roberta-tiny", kRobertaTokenizerDir, "RobertaForSequenceClassification"}}) {
    SCOPED_TRACE(c.preset);
    const fs::path dir = Env::root / (std::string("family_") + c.preset);
    ModelConfig cfg = preset_config(c.preset);
    set_labels(cfg, kNames);
    create_random_model_dir(dir / "init", cfg, 3, c.tokenizer);  // no problem_type: inferred from the data
    Result r = cli("train --model " + q(dir / "init") + " --data " + q(Env::data) + " --output-dir " + q(dir / "run") +
                       " --max-steps 2 --quiet --no-plots --tune-thresholds --validation-file " + q(Env::data),
                   true);
    ASSERT_EQ(r.rc, 0) << r.out;
    const nlohmann::json config = read_json(dir / "run" / "config.json");
    EXPECT_EQ(config["problem_type"], "multi_label_classification");
    EXPECT_EQ(config["architectures"][0], c.architecture);
    EXPECT_EQ(config["id2label"].size(), kNames.size());
    EXPECT_TRUE(fs::exists(dir / "run" / "thresholds.json"));
    EXPECT_EQ(load_config(dir / "run" / "config.json").problem_type, "multi_label_classification");
    r = cli("predict --model " + q(dir / "run") + " 'so happy'");
    ASSERT_EQ(r.rc, 0);
    const auto rows = jsonl(r.out);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_TRUE(rows[0]["labels"].is_array());
  }
}

// The Trainer flags in kebab and snake case through the CLI, and --do-predict's predict_results.txt
// (single-label: label names; multi-label: Python lists), as run_classification.py writes it.
TEST(CliMultiLabel, TrainerFlagsAndDoPredict) {
  const fs::path dir = Env::root / "trainer_flags";
  fs::create_directories(dir);
  std::string single = "text,label\n";
  for (size_t i = 0; i < kTexts.size(); ++i) single += "\"" + kTexts[i] + "\"," + kNames[i % kNames.size()] + "\n";
  write_file_atomic(dir / "single.csv", single);
  Result r =
      cli("train --model " + q(Env::single_model) + " --data " + q(dir / "single.csv") + " --output_dir " +
              q(dir / "run") + " --validation-file " + q(dir / "single.csv") + " --test_file " + q(dir / "single.csv") +
              " --per-device-train-batch-size 2 --num-train-epochs 2 --quiet --no-plots" +
              " --eval_strategy steps --eval-steps 1 --save-strategy steps --save_steps 1" +
              " --load_best_model_at_end --metric-for-best-model f1 --greater_is_better True" +
              " --early-stopping-patience 2 --early_stopping_threshold 0.01 --label_smoothing_factor 0.1" +
              " --class-weights balanced --do_predict",
          true);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto lines = split_lines(read_file(dir / "run" / "predict_results.txt"), "predict_results.txt");
  ASSERT_EQ(lines.size(), kTexts.size() + 1);
  EXPECT_EQ(lines[0], "index\tprediction");
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(0, lines[i].find('\t')), std::to_string(i - 1));
    EXPECT_NE(std::find(kNames.begin(), kNames.end(), lines[i].substr(lines[i].find('\t') + 1)), kNames.end())
        << lines[i];
  }
  const nlohmann::json state = read_json(dir / "run" / "trainer_state.json");
  EXPECT_TRUE(state["best_model_checkpoint"].is_string());
  EXPECT_TRUE(state["best_metric"].is_number());
  const nlohmann::json args = read_json(dir / "run" / "training_args.json");
  EXPECT_EQ(args["eval_strategy"], "steps");
  EXPECT_EQ(args["metric_for_best_model"], "f1");
  EXPECT_EQ(args["greater_is_better"], true);
  EXPECT_EQ(args["label_smoothing_factor"], 0.1);
  EXPECT_EQ(args["class_weights"], "balanced");
  // eval --predictions reads the file back.
  r = cli("eval --predictions " + q(dir / "run" / "predict_results.txt") + " --data " + q(dir / "single.csv"), true);
  EXPECT_EQ(r.rc, 0) << r.out;

  // Multi-label: a Python list per row; label smoothing is refused.
  r = cli("train --model " + q(Env::multi_model) + " --data " + q(Env::data) + " --output-dir " + q(dir / "ml") +
              " --test-file " + q(Env::data) +
              " --max-steps 2 --quiet --no-plots --do-predict --class_weights balanced",
          true);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto ml = split_lines(read_file(dir / "ml" / "predict_results.txt"), "predict_results.txt");
  ASSERT_EQ(ml.size(), kTexts.size() + 1);
  for (size_t i = 1; i < ml.size(); ++i) {
    const std::string v = ml[i].substr(ml[i].find('\t') + 1);
    EXPECT_TRUE(v.front() == '[' && v.back() == ']') << v;
  }
  r = cli("eval --predictions " + q(dir / "ml" / "predict_results.txt") + " --data " + q(Env::data), true);
  EXPECT_EQ(r.rc, 0) << r.out;
  r = cli("train --model " + q(Env::multi_model) + " --data " + q(Env::data) + " --output-dir " + q(dir / "ml2") +
              " --max-steps 1 --quiet --label-smoothing-factor 0.1",
          true);
  EXPECT_NE(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("--label-smoothing-factor is for single-label models"));
  r = cli("train --model " + q(Env::single_model) + " --data " + q(dir / "single.csv") + " --output-dir " +
              q(dir / "x") + " --max-steps 1 --quiet --early-stopping-patience 1",
          true);
  EXPECT_NE(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("requires --load-best-model-at-end"));
}

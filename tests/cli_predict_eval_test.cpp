// cli_predict_eval_test.cpp — `bert-emotion predict` and `eval` end to end through the built CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "model/config.hpp"
#include "model/init.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

const fs::path kTokenizerDir = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";
const fs::path kMini = fs::path(FIXTURES_DIR) / "data" / "tweeteval_mini";

struct Result {
  int rc = -1;
  std::string out;
};

// Runs a shell command; stdout captured (stderr too with `merge`).
Result run(const std::string& cmd, bool merge = false) {
  Result r;
  FILE* p = ::popen((cmd + (merge ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string bin() { return std::string("'") + BERT_EMOTION_BIN + "'"; }
std::string q(const fs::path& p) {
  std::string s(1, '\'');  // appended, not "'" + ...: GCC 12 -Wrestrict false positive (PR 105329)
  s += p.string();
  s += '\'';
  return s;
}

class Env : public ::testing::Environment {
 public:
  static inline fs::path root, model;
  void SetUp() override {
    root = fs::temp_directory_path() / ("bert_emotion_cli_pe_test_" + std::to_string(::getpid()));
    fs::create_directories(root);
    ModelConfig cfg = preset_config("tiny");
    set_labels(cfg, {"anger", "joy", "optimism", "sadness"});
    cfg.initializer_range = 0.5f;
    model = root / "model";
    create_random_model_dir(model, cfg, 11, kTokenizerDir);
  }
  void TearDown() override { fs::remove_all(root); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Env);

std::vector<nlohmann::json> parse_jsonl(const std::string& s) {
  std::vector<nlohmann::json> rows;
  for (const auto& line : split_lines(s, "stdout"))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

}  // namespace

TEST(CliPredict, JsonlFromArgumentsInInputOrder) {
  auto r = run(bin() + " predict --model " + q(Env::model) +
               " 'I love this so much!' '' 'a much longer sentence about being sad and angry at once' --logits");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto rows = parse_jsonl(r.out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["text"], "I love this so much!");
  EXPECT_EQ(rows[1]["text"], "");
  std::vector<std::string> names = {"anger", "joy", "optimism", "sadness"};
  for (const auto& j : rows) {
    // Keys in the documented order; scores as an object in label-id order.
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"label", "logits", "score", "scores", "text"}));  // json sorts
    double sum = 0, best = -1;
    std::string best_name;
    for (const auto& n : names) {
      double s = j["scores"].at(n).get<double>();
      sum += s;
      if (s > best) best = s, best_name = n;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(j["label"], best_name);
    EXPECT_DOUBLE_EQ(j["score"].get<double>(), best);
    ASSERT_EQ(j["logits"].size(), 4u);
    // softmax of the printed logits reproduces the printed scores.
    double denom = 0;
    for (const auto& l : j["logits"]) denom += std::exp(l.get<double>());
    for (size_t k = 0; k < 4; ++k)
      EXPECT_NEAR(j["scores"][names[k]].get<double>(), std::exp(j["logits"][k].get<double>()) / denom, 1e-6);
  }
  // Raw output keeps the label-id order of "scores" (nlohmann re-sorts on parse, so check the text).
  auto first = split_lines(r.out, "stdout")[0];
  const size_t at = first.find("\"scores\":{");
  ASSERT_NE(at, std::string::npos) << first;
  EXPECT_LT(first.find("\"anger\":", at), first.find("\"joy\":", at));
  EXPECT_LT(first.find("\"joy\":", at), first.find("\"optimism\":", at));
  EXPECT_LT(first.find("\"optimism\":", at), first.find("\"sadness\":", at));
  EXPECT_LT(first.find("\"text\""), first.find("\"label\""));
}

TEST(CliPredict, StdinFileCsvAndTableAgree) {
  auto input = Env::root / "in.txt";
  write_file_atomic(input, "first line, with comma\nsecond \"quoted\" line\n\nlast\n");
  auto from_file = run(bin() + " predict -m " + q(Env::model) + " --input " + q(input));
  auto from_stdin = run("cat " + q(input) + " | " + bin() + " predict -m " + q(Env::model) + " --input -");
  auto implicit_stdin = run(bin() + " predict -m " + q(Env::model) + " < " + q(input));
  ASSERT_EQ(from_file.rc, 0);
  EXPECT_EQ(from_file.out, from_stdin.out);
  EXPECT_EQ(from_file.out, implicit_stdin.out);
  auto rows = parse_jsonl(from_file.out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2]["text"], "");

  auto csv = run(bin() + " predict -m " + q(Env::model) + " --input " + q(input) + " --format csv --batch-size 1");
  ASSERT_EQ(csv.rc, 0);
  auto csv_path = Env::root / "out.csv";
  write_file_atomic(csv_path, csv.out);
  // Our own CSV reader parses it back: header, RFC 4180 quoting, same labels as jsonl.
  Dataset back = load_dataset(csv_path, "", {.label_names = {"anger", "joy", "optimism", "sadness"}});
  ASSERT_EQ(back.rows.size(), 4u);
  EXPECT_EQ(back.rows[0].text, "first line, with comma");
  EXPECT_EQ(back.rows[1].text, "second \"quoted\" line");
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(back.label_names[back.rows[i].label], rows[i]["label"]) << i;
  EXPECT_THAT(csv.out, ::testing::StartsWith("text,label,score,anger,joy,optimism,sadness\n"));

  auto table = run(bin() + " predict -m " + q(Env::model) + " --input " + q(input) + " --format table");
  ASSERT_EQ(table.rc, 0);
  EXPECT_THAT(table.out, HasSubstr("label"));
  EXPECT_THAT(table.out, HasSubstr("first line, with comma"));
  EXPECT_EQ(split_lines(table.out, "t").size(), 5u);  // header + 4 rows
}

TEST(CliPredict, Errors) {
  EXPECT_EQ(run(bin() + " predict -m " + q(Env::model) + " x --format xml").rc, 2);
  EXPECT_NE(run(bin() + " predict -m " + q(Env::root / "nope") + " x").rc, 0);
  auto bad = Env::root / "bad.txt";
  write_file_atomic(bad, "ok\nbad \xff\n");
  auto r = run(bin() + " predict -m " + q(Env::model) + " --input " + q(bad), true);
  EXPECT_EQ(r.rc, 3);
  EXPECT_THAT(r.out, HasSubstr("bad.txt:2"));
}

TEST(CliEval, ModelOnTweetEvalFolderMatchesPredict) {
  auto out_json = Env::root / "eval.json";
  auto r = run(bin() + " eval --model " + q(Env::model) + " --data " + q(kMini) +
               " --split test --batch-size 4 --output " + q(out_json));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("precision    recall  f1-score   support"));
  EXPECT_THAT(r.out, HasSubstr("weighted avg"));
  EXPECT_THAT(r.out, HasSubstr("confusion matrix"));
  EXPECT_THAT(r.out, HasSubstr("loss: "));
  auto j = nlohmann::json::parse(read_file(out_json));
  for (const char* key :
       {"eval_loss", "eval_accuracy", "eval_f1", "eval_precision", "eval_recall", "eval_f1_weighted",
        "eval_precision_weighted", "eval_recall_weighted", "eval_f1_micro", "eval_f1_anger", "eval_support_sadness",
        "eval_confusion_matrix", "eval_runtime", "eval_samples_per_second", "eval_samples"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["eval_samples"], 6);
  // Cross-check against predict on the same texts: accuracy and the mean CE of the printed logits.
  auto texts = kMini / "test_text.txt";
  auto p = run(bin() + " predict -m " + q(Env::model) + " --input " + q(texts) + " --logits");
  ASSERT_EQ(p.rc, 0);
  auto rows = parse_jsonl(p.out);
  ASSERT_EQ(rows.size(), 6u);
  std::vector<int> gold = {1, 3, 2, 0, 3, 1};  // tests/fixtures/data/tweeteval_mini/test_labels.txt
  std::vector<std::string> names = {"anger", "joy", "optimism", "sadness"};
  int correct = 0;
  double loss = 0;
  for (size_t i = 0; i < 6; ++i) {
    correct += rows[i]["label"] == names[gold[i]];
    double denom = 0;
    for (const auto& l : rows[i]["logits"]) denom += std::exp(l.get<double>());
    loss += std::log(denom) - rows[i]["logits"][gold[i]].get<double>();
  }
  EXPECT_NEAR(j["eval_accuracy"].get<double>(), correct / 6.0, 1e-12);
  EXPECT_NEAR(j["eval_loss"].get<double>(), loss / 6.0, 1e-5);
  int64_t cm_total = 0;
  for (const auto& row : j["eval_confusion_matrix"])
    for (const auto& c : row) cm_total += c.get<int64_t>();
  EXPECT_EQ(cm_total, 6);
}

TEST(CliEval, PredictionsFileLikeTweetEvalScript) {
  // gold (test_labels.txt): 1 3 2 0 3 1; predictions by name and id: 1 3 2 3 3 0.
  // anger F 0 (tp 0, fp 1, fn 1); joy tp 1 fn 1 -> 2/3; optimism 1; sadness tp 2 fp 1 -> 4/5.
  // macro F1 = (0 + 2/3 + 1 + 4/5) / 4 = 0.616666..; accuracy 4/6.
  auto preds = Env::root / "preds.txt";
  write_file_atomic(preds, "joy\n3\noptimism\nsadness\n3\nanger\n");
  auto out_json = Env::root / "pred_eval.json";
  auto r = run(bin() + " eval --predictions " + q(preds) + " --data " + q(kMini) + " --output " + q(out_json));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("macro F1: 0.6167"));
  EXPECT_THAT(r.out, HasSubstr("accuracy: 0.6667"));
  EXPECT_THAT(r.out, HasSubstr("     sadness       0.67      1.00      0.80         2\n"));
  auto j = nlohmann::json::parse(read_file(out_json));
  EXPECT_NEAR(j["eval_f1"].get<double>(), (0 + 2.0 / 3 + 1 + 0.8) / 4, 1e-12);
  EXPECT_NEAR(j["tweeteval_score"].get<double>(), (0 + 2.0 / 3 + 1 + 0.8) / 4, 1e-12);

  // predict's own jsonl output is accepted too: eval of predict on the same split agrees with
  // eval --model (same accuracy).
  auto pj = Env::root / "preds.jsonl";
  auto p = run(bin() + " predict -m " + q(Env::model) + " --input " + q(kMini / "test_text.txt"));
  ASSERT_EQ(p.rc, 0);
  write_file_atomic(pj, p.out);
  auto from_jsonl = Env::root / "from_jsonl.json", from_model = Env::root / "from_model.json";
  ASSERT_EQ(run(bin() + " eval --predictions " + q(pj) + " --data " + q(kMini) + " -o " + q(from_jsonl)).rc, 0);
  ASSERT_EQ(run(bin() + " eval --model " + q(Env::model) + " --data " + q(kMini) + " -o " + q(from_model)).rc, 0);
  auto a = nlohmann::json::parse(read_file(from_jsonl)), b = nlohmann::json::parse(read_file(from_model));
  EXPECT_EQ(a["eval_confusion_matrix"], b["eval_confusion_matrix"]);
  EXPECT_DOUBLE_EQ(a["eval_f1"].get<double>(), b["eval_f1"].get<double>());

  // run_classification.py's predict_results.txt layout gives the same scores.
  auto pr = Env::root / "predict_results.txt";
  write_file_atomic(pr, "index\tprediction\n0\tjoy\n1\tsadness\n2\toptimism\n3\tsadness\n4\tsadness\n5\tanger\n");
  auto r2 = run(bin() + " eval --predictions " + q(pr) + " --data " + q(kMini));
  EXPECT_EQ(r2.rc, 0);
  EXPECT_THAT(r2.out, HasSubstr("macro F1: 0.6167"));

  write_file_atomic(preds, "joy\n3\n");
  auto short_r = run(bin() + " eval --predictions " + q(preds) + " --data " + q(kMini), true);
  EXPECT_EQ(short_r.rc, 3);
  EXPECT_THAT(short_r.out, HasSubstr("2 predictions but"));
  write_file_atomic(preds, "joy\n3\nfear\n0\n0\n0\n");
  auto bad = run(bin() + " eval --predictions " + q(preds) + " --data " + q(kMini), true);
  EXPECT_EQ(bad.rc, 3);
  EXPECT_THAT(bad.out, HasSubstr("preds.txt:3: unknown label 'fear'"));
}

TEST(CliEval, CsvDataWithColumnsAndErrors) {
  auto csv = Env::root / "d.csv";
  write_file_atomic(csv, "tweet,emotion\n\"happy, happy day\",joy\nso sad,sadness\n");
  auto r =
      run(bin() + " eval -m " + q(Env::model) + " --data " + q(csv) + " --text-column tweet --label-column emotion");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("2 examples"));
  auto missing = run(bin() + " eval -m " + q(Env::model) + " --data " + q(csv), true);
  EXPECT_EQ(missing.rc, 3);
  EXPECT_THAT(missing.out, HasSubstr("missing column 'text'"));
  EXPECT_EQ(run(bin() + " eval --data " + q(csv)).rc, 2);  // neither --model nor --predictions
}

// family_cli_test.cpp — BERT and RoBERTa model directories through every command, and sentence
// pairs end to end.
//
// Pairs: tests/fixtures/pairs/bert (tools/make_pair_fixtures.sh) is a tiny BERT with its own
// WordPiece vocabulary and the PyTorch reference's logits for five pairs ([CLS] A [SEP] B [SEP],
// token types 0 then 1). The Classifier, `predict --pair-input`, `eval --text-pair-column` and
// `serve` must all give those logits, so the second segment's type 1 reaches the model everywhere.
// Directories: `init --config roberta-tiny|bert-tiny --tokenizer DIR` makes a RoBERTa (byte-level
// BPE, ../shared/models/roberta-bpe-test) and a BERT (WordPiece) directory; predict (texts and
// pairs), tokenize, eval, a 3-step train, predict on the trained model and one /predict request
// of `serve` must agree with the library's Classifier on the same directory.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/classifier.hpp"
#include "cli_harness.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
using nlohmann::json;

namespace {

const fs::path kPairs = fs::path(FIXTURES_DIR) / "pairs" / "bert";
const fs::path kShared = fs::path(SHARED_DIR) / "models";

std::vector<json> json_lines(const std::string& s) {
  std::vector<json> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

void expect_near_rows(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want,
                      float tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << what << " row " << i;
    for (size_t k = 0; k < got[i].size(); ++k)
      EXPECT_NEAR(got[i][k], want[i][k], tol) << what << " row " << i << " label " << k;
  }
}

double mean_cross_entropy(const std::vector<std::vector<float>>& logits, const std::vector<int>& labels) {
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double mx = *std::max_element(logits[i].begin(), logits[i].end()), z = 0;
    for (float l : logits[i]) z += std::exp(double(l) - mx);
    sum += mx + std::log(z) - logits[i][size_t(labels[i])];
  }
  return sum / double(logits.size());
}

std::vector<std::vector<float>> logits_of(const std::vector<Prediction>& preds) {
  std::vector<std::vector<float>> out;
  for (const auto& p : preds) out.push_back(p.logits);
  return out;
}

std::vector<std::vector<float>> logits_of(const std::vector<json>& rows) {
  std::vector<std::vector<float>> out;
  for (const auto& r : rows) out.push_back(r.at("logits").get<std::vector<float>>());
  return out;
}

// `bert-emotion serve` on `model`, port 0: answers one POST /predict body, then SIGTERM (exit 0).
json serve_one(const fs::path& model, const std::string& body, const fs::path& tmp) {
  const fs::path out = tmp / "serve.out", err = tmp / "serve.err";
  const pid_t pid =
      spawn_cli({"serve", "--model", model.string(), "--port", "0", "--threads", "1", "--no-access-log"}, out, err);
  int port = -1;
  const std::string prefix = "listening on http://127.0.0.1:";
  for (int i = 0; i < 6000 && port < 0; ++i) {
    const std::string s = slurp(out);
    const auto at = s.find(prefix), nl = s.find('\n', at);
    if (at != std::string::npos && nl != std::string::npos) port = std::stoi(s.substr(at + prefix.size()));
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  json answer;
  if (port > 0) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(60);
    auto res = client.Post("/predict", body, "application/json");
    if (res && res->status == 200) answer = json::parse(res->body);
    else ADD_FAILURE() << "POST /predict: " << (res ? std::to_string(res->status) + " " + res->body : "no answer");
  } else {
    ADD_FAILURE() << "serve did not start: " << slurp(err);
  }
  ::kill(pid, SIGTERM);
  CliResult r;
  wait_cli(pid, 30, r);
  EXPECT_EQ(r.exit_code, 0) << slurp(err);
  return answer;
}

// The label -> score map of a /predict answer ([{"label", "score"}, ...]).
std::map<std::string, float> scores_by_label(const json& answer) {
  std::map<std::string, float> m;
  for (const auto& e : answer) m[e.at("label").get<std::string>()] = e.at("score").get<float>();
  return m;
}

void expect_scores(const json& answer, const std::vector<float>& logits, const std::vector<std::string>& names) {
  const auto m = scores_by_label(answer);
  const std::vector<float> want = scores_from_logits(logits, false);
  ASSERT_EQ(m.size(), names.size()) << answer.dump();
  for (size_t k = 0; k < names.size(); ++k) EXPECT_NEAR(m.at(names[k]), want[k], 1e-5) << names[k];
}

struct PairFixture {
  json j = json::parse(slurp(kPairs / "pairs.json"));
  std::vector<std::string> a, b;
  std::vector<std::vector<float>> logits = j.at("logits").get<std::vector<std::vector<float>>>();
  std::vector<std::vector<float>> logits_type0 = j.at("logits_all_type_0").get<std::vector<std::vector<float>>>();
  PairFixture() {
    for (const auto& p : j.at("pairs")) {
      a.push_back(p.at(0).get<std::string>());
      b.push_back(p.at(1).get<std::string>());
    }
  }
};

}  // namespace

TEST(FamilyPairs, ClassifierGivesTheReferenceLogitsWithSegmentBAsType1) {
  PairFixture f;
  auto clf = Classifier::load(kPairs, {.threads = 1, .batch_size = 2});
  ASSERT_TRUE(clf->config().takes_token_types());
  std::vector<std::vector<int32_t>> rows, types;
  for (size_t i = 0; i < f.a.size(); ++i) {
    const Encoding e = clf->tokenizer().encode_pair(f.a[i], f.b[i]);
    EXPECT_EQ(e.ids, f.j.at("input_ids")[i].get<std::vector<int32_t>>()) << i;
    rows.push_back(e.ids);
    types.emplace_back(e.type_ids.begin(), e.type_ids.end());
    EXPECT_EQ(types.back(), f.j.at("token_type_ids")[i].get<std::vector<int32_t>>()) << i;
  }
  expect_near_rows(logits_of(clf->classify(f.a, f.b)), f.logits, 1e-5f, "classify(pairs)");
  expect_near_rows(clf->logits(rows, types), f.logits, 1e-5f, "logits(rows, types)");
  // Without types the model sees type 0 everywhere, as the reference does without token_type_ids;
  // the two answers differ, so the tests above could not pass with the types dropped.
  expect_near_rows(clf->logits(rows), f.logits_type0, 1e-5f, "logits(rows)");
  float diff = 0;
  for (size_t i = 0; i < f.logits.size(); ++i)
    for (size_t k = 0; k < f.logits[i].size(); ++k)
      diff = std::max(diff, std::abs(f.logits[i][k] - f.logits_type0[i][k]));
  EXPECT_GT(diff, 1e-2f);
  EXPECT_THROW(clf->classify(f.a, {"only one"}), InvalidArgument);
}

TEST(FamilyPairs, PredictEvalAndServeGiveTheReferenceLogits) {
  PairFixture f;
  TempDir tmp;
  const auto names = Classifier::load(kPairs)->config().label_names();
  spit(tmp.path / "a.txt", lines(f.a));
  spit(tmp.path / "b.txt", lines(f.b));

  CliResult r = run_cli({"predict", "-m", kPairs.string(), "--input", (tmp.path / "a.txt").string(), "--pair-input",
                         (tmp.path / "b.txt").string(), "--logits", "--threads", "1", "--batch-size", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), f.a.size());
  expect_near_rows(logits_of(rows), f.logits, 1e-5f, "predict --pair-input");
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("text"), f.a[i]);
    EXPECT_EQ(rows[i].at("text_pair"), f.b[i]);
    const size_t best = size_t(std::max_element(f.logits[i].begin(), f.logits[i].end()) - f.logits[i].begin());
    EXPECT_EQ(rows[i].at("label"), names[best]);
  }
  r = run_cli({"predict", "-m", kPairs.string(), "--input", (tmp.path / "a.txt").string(), "--pair-input",
               (tmp.path / "b.txt").string(), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "text,text_pair,label,score,anger,joy,optimism,sadness");
  spit(tmp.path / "pred.csv", r.out);
  // A pair file of another length is refused, naming it.
  spit(tmp.path / "short.txt", f.b[0] + "\n");
  r = run_cli({"predict", "-m", kPairs.string(), "--input", (tmp.path / "a.txt").string(), "--pair-input",
               (tmp.path / "short.txt").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("short.txt"), std::string::npos) << r.err;

  // eval with a pair column: its loss is the reference logits' cross-entropy.
  std::string csv = "text,text_pair,label\n";
  std::vector<int> labels;
  for (size_t i = 0; i < f.a.size(); ++i) {
    labels.push_back(int(i % names.size()));
    csv += "\"" + f.a[i] + "\",\"" + f.b[i] + "\"," + names[size_t(labels.back())] + "\n";
  }
  spit(tmp.path / "pairs.csv", csv);
  r = run_cli({"eval", "-m", kPairs.string(), "--data", (tmp.path / "pairs.csv").string(), "--text-pair-column",
               "text_pair", "--output", (tmp.path / "eval.json").string(), "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json ev = json::parse(slurp(tmp.path / "eval.json"));
  EXPECT_EQ(ev.at("eval_samples"), f.a.size());
  EXPECT_NEAR(ev.at("eval_loss").get<double>(), mean_cross_entropy(f.logits, labels), 1e-5);
  // eval --predictions reads predict's pair csv: the same accuracy as eval on the model.
  r = run_cli({"eval", "--data", (tmp.path / "pairs.csv").string(), "--predictions", (tmp.path / "pred.csv").string(),
               "--output", (tmp.path / "scored.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NEAR(json::parse(slurp(tmp.path / "scored.json")).at("eval_accuracy").get<double>(),
              ev.at("eval_accuracy").get<double>(), 1e-12);

  // serve: a pair (TEI's ["a", "b"]) scores as the reference pair.
  const json answer = serve_one(kPairs, json{{"inputs", {f.a[1], f.b[1]}}}.dump(), tmp.path);
  expect_scores(answer, f.logits[1], names);
}

// One family's directory through every command; `init_config` and `tokenizer` name what init gets.
void commands_on_family(const std::string& init_config, const fs::path& tokenizer) {
  TempDir tmp;
  const fs::path dir = tmp.path / "model";
  CliResult r = run_cli({"init", "--config", init_config, "--tokenizer", tokenizer.string(), "--out", dir.string(),
                         "--labels", "anger,joy,sadness", "--seed", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto clf = Classifier::load(dir, {.threads = 1});
  const std::vector<std::string> names = {"anger", "joy", "sadness"};
  ASSERT_EQ(clf->config().label_names(), names);
  const std::vector<std::string> texts = {"I love this!", "so sad today 😢", "Why   is it late\tagain?", "fine"};
  const std::vector<std::string> seconds = {"me too", "", "the train, again", "ok then. really fine"};
  spit(tmp.path / "a.txt", lines(texts));
  spit(tmp.path / "b.txt", lines(seconds));

  // predict: texts and pairs, the Classifier's logits, labels from config.json.
  r = run_cli({"predict", "-m", dir.string(), "--input", (tmp.path / "a.txt").string(), "--logits", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto singles = clf->classify(texts);
  auto rows = json_lines(r.out);
  expect_near_rows(logits_of(rows), logits_of(singles), 1e-6f, init_config + " predict");
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].at("label"), singles[i].label);
  r = run_cli({"predict", "-m", dir.string(), "--input", (tmp.path / "a.txt").string(), "--pair-input",
               (tmp.path / "b.txt").string(), "--logits", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto pairs = clf->classify(texts, seconds);
  expect_near_rows(logits_of(json_lines(r.out)), logits_of(pairs), 1e-6f, init_config + " predict pairs");
  float diff = 0;  // a pair is not its first text alone
  for (size_t i = 0; i < texts.size(); ++i)
    for (size_t k = 0; k < names.size(); ++k)
      diff = std::max(diff, std::abs(pairs[i].logits[k] - singles[i].logits[k]));
  EXPECT_GT(diff, 1e-6f) << init_config;

  // tokenize: the tokenizer's ids.
  r = run_cli({"tokenize", "-m", dir.string(), texts[1]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_lines(r.out).at(0).at("input_ids").get<std::vector<int32_t>>(), clf->tokenizer().encode(texts[1]).ids);

  // eval: the loss of the Classifier's logits.
  fs::create_directories(tmp.path / "data");
  std::string csv = "text,label\n";
  std::vector<int> labels;
  for (size_t i = 0; i < texts.size(); ++i) {
    labels.push_back(int(i % 3));
    csv += "\"" + texts[i] + "\"," + names[size_t(labels.back())] + "\n";
  }
  spit(tmp.path / "data" / "train.csv", csv);
  r = run_cli({"eval", "-m", dir.string(), "--data", (tmp.path / "data" / "train.csv").string(), "--output",
               (tmp.path / "eval.json").string(), "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NEAR(json::parse(slurp(tmp.path / "eval.json")).at("eval_loss").get<double>(),
              mean_cross_entropy(logits_of(singles), labels), 1e-5);

  // train 3 steps, then predict with the result: the trained Classifier's logits, which moved.
  const fs::path out = tmp.path / "trained";
  r = run_cli({"train",
               "--model",
               dir.string(),
               "--data",
               (tmp.path / "data").string(),
               "--output-dir",
               out.string(),
               "--max-steps",
               "3",
               "--batch-size",
               "2",
               "--learning-rate",
               "1e-3",
               "--eval-split",
               "none",
               "--test-split",
               "none",
               "--threads",
               "1",
               "--quiet",
               "--no-plots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto trained = Classifier::load(out, {.threads = 1});
  EXPECT_EQ(trained->config().model_type, clf->config().model_type);
  EXPECT_EQ(trained->config().label_names(), names);
  r = run_cli({"predict", "-m", out.string(), "--input", (tmp.path / "a.txt").string(), "--logits", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto after = trained->classify(texts);
  expect_near_rows(logits_of(json_lines(r.out)), logits_of(after), 1e-6f, init_config + " predict after train");
  diff = 0;
  for (size_t i = 0; i < texts.size(); ++i)
    for (size_t k = 0; k < names.size(); ++k)
      diff = std::max(diff, std::abs(after[i].logits[k] - singles[i].logits[k]));
  EXPECT_GT(diff, 1e-6f) << init_config << ": training did not change the logits";

  // serve: one /predict request, scores = softmax of the Classifier's logits.
  const json answer = serve_one(dir, json{{"inputs", texts[0]}}.dump(), tmp.path);
  expect_scores(answer, singles[0].logits, names);
}

TEST(FamilyDirs, RobertaDirectoryThroughEveryCommand) {
  commands_on_family("roberta-tiny", kShared / "roberta-bpe-test");
}

TEST(FamilyDirs, BertDirectoryThroughEveryCommand) {
  commands_on_family("bert-tiny", kShared / "distilbert-base-cased");
}

// pair_roberta_test.cpp — RoBERTa sentence pairs against the PyTorch reference.
//
// tests/fixtures/pairs/roberta (tools/make_roberta_pair_fixture.sh): a tiny RoBERTa with a cut-down
// copy of the GPT-2 byte-level BPE tokenizer, six pairs (emoji, accents, CJK, runs of spaces, a tab),
// the reference tokenizer's (bpe.py) ids laid out as RobertaProcessing does, <s> A </s></s> B </s>
// with every token type 0, and forward.py's logits for them. The tokenizer, the Classifier,
// `predict --pair-input` and `eval --text-pair-column` must all give those, and they must differ
// from the first texts' own logits (also from the reference), so the second texts reach the model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/classifier.hpp"
#include "cli_harness.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
using nlohmann::json;

namespace {

const fs::path kDir = fs::path(FIXTURES_DIR) / "pairs" / "roberta";

struct RobertaPairs {
  json j = read_json_fixture((kDir / "pairs.json").string(), "tools/make_roberta_pair_fixture.sh");
  std::vector<std::string> a, b;
  std::vector<std::vector<float>> logits = j.at("logits").get<std::vector<std::vector<float>>>();
  std::vector<std::vector<float>> first_logits = j.at("first_texts_logits").get<std::vector<std::vector<float>>>();
  RobertaPairs() {
    for (const auto& p : j.at("pairs")) {
      a.push_back(p.at(0).get<std::string>());
      b.push_back(p.at(1).get<std::string>());
    }
  }
};

void expect_rows_near(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want,
                      const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << what << " row " << i;
    for (size_t k = 0; k < got[i].size(); ++k) EXPECT_NEAR(got[i][k], want[i][k], 1e-5f) << what << " row " << i;
  }
}

}  // namespace

TEST(RobertaPairs, TokenizerLaysPairsOutAsRobertaProcessing) {
  RobertaPairs f;
  const Tokenizer tok = Tokenizer::from_model_dir(kDir);
  for (size_t i = 0; i < f.a.size(); ++i) {
    const Encoding e = tok.encode_pair(f.a[i], f.b[i]);
    EXPECT_EQ(e.ids, f.j.at("input_ids")[i].get<std::vector<int32_t>>()) << i;
    // Every type 0 (RobertaProcessing); the sides differ only in sequence_ids.
    EXPECT_TRUE(std::all_of(e.type_ids.begin(), e.type_ids.end(), [](uint8_t t) { return t == 0; })) << i;
    const auto seps = std::count(e.ids.begin(), e.ids.end(), tok.sep_id());
    EXPECT_EQ(seps, 3) << i;  // </s></s> between the texts, </s> at the end
    EXPECT_EQ(std::count(e.sequence_ids.begin(), e.sequence_ids.end(), int8_t{1}) + 4 +
                  std::count(e.sequence_ids.begin(), e.sequence_ids.end(), int8_t{0}),
              static_cast<std::ptrdiff_t>(e.ids.size()))
        << i;
    EXPECT_EQ(tok.encode_ids(f.a[i]), f.j.at("first_texts_input_ids")[i].get<std::vector<int32_t>>()) << i;
  }
}

TEST(RobertaPairs, ClassifierGivesTheReferenceLogits) {
  RobertaPairs f;
  auto clf = Classifier::load(kDir, {.threads = 1, .batch_size = 4});
  ASSERT_FALSE(clf->config().takes_token_types());
  std::vector<std::vector<float>> got, first;
  for (const auto& p : clf->classify(f.a, f.b)) got.push_back(p.logits);
  for (const auto& p : clf->classify(f.a)) first.push_back(p.logits);
  expect_rows_near(got, f.logits, "classify(pairs)");
  expect_rows_near(first, f.first_logits, "classify(first texts)");
  float diff = 0;
  for (size_t i = 0; i < f.logits.size(); ++i)
    for (size_t k = 0; k < f.logits[i].size(); ++k)
      diff = std::max(diff, std::abs(f.logits[i][k] - f.first_logits[i][k]));
  EXPECT_GT(diff, 1e-2f);
  // Pre-tokenized rows, with or without (all-zero) types: the same logits.
  const auto rows = f.j.at("input_ids").get<std::vector<std::vector<int32_t>>>();
  expect_rows_near(clf->logits(rows), f.logits, "logits(rows)");
  expect_rows_near(clf->logits(rows, f.j.at("token_type_ids").get<std::vector<std::vector<int32_t>>>()), f.logits,
                   "logits(rows, types)");
}

TEST(RobertaPairs, PredictAndEvalGiveTheReferenceLogits) {
  RobertaPairs f;
  TempDir tmp;
  std::string a, b, jsonl;
  const std::vector<std::string> names = {"anger", "joy", "optimism", "sadness"};
  double loss = 0;
  for (size_t i = 0; i < f.a.size(); ++i) {
    a += f.a[i] + "\n";
    b += f.b[i] + "\n";
    const size_t label = i % names.size();
    jsonl += json{{"text", f.a[i]}, {"premise", f.b[i]}, {"label", names[label]}}.dump() + "\n";
    const auto& z = f.logits[i];
    const double mx = *std::max_element(z.begin(), z.end());
    double s = 0;
    for (float v : z) s += std::exp(v - mx);
    loss += (mx + std::log(s) - z[label]) / static_cast<double>(f.a.size());
  }
  spit(tmp.path / "a.txt", a);
  spit(tmp.path / "b.txt", b);
  spit(tmp.path / "pairs.jsonl", jsonl);
  CliResult r = run_cli({"predict", "-m", kDir.string(), "--input", (tmp.path / "a.txt").string(), "--pair-input",
                         (tmp.path / "b.txt").string(), "--logits", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::vector<float>> got;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) got.push_back(json::parse(line).at("logits").get<std::vector<float>>());
  expect_rows_near(got, f.logits, "predict --pair-input");

  r = run_cli({"eval", "-m", kDir.string(), "--data", (tmp.path / "pairs.jsonl").string(), "--text-pair-column",
               "premise", "--output", (tmp.path / "eval.json").string(), "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NEAR(json::parse(slurp(tmp.path / "eval.json")).at("eval_loss").get<double>(), loss, 1e-5);
}

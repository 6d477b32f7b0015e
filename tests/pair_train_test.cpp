// pair_train_test.cpp — training on sentence pairs (`train --text-pair-column`) against the PyTorch
// reference.
//
// tests/fixtures/pairs/bert_traj (tools/make_pair_train_fixture.sh): a tiny BERT with a WordPiece
// vocabulary, 38 labelled pairs in data/train.csv and 12 in data/val.jsonl, the reference
// tokenizer's pairs ([CLS] A [SEP] B [SEP], token types 0 then 1) and train.py's 50-step run on them
// (the recipe of tests/fixtures/train/traj: dropout off, its order replayed). Loading the files,
// tokenizing them as pairs and training must reproduce that run: the same ids and types, every
// step's loss and grad norm, every evaluation and the final weights (token-type rows included).
// The CLI's `train --text-pair-column` (TSV training pairs, JSONL validation pairs) must end with the
// reference's weights, `eval --text-pair-column` on its model must give the reference's final
// evaluation loss, and a missing pair column must be named with its file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_harness.hpp"
#include "data/dataset.hpp"
#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/trainer.hpp"
#include "train_fixture.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
using nlohmann::json;

namespace {

const fs::path kTraj = fs::path(FIXTURES_DIR) / "pairs" / "bert_traj";

// train.py's input rows: {"input_ids": [...], "token_type_ids": [...]} per line.
struct RefRows {
  std::vector<std::vector<int32_t>> ids, types;
};
RefRows read_ref_rows(const fs::path& p) {
  RefRows r;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const json j = json::parse(line);
    r.ids.push_back(j.at("input_ids").get<std::vector<int32_t>>());
    r.types.push_back(j.at("token_type_ids").get<std::vector<int32_t>>());
  }
  return r;
}

DatasetOptions pair_options(const std::vector<std::string>& names) {
  DatasetOptions o;
  o.label_names = names;
  o.text_pair_column = "text_pair";
  return o;
}

std::vector<std::string> model_labels() { return load_model_dir(kTraj / "init").config.label_names(); }

// The fixture's recipe through run_training: the data folder, pairs, the replayed order.
TrainOptions pair_run_options(const fs::path& out) {
  TrainOptions o = traj_options(out, kTraj);
  o.model = (kTraj / "init").string();
  o.data = (kTraj / "data").string();
  o.text_pair_column = "text_pair";
  o.test_split = "none";
  o.plots = false;
  return o;
}

}  // namespace

TEST(PairTraining, TokenizesCsvAndJsonlPairsAsTheReference) {
  const Tokenizer tok = Tokenizer::from_model_dir(kTraj / "init");
  const auto names = model_labels();
  const struct {
    const char* split;
    const char* ids;
    const char* labels;
  } cases[] = {{"train", "train.jsonl", "train_labels.txt"}, {"val", "eval.jsonl", "eval_labels.txt"}};
  for (const auto& c : cases) {
    const Dataset d = load_dataset(kTraj / "data", c.split, pair_options(names));
    const TokenizedSplit s = tokenize_split(tok, d, 64, /*token_types=*/true);
    const RefRows ref = read_ref_rows(kTraj / c.ids);
    EXPECT_EQ(s.ids, ref.ids) << c.split;
    EXPECT_EQ(s.type_ids, ref.types) << c.split;
    EXPECT_EQ(s.labels, read_labels(kTraj / c.labels)) << c.split;
    // A model without token types (RoBERTa's type_vocab_size 1, DistilBERT) keeps the same ids.
    const TokenizedSplit untyped = tokenize_split(tok, d, 64, /*token_types=*/false);
    EXPECT_EQ(untyped.ids, ref.ids) << c.split;
    EXPECT_TRUE(untyped.type_ids.empty()) << c.split;
  }
  // Single texts (no pair column) carry no token types at all.
  DatasetOptions single;
  single.label_names = names;
  EXPECT_TRUE(tokenize_split(tok, load_dataset(kTraj / "data", "train", single), 64, true).type_ids.empty());
}

TEST(PairTraining, TruncatesPairsLongestFirst) {
  const Tokenizer tok = Tokenizer::from_model_dir(kTraj / "init");
  const Dataset d = load_dataset(kTraj / "data", "train", pair_options(model_labels()));
  const TokenizedSplit s = tokenize_split(tok, d, 12, true);
  size_t truncated = 0;
  for (size_t i = 0; i < d.rows.size(); ++i) {
    const Encoding full = tok.encode_pair(d.rows[i].text, d.rows[i].text_pair, kNoTruncation);
    const Encoding want = tok.encode_pair(d.rows[i].text, d.rows[i].text_pair, 12);
    EXPECT_EQ(s.ids[i], want.ids) << i;
    EXPECT_EQ(s.type_ids[i], std::vector<int32_t>(want.type_ids.begin(), want.type_ids.end())) << i;
    ASSERT_LE(s.ids[i].size(), 12u) << i;
    if (full.ids.size() <= 12) continue;
    ++truncated;
    // Both segments survive with their separators: [CLS] A [SEP] B [SEP], types 0 then 1.
    EXPECT_EQ(std::count(s.ids[i].begin(), s.ids[i].end(), tok.sep_id()), 2) << i;
    EXPECT_EQ(s.type_ids[i].front(), 0) << i;
    EXPECT_EQ(s.type_ids[i].back(), 1) << i;
  }
  EXPECT_GT(truncated, 10u);
}

TEST(PairTraining, RunOnCsvPairsMatchesPyTorchReference) {
  TempDir tmp;
  const TrainOptions o = pair_run_options(tmp.path / "out");
  const TrainOutcome r = run_training(o);
  ASSERT_EQ(r.steps.size(), 50u);

  // The saved model against train.py's final weights, and every step and evaluation of its log.
  LoadOptions lo;
  lo.owned_arena = true;
  const LoadedModel saved = load_model_dir(tmp.path / "out", lo);
  const RunDeviation dev = expect_matches_reference_run(r, saved.layout, saved.arena.data(), kTraj / "ref");
  std::printf(
      "sentence pairs, max relative deviation from PyTorch over 50 steps: loss %.2e, grad norm %.2e, "
      "final tensor (L2) %.2e\n",
      dev.loss, dev.grad_norm, dev.tensor);

  // The token-type rows learned: type 1 moved from its initial value as far as the reference's did.
  const LoadedModel init = load_model_dir(kTraj / "init", lo);
  const std::string name = "bert.embeddings.token_type_embeddings.weight";
  const ParamInfo& p = saved.layout.find(name);
  const size_t C = p.numel / 2;
  std::vector<float> ref(p.numel);
  SafetensorsFile::open(kTraj / "ref" / "model.safetensors")->to_float32(name, ref.data());
  double moved = 0, ref_moved = 0;
  for (size_t i = C; i < 2 * C; ++i) {
    const float start = init.arena[init.layout.find(name).offset + i];
    moved += std::pow(saved.arena[p.offset + i] - start, 2);
    ref_moved += std::pow(ref[i] - start, 2);
  }
  EXPECT_GT(std::sqrt(ref_moved), 1e-2);
  EXPECT_NEAR(std::sqrt(moved), std::sqrt(ref_moved), 1e-3 * std::sqrt(ref_moved));
  EXPECT_EQ(json::parse(slurp(tmp.path / "out" / "training_args.json")).at("text_pair_column_name"), "text_pair");
}

TEST(PairTraining, TrainLoopChecksTokenTypes) {
  TempDir tmp;
  TrainModel tm = load_traj_model(kTraj);
  const RefRows rows = read_ref_rows(kTraj / "train.jsonl");
  TokenizedSplit train{rows.ids, read_labels(kTraj / "train_labels.txt")};
  TrainOptions o = traj_options(tmp.path / "out", kTraj);
  o.max_steps = 1;
  train.type_ids = rows.types;
  train.type_ids.pop_back();
  EXPECT_THROW(train_loop(tm, train, nullptr, tm.config.label_names(), o), InvalidArgument);
  train.type_ids = rows.types;
  train.type_ids[3].push_back(1);
  EXPECT_THROW(train_loop(tm, train, nullptr, tm.config.label_names(), o), InvalidArgument);
  train.type_ids = rows.types;
  train.type_ids[5][2] = 2;  // type_vocab_size is 2
  try {
    train_loop(tm, train, nullptr, tm.config.label_names(), o);
    ADD_FAILURE() << "token type 2 accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("type_vocab_size 2"), std::string::npos) << e.what();
  }
}

TEST(PairTraining, MissingPairColumnNamesFileAndColumn) {
  DatasetOptions o = pair_options(model_labels());
  o.text_pair_column = "hypothesis";
  // The message of the E that load_dataset(dir, split) throws ("" and a failure if none).
  auto message = [&o]<typename E>(const fs::path& dir, const char* split, E*) -> std::string {
    try {
      load_dataset(dir, split, o);
    } catch (const E& e) {
      return e.what();
    }
    ADD_FAILURE() << dir << " " << split << ": no error";
    return "";
  };
  std::string m = message(kTraj / "data", "train", static_cast<FormatError*>(nullptr));
  EXPECT_NE(m.find("train.csv"), std::string::npos) << m;
  EXPECT_NE(m.find("'hypothesis'"), std::string::npos) << m;
  m = message(kTraj / "data", "val", static_cast<FormatError*>(nullptr));
  EXPECT_NE(m.find("val.jsonl:1"), std::string::npos) << m;
  EXPECT_NE(m.find("'hypothesis'"), std::string::npos) << m;
  // A TweetEval folder has one text per line: a pair column is refused, not ignored.
  TempDir tmp;
  spit(tmp.path / "train_text.txt", "a\nb\n");
  spit(tmp.path / "train_labels.txt", "0\n1\n");
  m = message(tmp.path, "train", static_cast<InvalidArgument*>(nullptr));
  EXPECT_NE(m.find("train_text.txt"), std::string::npos) << m;
  EXPECT_NE(m.find("'hypothesis'"), std::string::npos) << m;
}

TEST(PairTrainingCli, TrainThenEvalPairsGiveTheReferenceLoss) {
  TempDir tmp;
  // The training pairs as TSV (CSV -> TSV: no field holds a tab or a quote), validation as JSONL.
  std::string tsv;
  for (const auto& rec : parse_csv(slurp(kTraj / "data" / "train.csv"), ',', "train.csv"))
    tsv += rec.fields.at(0) + "\t" + rec.fields.at(1) + "\t" + rec.fields.at(2) + "\n";
  spit(tmp.path / "train.tsv", tsv);
  const std::string val = (kTraj / "data" / "val.jsonl").string();
  const std::string out = (tmp.path / "out").string();
  const std::vector<std::string> recipe = {
      "--learning-rate", "1e-3", "--warmup-steps", "5",   "--weight-decay",    "0.01",
      "--max-grad-norm", "0.45", "--batch-size",   "4",   "--eval-batch-size", "8",
      "--epochs",        "5",    "--dropout",      "off", "--order",           (kTraj / "order.txt").string(),
      "--save-strategy", "no",   "--threads",      "1",   "--no-plots",        "--quiet"};
  std::vector<std::string> args = {"train",
                                   "--model",
                                   (kTraj / "init").string(),
                                   "--data",
                                   (tmp.path / "train.tsv").string(),
                                   "--validation-file",
                                   val,
                                   "--text-pair-column",
                                   "text_pair",
                                   "--output-dir",
                                   out};
  args.insert(args.end(), recipe.begin(), recipe.end());
  CliResult r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  LoadOptions lo;
  lo.owned_arena = true;
  const LoadedModel trained = load_model_dir(tmp.path / "out", lo);
  expect_weights_match_reference(trained.layout, trained.arena.data(), kTraj / "ref" / "model.safetensors");

  // The reference's evaluation of its final weights on the validation pairs.
  double ref_loss = 0;
  {
    std::ifstream in(kTraj / "ref" / "log.jsonl");
    for (std::string line; std::getline(in, line);)
      if (const json j = json::parse(line); j.at("type") == "eval") ref_loss = j.at("eval_loss").get<double>();
  }
  ASSERT_GT(ref_loss, 0);
  EXPECT_NEAR(json::parse(slurp(tmp.path / "out" / "eval_results.json")).at("eval_loss").get<double>(), ref_loss,
              1e-4 * ref_loss);
  r = run_cli({"eval", "--model", out, "--data", val, "--text-pair-column", "text_pair", "--output",
               (tmp.path / "eval.json").string(), "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json ev = json::parse(slurp(tmp.path / "eval.json"));
  EXPECT_EQ(ev.at("eval_samples"), 12);
  EXPECT_NEAR(ev.at("eval_loss").get<double>(), ref_loss, 1e-4 * ref_loss);
  // A pair column the training file lacks: exit 3 naming the file and the column; nothing saved.
  args = {"train",
          "--model",
          (kTraj / "init").string(),
          "--data",
          (tmp.path / "train.tsv").string(),
          "--eval-split",
          "none",
          "--text-pair-column",
          "hypothesis",
          "--output-dir",
          (tmp.path / "bad").string(),
          "--quiet"};
  r = run_cli(args);
  EXPECT_EQ(r.exit_code, 3) << r.err;  // malformed input
  EXPECT_NE(r.err.find("train.tsv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'hypothesis'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path / "bad" / "model.safetensors"));
}

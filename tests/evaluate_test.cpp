// evaluate_test.cpp — evaluate_tokenized / evaluate_model against the PyTorch reference logits
// (tests/fixtures/data/classifier), batching independence, argmax ties and the results JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "data/evaluate.hpp"
#include "model/model_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(FIXTURES_DIR) / "data" / "classifier";
const fs::path kTokenizerDir = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";

struct Reference {
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<double>> logits;
  std::vector<int> labels;
};

Reference reference() {
  auto j = nlohmann::json::parse(read_file(kFixture / "expected.json"));
  Reference r;
  r.ids = j["input_ids"].get<std::vector<std::vector<int32_t>>>();
  r.logits = j["logits"].get<std::vector<std::vector<double>>>();
  for (size_t i = 0; i < r.ids.size(); ++i) r.labels.push_back(static_cast<int>((i * 7) % 4));  // arbitrary gold
  return r;
}

// Hand statement of Trainer.evaluate on the reference logits: mean of -log softmax[label], argmax.
double reference_loss(const Reference& r) {
  double sum = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) {
    double denom = 0;
    for (double l : r.logits[i]) denom += std::exp(l);
    sum += std::log(denom) - r.logits[i][r.labels[i]];
  }
  return sum / static_cast<double>(r.ids.size());
}

}  // namespace

TEST(Evaluate, TokenizedMatchesPyTorchLogitsLossAndArgmax) {
  LoadedModel m = load_model_dir(kFixture);  // config.json + model.safetensors (no tokenizer needed)
  Reference r = reference();
  for (int bs : {1, 4, 8, 64}) {
    EvalOutput out = evaluate_tokenized(m.config, m.weights, r.ids, r.labels, bs);
    ASSERT_EQ(out.predictions.size(), r.ids.size());
    EXPECT_NEAR(out.loss, reference_loss(r), 1e-5) << "batch " << bs;
    for (size_t i = 0; i < r.ids.size(); ++i) {
      const auto& want = r.logits[i];
      int argmax = static_cast<int>(std::max_element(want.begin(), want.end()) - want.begin());
      EXPECT_EQ(out.predictions[i], argmax) << i;
      for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(out.logits[i * 4 + k], want[k], 2e-5 + 2e-5 * std::fabs(want[k]));
    }
    EXPECT_EQ(out.labels, r.labels);
    auto expected_metrics = compute_metrics(r.labels, out.predictions, 4);
    EXPECT_DOUBLE_EQ(out.metrics.macro_f1, expected_metrics.macro_f1);
    EXPECT_EQ(out.metrics.total, static_cast<int64_t>(r.ids.size()));
  }
}

TEST(Evaluate, TiesGoToTheFirstLabelAndLossIsLogK) {
  // A zeroed classifier makes every logit exactly 0: argmax ties -> label 0 (torch.argmax), and the
  // cross-entropy of a uniform softmax over K = 4 is ln 4 for every example.
  LoadedModel m = load_model_dir(kFixture, {.owned_arena = true});
  const auto& cls_w = m.layout.find("classifier.weight");
  const auto& cls_b = m.layout.find("classifier.bias");
  std::fill_n(m.arena.data() + cls_w.offset, cls_w.numel, 0.f);
  std::fill_n(m.arena.data() + cls_b.offset, cls_b.numel, 0.f);
  Reference r = reference();
  EvalOutput out = evaluate_tokenized(m.config, m.weights, r.ids, r.labels, 3);
  for (int p : out.predictions) EXPECT_EQ(p, 0);
  EXPECT_NEAR(out.loss, std::log(4.0), 1e-12);
}

TEST(Evaluate, ModelOnDatasetTokenizesAndChecksLabels) {
  fs::path dir = fs::temp_directory_path() / ("bert_emotion_evaluate_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(kFixture / f, dir / f, fs::copy_options::overwrite_existing);
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    if (fs::exists(kTokenizerDir / f)) fs::copy_file(kTokenizerDir / f, dir / f, fs::copy_options::overwrite_existing);
  LoadedModel m = load_model_dir(dir);
  Tokenizer tok = Tokenizer::from_model_dir(dir);
  Reference r = reference();
  // The fixture's texts as a JSONL dataset with the same gold labels.
  auto texts = split_lines(read_file(kFixture / "texts.txt"), "texts.txt");
  std::string jsonl;
  for (size_t i = 0; i < texts.size(); ++i)
    jsonl += nlohmann::json({{"text", texts[i]}, {"label", r.labels[i]}}).dump() + "\n";
  write_file_atomic(dir / "d.jsonl", jsonl);
  Dataset d = load_dataset(dir / "d.jsonl", "", {.label_names = m.config.label_names()});
  EvalOutput out = evaluate_model(m.config, m.weights, tok, d, 5);
  EXPECT_NEAR(out.loss, reference_loss(r), 1e-5);  // the 64-position model truncates like wordpiece.py --max-length 64
  auto j = eval_results_json(out, d.label_names, 5);
  for (const char* key : {"eval_loss", "eval_accuracy", "eval_f1", "eval_f1_weighted", "eval_runtime",
                          "eval_samples_per_second", "eval_steps_per_second", "eval_samples"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["eval_samples"], texts.size());
  auto t = eval_results_json(out, d.label_names, 5, "test_");
  EXPECT_TRUE(t.contains("test_loss"));

  Dataset two = d;
  two.label_names = {"a", "b"};
  EXPECT_THROW(evaluate_model(m.config, m.weights, tok, two, 5), InvalidArgument);
  EXPECT_THROW(evaluate_model(m.config, m.weights, tok, d, 0), InvalidArgument);
  EXPECT_THROW(evaluate_tokenized(m.config, m.weights, r.ids, std::vector<int>(r.ids.size(), 4), 2), InvalidArgument);
  fs::remove_all(dir);
}

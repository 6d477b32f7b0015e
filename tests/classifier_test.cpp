// classifier_test.cpp — the public Classifier: PyTorch parity end to end (text -> logits),
// input order under length sorting, batch-size and thread independence, softmax / sigmoid.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/classifier.hpp"
#include "data/dataset.hpp"
#include "model/config.hpp"
#include "model/init.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(FIXTURES_DIR) / "data" / "classifier";
const fs::path kTokenizerDir = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";
const fs::path kEmotion = fs::path(SHARED_DIR) / "data/tweeteval/datasets/emotion";
// Padding is exact (masked keys get probability 0) but GEMMs of different row counts round
// differently: logits of magnitude ~5 agree to a few 1e-5 across batchings.
constexpr float kBatchTol = 1e-4f;

// Model directories built once for the whole test program.
class Env : public ::testing::Environment {
 public:
  static inline fs::path root, parity, tiny, multi;
  void SetUp() override {
    root = fs::temp_directory_path() / ("bert_emotion_classifier_test_" + std::to_string(::getpid()));
    fs::create_directories(root);
    // The PyTorch-reference model (tools/make_classifier_fixtures.sh) + the real tokenizer files.
    parity = root / "parity";
    fs::create_directories(parity);
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(kFixture / f, parity / f);
    for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      if (fs::exists(kTokenizerDir / f)) fs::copy_file(kTokenizerDir / f, parity / f);
    // A tiny random model of the real architecture, single- and multi-label.
    ModelConfig cfg = preset_config("tiny");
    set_labels(cfg, {"anger", "joy", "optimism", "sadness"});
    cfg.initializer_range = 0.5f;  // spread the logits so argmax/sorting mistakes show
    tiny = root / "tiny";
    create_random_model_dir(tiny, cfg, 3, kTokenizerDir);
    cfg.problem_type = "multi_label_classification";
    multi = root / "multi";
    create_random_model_dir(multi, cfg, 4, kTokenizerDir);
  }
  void TearDown() override { fs::remove_all(root); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Env);

std::vector<std::string> sample_texts() {
  std::vector<std::string> texts = split_lines(read_file(kEmotion / "test_text.txt"), "test_text.txt");
  texts.resize(45);
  texts.push_back("");
  texts.push_back("short");
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "happy words ";
  texts.insert(texts.begin() + 7, long_text);  // 600 words: truncated to the 128 positions
  return texts;
}

void expect_same_predictions(const std::vector<Prediction>& a, const std::vector<Prediction>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].logits.size(), b[i].logits.size());
    for (size_t k = 0; k < a[i].logits.size(); ++k) EXPECT_NEAR(a[i].logits[k], b[i].logits[k], tol) << i << "," << k;
    EXPECT_EQ(a[i].label_id, b[i].label_id) << i;
    EXPECT_EQ(a[i].num_tokens, b[i].num_tokens) << i;
  }
}

}  // namespace

TEST(Classifier, MatchesPyTorchReferenceFromText) {
  // expected.json: wordpiece.py ids and forward.py logits of the same texts (see the tool).
  auto expected = nlohmann::json::parse(read_file(kFixture / "expected.json"));
  auto texts = split_lines(read_file(kFixture / "texts.txt"), "texts.txt");
  ASSERT_EQ(texts.size(), expected["logits"].size());
  auto clf = Classifier::load(Env::parity, {.batch_size = 4});
  auto preds = clf->classify(texts);
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ids = expected["input_ids"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(clf->tokenizer().encode_ids(texts[i], 64), ids) << "text " << i;
    EXPECT_EQ(preds[i].num_tokens, ids.size()) << "text " << i;
    auto want = expected["logits"][i].get<std::vector<float>>();
    for (size_t k = 0; k < want.size(); ++k)
      EXPECT_NEAR(preds[i].logits[k], want[k], 2e-5f + 2e-5f * std::fabs(want[k])) << "text " << i << " label " << k;
    // The raw-logits path (what the server uses) agrees too.
    auto raw = clf->logits({ids})[0];
    for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(raw[k], want[k], 2e-5f + 2e-5f * std::fabs(want[k]));
  }
  // The 64-position model truncates the long last text to 64 tokens.
  EXPECT_EQ(preds.back().num_tokens, 64u);
}

TEST(Classifier, OutputOrderIsInputOrderUnderLengthSorting) {
  auto texts = sample_texts();
  auto clf = Classifier::load(Env::tiny, {.batch_size = 8});
  auto batched = clf->classify(texts);
  ASSERT_EQ(batched.size(), texts.size());
  // Each text alone gives the same answer at its own position.
  for (size_t i = 0; i < texts.size(); ++i) {
    auto alone = clf->classify({texts[i]});
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_EQ(alone[0].num_tokens, clf->tokenizer().encode_ids(texts[i], 128).size());
    EXPECT_EQ(batched[i].num_tokens, alone[0].num_tokens) << i;
    for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(batched[i].logits[k], alone[0].logits[k], kBatchTol) << i;
  }
  EXPECT_EQ(batched[7].num_tokens, 128u);               // tiny preset: 128 positions
  EXPECT_EQ(batched[texts.size() - 2].num_tokens, 2u);  // "" -> [CLS] [SEP]
  // The predictions are not all one label (otherwise the order checks above would be weak).
  std::set<int> labels;
  for (const auto& p : batched) labels.insert(p.label_id);
  EXPECT_GE(labels.size(), 2u);
}

TEST(Classifier, BatchSizesGiveTheSameOutputs) {
  auto texts = sample_texts();
  auto one = Classifier::load(Env::tiny, {.batch_size = 1})->classify(texts);
  auto three = Classifier::load(Env::tiny, {.batch_size = 3})->classify(texts);
  auto big = Classifier::load(Env::tiny, {.batch_size = 32})->classify(texts);
  expect_same_predictions(one, three, kBatchTol);
  expect_same_predictions(one, big, kBatchTol);
}

// Every dtype: the FP32 and int8 products run oneDNN primitives shared by all calling threads on
// AVX-512 (kernels/onednn_matmul.cpp), which once gave concurrent callers wrong logits.
TEST(Classifier, ConcurrentCallersGetTheSameOutputs) {
  for (const char* dtype : {"f32", "int8", "bf16"}) {
    SCOPED_TRACE(dtype);
    auto texts = sample_texts();
    auto clf = Classifier::load(Env::tiny, {.threads = 1, .batch_size = 5, .dtype = dtype});
    auto reference = clf->classify(texts);
    std::vector<std::vector<Prediction>> results(4);
    std::vector<std::vector<std::vector<float>>> raw(4);
    std::vector<std::thread> threads;
    auto ids = clf->tokenizer().encode_ids(texts[0], 128);
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int rep = 0; rep < 3; ++rep) {
          results[t] = clf->classify(texts);
          raw[t] = clf->logits({ids, ids});
        }
      });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
      expect_same_predictions(reference, results[t], 0.f);  // same batching, 1 thread each: bitwise
      ASSERT_EQ(raw[t].size(), 2u);
      for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(raw[t][0][k], reference[0].logits[k], 1e-5f);
    }
  }
}

TEST(Classifier, SoftmaxScoresForSingleLabel) {
  auto clf = Classifier::load(Env::tiny);
  EXPECT_FALSE(clf->config().multi_label());
  for (const auto& p : clf->classify(sample_texts())) {
    double sum = 0, denom = 0;
    for (float l : p.logits) denom += std::exp(static_cast<double>(l));
    for (size_t k = 0; k < p.scores.size(); ++k) {
      sum += p.scores[k];
      EXPECT_NEAR(p.scores[k], std::exp(static_cast<double>(p.logits[k])) / denom, 1e-6);
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(p.label_id, std::max_element(p.logits.begin(), p.logits.end()) - p.logits.begin());
    EXPECT_EQ(p.label, clf->config().label_names()[p.label_id]);
    EXPECT_FLOAT_EQ(p.score, p.scores[p.label_id]);
  }
}

TEST(Classifier, SigmoidScoresForMultiLabel) {
  auto clf = Classifier::load(Env::multi);
  EXPECT_TRUE(clf->config().multi_label());
  bool some_sum_differs = false;
  for (const auto& p : clf->classify(sample_texts())) {
    double sum = 0;
    for (size_t k = 0; k < p.scores.size(); ++k) {
      EXPECT_NEAR(p.scores[k], 1.0 / (1.0 + std::exp(-static_cast<double>(p.logits[k]))), 1e-6);
      sum += p.scores[k];
    }
    some_sum_differs = some_sum_differs || std::fabs(sum - 1.0) > 1e-3;
    EXPECT_EQ(p.label_id, std::max_element(p.logits.begin(), p.logits.end()) - p.logits.begin());
  }
  EXPECT_TRUE(some_sum_differs);
}

TEST(Classifier, ScoresFromLogitsHandValues) {
  // softmax(0, ln 3) = (1/4, 3/4); sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4.
  auto s = scores_from_logits({0.f, std::log(3.f)}, false);
  EXPECT_NEAR(s[0], 0.25f, 1e-7f);
  EXPECT_NEAR(s[1], 0.75f, 1e-7f);
  auto g = scores_from_logits({0.f, std::log(3.f)}, true);
  EXPECT_NEAR(g[0], 0.5f, 1e-7f);
  EXPECT_NEAR(g[1], 0.75f, 1e-7f);
  // Large logits do not overflow (max subtracted).
  auto big = scores_from_logits({1000.f, 1000.f}, false);
  EXPECT_NEAR(big[0], 0.5f, 1e-7f);
}

TEST(Classifier, MaxLengthAndInvalidRows) {
  auto clf = Classifier::load(Env::tiny, {.max_length = 5});
  auto p = clf->classify({"one two three four five six seven eight"});
  EXPECT_EQ(p[0].num_tokens, 5u);
  EXPECT_TRUE(clf->classify({}).empty());
  EXPECT_THROW(clf->logits({{101, 999999, 102}}), InvalidArgument);
  EXPECT_THROW(clf->logits({{}}), InvalidArgument);
  EXPECT_THROW(clf->logits({std::vector<int32_t>(129, 101)}), InvalidArgument);
  EXPECT_THROW(clf->classify({"bad \xff utf8"}), Utf8Error);
  EXPECT_THROW(Classifier::load(Env::tiny, {.batch_size = 0}), InvalidArgument);
  EXPECT_THROW(Classifier::load(Env::root / "missing"), Error);
}

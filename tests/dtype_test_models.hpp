// dtype_test_models.hpp — what the int8 and bf16 model tests share: one set of models (the
// PyTorch-reference classifier fixture with the real tokenizer, and random tiny models of every
// family), real tweets to run them on, the agreement of a reduced-precision run with FP32, and the
// CLI under an instruction-set cap.
//
//   make_dtype_test_models(root);                       // root/{parity,tiny,bert-tiny,roberta-tiny}
//   const Agreement a = compare_to_fp32(f32, i8, 0.05f); // a.max_error <= a.tol, decisive rows agree
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "api/classifier.hpp"
#include "cli_harness.hpp"
#include "data/dataset.hpp"
#include "model/config.hpp"
#include "model/init.hpp"
#include "util/atomic_file.hpp"

namespace bert_emotion::testing_support {

// The model names make_dtype_test_models creates, for INSTANTIATE_TEST_SUITE_P.
inline const std::vector<std::string> kDtypeTestModels = {"parity", "tiny", "bert-tiny", "roberta-tiny"};

inline void make_dtype_test_models(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  const fs::path fixture = fs::path(FIXTURES_DIR) / "data" / "classifier";
  const fs::path wordpiece = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";
  const fs::path bpe = fs::path(SHARED_DIR) / "models" / "roberta-bpe-test";
  fs::create_directories(root / "parity");
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(fixture / f, root / "parity" / f);
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    if (fs::exists(wordpiece / f)) fs::copy_file(wordpiece / f, root / "parity" / f);
  // Random tiny models of each family (dim 32, 2 layers).
  for (const auto& [name, tok] : {std::pair{"tiny", wordpiece}, {"bert-tiny", wordpiece}, {"roberta-tiny", bpe}}) {
    ModelConfig cfg = preset_config(name);
    set_labels(cfg, {"anger", "joy", "optimism", "sadness"});
    cfg.initializer_range = 0.2f;  // spread the logits
    create_random_model_dir(root / name, cfg, 7, tok);
  }
}

// The first n TweetEval emotion test texts.
inline std::vector<std::string> emotion_test_tweets(size_t n) {
  const auto file = std::filesystem::path(SHARED_DIR) / "data/tweeteval/datasets/emotion/test_text.txt";
  std::vector<std::string> t = split_lines(read_file(file), "test_text.txt");
  t.resize(n);
  return t;
}

// How far a reduced-precision run's logits are from FP32's: the bound is rel_tol of the largest FP32
// |logit|; a row is decisive when FP32's top-two margin exceeds twice that (closer calls may flip).
struct Agreement {
  float max_error = 0.f, scale = 0.f, tol = 0.f;
  int compared = 0, same_argmax = 0, decisive = 0, decisive_same = 0;
};

inline Agreement compare_to_fp32(const std::vector<Prediction>& f32, const std::vector<Prediction>& other,
                                 float rel_tol) {
  Agreement a;
  for (const auto& p : f32)
    for (float v : p.logits) a.scale = std::max(a.scale, std::fabs(v));
  a.tol = rel_tol * a.scale;
  for (size_t i = 0; i < f32.size(); ++i) {
    const auto& x = f32[i].logits;
    const auto& y = other[i].logits;
    for (size_t k = 0; k < x.size(); ++k) a.max_error = std::max(a.max_error, std::fabs(x[k] - y[k]));
    std::vector<float> s = x;
    std::sort(s.rbegin(), s.rend());
    const bool same = f32[i].label_id == other[i].label_id;
    ++a.compared;
    a.same_argmax += same;
    if (s.size() > 1 && s[0] - s[1] > 2 * a.tol) {
      ++a.decisive;
      a.decisive_same += same;
    }
  }
  return a;
}

// The CLI with $BERT_EMOTION_MAX_CPU_ISA set (the child inherits our environment).
inline CliResult run_capped(const std::vector<std::string>& args, const std::string& cap) {
  ::setenv("BERT_EMOTION_MAX_CPU_ISA", cap.c_str(), 1);
  CliResult r = run_cli(args);
  ::unsetenv("BERT_EMOTION_MAX_CPU_ISA");
  return r;
}

}  // namespace bert_emotion::testing_support

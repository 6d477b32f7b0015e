// --dtype bf16 end to end: a model's bf16 logits against its FP32 logits on real tweets (TweetEval
// emotion test texts), for every family, through the public Classifier; the padded and packed
// forwards agree; every instruction-set path (the CLI under BERT_EMOTION_MAX_CPU_ISA) prints the same
// bytes; a `quantize --dtype bf16` directory is BF16 on disk, about half the size, and predicts
// exactly as bf16 at load.
//
// Bound: bf16 keeps 8 significant bits, so each linear's inputs and weights are off by at most 2^-9
// relative and each product by ~2^-8 (0.4%); the errors of a dot product's terms partly cancel, and
// LayerNorm renormalises after every block, so through the few layers of these models the logits move
// by under 1% of their largest magnitude (measured: 0.6-0.8%). The test allows kRelTol = 2% of
// the largest FP32 |logit| and requires the same argmax wherever FP32's top-two margin exceeds twice
// that.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "api/classifier.hpp"
#include "cli_harness.hpp"
#include "data/dataset.hpp"
#include "dtype_test_models.hpp"
#include "kernels/cpu_isa.hpp"
#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "model/encoder.hpp"
#include "model/init.hpp"
#include "model/model_dir.hpp"
#include "model/quantize.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

namespace {

constexpr float kRelTol = 0.02f;

class Env : public ::testing::Environment {
 public:
  static inline fs::path root;
  void SetUp() override {
    root = fs::temp_directory_path() / ("bert_emotion_bf16_model_test_" + std::to_string(::getpid()));
    fs::create_directories(root);
    make_dtype_test_models(root);
  }
  void TearDown() override { fs::remove_all(root); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Env);

class Bf16Family : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Bf16Family, LogitsWithinBoundOfFp32OnRealTweets) {
  const auto texts = emotion_test_tweets(200);
  const auto f32 = Classifier::load(Env::root / GetParam(), {.batch_size = 16, .dtype = "f32"})->classify(texts);
  const auto bf = Classifier::load(Env::root / GetParam(), {.batch_size = 16, .dtype = "bf16"})->classify(texts);
  const Agreement a = compare_to_fp32(f32, bf, kRelTol);
  std::printf("%s: max |logit error| %.5f (%.3f%% of max |logit| %.3f), argmax agreement %d/%d (decisive %d/%d)\n",
              GetParam().c_str(), a.max_error, 100 * a.max_error / a.scale, a.scale, a.same_argmax, a.compared,
              a.decisive_same, a.decisive);
  EXPECT_LE(a.max_error, a.tol);
  EXPECT_GT(a.max_error, 0.f) << "bf16 did not run: logits are FP32's exactly";
  EXPECT_EQ(a.decisive_same, a.decisive);
  EXPECT_GE(a.decisive, a.compared / 2) << "too few decisive rows for the test to mean anything";
  EXPECT_GE(a.same_argmax, a.compared * 98 / 100);
}

INSTANTIATE_TEST_SUITE_P(Families, Bf16Family, ::testing::ValuesIn(kDtypeTestModels));

TEST(Bf16Model, PaddedAndPackedForwardsAgreeAndDtypesSwitch) {
  LoadedModel m = load_model_dir(Env::root / "bert-tiny");
  set_inference_dtype(m, "bf16");
  EXPECT_EQ(inference_dtype(m), "bf16");
  const std::vector<std::vector<int32_t>> rows = {{101, 1422, 1132, 102}, {101, 102}, {101, 7, 8, 9, 10, 11, 102}};
  const TokenBatch padded = make_batch(rows, m.config.pad_token_id);
  Activations acts;
  activations_reserve(acts, m.config, padded.B, padded.T, false);
  std::vector<float> a(size_t(padded.B) * m.config.num_labels()), b(a.size()), f(a.size());
  encoder_forward(m.config, m.weights, padded, acts, a.data(), nullptr);
  PackedActivations pacts;
  encoder_forward_packed(m.config, m.weights, pack_rows(rows), pacts, b.data());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << i;  // bf16 rounding is per element: exact
  // Back to FP32 and to int8 from a bf16 model: the copies are swapped, not stacked.
  set_inference_dtype(m, "f32");
  EXPECT_EQ(inference_dtype(m), "f32");
  EXPECT_EQ(m.weights.layers[0].q_bf16, nullptr);
  encoder_forward(m.config, m.weights, padded, acts, f.data(), nullptr);
  EXPECT_NE(f, a);
  set_inference_dtype(m, "int8");
  EXPECT_EQ(inference_dtype(m), "int8");
  EXPECT_FALSE(m.bf16);
}

TEST(Bf16Model, EveryInstructionSetPathPrintsTheSameLogits) {
  const std::string dir = (Env::root / "parity").string();
  const std::vector<std::string> args = {
      "predict", "--model", dir, "--dtype", "bf16", "--logits", "I am so happy today", "this is terrible, I hate it",
      "meh"};
  std::string first;
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512, CpuIsa::avx512_bf16}) {
    if (isa > detected_cpu_isa()) {
      std::printf("skipped %s: not on this CPU\n", cpu_isa_name(isa));
      continue;
    }
    const CliResult r = run_capped(args, cpu_isa_name(isa));
    ASSERT_EQ(r.exit_code, 0) << cpu_isa_name(isa) << ": " << r.err;
    if (first.empty()) first = r.out;
    else EXPECT_EQ(r.out, first) << cpu_isa_name(isa);
  }
  const CliResult f32 = run_cli({"predict", "--model", dir, "--dtype", "f32", "--logits", "I am so happy today",
                                 "this is terrible, I hate it", "meh"});
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  EXPECT_NE(f32.out, first) << "bf16 printed FP32's logits";
}

TEST(Bf16Quantize, DirectoryIsBf16OnDiskAndPredictsAsBf16AtLoadForEveryFamily) {
  const auto texts = emotion_test_tweets(40);
  for (const char* name : {"parity", "tiny", "bert-tiny", "roberta-tiny"}) {
    const fs::path out = Env::root / (std::string(name) + "-bf16");
    const CliResult r =
        run_cli({"quantize", "--model", (Env::root / name).string(), "--out", out.string(), "--dtype", "bf16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("bf16 linears"), std::string::npos) << r.out;
    const auto file = SafetensorsFile::open(out / "model.safetensors");
    EXPECT_EQ(file->metadata().at("quantization"), kBf16Quantization);
    const LoadedModel q = load_model_dir(out);
    EXPECT_EQ(inference_dtype(q), "bf16");
    for (const ParamInfo* p : linear_weight_params(q.config, q.layout))
      EXPECT_EQ(file->at(p->name).dtype, Dtype::BF16) << p->name;
    EXPECT_EQ(file->at(q.layout.params()[0].name).dtype, Dtype::F32) << "embeddings stay F32";
    if (std::string(name) != "parity") {  // the dim-8 model is mostly embeddings
      EXPECT_LT(fs::file_size(out / "model.safetensors"), fs::file_size(Env::root / name / "model.safetensors"));
    }
    const auto at_load = Classifier::load(Env::root / name, {.dtype = "bf16"})->classify(texts);
    const auto pre = Classifier::load(out, {})->classify(texts);
    const auto pre_bf16 = Classifier::load(out, {.dtype = "bf16"})->classify(texts);
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(pre[i].logits, at_load[i].logits) << name << " text " << i;
      EXPECT_EQ(pre_bf16[i].logits, at_load[i].logits) << name << " text " << i;
    }
  }
}

TEST(Bf16Quantize, RefusalsAreClear) {
  const fs::path i8 = Env::root / "refusals-int8";
  ASSERT_EQ(run_cli({"quantize", "--model", (Env::root / "tiny").string(), "--out", i8.string()}).exit_code, 0);
  // An int8 directory has no float linears to run in bf16.
  const CliResult bf = run_cli({"predict", "--model", i8.string(), "--dtype", "bf16", "hello"});
  EXPECT_NE(bf.exit_code, 0);
  EXPECT_NE(bf.err.find("holds int8 weights"), std::string::npos) << bf.err;
  const CliResult bad = run_cli(
      {"quantize", "--model", (Env::root / "tiny").string(), "--out", (Env::root / "fp8").string(), "--dtype", "fp8"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_FALSE(fs::exists(Env::root / "fp8"));
  // A bf16 directory still runs in FP32 on request (its weights are bf16 values).
  const fs::path bfdir = Env::root / "tiny-bf16-f32";
  ASSERT_EQ(run_cli({"quantize", "--model", (Env::root / "tiny").string(), "--out", bfdir.string(), "--dtype", "bf16"})
                .exit_code,
            0);
  const CliResult f32 = run_cli({"predict", "--model", bfdir.string(), "--dtype", "f32", "hello"});
  EXPECT_EQ(f32.exit_code, 0) << f32.err;
}

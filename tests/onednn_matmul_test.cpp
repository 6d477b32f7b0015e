// oneDNN's prepacked FP32 matmul (kernels/onednn_matmul.hpp) and the FP32 inference that runs on it:
// the product against linear_forward (dnnl_sgemm) within float rounding on odd and base shapes, a
// row's result independent of the batch it is in, shape errors, and loaded models of every family
// prepacked by set_inference_dtype with logits within float rounding of the unpacked forward. On a
// CPU without AVX-512 the prepack is null and the tests check that instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dtype_test_models.hpp"
#include "kernels/cpu_isa.hpp"
#include "kernels/layers.hpp"
#include "kernels/onednn_matmul.hpp"
#include "model/encoder.hpp"
#include "model/model_dir.hpp"
#include "model/quantize.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

namespace {

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal(0.f, scale);
  return v;
}

bool has_fast_path() { return active_cpu_isa() >= CpuIsa::avx512; }

// |a - b| within what two FP32 sums of `in` products of this size may differ by.
void expect_close(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& x,
                  const std::vector<float>& W, int64_t N, int64_t in, int64_t out, const std::string& what) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      double mag = 0;
      for (int64_t k = 0; k < in; ++k) mag += std::fabs(double(x[size_t(n * in + k)]) * W[size_t(o * in + k)]);
      const double tol = 2.0 * double(in) * std::ldexp(1.0, -24) * (mag + 1.0);
      ASSERT_NEAR(a[size_t(n * out + o)], b[size_t(n * out + o)], tol) << what << " at " << n << "," << o;
    }
}

struct Shape {
  int64_t in, out;
};

}  // namespace

TEST(OnednnF32Linear, MatchesLinearForwardAndRowsDoNotDependOnTheBatch) {
  for (const Shape s : {Shape{100, 37}, Shape{64, 256}, Shape{768, 768}}) {
    const auto W = randn(size_t(s.out * s.in), 1, 0.05f), b = randn(size_t(s.out), 2);
    const auto packed = onednn_prepack_f32(W.data(), s.out, s.in);
    ASSERT_EQ(packed != nullptr, detected_cpu_isa() >= CpuIsa::avx512) << s.in << "->" << s.out;
    if (!packed) continue;
    EXPECT_GE(onednn_weights_bytes(*packed), size_t(s.out * s.in) * sizeof(float));
    for (const int64_t N : {1, 3, 27, 130}) {
      const auto x = randn(size_t(N * s.in), uint64_t(N));
      std::vector<float> want(size_t(N * s.out)), got(want.size(), -1.f), no_bias(want.size(), -1.f);
      linear_forward(want.data(), x.data(), W.data(), b.data(), N, s.in, s.out);
      const std::string what = std::to_string(N) + "x" + std::to_string(s.in) + "->" + std::to_string(s.out);
      ASSERT_EQ(onednn_f32_linear(got.data(), x.data(), *packed, b.data(), N, s.in, s.out), has_fast_path()) << what;
      if (!has_fast_path()) continue;
      expect_close(got, want, x, W, N, s.in, s.out, what);
      ASSERT_TRUE(onednn_f32_linear(no_bias.data(), x.data(), *packed, nullptr, N, s.in, s.out));
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(no_bias[i] + b[i % size_t(s.out)], got[i], 1e-5f * (1.f + std::fabs(got[i]))) << what;
      // Each row alone gives exactly its values in the batch (the property that makes batched
      // inference equal single-row inference).
      for (int64_t n = 0; n < N; n += std::max<int64_t>(1, N / 5)) {
        std::vector<float> one(size_t(s.out));
        ASSERT_TRUE(onednn_f32_linear(one.data(), x.data() + n * s.in, *packed, b.data(), 1, s.in, s.out));
        ASSERT_EQ(0, std::memcmp(one.data(), got.data() + n * s.out, one.size() * sizeof(float)))
            << what << " row " << n;
      }
    }
  }
}

TEST(OnednnF32Linear, WrongShapeThrows) {
  const auto W = randn(size_t(16 * 32), 3);
  const auto packed = onednn_prepack_f32(W.data(), 16, 32);
  if (!packed) GTEST_SKIP() << "no oneDNN f32 brgemm on this CPU";
  std::vector<float> x(32), y(16);
  EXPECT_THROW(onednn_f32_linear(y.data(), x.data(), *packed, nullptr, 1, 32, 17), InvalidArgument);
  // linear_forward_any reaches the same check.
  EXPECT_THROW(linear_forward_any(y.data(), x.data(), W.data(), nullptr, nullptr, packed.get(), nullptr, 1, 33, 16),
               InvalidArgument);
}

class PackedF32Family : public ::testing::TestWithParam<std::string> {
 public:
  static inline fs::path root;
  static void SetUpTestSuite() {
    root = fs::temp_directory_path() / ("bert_emotion_onednn_matmul_test_" + std::to_string(::getpid()));
    fs::create_directories(root);
    make_dtype_test_models(root);
  }
  static void TearDownTestSuite() { fs::remove_all(root); }
};

TEST_P(PackedF32Family, InferencePrepacksAndLogitsMatchTheUnpackedForward) {
  LoadedModel m = load_model_dir(root / GetParam());
  Weights plain = m.weights;  // no prepacked copies yet: the dnnl_sgemm forward
  set_inference_dtype(m, "auto");
  EXPECT_EQ(inference_dtype(m), "f32");
  ASSERT_EQ(m.packed_f32 != nullptr, detected_cpu_isa() >= CpuIsa::avx512);
  if (m.packed_f32) {
    EXPECT_NE(m.weights.layers.at(0).ff1_packed, nullptr);
  }
  const int32_t first = 5, span = m.config.vocab_size - 10;
  std::vector<std::vector<int32_t>> rows;
  for (int len : {2, 9, 31, 5, 17}) {
    std::vector<int32_t> r;
    for (int t = 0; t < len; ++t) r.push_back(first + (t * 7919 + len * 104729) % span);
    rows.push_back(r);
  }
  const int K = m.config.num_labels();
  PackedActivations acts;
  std::vector<float> packed(rows.size() * size_t(K)), unpacked(packed.size());
  encoder_forward_packed(m.config, m.weights, pack_rows(rows), acts, packed.data());
  encoder_forward_packed(m.config, plain, pack_rows(rows), acts, unpacked.data());
  for (size_t i = 0; i < packed.size(); ++i)
    EXPECT_NEAR(packed[i], unpacked[i], 1e-5f * (1.f + std::fabs(unpacked[i]))) << GetParam() << " " << i;
  // A row alone gives exactly its batched logits.
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<float> one(static_cast<size_t>(K));
    encoder_forward_packed(m.config, m.weights, pack_rows({rows[r]}), acts, one.data());
    for (int k = 0; k < K; ++k)
      EXPECT_EQ(one[size_t(k)], packed[r * size_t(K) + size_t(k)]) << GetParam() << " row " << r;
  }
  // Switching to a reduced dtype drops the prepacked copies; back to f32 packs again.
  set_inference_dtype(m, "bf16");
  EXPECT_EQ(m.packed_f32, nullptr);
  EXPECT_EQ(m.weights.layers.at(0).ff1_packed, nullptr);
  set_inference_dtype(m, "f32");
  EXPECT_EQ(m.packed_f32 != nullptr, detected_cpu_isa() >= CpuIsa::avx512);
}

INSTANTIATE_TEST_SUITE_P(Families, PackedF32Family, ::testing::ValuesIn(kDtypeTestModels));

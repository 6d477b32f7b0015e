// bf16 kernel tests: the rounding against torch's (round to nearest even, NaN kept), every
// instruction-set path of the packed product against a double-precision sum of the same
// bf16-rounded operands (FP32 accumulation error only), the paths against each other (bit-identical:
// each adds a (k, k+1) pair as vdpbf16ps does), the general gemm_bf16 in all four transpositions
// (large ones on oneDNN's bf16 matmul where the CPU has AVX-512 BF16: within the same bound),
// the epilogue (alpha, beta, bias), and the bf16 linear against FP32 within the bound bf16's 8-bit
// mantissa allows. Paths the CPU lacks are skipped, so the test runs on AVX2-only machines too.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/bf16_gemm.hpp"
#include "kernels/cpu_isa.hpp"
#include "kernels/layers.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

using namespace bert_emotion;

namespace {

std::vector<CpuIsa> available() {
  std::vector<CpuIsa> v;
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512, CpuIsa::avx512_bf16})
    if (isa <= detected_cpu_isa()) v.push_back(isa);
  return v;
}

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal(0.f, scale);
  return v;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct Shape {
  int64_t M, K, N;
};
// Odd sizes exercise every tail: K odd, N not a multiple of 16 or of a 4-block panel, M not of 4.
const Shape kShapes[] = {{1, 2, 16}, {3, 7, 5}, {5, 51, 37}, {9, 768, 70}, {17, 33, 130}, {32, 64, 200}};

// The FP32 accumulation error bound of a K-term sum of exact products: K ulps of the magnitude sum.
double accumulation_bound(double abs_sum, int64_t K) { return double(K + 2) * std::ldexp(abs_sum, -24) + 1e-30; }

}  // namespace

TEST(Bf16Round, NearestEvenLikeTorch) {
  EXPECT_EQ(float_to_bf16(1.f), 0x3f80);
  EXPECT_EQ(float_to_bf16(from_bits(0x3f808000u)), 0x3f80);  // a tie: down to even
  EXPECT_EQ(float_to_bf16(from_bits(0x3f818000u)), 0x3f82);  // a tie: up to even
  EXPECT_EQ(float_to_bf16(from_bits(0x3f808001u)), 0x3f81);  // above the tie: up
  EXPECT_EQ(float_to_bf16(-2.f), 0xc000);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // overflows to inf, as torch
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(from_bits(0x7f800001u)))));  // a NaN that would round to inf
  const float x = 0.1f;
  EXPECT_LE(std::fabs(round_to_bf16(x) - x), std::ldexp(x, -9));  // half a step of an 8-bit mantissa
}

TEST(Bf16Gemm, EveryPathMatchesExactSumOfRoundedOperandsAndPathsAreBitIdentical) {
  for (const Shape& s : kShapes) {
    const auto W = randn(size_t(s.N * s.K), 1);
    const auto x = randn(size_t(s.M * s.K), 2);
    const auto bias = randn(size_t(s.N), 3);
    const Bf16Weights w = pack_weights_bf16(W.data(), s.N, s.K);
    EXPECT_EQ(w.n_pad % 16, 0);
    std::vector<uint16_t> a(size_t(s.M * w.k_pad), 0xffff);
    convert_rows_bf16(a.data(), x.data(), s.M, s.K, w.k_pad);
    std::vector<float> first;
    for (CpuIsa isa : available()) {
      std::vector<float> y(size_t(s.M * (s.N + 3)), -7.f);  // ldc > N: the gap must stay untouched
      gemm_bf16_packed(y.data(), s.N + 3, a.data(), w, s.M, 1.f, 0.f, bias.data(), isa);
      for (int64_t m = 0; m < s.M; ++m) {
        for (int64_t o = 0; o < s.N; ++o) {
          double want = 0, mag = 0;
          for (int64_t k = 0; k < s.K; ++k) {
            const double p = double(round_to_bf16(x[size_t(m * s.K + k)])) * round_to_bf16(W[size_t(o * s.K + k)]);
            want += p;
            mag += std::fabs(p);
          }
          ASSERT_NEAR(y[size_t(m * (s.N + 3) + o)], want + bias[size_t(o)],
                      accumulation_bound(mag + std::fabs(bias[size_t(o)]), s.K))
              << cpu_isa_name(isa) << " M=" << s.M << " K=" << s.K << " N=" << s.N << " at " << m << "," << o;
        }
        for (int64_t o = s.N; o < s.N + 3; ++o) ASSERT_EQ(y[size_t(m * (s.N + 3) + o)], -7.f) << cpu_isa_name(isa);
      }
      if (first.empty()) first = y;
      else EXPECT_EQ(0, std::memcmp(first.data(), y.data(), y.size() * sizeof(float))) << cpu_isa_name(isa);
    }
  }
}

TEST(Bf16Gemm, PackUnpackRoundTrips) {
  const auto W = randn(5 * 9, 4);
  std::vector<uint16_t> h(W.size());
  for (size_t i = 0; i < W.size(); ++i) h[i] = float_to_bf16(W[i]);
  const Bf16Weights from_float = pack_weights_bf16(W.data(), 5, 9);
  EXPECT_EQ(unpack_weights_bf16(from_float), h);
  EXPECT_EQ(pack_weights_bf16(h.data(), 5, 9).packed, from_float.packed);
  EXPECT_THROW(pack_weights_bf16(W.data(), 0, 9), InvalidArgument);
}

TEST(Bf16Gemm, GeneralProductInEveryTranspositionWithAlphaBeta) {
  // Odd K and partial blocks; then more than one 16-pair packing tile with a partial last one.
  for (const auto [M, N, K] : {std::array<int64_t, 3>{13, 35, 29}, {21, 40, 70}}) {
    const auto A = randn(size_t(M * K), 5), B = randn(size_t(K * N), 6), C0 = randn(size_t(M * N), 7);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        // op(A)[m, k] and op(B)[k, n] of the stored matrices.
        auto a = [&](int64_t m, int64_t k) {
          return double(round_to_bf16(ta ? A[size_t(k * M + m)] : A[size_t(m * K + k)]));
        };
        auto b = [&](int64_t k, int64_t n) {
          return double(round_to_bf16(tb ? B[size_t(n * K + k)] : B[size_t(k * N + n)]));
        };
        std::vector<float> first;
        for (CpuIsa isa : available()) {
          std::vector<float> C = C0;
          gemm_bf16(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 1.f, C.data(), N, isa);
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
              double want = 0, mag = 0;
              for (int64_t k = 0; k < K; ++k) {
                want += a(m, k) * b(k, n);
                mag += std::fabs(a(m, k) * b(k, n));
              }
              want = 0.5 * want + C0[size_t(m * N + n)];
              ASSERT_NEAR(C[size_t(m * N + n)], want, accumulation_bound(mag + std::fabs(C0[size_t(m * N + n)]), K))
                  << cpu_isa_name(isa) << " ta=" << ta << " tb=" << tb << " at " << m << "," << n;
            }
          if (first.empty()) first = C;
          else EXPECT_EQ(0, std::memcmp(first.data(), C.data(), C.size() * sizeof(float))) << cpu_isa_name(isa);
        }
      }
  }
}

TEST(Bf16Gemm, LargeProductsOnOnednnStayWithinAccumulationRoundingOfTheExactSum) {
  // >= 2^20 multiply-adds with alpha 1 and beta 0 or 1 run on oneDNN's bf16 matmul where the CPU
  // has AVX-512 BF16 (training's products); everything else, and every other CPU, on our kernels.
  const int64_t M = 150, N = 130, K = 77;  // 1.5 M products; K odd, N not a multiple of 16
  EXPECT_TRUE(gemm_bf16_runs_onednn(M, N, K, 1.f, 1.f, CpuIsa::avx512_bf16));
  EXPECT_TRUE(gemm_bf16_runs_onednn(M, N, K, 1.f, 0.f, CpuIsa::avx512_bf16));
  EXPECT_FALSE(gemm_bf16_runs_onednn(M, N, K, 0.5f, 0.f, CpuIsa::avx512_bf16));
  EXPECT_FALSE(gemm_bf16_runs_onednn(M, N, K, 1.f, 2.f, CpuIsa::avx512_bf16));
  EXPECT_FALSE(gemm_bf16_runs_onednn(M, N, K, 1.f, 0.f, CpuIsa::avx512));
  EXPECT_FALSE(gemm_bf16_runs_onednn(M, N, 40, 1.f, 0.f, CpuIsa::avx512_bf16));
  const auto A = randn(size_t(M * K), 21), B = randn(size_t(K * N), 22), C0 = randn(size_t(M * N), 23);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f}) {
        std::vector<float> want(size_t(M * N)), bound(size_t(M * N));
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            double sum = 0, mag = 0;
            for (int64_t k = 0; k < K; ++k) {
              const double p = double(round_to_bf16(ta ? A[size_t(k * M + m)] : A[size_t(m * K + k)])) *
                               double(round_to_bf16(tb ? B[size_t(n * K + k)] : B[size_t(k * N + n)]));
              sum += p;
              mag += std::fabs(p);
            }
            const double c = beta * C0[size_t(m * N + n)];
            want[size_t(m * N + n)] = float(sum + c);
            bound[size_t(m * N + n)] = float(accumulation_bound(mag + std::fabs(c), K));
          }
        for (CpuIsa isa : available()) {
          std::vector<float> C = C0;
          gemm_bf16(ta, tb, M, N, K, 1.f, A.data(), ta ? M : K, B.data(), tb ? K : N, beta, C.data(), N, isa);
          for (size_t i = 0; i < C.size(); ++i)
            ASSERT_NEAR(C[i], want[i], bound[i])
                << cpu_isa_name(isa) << " ta=" << ta << " tb=" << tb << " beta=" << beta << " at " << i;
        }
      }
}

TEST(Bf16Gemm, WeightReuseScopeRoundsAWeightOncePerScope) {
  // A base-size linear's forward and dx products (oneDNN's path) with W marked as the weight.
  const int64_t N = 40, in = 160, out = 192;
  if (!gemm_bf16_runs_onednn(N, out, in, 1.f, 0.f)) GTEST_SKIP() << "no oneDNN bf16 path on this CPU";
  auto W = randn(size_t(out * in), 31, 0.05f);
  const auto x = randn(size_t(N * in), 32), dy = randn(size_t(N * out), 33);
  const auto forward = [&](std::vector<float>& y) {
    gemm_bf16(false, true, N, out, in, 1.f, x.data(), in, W.data(), in, 0.f, y.data(), out, active_cpu_isa(), W.data());
  };
  const auto dx = [&](std::vector<float>& d) {
    gemm_bf16(false, false, N, in, out, 1.f, dy.data(), out, W.data(), in, 0.f, d.data(), in, active_cpu_isa(),
              W.data());
  };
  std::vector<float> y0(size_t(N * out)), d0(size_t(N * in)), y1 = y0, d1 = d0, y2 = y0, d2 = d0;
  forward(y0);
  dx(d0);
  {
    const Bf16WeightReuseScope reuse;
    EXPECT_THROW(Bf16WeightReuseScope{}, InvalidArgument);
    forward(y1);
    for (auto& v : W) v *= 2.f;  // not allowed inside a scope: shows that dx reuses the forward's copy
    dx(d1);
  }
  EXPECT_EQ(y1, y0);
  EXPECT_EQ(d1, d0) << "dx rounded W again instead of reusing the scope's copy";
  {
    const Bf16WeightReuseScope reuse;  // a new scope (the next step) sees the new weights
    forward(y2);
    dx(d2);
  }
  for (size_t i = 0; i < y2.size(); ++i) ASSERT_EQ(y2[i], 2.f * y0[i]) << i;  // x 2 is exact in bf16 and FP32
  for (size_t i = 0; i < d2.size(); ++i) ASSERT_EQ(d2[i], 2.f * d0[i]) << i;
  // The copy is kept between scopes that use it, and freed after one that does not (a model
  // trained earlier on this thread must not pin its copies).
  EXPECT_EQ(Bf16WeightReuseScope::bytes_held(), size_t(out * in) * sizeof(uint16_t));
  {
    const Bf16WeightReuseScope reuse;  // W unused here
  }
  EXPECT_EQ(Bf16WeightReuseScope::bytes_held(), 0u);
}

TEST(Bf16Linear, AutocastForwardEqualsPackedBf16LinearInBothProductForms) {
  // linear_forward under --bf16 computes y^T = W x^T for 8..256 rows and y = x W^T otherwise; each
  // output is the same pairs summed in the same order, so both equal linear_forward_bf16's bits.
  const int64_t in = 70, out = 37;
  const auto W = randn(size_t(out * in), 11, 0.05f), b = randn(size_t(out), 12);
  const Bf16Weights w = pack_weights_bf16(W.data(), out, in);
  for (int64_t N : {3, 20, 300}) {
    const auto x = randn(size_t(N * in), 13);
    std::vector<float> want(size_t(N * out)), got(size_t(N * out)), no_bias(size_t(N * out));
    linear_forward_bf16(want.data(), x.data(), w, b.data(), N);
    {
      const Bf16AutocastScope autocast(true);
      linear_forward(got.data(), x.data(), W.data(), b.data(), N, in, out);
      linear_forward(no_bias.data(), x.data(), W.data(), nullptr, N, in, out);
    }
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), got.size() * sizeof(float))) << "N=" << N;
    linear_forward_bf16(want.data(), x.data(), w, nullptr, N);
    EXPECT_EQ(0, std::memcmp(want.data(), no_bias.data(), got.size() * sizeof(float))) << "N=" << N;
  }
}

TEST(Bf16Linear, CloseToFp32WithinBf16RoundingAndLinearAnyDispatches) {
  const int64_t N = 7, in = 100, out = 37;
  const auto W = randn(size_t(out * in), 8, 0.05f), x = randn(size_t(N * in), 9), b = randn(size_t(out), 10);
  const Bf16Weights w = pack_weights_bf16(W.data(), out, in);
  std::vector<float> ref(size_t(N * out)), y(size_t(N * out)), any(size_t(N * out));
  linear_forward(ref.data(), x.data(), W.data(), b.data(), N, in, out);
  linear_forward_bf16(y.data(), x.data(), w, b.data(), N);
  linear_forward_any(any.data(), x.data(), nullptr, nullptr, &w, nullptr, b.data(), N, in, out);
  EXPECT_EQ(y, any);
  double worst = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      // Each operand is off by at most 2^-9 relative: a product by 2^-8 + 2^-18.
      double mag = 0;
      for (int64_t k = 0; k < in; ++k) mag += std::fabs(double(x[size_t(n * in + k)]) * W[size_t(o * in + k)]);
      const double err = std::fabs(y[size_t(n * out + o)] - ref[size_t(n * out + o)]);
      ASSERT_LE(err, mag * (std::ldexp(1., -8) + std::ldexp(1., -18)) + accumulation_bound(mag, in));
      worst = std::max(worst, err);
    }
  EXPECT_GT(worst, 0.);  // bf16 did round something: the test would notice an FP32 fallback
  EXPECT_THROW(linear_forward_any(y.data(), x.data(), nullptr, nullptr, &w, nullptr, b.data(), N, in, out + 1),
               InvalidArgument);
}

// Kernel tests: every *_backward against central finite differences of its *_forward, forwards
// against double-precision loops written here, the GEMM wrapper against a naive product, dropout
// statistics, and the BCE loss against a PyTorch fixture (tools/make_forward_fixtures.sh).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/gemm.hpp"
#include "kernels/layers.hpp"
#include "kernels/loss.hpp"
#include "kernels/pointwise.hpp"
#include "kernels/vec_math.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

namespace {

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// Central differences of loss() w.r.t. every coordinate of x, compared with `analytic`.
// A coordinate passes if |fd - an| <= atol + rtol * |fd|; the failure message names the tensor,
// the worst coordinate and its error.
void expect_grad_matches(const std::string& name, std::vector<float>& x, const std::vector<float>& analytic,
                         const std::function<double()>& loss, float eps = 1e-2f, double atol = 2e-3,
                         double rtol = 1e-2) {
  ASSERT_EQ(x.size(), analytic.size()) << name;
  double worst = 0;
  size_t worst_i = 0;
  double worst_fd = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i];
    x[i] = x0 + eps;
    const double lp = loss();
    x[i] = x0 - eps;
    const double lm = loss();
    x[i] = x0;
    const double fd = (lp - lm) / (2.0 * eps);
    const double excess = std::fabs(fd - analytic[i]) - (atol + rtol * std::fabs(fd));
    if (excess > worst) {
      worst = excess;
      worst_i = i;
      worst_fd = fd;
    }
  }
  EXPECT_LE(worst, 0.0) << "gradient of " << name << ": coordinate " << worst_i << " analytic " << analytic[worst_i]
                        << " vs finite difference " << worst_fd;
}

}  // namespace

TEST(Gemm, MatchesNaiveProductForEveryTransposeWithStrides) {
  const int M = 5, N = 7, K = 9, pad = 3;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      // Stored shapes: A is [M,K] or [K,M], B is [K,N] or [N,K], rows padded by `pad`.
      const int a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
      const int lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
      auto A = randn(size_t(a_rows) * lda, 1), Bm = randn(size_t(b_rows) * ldb, 2), C = randn(size_t(M) * ldc, 3);
      auto C0 = C;
      gemm(ta, tb, M, N, K, 0.5f, A.data(), lda, Bm.data(), ldb, 2.f, C.data(), ldc);
      double max_err = 0;
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          double s = 0;
          for (int k = 0; k < K; ++k) {
            const float a = ta ? A[size_t(k) * lda + i] : A[size_t(i) * lda + k];
            const float b = tb ? Bm[size_t(j) * ldb + k] : Bm[size_t(k) * ldb + j];
            s += double(a) * b;
          }
          const double want = 0.5 * s + 2.0 * C0[size_t(i) * ldc + j];
          max_err = std::max(max_err, std::fabs(want - C[size_t(i) * ldc + j]));
        }
      EXPECT_LT(max_err, 1e-5) << "transA=" << ta << " transB=" << tb;
      // The padding columns of C are untouched.
      for (int i = 0; i < M; ++i)
        for (int j = N; j < ldc; ++j) EXPECT_EQ(C[size_t(i) * ldc + j], C0[size_t(i) * ldc + j]);
    }
}

TEST(Linear, ForwardIsXWTransposePlusBias) {
  const int N = 3, in = 4, out = 2;
  auto x = randn(N * in, 4), W = randn(out * in, 5), b = randn(out, 6);
  std::vector<float> y(N * out);
  linear_forward(y.data(), x.data(), W.data(), b.data(), N, in, out);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out; ++o) {
      double s = b[o];
      for (int i = 0; i < in; ++i) s += double(x[n * in + i]) * W[o * in + i];
      EXPECT_NEAR(y[n * out + o], s, 1e-5);
    }
}

TEST(Linear, BackwardMatchesFiniteDifferencesAndAccumulates) {
  const int N = 4, in = 5, out = 3;
  auto x = randn(N * in, 7), W = randn(out * in, 8), b = randn(out, 9), R = randn(N * out, 10);
  std::vector<float> y(N * out);
  auto loss = [&] {
    linear_forward(y.data(), x.data(), W.data(), b.data(), N, in, out);
    return dot(y, R);
  };
  std::vector<float> dx(N * in, 0.f), dW(out * in, 0.f), db(out, 0.f);
  linear_backward(dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), N, in, out, false);
  expect_grad_matches("linear.dx", x, dx, loss);
  expect_grad_matches("linear.dW", W, dW, loss);
  expect_grad_matches("linear.db", b, db, loss);
  // Parameter gradients accumulate; dx accumulates only when asked.
  auto dW1 = dW, db1 = db, dx1 = dx;
  linear_backward(dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), N, in, out, true);
  for (size_t i = 0; i < dW.size(); ++i) EXPECT_NEAR(dW[i], 2 * dW1[i], 1e-5);
  for (size_t i = 0; i < db.size(); ++i) EXPECT_NEAR(db[i], 2 * db1[i], 1e-5);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], 2 * dx1[i], 1e-5);
}

TEST(LayerNorm, ForwardMatchesDoubleReferenceWithBiasedVariance) {
  const int N = 3, C = 8;
  auto x = randn(N * C, 11, 3.f), w = randn(C, 12), b = randn(C, 13);
  for (auto& v : x) v += 5.f;  // a large mean: the variance must be taken around it
  std::vector<float> y(N * C), mean(N), rstd(N);
  layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-12f);
  for (int n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += x[n * C + c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[n * C + c] - m) * (x[n * C + c] - m);
    v /= C;  // biased, as torch's LayerNorm
    const double rs = 1.0 / std::sqrt(v + 1e-12);
    EXPECT_NEAR(mean[n], m, 1e-5);
    EXPECT_NEAR(rstd[n], rs, 1e-5 * rs);
    for (int c = 0; c < C; ++c) EXPECT_NEAR(y[n * C + c], (x[n * C + c] - m) * rs * w[c] + b[c], 2e-5);
  }
}

TEST(LayerNorm, BackwardMatchesFiniteDifferences) {
  const int N = 3, C = 6;
  auto x = randn(N * C, 14), w = randn(C, 15), b = randn(C, 16), R = randn(N * C, 17);
  std::vector<float> y(N * C), mean(N), rstd(N);
  auto loss = [&] {
    layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    return dot(y, R);
  };
  loss();
  std::vector<float> dx(N * C), dw(C, 0.f), db(C, 0.f);
  layernorm_backward(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C,
                     false);
  expect_grad_matches("layernorm.dx", x, dx, loss, 1e-2f, 3e-3, 2e-2);
  expect_grad_matches("layernorm.dw", w, dw, loss);
  expect_grad_matches("layernorm.db", b, db, loss);
}

TEST(Activations, GeluErfMatchesClosedFormValues) {
  // gelu(x) = x * Phi(x); Phi(1) = 0.841344746068543, Phi(-1) = 0.158655253931457, Phi(2) = 0.977249868051821.
  const std::vector<float> x = {0.f, 1.f, -1.f, 2.f};
  std::vector<float> y(4);
  gelu_erf_forward(y.data(), x.data(), 4);
  EXPECT_EQ(y[0], 0.f);
  EXPECT_NEAR(y[1], 0.841344746068543, 1e-6);
  EXPECT_NEAR(y[2], -0.158655253931457, 1e-6);
  EXPECT_NEAR(y[3], 2 * 0.977249868051821, 2e-6);
  // The tanh approximation (gelu_new) differs measurably at x = 2.
  std::vector<float> t(4);
  gelu_tanh_forward(t.data(), x.data(), 4);
  EXPECT_GT(std::fabs(t[3] - y[3]), 1e-5);
  EXPECT_EQ(parse_activation("gelu"), Activation::gelu_erf);
  EXPECT_EQ(parse_activation("gelu_new"), Activation::gelu_tanh);
  EXPECT_THROW(parse_activation("tanh"), UnsupportedError);
}

TEST(Activations, GeluErfVectorLoopsEqualTheScalarFormulaBitForBit) {
  // n = 2 x 16 + 8 + 3: the 16-lane (AVX-512), 8-lane and scalar loops each take a part, and every
  // value equals the scalar twin's, so results do not depend on the CPU. Large n goes parallel.
  for (size_t n : {size_t(43), size_t(20000 * 16 + 11)}) {
    std::vector<float> x = randn(n, 21, 3.f), y(n), g(n), dy = randn(n, 22);
    x[0] = 0.f;
    x[1] = -0.f;
    x[2] = 1e-30f;
    gelu_erf_forward(y.data(), x.data(), n);
    gelu_erf_backward(g.data(), dy.data(), x.data(), n);
    size_t differ_y = 0, differ_g = 0;
    for (size_t i = 0; i < n; ++i) {
      const float v = x[i], z = v * 0.70710678118654752440f, e = vecmath::exp_scalar(-z * z);
      const float want_y = 0.5f * v * (1.f + vecmath::erf_scalar(z));
      const float cdf = 0.5f * (1.f + vecmath::erf_from_exp(z, e)), pdf = 0.39894228040143267794f * e;
      const float want_g = dy[i] * std::fma(v, pdf, cdf);
      differ_y += std::memcmp(&y[i], &want_y, 4) != 0;
      differ_g += std::memcmp(&g[i], &want_g, 4) != 0;
    }
    EXPECT_EQ(differ_y, 0u) << "n = " << n;
    EXPECT_EQ(differ_g, 0u) << "n = " << n;
  }
}

TEST(Activations, BackwardsMatchFiniteDifferences) {
  const size_t n = 24;
  auto x = randn(n, 18, 2.f), R = randn(n, 19);
  for (auto& v : x)
    if (std::fabs(v) < 0.1f) v = 0.3f;  // away from ReLU's kink
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::relu, Activation::silu}) {
    std::vector<float> y(n), dx(n);
    auto loss = [&] {
      activation_forward(act, y.data(), x.data(), n);
      return dot(y, R);
    };
    activation_backward(act, dx.data(), R.data(), x.data(), n);
    expect_grad_matches("activation " + std::to_string(int(act)), x, dx, loss, 1e-3f, 1e-3, 1e-2);
  }
}

TEST(Softmax, ForwardSubtractsTheMaxAndBackwardMatchesFiniteDifferences) {
  const int rows = 3, cols = 5;
  auto x = randn(rows * cols, 20, 2.f), R = randn(rows * cols, 21);
  x[0] = 1000.f;  // exp would overflow without the max subtraction
  std::vector<float> y(rows * cols);
  softmax_forward(y.data(), x.data(), rows, cols);
  EXPECT_NEAR(y[0], 1.f, 1e-6);
  for (int r = 0; r < rows; ++r) {
    double s = 0;
    for (int c = 0; c < cols; ++c) s += y[r * cols + c];
    EXPECT_NEAR(s, 1.0, 1e-6);
  }
  x[0] = 0.5f;
  auto loss = [&] {
    softmax_forward(y.data(), x.data(), rows, cols);
    return dot(y, R);
  };
  loss();
  std::vector<float> dx(rows * cols);
  softmax_backward(dx.data(), R.data(), y.data(), rows, cols);
  expect_grad_matches("softmax.dx", x, dx, loss, 1e-3f, 1e-3, 1e-2);
}

namespace {

// Naive double-precision attention with HF's masking, written independently of the kernel.
std::vector<double> reference_attention(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, const std::vector<int32_t>& lengths, int B, int Tq,
                                        int Tk, int H, int D) {
  const int C = H * D;
  std::vector<double> ctx(size_t(B) * Tq * C, 0.0);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < Tq; ++i) {
        std::vector<double> s(Tk);
        for (int j = 0; j < Tk; ++j) {
          double d = 0;
          for (int e = 0; e < D; ++e)
            d += double(q[(size_t(b) * Tq + i) * C + h * D + e]) * k[(size_t(b) * Tk + j) * C + h * D + e];
          s[j] = j < lengths[b] ? d : double(std::numeric_limits<float>::lowest());
        }
        double mx = s[0];
        for (double t : s) mx = std::max(mx, t);
        double sum = 0;
        for (double& t : s) sum += (t = std::exp(t - mx));
        for (int j = 0; j < Tk; ++j)
          for (int e = 0; e < D; ++e)
            ctx[(size_t(b) * Tq + i) * C + h * D + e] += s[j] / sum * v[(size_t(b) * Tk + j) * C + h * D + e];
      }
  return ctx;
}

}  // namespace

TEST(Attention, ForwardMatchesNaiveMaskedReference) {
  const int B = 3, T = 5, H = 2, D = 3, C = H * D;
  auto q = randn(B * T * C, 22), k = randn(B * T * C, 23), v = randn(B * T * C, 24);
  const std::vector<int32_t> lengths = {5, 2, 0};  // full, padded, fully masked
  std::vector<float> ctx(B * T * C), P(B * H * T * T);
  attention_forward(ctx.data(), P.data(), P.data(), nullptr, q.data(), k.data(), v.data(), lengths.data(), B, T, T, H,
                    D, 0.f, 0, 0);
  auto ref = reference_attention(q, k, v, lengths, B, T, T, H, D);
  for (size_t i = 0; i < ctx.size(); ++i) EXPECT_NEAR(ctx[i], ref[i], 1e-5) << "ctx[" << i << "]";
  // Masked keys get probability exactly 0; a fully masked row is uniform over all T keys (torch).
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < T; ++i) {
      for (int j = 2; j < T; ++j) EXPECT_EQ(P[((1 * H + h) * T + i) * T + j], 0.f);
      for (int j = 0; j < T; ++j) EXPECT_FLOAT_EQ(P[((2 * H + h) * T + i) * T + j], 1.f / T);
    }
}

TEST(Attention, VarlenMatchesTheReferencePerSequence) {
  // Packed sequences of different lengths, big enough (N x C > 32768) for the parallel path; then
  // the last layer's form: one query row per sequence (its first token) against all its keys.
  const int H = 4, D = 64, C = H * D;
  const std::vector<int32_t> lengths = {50, 3, 64, 1, 17};
  const int B = int(lengths.size());
  std::vector<int32_t> offsets = {0}, first = {0};
  for (int32_t len : lengths) offsets.push_back(offsets.back() + len);
  for (int b = 1; b <= B; ++b) first.push_back(b);
  const int N = offsets.back();
  auto q = randn(size_t(N) * C, 30), k = randn(size_t(N) * C, 31), v = randn(size_t(N) * C, 32);
  std::vector<float> ctx(size_t(N) * C, -7.f),
      scratch(attention_varlen_scratch_floats(offsets.data(), offsets.data(), B));
  attention_forward_varlen(ctx.data(), scratch.data(), q.data(), k.data(), v.data(), offsets.data(), offsets.data(), B,
                           H, D);
  std::vector<float> q_cls(size_t(B) * C), ctx_cls(size_t(B) * C, -7.f);
  for (int b = 0; b < B; ++b) std::copy_n(q.begin() + std::ptrdiff_t(offsets[b]) * C, C, q_cls.begin() + b * C);
  scratch.assign(attention_varlen_scratch_floats(first.data(), offsets.data(), B), 0.f);
  attention_forward_varlen(ctx_cls.data(), scratch.data(), q_cls.data(), k.data(), v.data(), first.data(),
                           offsets.data(), B, H, D);
  for (int b = 0; b < B; ++b) {
    const int len = lengths[b];
    const auto slice = [&](const std::vector<float>& x) {
      return std::vector<float>(x.begin() + std::ptrdiff_t(offsets[b]) * C,
                                x.begin() + std::ptrdiff_t(offsets[b] + len) * C);
    };
    const auto ref = reference_attention(slice(q), slice(k), slice(v), {len}, 1, len, len, H, D);
    for (size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(ctx[size_t(offsets[b]) * C + i], ref[i], 1e-5) << "sequence " << b << " ctx[" << i << "]";
    // The [CLS]-only query gives that row of the full result.
    for (int c = 0; c < C; ++c) ASSERT_NEAR(ctx_cls[size_t(b) * C + c], ref[size_t(c)], 1e-5) << "sequence " << b;
  }
}

TEST(Attention, BackwardMatchesFiniteDifferencesWithMaskAndDropout) {
  const int B = 2, T = 4, H = 2, D = 3, C = H * D;
  const std::vector<int32_t> lengths = {4, 3};
  auto q = randn(B * T * C, 25), k = randn(B * T * C, 26), v = randn(B * T * C, 27), R = randn(B * T * C, 28);
  for (float p : {0.f, 0.3f}) {
    std::vector<float> ctx(B * T * C), P(B * H * T * T), Pd(B * H * T * T), scratch(B * H * T * T);
    std::vector<uint8_t> keep(B * H * T * T);
    // The masks are a pure function of (seed, stream), so the loss stays a smooth function of q, k, v.
    auto loss = [&] {
      attention_forward(ctx.data(), P.data(), Pd.data(), keep.data(), q.data(), k.data(), v.data(), lengths.data(), B,
                        T, T, H, D, p, 7, 3);
      return dot(ctx, R);
    };
    loss();
    if (p > 0.f) {
      size_t dropped = 0;
      for (auto kk : keep) dropped += kk == 0;
      EXPECT_GT(dropped, 0u);
    }
    std::vector<float> dq(B * T * C), dk(B * T * C), dv(B * T * C);
    attention_backward(dq.data(), dk.data(), dv.data(), scratch.data(), R.data(), q.data(), k.data(), v.data(),
                       P.data(), Pd.data(), keep.data(), lengths.data(), B, T, T, H, D, p);
    const std::string tag = " (dropout " + std::to_string(p) + ")";
    expect_grad_matches("attention.dq" + tag, q, dq, loss, 1e-2f, 2e-3, 1e-2);
    expect_grad_matches("attention.dk" + tag, k, dk, loss, 1e-2f, 2e-3, 1e-2);
    expect_grad_matches("attention.dv" + tag, v, dv, loss, 1e-2f, 2e-3, 1e-2);
    // Masked keys (row 1, key 3) receive no gradient at all.
    for (int e = 0; e < C; ++e) {
      EXPECT_EQ(dk[(1 * T + 3) * C + e], 0.f);
      EXPECT_EQ(dv[(1 * T + 3) * C + e], 0.f);
    }
  }
}

TEST(Embedding, ForwardBackwardAndPadRow) {
  const int B = 2, T = 3, C = 4, V = 5, P = 4, pad = 0;
  const std::vector<int32_t> ids = {1, 0, 3, 3, 4, 0};  // id 0 = [PAD] appears as a token
  auto word = randn(V * C, 29), pos = randn(P * C, 30), R = randn(B * T * C, 31);
  std::vector<float> out(B * T * C);
  auto loss = [&] {
    embedding_forward(out.data(), ids.data(), word.data(), pos.data(), B, T, C, V);
    return dot(out, R);
  };
  loss();
  EXPECT_FLOAT_EQ(out[(1 * T + 2) * C + 1], word[0 * C + 1] + pos[2 * C + 1]);
  std::vector<float> dword(V * C, 0.f), dpos(P * C, 0.f);
  embedding_backward(dword.data(), dpos.data(), R.data(), ids.data(), B, T, C, pad);
  // The pad row gets no gradient (torch's padding_idx); every other row as finite differences say.
  for (int c = 0; c < C; ++c) EXPECT_EQ(dword[pad * C + c], 0.f);
  {
    // Finite differences over every row; compare all rows except the pad row.
    std::vector<float> an = dword;
    for (int c = 0; c < C; ++c) an[pad * C + c] = float(R[1 * C + c] + R[(1 * T + 2) * C + c]);  // true derivative
    expect_grad_matches("embedding.word (true derivative incl. pad row)", word, an, loss, 1e-2f);
  }
  expect_grad_matches("embedding.pos", pos, dpos, loss, 1e-2f);
  // A frozen position table is left alone; an out-of-range id throws naming row and position.
  embedding_backward(dword.data(), nullptr, R.data(), ids.data(), B, T, C, pad);
  const std::vector<int32_t> bad = {1, 2, 5, 0, 0, 0};
  try {
    embedding_forward(out.data(), bad.data(), word.data(), pos.data(), B, T, C, V);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("row 0, position 2"), std::string::npos) << e.what();
  }
}

TEST(CrossEntropy, HandDerivedValuesAndFiniteDifferences) {
  // Uniform logits: loss = log K exactly, gradient (1/K - onehot) / B.
  const int B = 2, K = 4;
  std::vector<float> z(B * K, 0.f), dz(B * K);
  const std::vector<int32_t> y = {1, 3};
  EXPECT_NEAR(cross_entropy_forward(z.data(), y.data(), B, K, nullptr), std::log(4.0), 1e-6);
  cross_entropy_backward(dz.data(), z.data(), y.data(), B, K);
  EXPECT_NEAR(dz[1], (0.25 - 1) / 2, 1e-7);
  EXPECT_NEAR(dz[0], 0.25 / 2, 1e-7);
  // Large logits (1000) stay finite thanks to the max subtraction.
  auto x = randn(B * K, 32, 3.f);
  x[2] = 1000.f;
  std::vector<float> per(B);
  const float l = cross_entropy_forward(x.data(), y.data(), B, K, per.data());
  EXPECT_TRUE(std::isfinite(l));
  EXPECT_NEAR(per[0], 1000.f - x[1], 1e-3);
  x[2] = 0.7f;
  auto loss = [&] { return double(cross_entropy_forward(x.data(), y.data(), B, K, nullptr)); };
  cross_entropy_backward(dz.data(), x.data(), y.data(), B, K);
  expect_grad_matches("cross_entropy.dlogits", x, dz, loss, 1e-2f, 3e-4, 1e-2);
  // ignore_index -100 drops a row from the mean; other bad labels throw.
  const std::vector<int32_t> y_ign = {1, kIgnoreIndex};
  const float l_ign = cross_entropy_forward(x.data(), y_ign.data(), B, K, per.data());
  EXPECT_NEAR(l_ign, per[0], 1e-6);
  EXPECT_EQ(per[1], 0.f);
  const std::vector<int32_t> y_bad = {1, 4};
  EXPECT_THROW(cross_entropy_forward(x.data(), y_bad.data(), B, K, nullptr), InvalidArgument);
}

TEST(BceWithLogits, MatchesPyTorchFixtureAndFiniteDifferences) {
  std::ifstream f(std::string(FIXTURES_DIR) + "/forward/bce.json");
  ASSERT_TRUE(f) << "missing fixture forward/bce.json (tools/make_forward_fixtures.sh)";
  const auto j = nlohmann::json::parse(f);
  std::vector<float> z, t, g;
  for (const auto& r : j["logits"])
    for (float v : r) z.push_back(v);
  for (const auto& r : j["targets"])
    for (float v : r) t.push_back(v);
  for (const auto& r : j["grad"])
    for (float v : r) g.push_back(v);
  const int B = int(j["logits"].size()), K = int(j["logits"][0].size());
  const float loss = bce_with_logits_forward(z.data(), t.data(), B, K);
  EXPECT_NEAR(loss, j["loss"].get<double>(), 1e-6 * std::fabs(j["loss"].get<double>()));
  std::vector<float> dz(B * K);
  bce_with_logits_backward(dz.data(), z.data(), t.data(), B, K);
  for (size_t i = 0; i < dz.size(); ++i) EXPECT_NEAR(dz[i], g[i], 1e-7) << "bce grad[" << i << "]";
  auto lossf = [&] { return double(bce_with_logits_forward(z.data(), t.data(), B, K)); };
  expect_grad_matches("bce.dlogits", z, dz, lossf, 1e-2f, 3e-4, 1e-2);
}

TEST(Dropout, FractionScaleAndDeterminism) {
  const size_t n = 200000;
  const float p = 0.1f;
  std::vector<float> x(n, 1.f), y(n), y2(n), y3(n);
  std::vector<uint8_t> keep(n);
  dropout_forward(y.data(), keep.data(), x.data(), n, p, 42, dropout_stream(5, 1));
  size_t zeros = 0;
  for (size_t i = 0; i < n; ++i) {
    if (y[i] == 0.f) {
      ++zeros;
      EXPECT_EQ(keep[i], 0);
    } else {
      ASSERT_FLOAT_EQ(y[i], 1.f / 0.9f);
    }
  }
  // Binomial(n, 0.1): standard deviation ~134 zeros; allow 5 sigma.
  EXPECT_NEAR(double(zeros), 0.1 * n, 5 * std::sqrt(n * 0.1 * 0.9));
  dropout_forward(y2.data(), nullptr, x.data(), n, p, 42, dropout_stream(5, 1));
  EXPECT_EQ(y, y2);  // same (seed, step, site): same mask
  dropout_forward(y3.data(), nullptr, x.data(), n, p, 42, dropout_stream(6, 1));
  EXPECT_NE(y, y3);  // next step: a different mask
  dropout_forward(y3.data(), nullptr, x.data(), n, p, 42, dropout_stream(5, 2));
  EXPECT_NE(y, y3);  // another site
  // Backward passes the gradient through kept elements with the same scale.
  std::vector<float> dx(n);
  dropout_backward(dx.data(), x.data(), keep.data(), n, p);
  EXPECT_EQ(dx, y);
  // p = 0 is the identity, p = 1 zeroes everything.
  dropout_forward(y.data(), keep.data(), x.data(), n, 0.f, 42, 0);
  EXPECT_EQ(y, x);
  dropout_forward(y.data(), keep.data(), x.data(), n, 1.f, 42, 0);
  EXPECT_EQ(y, std::vector<float>(n, 0.f));
}

TEST(Attention, ProbabilityDropoutFractionAndScale) {
  const int B = 2, T = 64, H = 4, D = 2, C = H * D;
  const float p = 0.1f;
  auto q = randn(B * T * C, 33), k = randn(B * T * C, 34), v = randn(B * T * C, 35);
  const std::vector<int32_t> lengths = {T, T};
  std::vector<float> ctx(B * T * C), P(B * H * T * T), Pd(B * H * T * T);
  std::vector<uint8_t> keep(B * H * T * T);
  attention_forward(ctx.data(), P.data(), Pd.data(), keep.data(), q.data(), k.data(), v.data(), lengths.data(), B, T, T,
                    H, D, p, 42, dropout_stream(3, 1));
  size_t dropped = 0;
  for (size_t e = 0; e < P.size(); ++e) {
    if (keep[e] == 0) {
      ++dropped;
      ASSERT_EQ(Pd[e], 0.f);
    } else {
      ASSERT_FLOAT_EQ(Pd[e], P[e] / (1.f - p));
    }
  }
  const double n = double(P.size());  // 32768 probabilities
  EXPECT_NEAR(double(dropped), p * n, 5 * std::sqrt(n * p * (1 - p)));
  // Same (seed, stream): the same masks; another step: different ones.
  std::vector<uint8_t> keep2(keep.size());
  attention_forward(ctx.data(), P.data(), Pd.data(), keep2.data(), q.data(), k.data(), v.data(), lengths.data(), B, T,
                    T, H, D, p, 42, dropout_stream(3, 1));
  EXPECT_EQ(keep, keep2);
  attention_forward(ctx.data(), P.data(), Pd.data(), keep2.data(), q.data(), k.data(), v.data(), lengths.data(), B, T,
                    T, H, D, p, 42, dropout_stream(4, 1));
  EXPECT_NE(keep, keep2);
}

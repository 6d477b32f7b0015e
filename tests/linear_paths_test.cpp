// linear_paths_test — linear_forward picks y = x W^T or y^T = W x^T (then a transpose) by row
// count (kernels/layers.cpp); every path must give the same y = x W^T + b. Checked against a
// double-precision reference on both sides of each threshold, with and without bias, with odd
// widths that exercise partial transpose tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/layers.hpp"

using namespace bert_emotion;

namespace {

std::vector<float> values(size_t n, float scale, unsigned seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * float(i) + float(seed));
  return v;
}

}  // namespace

TEST(LinearForward, EveryRowCountMatchesTheReference) {
  const int64_t in = 70, out = 45;  // not multiples of the 32-float transpose tile
  const auto W = values(size_t(out * in), 0.1f, 1), b = values(size_t(out), 0.5f, 2);
  for (int64_t N : {1, 7, 8, 9, 33, 128, 255, 256, 257, 300}) {
    const auto x = values(size_t(N * in), 1.f, 3 + unsigned(N));
    for (bool with_bias : {true, false}) {
      std::vector<float> y(size_t(N * out), -1.f);
      linear_forward(y.data(), x.data(), W.data(), with_bias ? b.data() : nullptr, N, in, out);
      double worst = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < out; ++o) {
          double want = with_bias ? b[size_t(o)] : 0.0;
          for (int64_t k = 0; k < in; ++k) want += double(x[size_t(n * in + k)]) * W[size_t(o * in + k)];
          worst = std::max(worst, std::fabs(want - y[size_t(n * out + o)]));
        }
      EXPECT_LT(worst, 2e-6) << "N=" << N << (with_bias ? " with bias" : " without bias");
    }
  }
}

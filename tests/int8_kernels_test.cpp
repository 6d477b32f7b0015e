// int8 kernel tests: the packed GEMM of every instruction-set path against a naive int32 product
// (exact), the paths against each other (bit-identical quantization and outputs), and the
// quantized linear against FP32 within the bound its rounding allows. Paths the CPU lacks are
// skipped (printed), so the same test runs on AVX2-only and AVX-512 machines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu_isa.hpp"
#include "kernels/int8_gemm.hpp"
#include "kernels/layers.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

using namespace bert_emotion;

namespace {

const CpuIsa kAll[] = {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512, CpuIsa::avx512_vnni, CpuIsa::avx512_bf16};

std::vector<CpuIsa> available() {
  std::vector<CpuIsa> v;
  for (CpuIsa isa : kAll)
    if (isa <= detected_cpu_isa()) v.push_back(isa);
  return v;
}

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.normal(0.f, scale);
  return v;
}

std::vector<int8_t> rand_int8(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(g));
  return v;
}

struct Shape {
  int64_t N, in, out;
};
// Odd sizes exercise every tail: in not a multiple of 4 or 16, out not of 16, N not of the row tile.
const Shape kShapes[] = {{1, 4, 16}, {3, 7, 5}, {5, 50, 37}, {9, 768, 70}, {17, 33, 130}, {32, 64, 768}, {300, 96, 40}};

}  // namespace

TEST(CpuIsa, NamesRoundTripAndUnknownIsRejected) {
  for (CpuIsa isa : kAll) EXPECT_EQ(parse_cpu_isa(cpu_isa_name(isa), "test"), isa);
  try {
    parse_cpu_isa("avx9000", "$BERT_EMOTION_MAX_CPU_ISA");
    FAIL() << "no throw";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("$BERT_EMOTION_MAX_CPU_ISA: unknown instruction set 'avx9000'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_LE(active_cpu_isa(), detected_cpu_isa());
  std::printf("detected %s, active %s\n", cpu_isa_name(detected_cpu_isa()), cpu_isa_name(active_cpu_isa()));
}

TEST(Int8Gemm, EveryPathEqualsNaiveInt32Product) {
  for (const Shape& s : kShapes) {
    const auto q = rand_int8(size_t(s.out * s.in), 1);
    const std::vector<float> scales(size_t(s.out), 0.01f);
    const Int8Weights w = pack_weights_int8(q.data(), scales.data(), s.out, s.in);
    // Extreme activations too: -127 and 127 everywhere in the first row (the u8 shift's corner).
    auto x = rand_int8(size_t(s.N * w.in_pad), 2);
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t k = s.in; k < w.in_pad; ++k) x[size_t(n * w.in_pad + k)] = 0;
    for (int64_t k = 0; k < s.in; ++k) x[size_t(k)] = (k % 2) ? 127 : -127;
    std::vector<int32_t> want(size_t(s.N * s.out));
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t o = 0; o < s.out; ++o) {
        int32_t sum = 0;
        for (int64_t k = 0; k < s.in; ++k) sum += int32_t(x[size_t(n * w.in_pad + k)]) * q[size_t(o * s.in + k)];
        want[size_t(n * s.out + o)] = sum;
      }
    // The avx512_vnni path runs oneDNN's matmul where the CPU has it (kernels/onednn_matmul.hpp).
    EXPECT_EQ(w.onednn != nullptr, detected_cpu_isa() >= CpuIsa::avx512_vnni);
    for (CpuIsa isa : available()) {
      std::vector<int32_t> acc(size_t(s.N * w.out_pad), -1);
      gemm_int8(acc.data(), w.out_pad, x.data(), w, s.N, isa);
      for (int64_t n = 0; n < s.N; ++n) {
        for (int64_t o = 0; o < s.out; ++o)
          ASSERT_EQ(acc[size_t(n * w.out_pad + o)], want[size_t(n * s.out + o)])
              << cpu_isa_name(isa) << " N=" << s.N << " in=" << s.in << " out=" << s.out << " at " << n << "," << o;
        for (int64_t o = s.out; o < w.out_pad; ++o) ASSERT_EQ(acc[size_t(n * w.out_pad + o)], 0) << cpu_isa_name(isa);
      }
    }
  }
}

TEST(Int8Gemm, PackUnpackRoundTripsAndRejectsMinus128) {
  const auto q = rand_int8(5 * 9, 3);
  const std::vector<float> scales(5, 1.f);
  EXPECT_EQ(unpack_weights_int8(pack_weights_int8(q.data(), scales.data(), 5, 9)), q);
  auto bad = q;
  bad[7] = -128;
  EXPECT_THROW(pack_weights_int8(bad.data(), scales.data(), 5, 9), InvalidArgument);
}

TEST(Int8Linear, PathsAreBitIdenticalAndCloseToFp32) {
  for (const Shape& s : kShapes) {
    const auto W = randn(size_t(s.out * s.in), 4, 0.05f);
    const auto b = randn(size_t(s.out), 5);
    auto x = randn(size_t(s.N * s.in), 6);
    for (int64_t k = 0; k < s.in; ++k) x[size_t(k)] = 0.f;  // an all-zero row: scale 0, y = b
    const Int8Weights w = quantize_weights_int8(W.data(), s.out, s.in);
    std::vector<float> ref(size_t(s.N * s.out));
    linear_forward(ref.data(), x.data(), W.data(), b.data(), s.N, s.in, s.out);
    std::vector<float> first;
    std::vector<int8_t> first_q;
    for (CpuIsa isa : available()) {
      std::vector<int8_t> xq(size_t(s.N * w.in_pad), 99);
      std::vector<float> sx(size_t(s.N));
      quantize_rows_int8(xq.data(), sx.data(), x.data(), s.N, s.in, w.in_pad, isa);
      std::vector<float> y(size_t(s.N * s.out));
      linear_forward_int8(y.data(), x.data(), w, b.data(), s.N, isa);
      if (first.empty()) {
        first = y;
        first_q = xq;
      } else {
        EXPECT_EQ(0, std::memcmp(first.data(), y.data(), y.size() * sizeof(float))) << cpu_isa_name(isa);
        EXPECT_EQ(first_q, xq) << cpu_isa_name(isa);
      }
      for (int64_t o = 0; o < s.out; ++o) EXPECT_EQ(y[size_t(o)], b[size_t(o)]) << "zero row";
      // Rounding bound per output: |x| * half a weight step + |W| * half an activation step, summed.
      for (int64_t n = 0; n < s.N; ++n) {
        float xmax = 0.f;
        for (int64_t k = 0; k < s.in; ++k) xmax = std::max(xmax, std::fabs(x[size_t(n * s.in + k)]));
        for (int64_t o = 0; o < s.out; ++o) {
          double bound = 1e-5;
          for (int64_t k = 0; k < s.in; ++k)
            bound += 0.5 * w.scales[size_t(o)] * std::fabs(x[size_t(n * s.in + k)]) +
                     0.5 * (xmax / 127.) * std::fabs(W[size_t(o * s.in + k)]) +
                     0.25 * w.scales[size_t(o)] * (xmax / 127.);
          ASSERT_NEAR(y[size_t(n * s.out + o)], ref[size_t(n * s.out + o)], bound)
              << cpu_isa_name(isa) << " N=" << s.N << " in=" << s.in << " out=" << s.out;
        }
      }
    }
  }
}

// vec_math_test — the AVX2 exp/erf of kernels/vec_math.hpp against libm in double precision on a
// dense grid: exp within 2 ulp-ish relative error (4e-7), erf within the A&S 7.1.26 bound
// (1.5e-7) plus float rounding of 1 - poly t e (measured 4.8e-7; GELU's relative error is half that), the vector lanes equal to the scalar twins,
// and the 16-lane AVX-512 twins equal to the 8-lane ones bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu_isa.hpp"
#include "kernels/vec_math.hpp"

using namespace bert_emotion::vecmath;

namespace {

std::vector<float> grid(float lo, float hi, float step) {
  std::vector<float> v;
  for (double x = lo; x <= hi; x += step) v.push_back(static_cast<float>(x));
  v.push_back(0.f);
  v.push_back(-0.f);
  return v;
}

}  // namespace

TEST(VecMath, ExpScalarMatchesLibm) {
  double worst = 0;
  for (float x : grid(-87.f, 88.f, 0.0137f)) {
    const double want = std::exp(double(x));
    worst = std::max(worst, std::fabs(exp_scalar(x) - want) / want);
  }
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(exp_scalar(-200.f), exp_scalar(kExpLo));  // clamped, no NaN or garbage exponent
  EXPECT_GE(exp_scalar(-200.f), 0.f);                 // flushed to 0 below ~1e-38
  EXPECT_LT(exp_scalar(-200.f), 1e-37f);
  EXPECT_TRUE(std::isfinite(exp_scalar(200.f)));
}

TEST(VecMath, ErfScalarMatchesLibm) {
  double worst = 0;
  for (float x : grid(-12.f, 12.f, 0.00093f)) worst = std::max(worst, std::fabs(erf_scalar(x) - std::erf(double(x))));
  EXPECT_LT(worst, 6e-7);
  EXPECT_EQ(erf_scalar(30.f), 1.f);
  EXPECT_EQ(erf_scalar(-30.f), -1.f);
}

#ifdef BERT_EMOTION_VEC_MATH
TEST(VecMath, VectorLanesEqualScalar) {
  const std::vector<float> xs = grid(-15.f, 15.f, 0.0071f);
  double worst_exp = 0, worst_erf = 0;
  for (size_t i = 0; i + 8 <= xs.size(); i += 8) {
    float e[8], r[8];
    _mm256_storeu_ps(e, exp256(_mm256_loadu_ps(&xs[i])));
    _mm256_storeu_ps(r, erf256(_mm256_loadu_ps(&xs[i])));
    for (int k = 0; k < 8; ++k) {
      const float x = xs[i + size_t(k)];
      worst_exp = std::max(worst_exp, std::fabs(double(e[k]) - exp_scalar(x)) / exp_scalar(x));
      worst_erf = std::max(worst_erf, std::fabs(double(r[k]) - std::erf(double(x))));
    }
  }
  EXPECT_LT(worst_exp, 1e-7);
  EXPECT_LT(worst_erf, 6e-7);
}
#endif

#ifdef BERT_EMOTION_VEC_MATH
namespace {
// 16 lanes of exp512 / erf512 (AVX-512 target) for the test below.
BERT_EMOTION_AVX512 void exp_erf_16(const float* x, float* e, float* r) {
  _mm512_storeu_ps(e, exp512(_mm512_loadu_ps(x)));
  _mm512_storeu_ps(r, erf512(_mm512_loadu_ps(x)));
}
}  // namespace

TEST(VecMath, SixteenLanesEqualEightLanesBitForBit) {
  if (bert_emotion::active_cpu_isa() < bert_emotion::CpuIsa::avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::vector<float> xs = grid(-100.f, 100.f, 0.00731f);
  for (float v : {1e-30f, -1e-30f, 1e-45f, 88.5f, -88.5f, 1e30f, -1e30f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()})
    xs.push_back(v);
  while (xs.size() % 16 != 0) xs.push_back(0.5f);
  for (size_t i = 0; i < xs.size(); i += 16) {
    float e8[16], r8[16], e16[16], r16[16];
    for (size_t h = 0; h < 16; h += 8) {
      _mm256_storeu_ps(e8 + h, exp256(_mm256_loadu_ps(&xs[i + h])));
      _mm256_storeu_ps(r8 + h, erf256(_mm256_loadu_ps(&xs[i + h])));
    }
    exp_erf_16(&xs[i], e16, r16);
    ASSERT_EQ(std::memcmp(e8, e16, sizeof e8), 0) << "exp differs near x = " << xs[i];
    ASSERT_EQ(std::memcmp(r8, r16, sizeof r8), 0) << "erf differs near x = " << xs[i];
  }
}
#endif

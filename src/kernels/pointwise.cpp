#include "kernels/pointwise.hpp"

#include <cmath>

#include "kernels/cpu_isa.hpp"
#include "kernels/vec_math.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

namespace bert_emotion {

namespace {
constexpr float kSqrt1_2 = 0.70710678118654752440f;      // 1/sqrt(2), M_SQRT1_2
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;   // 1/sqrt(2 pi): the normal pdf's constant
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/pi), gelu_new's constant
constexpr float kGeluNewCubic = 0.044715f;

#ifdef BERT_EMOTION_VEC_MATH
// z = x / sqrt(2) and e = exp(-z^2) = exp(-x^2 / 2) for 8 lanes: erf(z) is built from both, and the
// normal pdf (GELU's backward) is e / sqrt(2 pi).
struct ErfTerms {
  __m256 z, e;
};
inline ErfTerms erf_terms(__m256 x) {
  const __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(kSqrt1_2));
  return {z, vecmath::exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(z, z)))};
}

// The AVX-512 GELU: the 8-lane loops' operations on 16 lanes (bit-identical, ~1.9x faster on the
// FFN's activations). Each does the first n / 16 * 16 values and returns that count.
struct ErfTerms512 {
  __m512 z, e;
};
BERT_EMOTION_AVX512 inline ErfTerms512 erf_terms512(__m512 x) {
  const __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(kSqrt1_2));
  return {z, vecmath::exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(z, z)))};
}

BERT_EMOTION_AVX512 size_t gelu_erf_forward_avx512(float* out, const float* in, size_t n) {
  const size_t end = n / 16 * 16;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < end; i += 16) {
    const __m512 x = _mm512_loadu_ps(in + i);
    const auto [z, e] = erf_terms512(x);
    const __m512 erf = vecmath::erf_from_exp512(z, e);
    _mm512_storeu_ps(out + i,
                     _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.f), erf)));
  }
  return end;
}

BERT_EMOTION_AVX512 size_t gelu_erf_backward_avx512(float* din, const float* dout, const float* in, size_t n) {
  const size_t end = n / 16 * 16;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < end; i += 16) {
    const __m512 x = _mm512_loadu_ps(in + i);
    const auto [z, e] = erf_terms512(x);
    const __m512 cdf =
        _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_add_ps(_mm512_set1_ps(1.f), vecmath::erf_from_exp512(z, e)));
    const __m512 pdf = _mm512_mul_ps(_mm512_set1_ps(kInvSqrt2Pi), e);
    _mm512_storeu_ps(din + i, _mm512_mul_ps(_mm512_loadu_ps(dout + i), _mm512_fmadd_ps(x, pdf, cdf)));
  }
  return end;
}
#endif
}  // namespace

Activation parse_activation(const std::string& name) {
  if (name == "gelu") return Activation::gelu_erf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::gelu_tanh;
  if (name == "relu") return Activation::relu;
  if (name == "silu" || name == "swish") return Activation::silu;
  throw UnsupportedError("activation \"" + name + "\" is not supported (expected gelu, gelu_new, relu or silu)");
}

// GELU with exact erf, 16 (AVX-512) or 8 lanes at a time: kernels/vec_math.hpp's erf (|error| <=
// 5e-7, torch's own vectorised erf is an approximation too) instead of glibc's scalar erff, which
// cost more than the FFN's GEMMs' arithmetic at batch 1. One exp serves erf and, backward, the
// normal pdf. The 8-lane loop takes what the 16-lane one leaves but the last n % 8 values.
void gelu_erf_forward(float* out, const float* in, size_t n) {
  size_t vec_end = 0;
#ifdef BERT_EMOTION_VEC_MATH
  const size_t done = active_cpu_isa() >= CpuIsa::avx512 ? gelu_erf_forward_avx512(out, in, n) : 0;
  vec_end = done + (n - done) / 8 * 8;
#pragma omp parallel for schedule(static) if (vec_end - done > 16384)
  for (size_t i = done; i < vec_end; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    const auto [z, e] = erf_terms(x);
    const __m256 erf = vecmath::erf_from_exp256(z, e);
    _mm256_storeu_ps(out + i,
                     _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.f), erf)));
  }
#endif
  for (size_t i = vec_end; i < n; ++i) {
    const float x = in[i];
    out[i] = 0.5f * x * (1.f + vecmath::erf_scalar(x * kSqrt1_2));
  }
}

void gelu_erf_backward(float* din, const float* dout, const float* in, size_t n) {
  // d/dx [x * Phi(x)] = Phi(x) + x * phi(x), as torch's GeluBackward (approximate='none').
  size_t vec_end = 0;
#ifdef BERT_EMOTION_VEC_MATH
  const size_t done = active_cpu_isa() >= CpuIsa::avx512 ? gelu_erf_backward_avx512(din, dout, in, n) : 0;
  vec_end = done + (n - done) / 8 * 8;
#pragma omp parallel for schedule(static) if (vec_end - done > 16384)
  for (size_t i = done; i < vec_end; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    const auto [z, e] = erf_terms(x);  // e = exp(-x^2/2)
    const __m256 cdf =
        _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(_mm256_set1_ps(1.f), vecmath::erf_from_exp256(z, e)));
    const __m256 pdf = _mm256_mul_ps(_mm256_set1_ps(kInvSqrt2Pi), e);
    _mm256_storeu_ps(din + i, _mm256_mul_ps(_mm256_loadu_ps(dout + i), _mm256_fmadd_ps(x, pdf, cdf)));
  }
#endif
  for (size_t i = vec_end; i < n; ++i) {
    const float x = in[i];
    const float z = x * kSqrt1_2;
    const float e = vecmath::exp_scalar(-z * z);
    const float cdf = 0.5f * (1.f + vecmath::erf_from_exp(z, e));
    const float pdf = kInvSqrt2Pi * e;
    din[i] = dout[i] * std::fma(x, pdf, cdf);
  }
}

void gelu_tanh_forward(float* out, const float* in, size_t n) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) {
    const float x = in[i];
    out[i] = 0.5f * x * (1.f + std::tanh(kSqrt2OverPi * (x + kGeluNewCubic * x * x * x)));
  }
}

void gelu_tanh_backward(float* din, const float* dout, const float* in, size_t n) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) {
    const float x = in[i];
    const float u = kSqrt2OverPi * (x + kGeluNewCubic * x * x * x);
    const float th = std::tanh(u);
    const float du = kSqrt2OverPi * (1.f + 3.f * kGeluNewCubic * x * x);
    din[i] = dout[i] * (0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * du);
  }
}

void relu_forward(float* out, const float* in, size_t n) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) out[i] = in[i] > 0.f ? in[i] : 0.f;
}

void relu_backward(float* din, const float* dout, const float* in, size_t n) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) din[i] = in[i] > 0.f ? dout[i] : 0.f;
}

void tanh_forward(float* out, const float* in, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = std::tanh(in[i]);
}

void tanh_backward(float* din, const float* dout, const float* in, size_t n) {
  // torch: grad * (1 - y^2) with y = tanh(x) as the forward computed it.
  for (size_t i = 0; i < n; ++i) {
    const float y = std::tanh(in[i]);
    din[i] = dout[i] * (1.f - y * y);
  }
}

void silu_forward(float* out, const float* in, size_t n) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) out[i] = in[i] / (1.f + std::exp(-in[i]));
}

void silu_backward(float* din, const float* dout, const float* in, size_t n) {
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) {
    const float s = 1.f / (1.f + std::exp(-in[i]));
    din[i] = dout[i] * s * (1.f + in[i] * (1.f - s));
  }
}

void activation_forward(Activation act, float* out, const float* in, size_t n) {
  switch (act) {
    case Activation::gelu_erf: return gelu_erf_forward(out, in, n);
    case Activation::gelu_tanh: return gelu_tanh_forward(out, in, n);
    case Activation::relu: return relu_forward(out, in, n);
    case Activation::silu: return silu_forward(out, in, n);
  }
}

void activation_backward(Activation act, float* din, const float* dout, const float* in, size_t n) {
  switch (act) {
    case Activation::gelu_erf: return gelu_erf_backward(din, dout, in, n);
    case Activation::gelu_tanh: return gelu_tanh_backward(din, dout, in, n);
    case Activation::relu: return relu_backward(din, dout, in, n);
    case Activation::silu: return silu_backward(din, dout, in, n);
  }
}

uint64_t dropout_stream(uint64_t step, uint64_t site) {
  uint64_t x = step;
  return splitmix64(x) ^ (site * 0xD1B54A32D192ED03ull);
}

void dropout_forward(float* out, uint8_t* keep, const float* in, size_t n, float p, uint64_t seed, uint64_t stream) {
  if (p <= 0.f) {
    if (out != in)
      for (size_t i = 0; i < n; ++i) out[i] = in[i];
    if (keep != nullptr)
      for (size_t i = 0; i < n; ++i) keep[i] = 1;
    return;
  }
  if (p >= 1.f) {  // torch: everything dropped
    for (size_t i = 0; i < n; ++i) out[i] = 0.f;
    if (keep != nullptr)
      for (size_t i = 0; i < n; ++i) keep[i] = 0;
    return;
  }
  const float scale = 1.f / (1.f - p);
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) {
    const bool k = counter_uniform(seed, stream, i) >= p;
    out[i] = k ? in[i] * scale : 0.f;
    if (keep != nullptr) keep[i] = k ? 1 : 0;
  }
}

void dropout_backward(float* din, const float* dout, const uint8_t* keep, size_t n, float p) {
  if (p <= 0.f) {
    if (din != dout)
      for (size_t i = 0; i < n; ++i) din[i] = dout[i];
    return;
  }
  const float scale = p >= 1.f ? 0.f : 1.f / (1.f - p);
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) din[i] = keep[i] ? dout[i] * scale : 0.f;
}

}  // namespace bert_emotion

#include "kernels/loss.hpp"

#include <cmath>
#include <string>

#include "util/error.hpp"

namespace bert_emotion {

namespace {

int count_and_check(const int32_t* labels, int B, int K) {
  int n = 0;
  for (int b = 0; b < B; ++b) {
    if (labels[b] == kIgnoreIndex) continue;
    if (labels[b] < 0 || labels[b] >= K)
      throw InvalidArgument("cross-entropy: label " + std::to_string(labels[b]) + " of row " + std::to_string(b) +
                            " is outside [0, " + std::to_string(K) + ")");
    ++n;
  }
  return n;
}

// log(sum exp(z - max)) + max, in float as torch's log_softmax.
float logsumexp(const float* z, int K) {
  float mx = z[0];
  for (int k = 1; k < K; ++k) mx = z[k] > mx ? z[k] : mx;
  float s = 0.f;
  for (int k = 0; k < K; ++k) s += std::exp(z[k] - mx);
  return std::log(s) + mx;
}

}  // namespace

float cross_entropy_forward(const float* logits, const int32_t* labels, int B, int K, float* per_example) {
  const int n = count_and_check(labels, B, K);
  double total = 0.0;
  for (int b = 0; b < B; ++b) {
    float l = 0.f;
    if (labels[b] != kIgnoreIndex) {
      const float* z = logits + int64_t(b) * K;
      l = logsumexp(z, K) - z[labels[b]];
    }
    if (per_example != nullptr) per_example[b] = l;
    total += l;
  }
  return n == 0 ? 0.f : static_cast<float>(total / n);
}

void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* labels, int B, int K) {
  const int n = count_and_check(labels, B, K);
  for (int b = 0; b < B; ++b) {
    float* d = dlogits + int64_t(b) * K;
    if (labels[b] == kIgnoreIndex) {
      for (int k = 0; k < K; ++k) d[k] = 0.f;
      continue;
    }
    const float* z = logits + int64_t(b) * K;
    const float lse = logsumexp(z, K);
    for (int k = 0; k < K; ++k) d[k] = (std::exp(z[k] - lse) - (k == labels[b] ? 1.f : 0.f)) / float(n);
  }
}

float bce_with_logits_forward(const float* logits, const float* targets, int B, int K) {
  const int64_t n = int64_t(B) * K;
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float z = logits[i], y = targets[i];
    total += std::fmax(z, 0.f) - z * y + std::log1p(std::exp(-std::fabs(z)));
  }
  return n == 0 ? 0.f : static_cast<float>(total / double(n));
}

void bce_with_logits_backward(float* dlogits, const float* logits, const float* targets, int B, int K) {
  const int64_t n = int64_t(B) * K;
  for (int64_t i = 0; i < n; ++i) {
    const float s = 1.f / (1.f + std::exp(-logits[i]));
    dlogits[i] = (s - targets[i]) / float(n);
  }
}

}  // namespace bert_emotion

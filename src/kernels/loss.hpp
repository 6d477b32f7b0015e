// loss.hpp — classification losses with their gradients w.r.t. the logits.
//
// cross_entropy_*: torch.nn.functional.cross_entropy with reduction "mean" over the batch,
// log-softmax computed with the row maximum subtracted. A label of -100 (torch's ignore_index) is
// skipped and the mean runs over the remaining rows; any other label outside [0, K) throws
// InvalidArgument naming the row. bce_with_logits_*: binary_cross_entropy_with_logits with
// reduction "mean" over all B x K entries, targets are probabilities (0/1 for multi-label), in the
// numerically stable form max(z, 0) - z*y + log1p(exp(-|z|)).
//
//   std::vector<float> per_example(B);
//   float loss = cross_entropy_forward(logits, labels, B, K, per_example.data());
//   cross_entropy_backward(dlogits, logits, labels, B, K);          // d(mean loss)/d logits
//   float bce = bce_with_logits_forward(logits, targets, B, K);
//   bce_with_logits_backward(dlogits, logits, targets, B, K);
#pragma once

#include <cstdint>

namespace bert_emotion {

constexpr int32_t kIgnoreIndex = -100;

// Mean CE over the non-ignored rows (0 when every row is ignored). per_example [B] may be null;
// ignored rows get 0 there.
float cross_entropy_forward(const float* logits, const int32_t* labels, int B, int K, float* per_example);
// dlogits [B, K] = (softmax - onehot) / n_counted; ignored rows get 0. Overwrites.
void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* labels, int B, int K);

float bce_with_logits_forward(const float* logits, const float* targets, int B, int K);
// dlogits [B, K] = (sigmoid(z) - y) / (B * K). Overwrites.
void bce_with_logits_backward(float* dlogits, const float* logits, const float* targets, int B, int K);

}  // namespace bert_emotion

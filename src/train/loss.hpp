// loss.hpp — the training losses beyond the plain ones in model/encoder.hpp: label smoothing and
// class weights, with torch's definitions (so a fixture from torch checks them).
//
// Single-label, torch.nn.functional.cross_entropy(z, y, weight=w, label_smoothing=e), mean:
//   loss = sum_i [(1-e) w[y_i] nll_i + (e/K) sum_k w_k (-log p_ik)] / sum_i w[y_i]
//   (w = all ones without class weights: the Trainer's LabelSmoother gives the same value).
// Multi-label, torch.nn.BCEWithLogitsLoss(pos_weight=p), mean over B x K:
//   loss = mean_ik [p_k y_ik softplus(-z_ik) + (1 - y_ik) softplus(z_ik)]
// Both write dlogits [B, K] = d loss / d logits and return the loss.
//
// Class weights (--class-weights): "balanced" is scikit-learn's compute_class_weight (n / (K x
// count_k)) for single-label data and negatives / positives per label (pos_weight) for multi-label
// data; a JSON file holds K numbers in label-id order, or an object {label name: weight}.
//
//   std::vector<float> w = resolve_class_weights("balanced", labels, {}, K, "train.csv");
//   float loss = weighted_cross_entropy_forward_backward(z, y, B, K, w, 0.1f, dz);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bert_emotion {

// `class_weights` empty = all ones.
float weighted_cross_entropy_forward_backward(const float* logits, const int32_t* labels, int B, int K,
                                              const std::vector<float>& class_weights, float label_smoothing,
                                              float* dlogits);

// `pos_weight` empty = all ones (plain BCE with logits).
float bce_with_logits_pos_weight_forward_backward(const float* logits, const float* targets, int B, int K,
                                                  const std::vector<float>& pos_weight, float* dlogits);

// The weights --class-weights SPEC gives for the training data: `labels` (single-label ids) or
// `targets` (multi-hot rows) — one of them non-empty. `names` are the K label names (a JSON object
// file is keyed by them). InvalidArgument / FormatError naming the spec, the file or the label
// (e.g. a label without examples under "balanced").
std::vector<float> resolve_class_weights(const std::string& spec, const std::vector<int>& labels,
                                         const std::vector<std::vector<float>>& targets,
                                         const std::vector<std::string>& names);

}  // namespace bert_emotion

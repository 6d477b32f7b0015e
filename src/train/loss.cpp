// loss.cpp — label-smoothed / class-weighted cross-entropy and BCE with pos_weight (see loss.hpp).
#include "train/loss.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

// softplus(x) = log(1 + e^x), in double without overflow.
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

std::vector<float> weights_from_file(const std::string& path, const std::vector<std::string>& names) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": --class-weights: invalid JSON: " + e.what());
  }
  const size_t K = names.size();
  std::vector<float> w(K, 1.f);
  auto take = [&](const nlohmann::json& v, const std::string& what) {
    if (!v.is_number() || !(v.get<double>() >= 0) || !std::isfinite(v.get<double>()))
      throw FormatError(path + ": --class-weights: the weight of " + what + " must be a number >= 0, got " + v.dump());
    return static_cast<float>(v.get<double>());
  };
  if (j.is_array()) {
    if (j.size() != K)
      throw FormatError(path + ": --class-weights: " + std::to_string(j.size()) + " weights for " + std::to_string(K) +
                        " labels (expected one per label, in label-id order)");
    for (size_t k = 0; k < K; ++k) w[k] = take(j[k], "label " + names[k]);
  } else if (j.is_object()) {
    for (const auto& [name, v] : j.items()) {
      const auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        std::string all;
        for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
        throw FormatError(path + ": --class-weights: unknown label '" + name + "' (labels: " + all + ")");
      }
      w[static_cast<size_t>(it - names.begin())] = take(v, "label " + name);
    }
    if (j.size() != K)
      throw FormatError(path + ": --class-weights: " + std::to_string(j.size()) + " of " + std::to_string(K) +
                        " labels have a weight; give every label one");
  } else {
    throw FormatError(path + ": --class-weights: expected a JSON array of weights or an object {label: weight}");
  }
  return w;
}

}  // namespace

float weighted_cross_entropy_forward_backward(const float* logits, const int32_t* labels, int B, int K,
                                              const std::vector<float>& class_weights, float label_smoothing,
                                              float* dlogits) {
  if (!class_weights.empty() && class_weights.size() != static_cast<size_t>(K))
    throw InvalidArgument("cross-entropy: " + std::to_string(class_weights.size()) + " class weights for " +
                          std::to_string(K) + " labels");
  const double e = label_smoothing;
  auto weight = [&](int k) {
    return class_weights.empty() ? 1.0 : static_cast<double>(class_weights[static_cast<size_t>(k)]);
  };
  double weight_sum_all = 0;  // sum_k w_k
  for (int k = 0; k < K; ++k) weight_sum_all += weight(k);
  double total_weight = 0;  // sum_i w[y_i]
  for (int i = 0; i < B; ++i) {
    if (labels[i] < 0 || labels[i] >= K)
      throw InvalidArgument("cross-entropy: label " + std::to_string(labels[i]) + " outside [0, " + std::to_string(K) +
                            ")");
    total_weight += weight(labels[i]);
  }
  std::vector<double> p(static_cast<size_t>(K));
  double loss = 0;
  for (int i = 0; i < B; ++i) {
    const float* z = logits + static_cast<size_t>(i) * K;
    double mx = z[0];
    for (int k = 1; k < K; ++k) mx = std::max(mx, static_cast<double>(z[k]));
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += std::exp(static_cast<double>(z[k]) - mx);
    const double log_sum = mx + std::log(sum);
    const int y = labels[i];
    double smooth = 0;  // sum_k w_k (-log p_k)
    for (int k = 0; k < K; ++k) {
      p[static_cast<size_t>(k)] = std::exp(static_cast<double>(z[k]) - log_sum);
      smooth += weight(k) * (log_sum - static_cast<double>(z[k]));
    }
    loss += (1 - e) * weight(y) * (log_sum - static_cast<double>(z[y])) + e / K * smooth;
    // d/dz_j: (1-e) w_y (p_j - [j = y]) + (e/K) (p_j sum_k w_k - w_j), over sum_i w[y_i].
    for (int j = 0; j < K; ++j) {
      const double pj = p[static_cast<size_t>(j)];
      const double g = (1 - e) * weight(y) * (pj - (j == y ? 1.0 : 0.0)) + e / K * (pj * weight_sum_all - weight(j));
      dlogits[static_cast<size_t>(i) * K + j] = static_cast<float>(total_weight > 0 ? g / total_weight : 0.0);
    }
  }
  return static_cast<float>(total_weight > 0 ? loss / total_weight : 0.0);
}

float bce_with_logits_pos_weight_forward_backward(const float* logits, const float* targets, int B, int K,
                                                  const std::vector<float>& pos_weight, float* dlogits) {
  if (!pos_weight.empty() && pos_weight.size() != static_cast<size_t>(K))
    throw InvalidArgument("BCE: " + std::to_string(pos_weight.size()) + " pos_weight values for " + std::to_string(K) +
                          " labels");
  const double n = static_cast<double>(B) * K;
  double loss = 0;
  for (int i = 0; i < B; ++i)
    for (int k = 0; k < K; ++k) {
      const size_t at = static_cast<size_t>(i) * K + k;
      const double z = logits[at], y = targets[at];
      const double pw = pos_weight.empty() ? 1.0 : pos_weight[static_cast<size_t>(k)];
      loss += pw * y * softplus(-z) + (1 - y) * softplus(z);
      const double s = 1 / (1 + std::exp(-z));
      dlogits[at] = static_cast<float>((pw * y * (s - 1) + (1 - y) * s) / n);
    }
  return static_cast<float>(n > 0 ? loss / n : 0.0);
}

std::vector<float> resolve_class_weights(const std::string& spec, const std::vector<int>& labels,
                                         const std::vector<std::vector<float>>& targets,
                                         const std::vector<std::string>& names) {
  if (spec.empty()) return {};
  const size_t K = names.size();
  if (spec != "balanced") return weights_from_file(spec, names);
  std::vector<double> count(K, 0.0);
  double n = 0;
  if (!targets.empty()) {
    for (const auto& row : targets)
      for (size_t k = 0; k < K && k < row.size(); ++k) count[k] += row[k];
    n = static_cast<double>(targets.size());
  } else {
    for (int y : labels)
      if (y >= 0 && static_cast<size_t>(y) < K) count[static_cast<size_t>(y)] += 1;
    n = static_cast<double>(labels.size());
  }
  std::vector<float> w(K);
  for (size_t k = 0; k < K; ++k) {
    if (count[k] == 0)
      throw InvalidArgument("--class-weights balanced: label '" + names[k] +
                            "' has no training examples (give weights in a file instead)");
    // Multi-label: pos_weight = negatives / positives; single-label: n / (K x count).
    w[k] = static_cast<float>(!targets.empty() ? (n - count[k]) / count[k] : n / (static_cast<double>(K) * count[k]));
  }
  return w;
}

}  // namespace bert_emotion

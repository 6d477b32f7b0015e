// thresholds.cpp — thresholds.json and per-label threshold tuning (see thresholds.hpp).
#include "data/thresholds.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;

std::vector<float> read_thresholds(const fs::path& model_dir, const std::vector<std::string>& names) {
  const fs::path path = model_dir / kThresholdsFile;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  const std::string src = path.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(src + ": invalid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("thresholds") || !j["thresholds"].is_object())
    throw FormatError(src + ": expected an object with \"thresholds\": {label name: value}");
  const auto& t = j["thresholds"];
  std::vector<float> out;
  for (const auto& name : names) {
    auto it = t.find(name);
    if (it == t.end()) throw FormatError(src + ": no threshold for label '" + name + "'");
    if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() <= 1))
      throw FormatError(src + ": threshold of '" + name + "' must be a number in [0, 1], got " + it->dump());
    out.push_back(it->get<float>());
  }
  for (const auto& [key, value] : t.items())
    if (std::find(names.begin(), names.end(), key) == names.end())
      throw FormatError(src + ": label '" + key + "' is not one of the model's labels");
  return out;
}

void write_thresholds(const fs::path& model_dir, const std::vector<std::string>& names,
                      const std::vector<float>& thresholds, const std::string& tuned_on) {
  if (names.size() != thresholds.size())
    throw InvalidArgument("write_thresholds: " + std::to_string(thresholds.size()) + " thresholds for " +
                          std::to_string(names.size()) + " labels");
  nlohmann::ordered_json j;
  j["format"] = "bert-emotion-thresholds";
  j["rule"] = "sigmoid(logit) > threshold";
  j["tuned_on"] = tuned_on;
  j["criterion"] = "per-label F1";
  nlohmann::ordered_json t = nlohmann::ordered_json::object();
  for (size_t k = 0; k < names.size(); ++k) t[names[k]] = std::round(thresholds[k] * 100.0) / 100.0;
  j["thresholds"] = t;
  write_file_atomic(model_dir / kThresholdsFile, j.dump(2) + "\n");
}

std::vector<float> tune_thresholds(const MultiHot& targets, const MultiHot& scores) {
  const size_t N = targets.size();
  const size_t K = N ? targets[0].size() : 0;
  if (scores.size() != N) throw InvalidArgument("tune_thresholds: targets and scores differ in length");
  std::vector<float> out(K, 0.5f);
  for (size_t k = 0; k < K; ++k) {
    double best_f1 = -1, best_t = 0.5;
    for (int c = 1; c <= 19; ++c) {
      const double t = 0.05 * c;
      int64_t tp = 0, fp = 0, fn = 0;
      for (size_t i = 0; i < N; ++i) {
        const bool y = targets[i][k] > 0.5f, p = scores[i][k] > static_cast<float>(t);
        tp += y && p;
        fp += !y && p;
        fn += y && !p;
      }
      if (tp + fn == 0) break;  // no positives: keep 0.5
      const double f1 = tp == 0 ? 0.0 : 2.0 * tp / (2.0 * tp + fp + fn);
      const bool better = f1 > best_f1 + 1e-12 ||
                          (std::fabs(f1 - best_f1) <= 1e-12 && std::fabs(t - 0.5) < std::fabs(best_t - 0.5) - 1e-9);
      if (better) {
        best_f1 = f1;
        best_t = t;
      }
    }
    out[k] = static_cast<float>(std::round(best_t * 100.0) / 100.0);
  }
  return out;
}

std::vector<int> passing_labels(const std::vector<float>& scores, const std::vector<float>& thresholds) {
  std::vector<int> ids;
  for (size_t k = 0; k < scores.size() && k < thresholds.size(); ++k)
    if (scores[k] > thresholds[k]) ids.push_back(static_cast<int>(k));
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int a, int b) { return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]; });
  return ids;
}

}  // namespace bert_emotion

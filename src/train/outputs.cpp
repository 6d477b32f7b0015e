// outputs.cpp — trainer_state.json, *_results.json and the model card; see outputs.hpp.
#include "train/outputs.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <curl/curlver.h>
#include <dnnl.h>
#include <utf8proc.h>
#include <CLI/Version.hpp>

#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {

nlohmann::json trainer_state_json(const TrainerState& s) {
  nlohmann::json j;
  j["epoch"] = s.epoch;
  j["global_step"] = s.global_step;
  j["max_steps"] = s.max_steps;
  j["logging_steps"] = s.logging_steps;
  j["eval_steps"] = s.eval_steps;
  j["save_steps"] = s.save_steps;
  j["train_batch_size"] = s.train_batch_size;
  j["num_train_epochs"] = s.num_train_epochs;
  j["num_input_tokens_seen"] = s.num_input_tokens_seen;
  j["total_flos"] = s.total_flos;
  j["log_history"] = s.log_history;
  j["best_metric"] = s.best_metric;
  j["best_global_step"] = s.best_global_step;
  j["best_model_checkpoint"] = s.best_model_checkpoint;
  j["is_local_process_zero"] = s.is_local_process_zero;
  j["is_world_process_zero"] = s.is_world_process_zero;
  j["is_hyper_param_search"] = s.is_hyper_param_search;
  j["trial_name"] = s.trial_name;
  j["trial_params"] = s.trial_params;
  // What the Trainer stores for its TrainerControl callback at a save point.
  j["stateful_callbacks"] = {{"TrainerControl",
                              {{"args",
                                {{"should_epoch_stop", false},
                                 {"should_evaluate", false},
                                 {"should_log", false},
                                 {"should_save", true},
                                 {"should_training_stop", s.global_step >= s.max_steps}}},
                               {"attributes", nlohmann::json::object()}}}};
  return j;
}

TrainerState trainer_state_from_json(const nlohmann::json& j, const std::string& source) {
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) throw FormatError(source + ": missing field '" + key + "'");
    return j.at(key);
  };
  TrainerState s;
  try {
    s.epoch = need("epoch").get<double>();
    s.global_step = need("global_step").get<int64_t>();
    s.max_steps = need("max_steps").get<int64_t>();
    s.logging_steps = need("logging_steps").get<int64_t>();
    s.eval_steps = j.value("eval_steps", int64_t{500});
    s.save_steps = j.value("save_steps", int64_t{500});
    s.train_batch_size = need("train_batch_size").get<int64_t>();
    s.num_train_epochs = need("num_train_epochs").get<int64_t>();
    s.num_input_tokens_seen = j.value("num_input_tokens_seen", int64_t{0});
    s.total_flos = j.value("total_flos", 0.0);
    s.log_history = need("log_history");
    if (!s.log_history.is_array()) throw FormatError(source + ": field 'log_history' is not a list");
    s.best_metric = j.value("best_metric", nlohmann::json(nullptr));
    s.best_global_step = j.value("best_global_step", nlohmann::json(nullptr));
    s.best_model_checkpoint = j.value("best_model_checkpoint", nlohmann::json(nullptr));
    s.trial_name = j.value("trial_name", nlohmann::json(nullptr));
    s.trial_params = j.value("trial_params", nlohmann::json(nullptr));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(source + ": " + e.what());
  }
  return s;
}

void write_json_file(const std::filesystem::path& path, const nlohmann::json& j, int indent) {
  // nlohmann's default object is a std::map: keys come out sorted, as with sort_keys=True.
  write_file_atomic(path, j.dump(indent) + "\n");
}

void save_metrics(const std::filesystem::path& output_dir, const std::string& split, const nlohmann::json& metrics) {
  write_json_file(output_dir / (split + "_results.json"), metrics, 4);
  const auto all_path = output_dir / "all_results.json";
  nlohmann::json all = nlohmann::json::object();
  if (std::filesystem::exists(all_path)) {
    try {
      all = nlohmann::json::parse(read_file(all_path));
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(all_path.string() + ": " + e.what());
    }
    if (!all.is_object()) throw FormatError(all_path.string() + ": not a JSON object");
  }
  all.update(metrics);
  write_json_file(all_path, all, 4);
}

std::string python_float_repr(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e16) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }
  // Shortest round-trip digits, then Python's layout: exponent form below 1e-4 or from 1e16.
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  const double a = std::fabs(v);
  if (a >= 1e-4 && a < 1e16) {
    for (int prec = 1; prec <= 17; ++prec) {
      std::snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (std::strtod(buf, nullptr) == v) return buf;
    }
    return buf;
  }
  // buf is d.ddde[+-]XX; Python writes at least two exponent digits (5e-05).
  std::string s = buf;
  const auto e = s.find('e');
  std::string mant = s.substr(0, e);
  if (mant.find('.') != std::string::npos) {
    while (mant.back() == '0') mant.pop_back();
    if (mant.back() == '.') mant.pop_back();
  }
  return mant + s.substr(e);
}

namespace {

std::string fmt4(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string epoch_str(double e) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", e);
  return buf;
}

}  // namespace

std::string render_model_card(const ModelCard& c) {
  std::ostringstream o;
  o << "---\n";
  o << "license: " << c.license << "\n";
  o << "base_model: " << c.base_model << "\n";
  o << "tags:\n- generated_from_trainer\n";
  o << "datasets:\n- " << c.dataset_name << "\n";
  o << "metrics:\n- precision\n- recall\n- f1\n";
  o << "model-index:\n- name: " << c.model_name << "\n  results: []\n";
  o << "---\n\n";
  o << "<!-- This model card has been generated automatically according to the information the Trainer had "
       "access to. You should probably proofread and complete it, then remove this comment. -->\n\n";
  o << "# " << c.model_name << "\n\n";
  o << "This model is a fine-tuned version of "
    << (c.base_model_url.empty() ? c.base_model : "[" + c.base_model + "](" + c.base_model_url + ")") << " on the "
    << c.dataset_name << (c.dataset_config.empty() ? "" : " " + c.dataset_config) << " dataset.\n";
  if (c.eval_results) {
    o << "It achieves the following results on the evaluation set:\n";
    o << "- Loss: " << fmt4(c.eval_results->validation_loss) << "\n";
    o << "- Precision: " << fmt4(c.eval_results->precision) << "\n";
    o << "- Recall: " << fmt4(c.eval_results->recall) << "\n";
    o << "- F1: " << fmt4(c.eval_results->f1) << "\n";
  }
  o << "\n## Model description\n\nMore information needed\n";
  o << "\n## Intended uses & limitations\n\nMore information needed\n";
  o << "\n## Training and evaluation data\n\nMore information needed\n";
  o << "\n## Training procedure\n\n### Training hyperparameters\n\n";
  o << "The following hyperparameters were used during training:\n";
  for (const auto& [k, v] : c.hyperparameters) o << "- " << k << ": " << v << "\n";
  o << "\n### Training results\n\n";
  o << "| Training Loss | Epoch | Step | Validation Loss | Precision | Recall | F1     |\n";
  o << "|:-------------:|:-----:|:----:|:---------------:|:---------:|:------:|:------:|\n";
  for (const auto& r : c.results) {
    char line[256];
    std::snprintf(line, sizeof line, "| %-13s | %-5s | %-4lld | %-15s | %-9s | %-6s | %-6s |\n",
                  r.training_loss ? fmt4(*r.training_loss).c_str() : "No log", epoch_str(r.epoch).c_str(),
                  static_cast<long long>(r.step), fmt4(r.validation_loss).c_str(), fmt4(r.precision).c_str(),
                  fmt4(r.recall).c_str(), fmt4(r.f1).c_str());
    o << line;
  }
  o << "\n\n### Framework versions\n\n";
  for (const auto& [k, v] : c.framework_versions) o << "- " << k << " " << v << "\n";
  return o.str();
}

std::vector<std::pair<std::string, std::string>> framework_versions() {
  std::vector<std::pair<std::string, std::string>> v;
  v.emplace_back("bert-emotion", BERT_EMOTION_VERSION);
  const dnnl_version_t* d = dnnl_version();
  v.emplace_back("oneDNN", std::to_string(d->major) + "." + std::to_string(d->minor) + "." + std::to_string(d->patch));
  v.emplace_back("nlohmann-json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                                      std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                                      std::to_string(NLOHMANN_JSON_VERSION_PATCH));
  v.emplace_back("utf8proc", utf8proc_version());
  v.emplace_back("libcurl", LIBCURL_VERSION);
  v.emplace_back("CLI11", CLI11_VERSION);
  return v;
}

}  // namespace bert_emotion

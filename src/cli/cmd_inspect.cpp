// cmd_inspect.cpp — `bert-emotion inspect MODEL [--json]`: what a model directory holds.
//
// Architecture, sizes, parameter counts (total and without the classification head), the weights
// file (validated: every safetensors rule and every tensor shape is checked, so a bad file fails
// here with the loader's message), labels, a tokenizer summary read straight from tokenizer.json /
// tokenizer_config.json (model type, vocabulary size, lowercasing, special tokens) and file sizes.
// A directory without model.safetensors (a tokenizer-only download) is still described.
// MODEL is a directory or a hub id (resolve_model_path).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "hub/hub.hpp"
#include "kernels/cpu_isa.hpp"
#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "model/family.hpp"
#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct InspectOptions {
  std::string model;
  bool json = false;
};

json parse_json_file(const fs::path& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {  // parse_error, or out_of_range 406 (number overflow: 1e400)
    throw FormatError(path.string() + ": not valid JSON: " + e.what());
  }
}

// Just enough of tokenizer.json to describe it; the tokenizer library does the real parsing.
json describe_tokenizer(const fs::path& dir) {
  json t = json::object();
  json files = json::array();
  for (const auto& name : tokenizer_file_names())
    if (fs::exists(dir / name)) files.push_back(name);
  t["files"] = files;
  if (fs::exists(dir / "tokenizer.json")) {
    const json tj = parse_json_file(dir / "tokenizer.json");
    const json model = tj.value("model", json::object());
    if (model.is_object()) {
      t["model_type"] = model.value("type", "");
      if (model.contains("vocab") && (model["vocab"].is_object() || model["vocab"].is_array()))
        t["vocab_size"] = model["vocab"].size();
    }
    // BertNormalizer carries `lowercase`; a Sequence may hold a Lowercase normalizer.
    bool lowercase = false;
    const json norm = tj.value("normalizer", json());
    std::vector<json> stack = {norm};
    while (!stack.empty()) {
      const json n = stack.back();
      stack.pop_back();
      if (!n.is_object()) continue;
      const std::string type = n.value("type", "");
      if (type == "BertNormalizer" && n.value("lowercase", false)) lowercase = true;
      if (type == "Lowercase") lowercase = true;
      if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array())
        for (const auto& c : n["normalizers"]) stack.push_back(c);
    }
    t["lowercase"] = lowercase;
    json specials = json::object();
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
      for (const auto& a : tj["added_tokens"])
        if (a.is_object() && a.value("special", false) && a.contains("content") && a.contains("id"))
          specials[a["content"].get<std::string>()] = a["id"];
    t["special_tokens"] = specials;
  } else if (fs::exists(dir / "vocab.txt")) {
    // vocab.txt only: one token per line
    const std::string v = read_file(dir / "vocab.txt");
    t["model_type"] = "WordPiece";
    t["vocab_size"] = std::count(v.begin(), v.end(), '\n') + (!v.empty() && v.back() != '\n');
  }
  if (fs::exists(dir / "tokenizer_config.json")) {
    const json tc = parse_json_file(dir / "tokenizer_config.json");
    if (tc.is_object()) {
      for (const char* k : {"tokenizer_class", "do_lower_case", "model_max_length"})
        if (tc.contains(k)) t[k] = tc[k];
    }
  }
  return t;
}

bool has_weights(const fs::path& dir) {
  try {
    Checkpoint::weights_path(dir);
    return true;
  } catch (const IoError&) {
    return false;
  }
}

json inspect_model(const fs::path& dir) {
  const ModelConfig cfg = load_config(dir / "config.json");
  const ParamLayout layout(cfg);
  size_t without_head = 0;
  for (const auto& p : layout.params()) without_head += p.head ? 0 : p.numel;

  const FamilySpec& family = family_spec(cfg);
  const bool distil = cfg.family == Family::distilbert;
  const json written = config_to_json(cfg);  // floats as config.json spells them (0.1, not 0.10000000149)
  json r = json::object();
  r["path"] = dir.string();
  r["model_type"] = cfg.model_type;
  r["family"] = family.model_type;
  r["architectures"] = cfg.architectures;
  r["config"] = {{"vocab_size", cfg.vocab_size},
                 {"dim", cfg.dim},
                 {"n_layers", cfg.n_layers},
                 {"n_heads", cfg.n_heads},
                 {"head_dim", cfg.head_dim()},
                 {"hidden_dim", cfg.hidden_dim},
                 {"max_position_embeddings", cfg.max_position_embeddings},
                 {"sinusoidal_pos_embds", cfg.sinusoidal_pos_embds},
                 {"activation", cfg.activation},
                 {"dropout", written[distil ? "dropout" : "hidden_dropout_prob"]},
                 {"attention_dropout", written[distil ? "attention_dropout" : "attention_probs_dropout_prob"]},
                 {"seq_classif_dropout", distil                                    ? written["seq_classif_dropout"]
                                         : written["classifier_dropout"].is_null() ? written["hidden_dropout_prob"]
                                                                                   : written["classifier_dropout"]},
                 {"type_vocab_size", cfg.type_vocab_size},
                 {"layer_norm_eps", written.value("layer_norm_eps", json(1e-12))},
                 {"pad_token_id", cfg.pad_token_id}};
  r["parameters"] = {{"total", layout.size()}, {"without_head", without_head}};
  r["labels"] = cfg.label_names();
  r["problem_type"] = cfg.problem_type.empty() ? json() : json(cfg.problem_type);

  if (has_weights(dir)) {
    const LoadedModel m = load_model_dir(dir, {.allow_missing_head = true});
    std::map<std::string, int> dtypes;
    for (const auto& t : m.file->tensors()) dtypes[dtype_name(t.dtype)]++;
    // tensors the model uses, under either naming (see load_model_dir); the rest are ignored
    auto present = [&](const std::string& name) {
      if (m.file->find(name) != nullptr) return true;
      const std::string prefix = family.prefix;
      return name.rfind(prefix, 0) == 0 && m.file->find(name.substr(prefix.size())) != nullptr;
    };
    size_t used = 0;
    for (const auto& p : layout.params()) used += present(p.name);
    r["weights"] = {{"file", fs::path(m.file->source()).filename().string()},
                    {"format", m.file->format()},
                    {"files", m.file->files().size()},
                    {"tensors", m.file->tensors().size()},
                    {"tensors_ignored", m.file->tensors().size() - used},
                    {"dtype", m.weights_dtype},
                    {"dtypes", dtypes},
                    {"has_head", m.has_head},
                    {"metadata", m.file->metadata()}};
  } else {
    r["weights"] = nullptr;
  }
  r["tokenizer"] = describe_tokenizer(dir);
  json files = json::object();
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files[e.path().filename().string()] = e.file_size();
  r["files"] = files;
  r["cpu_isa"] = cpu_isa_summary();  // the int8 kernels' instruction set on this machine
  return r;
}

std::string with_commas(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string s;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

std::string human_size(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

void print_table(const json& r, std::ostream& out) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.reserve(12);
  const json& c = r["config"];
  std::string arch;
  for (const auto& a : r["architectures"]) arch += (arch.empty() ? "" : ", ") + a.get<std::string>();
  rows.emplace_back("model", r["path"].get<std::string>());
  rows.emplace_back("architecture",
                    (arch.empty() ? "(none)" : arch) + " [family " + r["family"].get<std::string>() + "]");
  rows.emplace_back("sizes", "dim " + c["dim"].dump() + ", " + c["n_layers"].dump() + " layers, " +
                                 c["n_heads"].dump() + " heads (head dim " + c["head_dim"].dump() + "), hidden " +
                                 c["hidden_dim"].dump() + ", vocab " + c["vocab_size"].dump() + ", " +
                                 c["max_position_embeddings"].dump() +
                                 (c["sinusoidal_pos_embds"].get<bool>() ? " sinusoidal" : "") + " positions");
  rows.emplace_back("activation", c["activation"].get<std::string>() + "; dropout " + c["dropout"].dump() +
                                      ", attention " + c["attention_dropout"].dump() + ", classifier " +
                                      c["seq_classif_dropout"].dump());
  rows.emplace_back("parameters", with_commas(r["parameters"]["total"].get<uint64_t>()) + " (" +
                                      with_commas(r["parameters"]["without_head"].get<uint64_t>()) +
                                      " without the classification head)");
  if (r["weights"].is_null()) {
    rows.emplace_back("weights", "none (no model.safetensors)");
  } else {
    const json& w = r["weights"];
    std::string dt;
    for (auto it = w["dtypes"].begin(); it != w["dtypes"].end(); ++it)
      dt += (dt.empty() ? "" : ", ") + it.key() + " x" + it.value().dump();
    rows.emplace_back("weights", "model.safetensors: " + w["tensors"].dump() + " tensors (" + dt + "), " +
                                     w["tensors_ignored"].dump() + " unused; classification head: " +
                                     (w["has_head"].get<bool>() ? "yes" : "no (fine-tune first)"));
  }
  std::string labels;
  int id = 0;
  for (const auto& l : r["labels"])
    labels += (labels.empty() ? "" : ", ") + std::to_string(id++) + " " + l.get<std::string>();
  rows.emplace_back("labels", std::to_string(r["labels"].size()) + ": " + labels);
  if (!r["problem_type"].is_null()) rows.emplace_back("problem type", r["problem_type"].get<std::string>());
  const json& t = r["tokenizer"];
  if (t["files"].empty()) {
    rows.emplace_back("tokenizer", "none (no tokenizer files)");
  } else {
    std::string s = t.value("model_type", std::string("?"));
    if (t.contains("vocab_size")) s += ", vocab " + t["vocab_size"].dump();
    if (t.contains("lowercase")) s += std::string(", lowercase ") + (t["lowercase"].get<bool>() ? "yes" : "no");
    if (t.contains("special_tokens") && !t["special_tokens"].empty()) {
      std::vector<std::pair<int64_t, std::string>> sp;
      for (auto it = t["special_tokens"].begin(); it != t["special_tokens"].end(); ++it)
        sp.emplace_back(it.value().get<int64_t>(), it.key());
      std::sort(sp.begin(), sp.end());
      s += "; special";
      for (const auto& [i, name] : sp) s += " " + name + "=" + std::to_string(i);
    }
    rows.emplace_back("tokenizer", s);
  }
  std::string files;
  for (auto it = r["files"].begin(); it != r["files"].end(); ++it)
    files += (files.empty() ? "" : ", ") + it.key() + " " + human_size(it.value().get<uint64_t>());
  rows.emplace_back("files", files);
  rows.emplace_back("cpu", r["cpu_isa"].get<std::string>() + " (int8 kernels' instruction set)");
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  for (const auto& [k, v] : rows) out << k << std::string(width - k.size() + 2, ' ') << v << "\n";
}

int run_inspect(const InspectOptions& o) {
  const fs::path dir = resolve_model_path(o.model, cli_hub_options());
  const json r = inspect_model(dir);
  if (o.json) std::cout << r.dump(2) << "\n";
  else print_table(r, std::cout);
  return kExitOk;
}

Registrar reg("inspect", [](CLI::App& app) {
  auto* sub =
      app.add_subcommand("inspect", "Describe a model directory: architecture, parameters, weights, labels, tokenizer");
  auto o = std::make_shared<InspectOptions>();
  sub->add_option("model,--model,-m", o->model, "Model directory or hub id (positional, or --model / -m)")->required();
  sub->add_flag("--json", o->json, "Print one JSON object instead of a table");
  return std::function<int()>([o] { return run_inspect(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli

// cmd_init.cpp — `bert-emotion init --config PRESET|FILE.json --out DIR [--seed N] [--labels a,b]
//                 [--tokenizer DIR] [--overwrite]`.
//
// Writes a randomly initialised XForSequenceClassification directory (DistilBERT, BERT or RoBERTa:
// config.json with architectures, id2label/label2id and problem_type single_label_classification
// unless the JSON asks for multi_label_classification; model.safetensors; the tokenizer files of
// --tokenizer). Presets: tiny, base (DistilBERT), bert-tiny, bert-base, roberta-tiny, roberta-base,
// as ../shared/reference/make_model.py's. A JSON --config (a file, or inline text starting with '{')
// overrides keys of the base preset of its model_type (distilbert when absent), as make_model.py
// does; its label maps, architectures and version keys are ignored, labels come from --labels.
//
// --out must be missing or empty: a trained model is never replaced by a random one by accident.
// With --overwrite (--force) a model directory (one with config.json) is replaced as a whole — the
// new model is written beside it and swapped in, so no file of the old model (model card, results,
// checkpoints, tokenizer files) stays behind to misdescribe it. A non-empty directory that is not a
// model directory is never deleted.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "model/config.hpp"
#include "model/family.hpp"
#include "model/init.hpp"
#include "model/model_dir.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct InitOptions {
  std::string config = "tiny";
  std::string out;
  uint64_t seed = 0;
  std::string labels = "anger,joy,optimism,sadness";
  std::string tokenizer;
  bool overwrite = false;
};

namespace fs = std::filesystem;

bool is_empty_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator();
}

// Refuses an --out that holds something, unless --overwrite names a model directory. Returns true
// when an existing model directory is to be replaced.
bool check_out_dir(const fs::path& out, bool overwrite) {
  std::error_code ec;
  if (!fs::exists(out, ec) || is_empty_dir(out)) return false;
  if (!fs::is_directory(out, ec)) throw IoError("--out " + out.string() + " exists and is not a directory");
  if (!overwrite)
    throw InvalidArgument("--out " + out.string() +
                          " is not empty; init would replace what is there with a random model: choose another "
                          "directory, or pass --overwrite to replace it");
  if (!fs::is_regular_file(out / "config.json", ec))
    throw InvalidArgument("--out " + out.string() +
                          " is not empty and not a model directory (no config.json); --overwrite replaces only a "
                          "model directory: choose another --out");
  return true;
}

// Writes the model into a sibling temp directory and swaps it in for `out`, so the old model's
// files all go and a failure leaves the old directory as it was.
void replace_model_dir(const fs::path& out, const ModelConfig& cfg, uint64_t seed, const std::string& tokenizer) {
  const fs::path target = fs::absolute(out).lexically_normal();
  const fs::path base = target.has_filename() ? target : target.parent_path();
  const std::string pid = std::to_string(::getpid());
  const fs::path fresh = base.string() + ".tmp-" + pid, old = base.string() + ".old-" + pid;
  std::error_code ec;
  fs::remove_all(fresh, ec);
  try {
    create_random_model_dir(fresh, cfg, seed, tokenizer);
  } catch (...) {
    fs::remove_all(fresh, ec);
    throw;
  }
  fs::rename(base, old, ec);
  if (ec) {
    fs::remove_all(fresh, ec);
    throw IoError("cannot move " + base.string() + " aside: " + ec.message());
  }
  fs::rename(fresh, base, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::rename(old, base, ec);
    fs::remove_all(fresh, ec);
    throw IoError("cannot rename " + fresh.string() + " to " + base.string() + ": " + why);
  }
  fs::remove_all(old, ec);
}

std::vector<std::string> split_labels(const std::string& s) {
  std::vector<std::string> names;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    std::string name = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t b = name.find_first_not_of(" \t"), e = name.find_last_not_of(" \t");
    name = b == std::string::npos ? "" : name.substr(b, e - b + 1);
    if (name.empty()) throw InvalidArgument("--labels: empty label name in \"" + s + "\"");
    names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

ModelConfig resolve_config(const std::string& spec) {
  for (const char* preset : {"tiny", "base", "bert-tiny", "bert-base", "roberta-tiny", "roberta-base"})
    if (spec == preset) return preset_config(spec);
  nlohmann::json overrides;
  std::string source = spec;
  const size_t first = spec.find_first_not_of(" \t\r\n");
  const bool inline_json = first != std::string::npos && spec[first] == '{';
  if (inline_json) source = "--config";
  else if (!std::filesystem::is_regular_file(spec))
    throw InvalidArgument("--config: \"" + spec +
                          "\" is neither a preset (tiny, base, bert-tiny, bert-base, roberta-tiny, roberta-base), "
                          "a JSON file nor inline JSON");
  try {
    overrides = nlohmann::json::parse(inline_json ? spec : read_file(spec));
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range 406 (number overflow: 1e400)
    throw FormatError(source + ": not valid JSON: " + e.what());
  }
  if (!overrides.is_object()) throw FormatError(source + ": expected a JSON object of config keys");
  std::string model_type = "distilbert";
  if (overrides.contains("model_type")) {
    if (!overrides["model_type"].is_string()) throw FormatError(source + ": key \"model_type\": expected a string");
    model_type = overrides["model_type"].get<std::string>();
  }
  nlohmann::json merged = config_to_json(preset_config(base_preset_name(model_type)));
  for (const char* k :
       {"id2label", "label2id", "num_labels", "architectures", "model_type", "torch_dtype", "transformers_version"})
    overrides.erase(k);
  // An HF alias in the overrides replaces the canonical key of the base preset.
  if (model_type == "distilbert")
    for (const auto& [alias, canonical] :
         {std::pair{"hidden_size", "dim"}, {"num_attention_heads", "n_heads"}, {"num_hidden_layers", "n_layers"}})
      if (overrides.contains(alias)) merged.erase(canonical);
  merged.update(overrides);
  return parse_config(merged, source);
}

int run_init(const InitOptions& o) {
  ModelConfig cfg = resolve_config(o.config);
  set_labels(cfg, split_labels(o.labels));
  if (cfg.problem_type != "multi_label_classification") cfg.problem_type = "single_label_classification";
  const char* architecture = family_spec(cfg).architecture;
  cfg.architectures = {architecture};
  if (check_out_dir(o.out, o.overwrite)) replace_model_dir(o.out, cfg, o.seed, o.tokenizer);
  else create_random_model_dir(o.out, cfg, o.seed, o.tokenizer);

  const ParamLayout layout(cfg);
  std::string labels;
  for (const auto& n : cfg.label_names()) labels += (labels.empty() ? "" : ",") + n;
  std::cout << "wrote " << o.out << ": " << cfg.architectures.front() << ", dim " << cfg.dim << ", " << cfg.n_layers
            << " layers, " << cfg.n_heads << " heads, hidden " << cfg.hidden_dim << ", vocab " << cfg.vocab_size << ", "
            << layout.size() << " parameters, labels " << labels << ", seed " << o.seed << "\n";
  if (o.tokenizer.empty()) std::cout << "note: no --tokenizer given, so the directory has no tokenizer files yet\n";
  return kExitOk;
}

Registrar reg("init", [](CLI::App& app) {
  auto* sub =
      app.add_subcommand("init", "Create a randomly initialised DistilBERT, BERT or RoBERTa classifier directory");
  auto o = std::make_shared<InitOptions>();
  sub->add_option("--config", o->config,
                  "tiny | base | bert-tiny | bert-base | roberta-tiny | roberta-base | FILE.json | inline JSON "
                  "overriding the base preset of its model_type")
      ->capture_default_str();
  sub->add_option("--out", o->out, "Model directory to write")->required();
  sub->add_option("--seed", o->seed, "Random seed")->capture_default_str()->check(AtLeast(0));
  sub->add_option("--labels", o->labels, "Comma-separated label names, in id order")->capture_default_str();
  sub->add_option("--tokenizer", o->tokenizer, "Directory whose tokenizer files are copied");
  sub->add_flag("--overwrite,--force", o->overwrite,
                "Replace an existing model directory at --out as a whole (a non-empty --out is refused otherwise)");
  return std::function<int()>([o] { return run_init(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli

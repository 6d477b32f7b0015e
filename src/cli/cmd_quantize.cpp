// cmd_quantize.cpp — `bert-emotion quantize --model DIR|HUB_ID --out DIR [--dtype int8|bf16]`.
//
// Writes a pre-quantized copy of a fine-tuned model: every linear's weight int8 per output channel
// with its F32 scales (or BF16), everything else F32, config and tokenizer copied
// (model/quantize.hpp, docs/MODELS.md). predict, eval, serve and the Classifier load it as they load
// any model and run it in int8 / bf16 (--dtype auto); the logits equal those of --dtype int8 / bf16
// on the FP32 model.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "hub/hub.hpp"
#include "model/checkpoint.hpp"
#include "model/model_dir.hpp"
#include "model/quantize.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct QuantizeOptions {
  std::string model;
  std::string out;
  std::string dtype = "int8";
};

int run_quantize(const QuantizeOptions& o) {
  const auto src = resolve_model_path(o.model, cli_hub_options());
  const LoadedModel m = load_model_dir(src);
  if (o.dtype == "bf16") save_bf16_model_dir(m, o.out);
  else save_int8_model_dir(m, o.out);
  namespace fs = std::filesystem;
  const auto before = fs::file_size(Checkpoint::weights_path(src)),
             after = fs::file_size(fs::path(o.out) / "model.safetensors");
  std::cout << "wrote " << o.out << ": " << o.dtype << " linears, " << after / (1024 * 1024) << " MiB (from "
            << before / (1024 * 1024) << " MiB " << m.weights_dtype << ")\n";
  return kExitOk;
}

Registrar reg("quantize", [](CLI::App& app) {
  auto* sub = app.add_subcommand(
      "quantize",
      "Write an int8 (per output channel) or bf16 copy of a model's linear weights for faster CPU inference");
  auto o = std::make_shared<QuantizeOptions>();
  sub->add_option("--model,-m", o->model, "Model directory or hub id (FP32, F16 or BF16)")->required();
  sub->add_option("--out,-o", o->out, "Directory to write (must not exist, or be empty)")->required();
  sub->add_option("--dtype", o->dtype, "Weight dtype: int8 or bf16")
      ->capture_default_str()
      ->check(CLI::IsMember({"int8", "bf16"}));
  return std::function<int()>([o] { return run_quantize(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli

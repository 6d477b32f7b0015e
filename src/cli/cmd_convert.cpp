// cmd_convert.cpp — `bert-emotion convert --model DIR|HUB_ID --out DIR [--dtype f32|f16|bf16]`.
//
// Any checkpoint layout (pytorch_model.bin, sharded sets, model.safetensors) to a directory with a
// single model.safetensors, config.json and the tokenizer files (model/convert.hpp). Without
// --dtype every tensor keeps its dtype.
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "hub/hub.hpp"
#include "model/convert.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct ConvertOptions {
  std::string model;
  std::string out;
  std::string dtype;
  bool verbose = false;
};

int run_convert(const ConvertOptions& o) {
  std::optional<Dtype> dtype;
  if (o.dtype == "f32") dtype = Dtype::F32;
  else if (o.dtype == "f16") dtype = Dtype::F16;
  else if (o.dtype == "bf16") dtype = Dtype::BF16;
  else if (!o.dtype.empty()) throw InvalidArgument("--dtype " + o.dtype + ": expected f32, f16 or bf16");
  const auto src = resolve_model_path(o.model, cli_hub_options());
  const ConvertReport r = convert_model_dir(src, o.out, dtype);
  if (o.verbose)
    for (const auto& note : r.notes) std::cerr << "note: " << note << "\n";
  std::cout << "wrote " << o.out << "/model.safetensors: " << r.tensors << " tensors from " << r.format << " "
            << src.string() << (o.dtype.empty() ? "" : " as " + o.dtype) << " (" << r.notes.size()
            << " renamed, ignored or tied)\n";
  return kExitOk;
}

Registrar reg("convert", [](CLI::App& app) {
  auto* sub = app.add_subcommand("convert", "Write any checkpoint layout as a single model.safetensors directory");
  auto o = std::make_shared<ConvertOptions>();
  sub->add_option("--model", o->model, "Model directory or hub id (pytorch_model.bin, sharded or safetensors)")
      ->required();
  sub->add_option("--out", o->out, "Directory to write")->required();
  sub->add_option("--dtype", o->dtype, "f32 | f16 | bf16 for every float tensor (default: keep each tensor's)");
  sub->add_flag("--verbose,-v", o->verbose, "List renamed, ignored and tied tensors");
  return std::function<int()>([o] { return run_convert(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli

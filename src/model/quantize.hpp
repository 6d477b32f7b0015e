// quantize.hpp — a loaded model's inference dtype: FP32 as loaded, dynamic int8 or bf16 linears.
//
// --dtype int8 quantizes every nn.Linear of the model — per block q, k, v, the attention output,
// the FFN's two; the head's dense and classifier — per output channel (kernels/int8_gemm.hpp), as
// torch.ao.quantization.quantize_dynamic does for nn.Linear; embeddings, LayerNorm, softmax and
// attention stay FP32. The int8 copies live in LoadedModel::int8 and Weights' *_i8 pointers select
// them in the forward. A directory written by `bert-emotion quantize` (model_dir.hpp) arrives with
// them already set.
// --dtype bf16 rounds the same linears' weights to bf16 (kernels/bf16_gemm.hpp; activations rounded
// per call, FP32 accumulation and output), as a torch model cast with .to(torch.bfloat16) runs its
// nn.Linear, while embeddings, LayerNorm, softmax, GELU and attention stay FP32. The bf16 copies live
// in LoadedModel::bf16, selected by Weights' *_bf16 pointers; a `quantize --dtype bf16` directory
// (BF16 linear weights, metadata "quantization": kBf16Quantization) loads with them set.
//
//   LoadedModel m = load_model_dir(dir);
//   set_inference_dtype(m, "int8");          // or "f32", or "auto": the directory's own
//   encoder_forward_packed(m.config, m.weights, batch, acts, logits);
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "model/model_dir.hpp"

namespace bert_emotion {

struct CheckpointTensor;  // model/checkpoint.hpp

// The dtypes --dtype accepts, for its help and messages.
inline constexpr const char* kInferenceDtypes = "f32, bf16, int8 or auto";
// The safetensors metadata "quantization" of a bf16 directory: what makes --dtype auto run it in bf16.
inline constexpr const char* kBf16Quantization = "bf16 linear weights";

// Quantizes every linear of `m` (F32 weights required) into m.int8 and points m.weights at it.
void quantize_linears_int8(LoadedModel& m);
// Rounds every linear of `m` (F32 weights required) to bf16 into m.bf16 and points m.weights at it.
void quantize_linears_bf16(LoadedModel& m);
// Prepacks every FP32 linear of `m` for oneDNN's matmul into m.packed_f32 and points m.weights'
// *_packed at it; a no-op (m.packed_f32 stays null) on CPUs without oneDNN's AVX-512 kernels.
// FP32 inference then runs those products 1.0-1.6x faster (kernels/onednn_matmul.hpp) at the cost
// of a second copy of the linear weights in memory.
void pack_linears_f32(LoadedModel& m);

// "f32": the FP32 weights (an int8 directory is refused: it has none; a bf16 one runs its
// bf16-valued weights in FP32); "int8" / "bf16": reduced copies of the linears (a no-op when the
// directory already is one); "auto" or "": the directory's own. Anything else throws
// InvalidArgument naming the value and kInferenceDtypes. When the result is FP32, the linears are
// also prepacked (pack_linears_f32): this is the call that readies a loaded model for inference.
void set_inference_dtype(LoadedModel& m, const std::string& dtype);

// "f32", "bf16" or "int8": what the forward of `m` runs now.
std::string inference_dtype(const LoadedModel& m);

// Writes `m` (FP32 weights) quantized to `out`: model.safetensors as above, config.json and the
// tokenizer files copied from m.dir. The directory is built beside `out` and renamed into place, so
// it appears whole or not at all; an `out` that exists and is not empty is refused.
void save_int8_model_dir(const LoadedModel& m, const std::filesystem::path& out);
// The same with every linear weight BF16 (round to nearest even) and metadata "quantization":
// kBf16Quantization; the other tensors F32.
void save_bf16_model_dir(const LoadedModel& m, const std::filesystem::path& out);

// For load_model_dir: the layout's linear weights (the int8 ones), in the order
// attach_int8_weights takes them.
std::vector<const ParamInfo*> linear_weight_params(const ModelConfig& cfg, const ParamLayout& layout);
// Packs each (I8 weight, F32 scales) pair into m.int8 and points m.weights' *_i8 at them.
void attach_int8_weights(LoadedModel& m,
                         const std::vector<std::pair<const CheckpointTensor*, const CheckpointTensor*>>& per_slot);

}  // namespace bert_emotion

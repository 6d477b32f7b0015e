#include "model/quantize.hpp"

#include <functional>

#include "kernels/int8_gemm.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

// Every linear of the model: its float weight, the int8 slot the forward reads, and [out, in].
struct LinearSlot {
  const float* W;
  const Int8Weights** q;
  int64_t out, in;
};

std::vector<LinearSlot> linear_slots(const ModelConfig& cfg, Weights& w) {
  const int64_t C = cfg.dim, F = cfg.hidden_dim, K = cfg.num_labels();
  std::vector<LinearSlot> s;
  for (auto& L : w.layers) {
    s.push_back({L.q_w, &L.q_i8, C, C});
    s.push_back({L.k_w, &L.k_i8, C, C});
    s.push_back({L.v_w, &L.v_i8, C, C});
    s.push_back({L.o_w, &L.o_i8, C, C});
    s.push_back({L.ff1_w, &L.ff1_i8, F, C});
    s.push_back({L.ff2_w, &L.ff2_i8, C, F});
  }
  s.push_back({w.pre_w, &w.pre_i8, C, C});
  s.push_back({w.cls_w, &w.cls_i8, K, C});
  return s;
}

}  // namespace

void quantize_linears_int8(LoadedModel& m) {
  auto slots = linear_slots(m.config, m.weights);
  auto store = std::make_shared<std::vector<Int8Weights>>(slots.size());
  // One matrix per task: quantizing is per output channel, independent across matrices.
#pragma omp parallel for schedule(dynamic)
  for (size_t i = 0; i < slots.size(); ++i)
    (*store)[i] = quantize_weights_int8(slots[i].W, slots[i].out, slots[i].in);
  for (size_t i = 0; i < slots.size(); ++i) *slots[i].q = &(*store)[i];
  m.int8 = std::move(store);
}

void set_inference_dtype(LoadedModel& m, const std::string& dtype) {
  const bool int8_dir = m.int8 && m.weights.pre_w == nullptr;  // quantized on disk: no FP32 linears
  if (dtype.empty() || dtype == "auto") return;
  if (dtype == "int8") {
    if (!m.int8) quantize_linears_int8(m);
    return;
  }
  if (dtype == "f32") {
    if (int8_dir)
      throw InvalidArgument("--dtype f32: " + m.dir.string() +
                            " holds int8 weights (written by bert-emotion quantize); use --dtype int8 or auto, or "
                            "the FP32 model it was made from");
    return;
  }
  throw InvalidArgument("--dtype: unknown dtype '" + dtype + "'; expected " + kInferenceDtypes);
}

std::string inference_dtype(const LoadedModel& m) { return m.int8 ? "int8" : "f32"; }

}  // namespace bert_emotion

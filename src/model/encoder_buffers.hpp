// encoder_buffers.hpp — internal: the named views carved out of Activations::buf.
//
// One function, carve_buffers(), lays every activation and scratch tensor of a B x T batch out in
// the slab (64-byte aligned, in a fixed order) and returns pointers; called with a null base it
// only measures. Training mode gives every layer its own cache (backward reads them in reverse)
// plus the gradient scratch; inference mode shares one layer's buffers across layers and
// ping-pongs the hidden state between two [B, T, C] tensors. Only encoder_forward.cpp and
// encoder_backward.cpp include this.
//
//   BufferViews v = carve_buffers(cfg, B, T, /*training=*/true, acts.buf.data());
//   float* probs = v.layers[l].probs;          // [B, H, T, T] softmax of layer l
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/pointwise.hpp"
#include "model/config.hpp"
#include "model/encoder.hpp"
#include "model/family.hpp"
#include "model/weights.hpp"

namespace bert_emotion {

struct LayerBuffers {
  float* x_in = nullptr;                           // [B,T,C] layer input (a view of the previous output)
  float *q = nullptr, *k = nullptr, *v = nullptr;  // [B,T,C]; q already scaled by 1/sqrt(D)
  float* probs = nullptr;                          // [B,H,T,T] softmax
  float* probs_dropped = nullptr;                  // [B,H,T,T] after dropout (== probs without dropout)
  uint8_t* attn_keep = nullptr;                    // [B,H,T,T]
  uint8_t* attn_out_keep = nullptr;                // [B,T,C] dropout after the attention output (BERT, RoBERTa)
  float* ctx = nullptr;                            // [B,T,C] attention output before out_lin
  float* res1 = nullptr;                           // [B,T,C] out_lin(ctx) + x_in: sa_layer_norm input
  float *mean1 = nullptr, *rstd1 = nullptr;        // [B,T]
  float* h = nullptr;                              // [B,T,C] sa_layer_norm output
  float* ff_pre = nullptr;                         // [B,T,F] lin1 output (activation input)
  float* ff_act = nullptr;                         // [B,T,F] activation output
  float* res2 = nullptr;                           // [B,T,C] dropout(lin2) + h: output_layer_norm input
  uint8_t* ffn_keep = nullptr;                     // [B,T,C]
  float *mean2 = nullptr, *rstd2 = nullptr;        // [B,T]
  float* out = nullptr;                            // [B,T,C] block output ([B,C] for the last layer)
};
// The last layer runs its queries, residual stream and FFN on the [CLS] rows only (Tq = 1): its
// q, ctx, res1, h, ff_*, res2 and probs then hold B rows, packed at the start of their buffers.

struct BufferViews {
  size_t floats = 0;  // slab size used
  // embeddings
  float* emb_sum = nullptr;                        // [B,T,C] word + position: LayerNorm input
  float *emb_mean = nullptr, *emb_rstd = nullptr;  // [B,T]
  float* emb_ln = nullptr;                         // [B,T,C]
  uint8_t* emb_keep = nullptr;                     // [B,T,C]
  float* emb_out = nullptr;                        // [B,T,C] after dropout: layer 0 input
  std::vector<LayerBuffers> layers;                // n_layers (inference: identical except x_in / out)
  // the last layer's [CLS]-only queries
  float* cls_in = nullptr;  // [B,C] last layer input at t = 0
  // head
  float* cls = nullptr;             // [B,C] last hidden state at t = 0
  float* head_in = nullptr;         // [B,C] dropout(cls) (RoBERTa: dropout before the dense)
  uint8_t* head_in_keep = nullptr;  // [B,C]
  float* pre = nullptr;             // [B,C] the head's dense output (ReLU / tanh input)
  float* pre_act = nullptr;         // [B,C] ReLU / tanh output
  uint8_t* head_keep = nullptr;     // [B,C]
  float* pooled = nullptr;          // [B,C] after dropout: classifier input
  // backward scratch (training only)
  float *d_a = nullptr, *d_b = nullptr, *d_tmp = nullptr, *d_h = nullptr, *d_ctx = nullptr;  // [B,T,C]
  float *d_q = nullptr, *d_k = nullptr, *d_v = nullptr;                                      // [B,T,C]
  float* d_ff = nullptr;                                                                     // [B,T,F]
  float* d_probs = nullptr;                                                                  // [B,H,T,T]
  float *d_cls = nullptr, *d_pre = nullptr, *d_pooled = nullptr;                             // [B,C]
  float* d_xq = nullptr;  // [B,C] last layer: gradient of its [CLS] input rows
};

BufferViews carve_buffers(const ModelConfig& cfg, int B, int T, bool training, float* base);

// Hands out 64-byte aligned pieces of a slab; with a null base it only counts (how carve_buffers
// and the packed forward's buffers are laid out and measured).
struct Carver {
  float* base;
  size_t used = 0;
  float* take(size_t n) {
    float* p = base ? base + used : nullptr;
    used += (n + 15) & ~size_t(15);
    return p;
  }
  uint8_t* take_bytes(size_t n) { return reinterpret_cast<uint8_t*>(take((n + 3) / 4)); }
};

// Checks shared by the padded and the packed forward. InvalidArgument unless dim is divisible by
// n_heads and every size is positive; unless T <= cfg.max_tokens() and the weights have n_layers
// layers (`who` starts the message).
void check_forward_config(const ModelConfig& cfg);
void check_forward_weights_and_length(const ModelConfig& cfg, const Weights& w, int T, const char* who);

// The two halves of a post-LN block around its attention, shared by the padded forward and the
// packed inference forward (encoder_packed.cpp). Rows are tokens (N = B x T padded, or packed).
// q/k/v = x W^T + b with q scaled by 1/sqrt(D); queries from x_q [Nq, C], keys/values from x_kv.
// The family (model/family.hpp) decides the dropout sites; the head is encoder_head_forward's.
void block_qkv_forward(const ModelConfig& cfg, const LayerWeights& w, LayerBuffers& L, const float* x_kv,
                       const float* x_q, int64_t Nkv, int64_t Nq);
// From L.ctx [Nq, C]: out_lin + residual x_q -> LN -> FFN (-> dropout) + residual -> LN into L.out.
void block_output_forward(const ModelConfig& cfg, const LayerWeights& w, LayerBuffers& L, const float* x_q, int64_t Nq,
                          Activation act, const DropoutSpec* dropout, int l);

// Embeddings of N token rows (padded B x T with `row_length` T, or packed with `offsets`) before
// the LayerNorm: the family's sum of word, token type and position rows into out [N, C].
// `positions` is scratch for N position ids (kept for backward).
void embeddings_sum_forward(const ModelConfig& cfg, const Weights& w, const int32_t* ids, const int32_t* type_ids,
                            const int32_t* row_positions, int64_t N, int32_t* positions, float* out);

// The head's buffers, each [B, C]. Eval mode may alias pre, pre_act and pooled (head_in unused).
struct HeadBuffers {
  float *head_in, *pre, *pre_act, *pooled;
  uint8_t *head_in_keep, *head_keep;
};
// The head on the [CLS] rows cls [B, C]: [dropout ->] dense -> ReLU|tanh -> dropout -> classifier,
// logits [B, K].
void encoder_head_forward(const ModelConfig& cfg, const Weights& w, const HeadBuffers& h, const float* cls, int B,
                          float* logits, const DropoutSpec* dropout);

// Dropout sites (streams of dropout_stream): DistilBERT's first, then BERT/RoBERTa's extra ones.
inline uint64_t site_embeddings() { return 0; }
inline uint64_t site_attention(int l) { return 1 + 2 * uint64_t(l); }
inline uint64_t site_ffn(int l) { return 2 + 2 * uint64_t(l); }
inline uint64_t site_head(int n_layers) { return 1 + 2 * uint64_t(n_layers); }
inline uint64_t site_attention_output(int l, int n_layers) { return 2 + 2 * uint64_t(n_layers) + uint64_t(l); }
inline uint64_t site_head_input(int n_layers) { return 2 + 3 * uint64_t(n_layers); }

}  // namespace bert_emotion

// encoder_backward.cpp — the backward pass of encoder.hpp, in the exact reverse order of the
// forward, reading the caches the training-mode forward left in the activation slab. The family's
// parts (model/family.hpp) mirror encoder_forward.cpp's.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/attention.hpp"
#include "kernels/layers.hpp"
#include "kernels/pointwise.hpp"
#include "model/encoder.hpp"
#include "model/encoder_buffers.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

// Gradient of one post-LN block. Queries and the residual stream came from x_q [B, Tq, C], keys and
// values from L.x_in [B, T, C] (Tq == T, x_q == L.x_in, except the last layer's [CLS]-only run with
// Tq = 1). dout [B, Tq, C] -> dx_kv [B, T, C] (overwritten) = the block input's gradient; when
// Tq == 1, dx_q [B, C] is scratch for the [CLS] rows' part, added into dx_kv at t = 0. Parameter
// gradients accumulate into g.
void block_backward(const ModelConfig& cfg, const LayerWeights& w, const LayerWeights& g, const LayerBuffers& L,
                    BufferViews& v, const float* x_q, int Tq, const float* dout, float* dx_q, float* dx_kv,
                    const int32_t* lengths, int B, int T, Activation act, bool dropout_applied) {
  const int64_t C = cfg.dim, F = cfg.hidden_dim, H = cfg.n_heads, D = cfg.head_dim();
  const int64_t Nq = int64_t(B) * Tq, Nkv = int64_t(B) * T;
  const size_t NqC = size_t(Nq * C);
  const bool all_rows = Tq == T && x_q == L.x_in;
  // out = LN2(res2): d res2 -> d_tmp
  layernorm_backward(v.d_tmp, g.ln2_w, g.ln2_b, dout, L.res2, w.ln2_w, L.mean2, L.rstd2, Nq, C, false);
  // res2 = dropout(lin2(ff_act)) + h
  std::copy(v.d_tmp, v.d_tmp + NqC, v.d_h);
  if (dropout_applied && cfg.dropout > 0.f) dropout_backward(v.d_tmp, v.d_tmp, L.ffn_keep, NqC, cfg.dropout);
  linear_backward(v.d_ff, g.ff2_w, g.ff2_b, v.d_tmp, L.ff_act, w.ff2_w, Nq, F, C, false);
  activation_backward(act, v.d_ff, v.d_ff, L.ff_pre, size_t(Nq * F));
  linear_backward(v.d_h, g.ff1_w, g.ff1_b, v.d_ff, L.h, w.ff1_w, Nq, C, F, /*accumulate_dx=*/true);
  // h = LN1(res1), res1 = out_lin(ctx) + x_q: d res1 -> d_tmp, which is also x_q's residual gradient
  layernorm_backward(v.d_tmp, g.ln1_w, g.ln1_b, v.d_h, L.res1, w.ln1_w, L.mean1, L.rstd1, Nq, C, false);
  float* dxq = all_rows ? dx_kv : dx_q;
  std::copy(v.d_tmp, v.d_tmp + NqC, dxq);
  if (dropout_applied && cfg.dropout > 0.f && family_spec(cfg).dropout_after_attention)
    dropout_backward(v.d_tmp, v.d_tmp, L.attn_out_keep, NqC, cfg.dropout);
  linear_backward(v.d_ctx, g.o_w, g.o_b, v.d_tmp, L.ctx, w.o_w, Nq, C, C, false);
  const float p_attn = dropout_applied ? cfg.attention_dropout : 0.f;
  attention_backward(v.d_q, v.d_k, v.d_v, v.d_probs, v.d_ctx, L.q, L.k, L.v, L.probs, L.probs_dropped, L.attn_keep,
                     lengths, B, Tq, T, int(H), int(D), p_attn);
  // q was divided by sqrt(D) after q_lin, so its gradient is divided too.
  const float sqrt_d = static_cast<float>(std::sqrt(double(D)));
  for (size_t i = 0; i < NqC; ++i) v.d_q[i] /= sqrt_d;
  linear_backward(dxq, g.q_w, g.q_b, v.d_q, x_q, w.q_w, Nq, C, C, true);
  linear_backward(dx_kv, g.k_w, g.k_b, v.d_k, L.x_in, w.k_w, Nkv, C, C, /*accumulate_dx=*/all_rows);
  linear_backward(dx_kv, g.v_w, g.v_b, v.d_v, L.x_in, w.v_w, Nkv, C, C, true);
  if (!all_rows)
    for (int b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) dx_kv[int64_t(b) * T * C + c] += dx_q[b * C + c];
}

}  // namespace

void encoder_backward(const ModelConfig& cfg, const Weights& w, const Weights& grads, const TokenBatch& batch,
                      Activations& acts, const float* dlogits) {
  if (!acts.training || !acts.has_backward_state)
    throw InvalidArgument(
        "encoder_backward: needs a preceding training-mode encoder_forward "
        "(activations_reserve(..., training=true))");
  if (acts.B != batch.B || acts.T != batch.T)
    throw InvalidArgument("encoder_backward: batch is " + std::to_string(batch.B) + " x " + std::to_string(batch.T) +
                          " but the cached forward was " + std::to_string(acts.B) + " x " + std::to_string(acts.T));
  if (grads.layers.size() != size_t(cfg.n_layers))
    throw InvalidArgument("encoder_backward: gradient views have " + std::to_string(grads.layers.size()) +
                          " layers, config says " + std::to_string(cfg.n_layers));
  const int B = batch.B, T = batch.T;
  const int64_t C = cfg.dim, K = cfg.num_labels();
  const int64_t BT = int64_t(B) * T;
  const Activation act = parse_activation(cfg.activation);
  const bool drop = acts.dropout_applied;
  BufferViews v = carve_buffers(cfg, B, T, true, acts.buf.data());

  // Head: logits = pooled Wc^T + bc; pooled = dropout(act(pre)); pre = x Wp^T + bp, x = [dropout](cls).
  const FamilySpec& fam = family_spec(cfg);
  const float p_head = cfg.head_dropout();
  const bool drop_head = drop && p_head > 0.f;
  linear_backward(v.d_pooled, grads.cls_w, grads.cls_b, dlogits, v.pooled, w.cls_w, B, C, K, false);
  if (drop_head) dropout_backward(v.d_pooled, v.d_pooled, v.head_keep, size_t(B * C), p_head);
  if (fam.head_tanh) tanh_backward(v.d_pre, v.d_pooled, v.pre, size_t(B * C));
  else relu_backward(v.d_pre, v.d_pooled, v.pre, size_t(B * C));
  const bool head_in_dropped = fam.head_dropout_first && drop_head;
  linear_backward(v.d_cls, grads.pre_w, grads.pre_b, v.d_pre, head_in_dropped ? v.head_in : v.cls, w.pre_w, B, C, C,
                  false);
  if (head_in_dropped) dropout_backward(v.d_cls, v.d_cls, v.head_in_keep, size_t(B * C), p_head);

  // The last layer ran on the [CLS] rows only: its output gradient is d_cls [B, C].
  float* d_out = v.d_a;
  float* d_in = v.d_b;
  const int L = cfg.n_layers;
  if (L == 0) {
    std::fill(d_out, d_out + BT * C, 0.f);
    for (int b = 0; b < B; ++b) std::copy_n(v.d_cls + b * C, C, d_out + int64_t(b) * T * C);
  }
  for (int l = L - 1; l >= 0; --l) {
    const LayerBuffers& lb = v.layers[size_t(l)];
    if (l == L - 1)
      block_backward(cfg, w.layers[size_t(l)], grads.layers[size_t(l)], lb, v, v.cls_in, 1, v.d_cls, v.d_xq, d_in,
                     batch.lengths.data(), B, T, act, drop);
    else
      block_backward(cfg, w.layers[size_t(l)], grads.layers[size_t(l)], lb, v, lb.x_in, T, d_out, nullptr, d_in,
                     batch.lengths.data(), B, T, act, drop);
    std::swap(d_out, d_in);
  }

  // Embeddings: dropout -> LayerNorm -> word (+ token type) + position scatter.
  if (drop && cfg.dropout > 0.f) dropout_backward(d_out, d_out, v.emb_keep, size_t(BT * C), cfg.dropout);
  layernorm_backward(d_in, grads.emb_ln_w, grads.emb_ln_b, d_out, v.emb_sum, w.emb_ln_w, v.emb_mean, v.emb_rstd, BT, C,
                     false);
  if (cfg.family == Family::distilbert)
    embedding_backward(grads.word_emb, cfg.sinusoidal_pos_embds ? nullptr : grads.pos_emb, d_in, batch.ids.data(), B, T,
                       int(C), cfg.pad_token_id);
  else  // the positions the forward left in acts; RoBERTa's padding position row gets no gradient
    embedding_backward_typed(grads.word_emb, grads.pos_emb, grads.type_emb, d_in, batch.ids.data(),
                             acts.positions.data(), batch.type_ids.empty() ? nullptr : batch.type_ids.data(), BT,
                             int(C), cfg.pad_token_id, fam.positions_from_ids ? cfg.pad_token_id : -1);
}

}  // namespace bert_emotion

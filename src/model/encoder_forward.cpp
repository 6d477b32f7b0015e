// encoder_forward.cpp — buffers, batching, the forward pass and the losses of encoder.hpp.
// The family's parts (model/family.hpp) are switched here: embeddings, the dropout after the
// attention output, the head.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/attention.hpp"
#include "kernels/bf16_gemm.hpp"
#include "kernels/int8_gemm.hpp"
#include "kernels/layers.hpp"
#include "kernels/loss.hpp"
#include "kernels/pointwise.hpp"
#include "model/encoder.hpp"
#include "model/encoder_buffers.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

void add_inplace(float* y, const float* x, size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace

void check_forward_config(const ModelConfig& cfg) {
  if (cfg.dim <= 0 || cfg.n_heads <= 0 || cfg.dim % cfg.n_heads != 0 || cfg.n_layers < 0 || cfg.hidden_dim <= 0 ||
      cfg.vocab_size <= 0 || cfg.num_labels() <= 0)
    throw InvalidArgument("distilbert: config needs dim divisible by n_heads and positive sizes (dim " +
                          std::to_string(cfg.dim) + ", n_heads " + std::to_string(cfg.n_heads) + ", hidden_dim " +
                          std::to_string(cfg.hidden_dim) + ", vocab_size " + std::to_string(cfg.vocab_size) +
                          ", labels " + std::to_string(cfg.num_labels()) + ")");
}

void check_forward_weights_and_length(const ModelConfig& cfg, const Weights& w, int T, const char* who) {
  if (T > cfg.max_tokens())
    throw InvalidArgument(std::string(who) + ": sequence length " + std::to_string(T) + " exceeds the model's " +
                          std::to_string(cfg.max_tokens()) + " positions (max_position_embeddings " +
                          std::to_string(cfg.max_position_embeddings) + ")");
  if (w.layers.size() != size_t(cfg.n_layers))
    throw InvalidArgument(std::string(who) + ": weights have " + std::to_string(w.layers.size()) +
                          " layers, config says " + std::to_string(cfg.n_layers));
}

void block_qkv_forward(const ModelConfig& cfg, const LayerWeights& w, LayerBuffers& L, const float* x_kv,
                       const float* x_q, int64_t Nkv, int64_t Nq) {
  const int64_t C = cfg.dim;
  linear_forward_any(L.q, x_q, w.q_w, w.q_i8, w.q_bf16, w.q_packed, w.q_b, Nq, C, C);
  linear_forward_any(L.k, x_kv, w.k_w, w.k_i8, w.k_bf16, w.k_packed, w.k_b, Nkv, C, C);
  linear_forward_any(L.v, x_kv, w.v_w, w.v_i8, w.v_bf16, w.v_packed, w.v_b, Nkv, C, C);
  // HF: q = q / math.sqrt(head_dim), before q k^T.
  const float sqrt_d = static_cast<float>(std::sqrt(double(cfg.head_dim())));
  for (int64_t i = 0; i < Nq * C; ++i) L.q[i] /= sqrt_d;
}

void block_output_forward(const ModelConfig& cfg, const LayerWeights& w, LayerBuffers& L, const float* x_q, int64_t Nq,
                          Activation act, const DropoutSpec* dropout, int l) {
  const int64_t C = cfg.dim, F = cfg.hidden_dim;
  linear_forward_any(L.res1, L.ctx, w.o_w, w.o_i8, w.o_bf16, w.o_packed, w.o_b, Nq, C,
                     C);  // DistilBERT: no dropout after out_lin
  if (dropout && cfg.dropout > 0.f && family_spec(cfg).dropout_after_attention)
    dropout_forward(L.res1, L.attn_out_keep, L.res1, size_t(Nq * C), cfg.dropout, dropout->seed,
                    dropout_stream(dropout->step, site_attention_output(l, cfg.n_layers)));
  add_inplace(L.res1, x_q, size_t(Nq * C));
  layernorm_forward(L.h, L.mean1, L.rstd1, L.res1, w.ln1_w, w.ln1_b, Nq, C, cfg.layer_norm_eps);
  linear_forward_any(L.ff_pre, L.h, w.ff1_w, w.ff1_i8, w.ff1_bf16, w.ff1_packed, w.ff1_b, Nq, C, F);
  activation_forward(act, L.ff_act, L.ff_pre, size_t(Nq * F));
  linear_forward_any(L.res2, L.ff_act, w.ff2_w, w.ff2_i8, w.ff2_bf16, w.ff2_packed, w.ff2_b, Nq, F, C);
  if (dropout && cfg.dropout > 0.f)
    dropout_forward(L.res2, L.ffn_keep, L.res2, size_t(Nq * C), cfg.dropout, dropout->seed,
                    dropout_stream(dropout->step, site_ffn(l)));
  add_inplace(L.res2, L.h, size_t(Nq * C));
  layernorm_forward(L.out, L.mean2, L.rstd2, L.res2, w.ln2_w, w.ln2_b, Nq, C, cfg.layer_norm_eps);
}

void embeddings_sum_forward(const ModelConfig& cfg, const Weights& w, const int32_t* ids, const int32_t* type_ids,
                            const int32_t* row_positions, int64_t N, int32_t* positions, float* out) {
  const FamilySpec& f = family_spec(cfg);
  if (f.positions_from_ids) {
    // Per row: a row starts where row_positions restarts at 0.
    int64_t begin = 0;
    for (int64_t i = 1; i <= N; ++i)
      if (i == N || row_positions[i] == 0) {
        roberta_positions(ids + begin, positions + begin, i - begin, cfg.pad_token_id);
        begin = i;
      }
  } else if (positions != row_positions) {
    std::copy(row_positions, row_positions + N, positions);
  }
  embedding_forward_typed(out, ids, positions, type_ids, w.word_emb, w.pos_emb, w.type_emb, N, cfg.dim, cfg.vocab_size,
                          cfg.max_position_embeddings, cfg.type_vocab_size);
}

void encoder_head_forward(const ModelConfig& cfg, const Weights& w, const HeadBuffers& h, const float* cls, int B,
                          float* logits, const DropoutSpec* dropout) {
  const FamilySpec& f = family_spec(cfg);
  const int64_t C = cfg.dim, K = cfg.num_labels();
  const float p = cfg.head_dropout();
  const bool drop = dropout && p > 0.f;
  const uint64_t seed = dropout ? dropout->seed : 0, step = dropout ? dropout->step : 0;
  const float* x = cls;
  if (f.head_dropout_first && drop) {  // RoBERTa: the head's dropout module runs on token 0 too
    dropout_forward(h.head_in, h.head_in_keep, cls, size_t(B * C), p, seed,
                    dropout_stream(step, site_head_input(cfg.n_layers)));
    x = h.head_in;
  }
  linear_forward_any(h.pre, x, w.pre_w, w.pre_i8, w.pre_bf16, w.pre_packed, w.pre_b, B, C, C);
  if (f.head_tanh) tanh_forward(h.pre_act, h.pre, size_t(B * C));
  else relu_forward(h.pre_act, h.pre, size_t(B * C));
  if (drop)
    dropout_forward(h.pooled, h.head_keep, h.pre_act, size_t(B * C), p, seed,
                    dropout_stream(step, site_head(cfg.n_layers)));
  else if (h.pooled != h.pre_act) std::copy(h.pre_act, h.pre_act + B * C, h.pooled);
  linear_forward_any(logits, h.pooled, w.cls_w, w.cls_i8, w.cls_bf16, w.cls_packed, w.cls_b, B, C, K);
}

namespace {

// One post-LN block. Queries (and the residual stream) come from x_q [B, Tq, C], keys and values
// from x_kv [B, T, C]; Tq == T except for the last layer, which runs on the [CLS] rows only
// (Tq = 1, in training and inference alike: exact, because nothing reads its other positions).
void block_forward(const ModelConfig& cfg, const LayerWeights& w, LayerBuffers& L, const float* x_kv, const float* x_q,
                   const int32_t* lengths, int B, int T, int Tq, Activation act, const DropoutSpec* dropout, int l) {
  const int64_t Nq = int64_t(B) * Tq, Nkv = int64_t(B) * T;
  block_qkv_forward(cfg, w, L, x_kv, x_q, Nkv, Nq);
  const float p_attn = dropout ? cfg.attention_dropout : 0.f;
  const uint64_t seed = dropout ? dropout->seed : 0, step = dropout ? dropout->step : 0;
  attention_forward(L.ctx, L.probs, p_attn > 0.f ? L.probs_dropped : L.probs, L.attn_keep, L.q, L.k, L.v, lengths, B,
                    Tq, T, cfg.n_heads, cfg.head_dim(), p_attn, seed, dropout_stream(step, site_attention(l)));
  block_output_forward(cfg, w, L, x_q, Nq, act, dropout, l);
}

}  // namespace

BufferViews carve_buffers(const ModelConfig& cfg, int B, int T, bool training, float* base) {
  const size_t C = size_t(cfg.dim), F = size_t(cfg.hidden_dim), H = size_t(cfg.n_heads);
  const size_t BT = size_t(B) * size_t(T), BTC = BT * C, BTF = BT * F, BHTT = size_t(B) * H * size_t(T) * size_t(T);
  const size_t BC = size_t(B) * C;
  Carver c{base};
  BufferViews v;
  v.layers.resize(size_t(cfg.n_layers));
  if (training) {
    v.emb_sum = c.take(BTC);
    v.emb_mean = c.take(BT);
    v.emb_rstd = c.take(BT);
    v.emb_ln = c.take(BTC);
    v.emb_keep = c.take_bytes(BTC);
    v.emb_out = c.take(BTC);
    float* x = v.emb_out;
    for (auto& L : v.layers) {
      L.x_in = x;
      L.q = c.take(BTC);
      L.k = c.take(BTC);
      L.v = c.take(BTC);
      L.probs = c.take(BHTT);
      L.probs_dropped = c.take(BHTT);
      L.attn_keep = c.take_bytes(BHTT);
      if (family_spec(cfg).dropout_after_attention) L.attn_out_keep = c.take_bytes(BTC);
      L.ctx = c.take(BTC);
      L.res1 = c.take(BTC);
      L.mean1 = c.take(BT);
      L.rstd1 = c.take(BT);
      L.h = c.take(BTC);
      L.ff_pre = c.take(BTF);
      L.ff_act = c.take(BTF);
      L.res2 = c.take(BTC);
      L.ffn_keep = c.take_bytes(BTC);
      L.mean2 = c.take(BT);
      L.rstd2 = c.take(BT);
      if (&L != &v.layers.back()) L.out = c.take(BTC);
      x = L.out;
    }
    v.d_a = c.take(BTC);
    v.d_b = c.take(BTC);
    v.d_tmp = c.take(BTC);
    v.d_h = c.take(BTC);
    v.d_ctx = c.take(BTC);
    v.d_q = c.take(BTC);
    v.d_k = c.take(BTC);
    v.d_v = c.take(BTC);
    v.d_ff = c.take(BTF);
    v.d_probs = c.take(BHTT);
    v.d_cls = c.take(BC);
    v.d_xq = c.take(BC);
    v.d_pre = c.take(BC);
    v.d_pooled = c.take(BC);
  } else {
    // One layer's worth, shared; the hidden state alternates between x0 and x1.
    float* x0 = c.take(BTC);
    float* x1 = c.take(BTC);
    LayerBuffers S;
    S.q = c.take(BTC);
    S.k = c.take(BTC);
    S.v = c.take(BTC);
    S.probs = c.take(BHTT);
    S.probs_dropped = S.probs;
    S.ctx = c.take(BTC);
    S.res1 = c.take(BTC);
    S.h = c.take(BTC);
    S.ff_pre = c.take(BTF);
    S.ff_act = S.ff_pre;  // activation in place
    S.res2 = c.take(BTC);
    v.emb_sum = S.res1;
    v.emb_ln = x0;
    v.emb_out = x0;
    for (size_t l = 0; l < v.layers.size(); ++l) {
      v.layers[l] = S;
      v.layers[l].x_in = (l % 2 == 0) ? x0 : x1;
      v.layers[l].out = (l % 2 == 0) ? x1 : x0;
    }
  }
  v.cls_in = c.take(BC);
  v.cls = c.take(BC);
  if (!v.layers.empty()) v.layers.back().out = v.cls;  // the last layer runs on [CLS] rows only
  if (training && family_spec(cfg).head_dropout_first) {
    v.head_in = c.take(BC);
    v.head_in_keep = c.take_bytes(BC);
  }
  v.pre = c.take(BC);
  v.pre_act = c.take(BC);
  v.head_keep = c.take_bytes(BC);
  v.pooled = c.take(BC);
  v.floats = c.used;
  return v;
}

size_t activations_bytes(const ModelConfig& cfg, int B, int T, bool training) {
  return carve_buffers(cfg, B, T, training, nullptr).floats * sizeof(float);
}

void activations_reserve(Activations& acts, const ModelConfig& cfg, int B, int T, bool training) {
  check_forward_config(cfg);
  if (B <= 0 || T <= 0)
    throw InvalidArgument("activations_reserve: batch " + std::to_string(B) + " x " + std::to_string(T) +
                          " tokens must be positive");
  acts.B_max = B;
  acts.T_max = T;
  acts.training = training;
  acts.buf.assign(carve_buffers(cfg, B, T, training, nullptr).floats, 0.f);
  acts.positions.assign(size_t(B) * size_t(T), 0);
  acts.B = acts.T = 0;
  acts.has_backward_state = false;
  acts.dropout_applied = false;
}

TokenBatch make_batch(const std::vector<std::vector<int32_t>>& rows, int32_t pad_id,
                      const std::vector<std::vector<int32_t>>& type_rows) {
  TokenBatch batch;
  batch.B = static_cast<int>(rows.size());
  for (const auto& r : rows) batch.T = std::max(batch.T, static_cast<int>(r.size()));
  batch.ids.assign(size_t(batch.B) * size_t(batch.T), pad_id);
  batch.lengths.resize(rows.size());
  if (!type_rows.empty()) {
    if (type_rows.size() != rows.size())
      throw InvalidArgument("make_batch: " + std::to_string(type_rows.size()) + " token type rows for " +
                            std::to_string(rows.size()) + " rows");
    batch.type_ids.assign(batch.ids.size(), 0);
  }
  for (size_t b = 0; b < rows.size(); ++b) {
    std::copy(rows[b].begin(), rows[b].end(), batch.ids.begin() + std::ptrdiff_t(b * size_t(batch.T)));
    batch.lengths[b] = static_cast<int32_t>(rows[b].size());
    if (type_rows.empty()) continue;
    if (type_rows[b].size() != rows[b].size())
      throw InvalidArgument("make_batch: row " + std::to_string(b) + " has " + std::to_string(rows[b].size()) +
                            " tokens but " + std::to_string(type_rows[b].size()) + " token types");
    std::copy(type_rows[b].begin(), type_rows[b].end(), batch.type_ids.begin() + std::ptrdiff_t(b * size_t(batch.T)));
  }
  return batch;
}

void encoder_forward(const ModelConfig& cfg, const Weights& w, const TokenBatch& batch, Activations& acts,
                     float* logits, const DropoutSpec* dropout) {
  check_forward_config(cfg);
  const int B = batch.B, T = batch.T;
  const int64_t C = cfg.dim;
  if (B <= 0 || T <= 0)
    throw InvalidArgument("encoder_forward: empty batch (" + std::to_string(B) + " x " + std::to_string(T) + ")");
  if (batch.ids.size() != size_t(B) * size_t(T) || batch.lengths.size() != size_t(B))
    throw InvalidArgument("encoder_forward: batch has " + std::to_string(batch.ids.size()) + " ids and " +
                          std::to_string(batch.lengths.size()) + " lengths, expected " + std::to_string(B * T) +
                          " and " + std::to_string(B));
  if (!batch.type_ids.empty() && batch.type_ids.size() != batch.ids.size())
    throw InvalidArgument("encoder_forward: batch has " + std::to_string(batch.type_ids.size()) + " token types for " +
                          std::to_string(batch.ids.size()) + " ids");
  for (int b = 0; b < B; ++b)
    if (batch.lengths[b] < 0 || batch.lengths[b] > T)
      throw InvalidArgument("encoder_forward: row " + std::to_string(b) + " has length " +
                            std::to_string(batch.lengths[b]) + ", outside [0, " + std::to_string(T) + "]");
  check_forward_weights_and_length(cfg, w, T, "encoder_forward");
  const size_t need = carve_buffers(cfg, B, T, acts.training, nullptr).floats;
  if (acts.buf.size() < need || B > acts.B_max || T > acts.T_max)
    throw InvalidArgument("encoder_forward: batch " + std::to_string(B) + " x " + std::to_string(T) +
                          " exceeds the reserved activations (" + std::to_string(acts.B_max) + " x " +
                          std::to_string(acts.T_max) + "); call activations_reserve with a larger shape");
  if (dropout && !acts.training)
    throw InvalidArgument(
        "encoder_forward: dropout needs training-mode activations (activations_reserve(..., "
        "training=true))");
  const Activation act = parse_activation(cfg.activation);
  BufferViews v = carve_buffers(cfg, B, T, acts.training, acts.buf.data());
  const uint64_t seed = dropout ? dropout->seed : 0, step = dropout ? dropout->step : 0;
  const int64_t BT = int64_t(B) * T;

  // Embeddings: word (+ token type) + position -> LayerNorm -> dropout.
  if (cfg.family == Family::distilbert) {
    embedding_forward(v.emb_sum, batch.ids.data(), w.word_emb, w.pos_emb, B, T, int(C), cfg.vocab_size);
  } else {
    if (acts.positions.size() < size_t(BT)) acts.positions.resize(size_t(BT));
    std::vector<int32_t>& row_positions = acts.positions;  // 0..T-1 per row, then the family's ids
    for (int64_t i = 0; i < BT; ++i) row_positions[size_t(i)] = int32_t(i % T);
    embeddings_sum_forward(cfg, w, batch.ids.data(), batch.type_ids.empty() ? nullptr : batch.type_ids.data(),
                           row_positions.data(), BT, row_positions.data(), v.emb_sum);
  }
  layernorm_forward(v.emb_ln, v.emb_mean, v.emb_rstd, v.emb_sum, w.emb_ln_w, w.emb_ln_b, BT, C, cfg.layer_norm_eps);
  if (acts.training) {
    if (dropout && cfg.dropout > 0.f)
      dropout_forward(v.emb_out, v.emb_keep, v.emb_ln, size_t(BT * C), cfg.dropout, seed,
                      dropout_stream(step, site_embeddings()));
    else std::copy(v.emb_ln, v.emb_ln + BT * C, v.emb_out);
  }

  // Transformer blocks, then gather the [CLS] rows.
  const int n_layers = cfg.n_layers;
  for (int l = 0; l < n_layers; ++l) {
    LayerBuffers& L = v.layers[size_t(l)];
    if (l == n_layers - 1) {
      // The head reads only t = 0 of the last layer, so only those queries (and their FFN) run;
      // keys and values still cover every position. Exact: no other output of this layer is read.
      for (int b = 0; b < B; ++b) std::copy_n(L.x_in + int64_t(b) * T * C, C, v.cls_in + b * C);
      block_forward(cfg, w.layers[size_t(l)], L, L.x_in, v.cls_in, batch.lengths.data(), B, T, 1, act, dropout, l);
    } else {
      block_forward(cfg, w.layers[size_t(l)], L, L.x_in, L.x_in, batch.lengths.data(), B, T, T, act, dropout, l);
    }
  }
  if (n_layers == 0)
    for (int b = 0; b < B; ++b) std::copy_n(v.emb_out + int64_t(b) * T * C, C, v.cls + b * C);

  encoder_head_forward(cfg, w, {v.head_in, v.pre, v.pre_act, v.pooled, v.head_in_keep, v.head_keep}, v.cls, B, logits,
                       dropout);

  acts.B = B;
  acts.T = T;
  acts.has_backward_state = acts.training;
  acts.dropout_applied = dropout != nullptr;
}

float cross_entropy_forward_backward(const float* logits, const int32_t* labels, int B, int K, float* dlogits) {
  const float loss = cross_entropy_forward(logits, labels, B, K, nullptr);
  if (dlogits != nullptr) cross_entropy_backward(dlogits, logits, labels, B, K);
  return loss;
}

float bce_with_logits_forward_backward(const float* logits, const float* targets, int B, int K, float* dlogits) {
  const float loss = bce_with_logits_forward(logits, targets, B, K);
  if (dlogits != nullptr) bce_with_logits_backward(dlogits, logits, targets, B, K);
  return loss;
}

}  // namespace bert_emotion

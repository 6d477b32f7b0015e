// encoder_packed.cpp — the packed (no padding) inference forward of encoder.hpp.
//
// Same layers as encoder_forward in eval mode, on token rows laid end to end: every linear layer,
// LayerNorm and the FFN run over the N real tokens of the batch, attention runs per row over its own
// length (attention_forward_varlen), and the last layer computes its [CLS] rows only. With no
// padding, a batch's cost is its real tokens whatever the mix of lengths: the HTTP batcher can run
// requests in arrival order without sorting or splitting.
#include <algorithm>
#include <string>

#include "kernels/attention.hpp"
#include "kernels/layers.hpp"
#include "kernels/pointwise.hpp"
#include "model/encoder.hpp"
#include "model/encoder_buffers.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

struct PackedViews {
  float *x0, *x1, *cls_in, *pre, *scratch;
  LayerBuffers L;  // q, k, v, ctx, res1, h, ff_pre (= ff_act), res2; x_in / out set per layer
  size_t floats;
};

// Lays the buffers of a batch of N tokens, B rows and `scratch` attention floats out in `base`
// (64-byte aligned pieces); with a null base it only measures.
PackedViews carve(const ModelConfig& cfg, int64_t N, int B, size_t scratch, float* base) {
  Carver c{base};
  const size_t NC = size_t(N) * size_t(cfg.dim), NF = size_t(N) * size_t(cfg.hidden_dim);
  const size_t BC = size_t(B) * size_t(cfg.dim);
  PackedViews v{};
  v.x0 = c.take(NC);
  v.x1 = c.take(NC);
  v.L.q = c.take(NC);
  v.L.k = c.take(NC);
  v.L.v = c.take(NC);
  v.L.ctx = c.take(NC);
  v.L.res1 = c.take(NC);
  v.L.h = c.take(NC);
  v.L.ff_pre = c.take(NF);
  v.L.ff_act = v.L.ff_pre;  // activation in place
  v.L.res2 = c.take(NC);
  v.cls_in = c.take(BC);
  v.pre = c.take(BC);
  v.scratch = c.take(scratch);
  v.floats = c.used;
  return v;
}

}  // namespace

PackedBatch pack_rows(const std::vector<std::vector<int32_t>>& rows,
                      const std::vector<std::vector<int32_t>>& type_rows) {
  if (!type_rows.empty() && type_rows.size() != rows.size())
    throw InvalidArgument("pack_rows: " + std::to_string(type_rows.size()) + " token type rows for " +
                          std::to_string(rows.size()) + " rows");
  PackedBatch batch;
  batch.B = static_cast<int>(rows.size());
  batch.offsets.assign(1, 0);
  size_t total = 0;
  for (const auto& r : rows) total += r.size();
  batch.ids.reserve(total);
  batch.positions.reserve(total);
  for (size_t b = 0; b < rows.size(); ++b) {
    if (rows[b].empty()) throw InvalidArgument("pack_rows: row " + std::to_string(b) + " has no tokens");
    batch.ids.insert(batch.ids.end(), rows[b].begin(), rows[b].end());
    if (!type_rows.empty()) {
      if (type_rows[b].size() != rows[b].size())
        throw InvalidArgument("pack_rows: row " + std::to_string(b) + " has " + std::to_string(rows[b].size()) +
                              " tokens but " + std::to_string(type_rows[b].size()) + " token types");
      batch.type_ids.insert(batch.type_ids.end(), type_rows[b].begin(), type_rows[b].end());
    }
    for (size_t t = 0; t < rows[b].size(); ++t) batch.positions.push_back(static_cast<int32_t>(t));
    batch.offsets.push_back(static_cast<int32_t>(batch.ids.size()));
    batch.T_max = std::max(batch.T_max, static_cast<int>(rows[b].size()));
  }
  return batch;
}

void encoder_forward_packed(const ModelConfig& cfg, const Weights& w, const PackedBatch& batch, PackedActivations& acts,
                            float* logits) {
  const int B = batch.B;
  const int64_t N = batch.tokens(), C = cfg.dim;
  if (B <= 0 || N <= 0) throw InvalidArgument("encoder_forward_packed: empty batch");
  if (batch.offsets.size() != size_t(B) + 1 || batch.ids.size() != size_t(N) || batch.positions.size() != size_t(N) ||
      (!batch.type_ids.empty() && batch.type_ids.size() != size_t(N)))
    throw InvalidArgument("encoder_forward_packed: inconsistent batch (" + std::to_string(B) + " rows, " +
                          std::to_string(batch.offsets.size()) + " offsets, " + std::to_string(batch.ids.size()) +
                          " ids, " + std::to_string(batch.positions.size()) + " positions)");
  check_forward_config(cfg);
  check_forward_weights_and_length(cfg, w, batch.T_max, "encoder_forward_packed");
  const Activation act = parse_activation(cfg.activation);

  // [CLS] query rows of the last layer: one per row.
  std::vector<int32_t> cls_offsets(size_t(B) + 1);
  for (int b = 0; b <= B; ++b) cls_offsets[size_t(b)] = b;
  const size_t scratch = attention_varlen_scratch_floats(batch.offsets.data(), batch.offsets.data(), B);
  const size_t need = carve(cfg, N, B, scratch, nullptr).floats;
  PackedViews v = carve(cfg, N, B, scratch, acts.buf.ensure(need));

  if (cfg.family == Family::distilbert) {
    embedding_forward_packed(v.L.res1, batch.ids.data(), batch.positions.data(), w.word_emb, w.pos_emb, N, int(C),
                             cfg.vocab_size);
  } else {
    if (acts.positions.size() < size_t(N)) acts.positions.resize(size_t(N));
    embeddings_sum_forward(cfg, w, batch.ids.data(), batch.type_ids.empty() ? nullptr : batch.type_ids.data(),
                           batch.positions.data(), N, acts.positions.data(), v.L.res1);
  }
  layernorm_forward(v.x0, nullptr, nullptr, v.L.res1, w.emb_ln_w, w.emb_ln_b, N, C, cfg.layer_norm_eps);

  float* x = v.x0;
  for (int l = 0; l < cfg.n_layers; ++l) {
    LayerBuffers L = v.L;
    const bool last = l == cfg.n_layers - 1;
    const float* x_q = x;
    int64_t Nq = N;
    const int32_t* q_offsets = batch.offsets.data();
    if (last) {  // only the [CLS] rows are read after the last layer (see encoder_forward)
      for (int b = 0; b < B; ++b) std::copy_n(x + int64_t(batch.offsets[size_t(b)]) * C, C, v.cls_in + b * C);
      x_q = v.cls_in;
      Nq = B;
      q_offsets = cls_offsets.data();
    }
    L.out = (x == v.x0) ? v.x1 : v.x0;
    block_qkv_forward(cfg, w.layers[size_t(l)], L, x, x_q, N, Nq);
    attention_forward_varlen(L.ctx, v.scratch, L.q, L.k, L.v, q_offsets, batch.offsets.data(), B, cfg.n_heads,
                             cfg.head_dim());
    block_output_forward(cfg, w.layers[size_t(l)], L, x_q, Nq, act, /*dropout=*/nullptr, l);
    x = L.out;
  }
  // x: [B, C] [CLS] hidden states after the last layer (or the embeddings' [CLS] rows with no layer).
  if (cfg.n_layers == 0) {
    for (int b = 0; b < B; ++b) std::copy_n(x + int64_t(batch.offsets[size_t(b)]) * C, C, v.cls_in + b * C);
    x = v.cls_in;
  }
  // Head (dropout is identity in eval mode): the dense, its activation and the classifier in place.
  encoder_head_forward(cfg, w, {nullptr, v.pre, v.pre, v.pre, nullptr, nullptr}, x, B, logits, /*dropout=*/nullptr);
}

}  // namespace bert_emotion

// distilbert.hpp — DistilBertForSequenceClassification forward and backward, llm.c style.
//
// Plain functions over the named weight views of weights.hpp. Shapes use a fixed vocabulary:
// B batch, T padded sequence length, C dim, H heads, D head_dim = C/H, F hidden_dim, K labels,
// V vocab. A batch is right-padded (dynamic padding to its longest row); position t of row b is a
// real token iff t < lengths[b]. Semantics are exactly Transformers 4.35's (see
// ../shared/reference/README.md): post-LN blocks, q scaled before q·k^T, masked keys set to the
// float32 minimum, exact-erf GELU, head = [CLS] -> pre_classifier -> ReLU -> dropout -> classifier.
//
//   Activations acts;
//   activations_reserve(acts, cfg, /*B=*/32, /*T=*/128, /*training=*/false);
//   TokenBatch batch = make_batch({{101, 1422, 102}, {101, 102}}, cfg.pad_token_id);
//   std::vector<float> logits(batch.B * cfg.num_labels());
//   distilbert_forward(cfg, weights, batch, acts, logits.data(), /*dropout=*/nullptr);
//
// Training: forward with a DropoutSpec and training buffers, cross_entropy_forward_backward for the
// loss and dlogits, then distilbert_backward accumulates (+=) into gradient views laid out like
// the weights (a second arena from the same ParamLayout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/config.hpp"
#include "model/weights.hpp"

namespace bert_emotion {

struct TokenBatch {
  int B = 0, T = 0;
  std::vector<int32_t> ids;      // [B, T], padded with pad id
  std::vector<int32_t> lengths;  // [B], real tokens per row (mask = t < lengths[b])
};

// Right-pads `rows` to the longest one with `pad_id`.
TokenBatch make_batch(const std::vector<std::vector<int32_t>>& rows, int32_t pad_id);

// Dropout for one training step. Masks are a pure function of (seed, step, site), so a step can be
// replayed (resume, tests) without RNG state. Probabilities come from the config.
struct DropoutSpec {
  uint64_t seed = 42;
  uint64_t step = 0;
};

// Buffers for a batch of at most B x T tokens, sized once (no allocation in the step loop).
// Training mode keeps every activation backward needs (LN mean/rstd, attention probabilities,
// GELU inputs, dropout masks); inference mode keeps one layer's worth.
struct Activations {
  int B_max = 0, T_max = 0;
  bool training = false;
  std::vector<float> buf;  // one slab; the implementation carves named views out of it
  // Set by distilbert_forward: the shape of the batch whose activations `buf` now holds and whether
  // they were kept for backward (training-mode buffers; distilbert_backward checks both).
  int B = 0, T = 0;
  bool has_backward_state = false;
  bool dropout_applied = false;  // the forward ran with a DropoutSpec (backward reuses its masks)
};
void activations_reserve(Activations& acts, const ModelConfig& cfg, int B, int T, bool training);

// logits: [B, K]. dropout == nullptr means eval mode (no dropout).
void distilbert_forward(const ModelConfig& cfg, const Weights& w, const TokenBatch& batch, Activations& acts,
                        float* logits, const DropoutSpec* dropout);

// Packed (ragged) inference: rows laid end to end with no padding, so a batch of mixed lengths
// costs only its real tokens (what the server's batcher and the Classifier run). Eval mode only.
// Each row's logits equal distilbert_forward's for that row (float rounding aside: a GEMM may
// block a different number of rows differently). Buffers grow on demand and are kept for reuse.
//
//   PackedBatch batch = pack_rows({{101, 1422, 102}, {101, 102}});
//   PackedActivations acts;
//   std::vector<float> logits(batch.B * cfg.num_labels());
//   distilbert_forward_packed(cfg, weights, batch, acts, logits.data());
struct PackedBatch {
  int B = 0;                       // rows
  int T_max = 0;                   // longest row
  std::vector<int32_t> ids;        // [N] every row's tokens, end to end
  std::vector<int32_t> positions;  // [N] each token's position within its row
  std::vector<int32_t> offsets;    // [B + 1] row b = tokens [offsets[b], offsets[b + 1])
  int64_t tokens() const { return offsets.empty() ? 0 : offsets.back(); }
};
// Throws InvalidArgument for an empty row.
PackedBatch pack_rows(const std::vector<std::vector<int32_t>>& rows);

struct PackedActivations {
  std::vector<float> buf;  // grown (never shrunk) to the largest batch seen
};

// logits: [B, K].
void distilbert_forward_packed(const ModelConfig& cfg, const Weights& w, const PackedBatch& batch,
                               PackedActivations& acts, float* logits);

// Mean cross-entropy over the batch (single-label); writes dlogits [B, K] = d(mean loss)/d logits.
// A label of -100 is ignored (torch's ignore_index); any other label outside [0, K) throws.
// For multi-label models use bce_with_logits_forward_backward below.
float cross_entropy_forward_backward(const float* logits, const int32_t* labels, int B, int K, float* dlogits);

// Multi-label (problem_type multi_label_classification): mean binary cross-entropy with logits over
// B x K, targets [B, K] as 0/1 floats; writes dlogits [B, K].
float bce_with_logits_forward_backward(const float* logits, const float* targets, int B, int K, float* dlogits);

// Bytes the activation slab needs for a batch of B x T (what activations_reserve allocates).
size_t activations_bytes(const ModelConfig& cfg, int B, int T, bool training);

// Accumulates d(loss)/d(weights) into `grads` (views of a gradient arena) given dlogits [B, K],
// using the activations kept by the last training-mode distilbert_forward on the same batch.
// The [PAD] row of the word embedding gets no gradient.
void distilbert_backward(const ModelConfig& cfg, const Weights& w, const Weights& grads, const TokenBatch& batch,
                         Activations& acts, const float* dlogits);

}  // namespace bert_emotion

// encoder.hpp — XForSequenceClassification forward and backward for the encoder families
// (DistilBERT, BERT, RoBERTa), llm.c style.
//
// Plain functions over the named weight views of weights.hpp. One encoder: embeddings -> N post-LN
// blocks -> a head on token 0, whose parts vary by family (model/family.hpp). Shapes use a fixed
// vocabulary: B batch, T padded sequence length, C dim, H heads, D head_dim = C/H, F hidden_dim,
// K labels, V vocab. A batch is right-padded (dynamic padding to its longest row); position t of
// row b is a real token iff t < lengths[b]. Semantics are Transformers 4.35's (see
// ../shared/reference/README.md):
//   - DistilBERT: word + position embeddings; q scaled before q·k^T, masked keys set to the float32
//     minimum; no dropout after the attention output; head [CLS] -> pre_classifier -> ReLU ->
//     dropout -> classifier.
//   - BERT: word + token type + position; dropout after the attention output too; head pooler
//     (dense + tanh on token 0) -> dropout -> classifier.
//   - RoBERTa: BERT with position ids pad + cumsum(ids != pad) (made here from the ids, as HF
//     does) and the head dropout -> dense -> tanh -> dropout -> out_proj.
//   BERT's scores are q·k^T / sqrt(D) plus the additive mask (1 - mask) * float32 min; the engine
//   scales q by 1/sqrt(D) first and replaces masked scores by float32 min, which is bit-identical
//   for head dims 4^k (sqrt(D) a power of two: 16, 64) and equal to float rounding otherwise; a
//   masked score plus float32 min rounds to float32 min exactly.
//
//   Activations acts;
//   activations_reserve(acts, cfg, /*B=*/32, /*T=*/128, /*training=*/false);
//   TokenBatch batch = make_batch({{101, 1422, 102}, {101, 102}}, cfg.pad_token_id);
//   std::vector<float> logits(batch.B * cfg.num_labels());
//   encoder_forward(cfg, weights, batch, acts, logits.data(), /*dropout=*/nullptr);
//
// Training: forward with a DropoutSpec and training buffers, cross_entropy_forward_backward for the
// loss and dlogits, then encoder_backward accumulates (+=) into gradient views laid out like
// the weights (a second arena from the same ParamLayout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/config.hpp"
#include "model/weights.hpp"
#include "util/scratch_buffer.hpp"

namespace bert_emotion {

struct TokenBatch {
  int B = 0, T = 0;
  std::vector<int32_t> ids;       // [B, T], padded with pad id
  std::vector<int32_t> lengths;   // [B], real tokens per row (mask = t < lengths[b])
  std::vector<int32_t> type_ids;  // [B, T] token types (padded with 0), or empty: all 0
};

// Right-pads `rows` to the longest one with `pad_id`; `type_rows` (optional, each as long as its
// row) become type_ids padded with 0.
TokenBatch make_batch(const std::vector<std::vector<int32_t>>& rows, int32_t pad_id,
                      const std::vector<std::vector<int32_t>>& type_rows = {});

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
  std::vector<float> buf;          // one slab; the implementation carves named views out of it
  std::vector<int32_t> positions;  // [B, T] position ids (families that derive them from the ids)
  // Set by encoder_forward: the shape of the batch whose activations `buf` now holds and whether
  // they were kept for backward (training-mode buffers; encoder_backward checks both).
  int B = 0, T = 0;
  bool has_backward_state = false;
  bool dropout_applied = false;  // the forward ran with a DropoutSpec (backward reuses its masks)
};
void activations_reserve(Activations& acts, const ModelConfig& cfg, int B, int T, bool training);

// logits: [B, K]. dropout == nullptr means eval mode (no dropout).
void encoder_forward(const ModelConfig& cfg, const Weights& w, const TokenBatch& batch, Activations& acts,
                     float* logits, const DropoutSpec* dropout);

// Packed (ragged) inference: rows laid end to end with no padding, so a batch of mixed lengths
// costs only its real tokens (what the server's batcher and the Classifier run). Eval mode only.
// Each row's logits equal encoder_forward's for that row (float rounding aside: a GEMM may
// block a different number of rows differently). Buffers grow on demand and are kept for reuse.
//
//   PackedBatch batch = pack_rows({{101, 1422, 102}, {101, 102}});   // + type rows for BERT pairs
//   PackedActivations acts;
//   std::vector<float> logits(batch.B * cfg.num_labels());
//   encoder_forward_packed(cfg, weights, batch, acts, logits.data());
struct PackedBatch {
  int B = 0;                       // rows
  int T_max = 0;                   // longest row
  std::vector<int32_t> ids;        // [N] every row's tokens, end to end
  std::vector<int32_t> positions;  // [N] each token's index within its row (RoBERTa's position ids
                                   // are derived from the ids by the forward instead)
  std::vector<int32_t> offsets;    // [B + 1] row b = tokens [offsets[b], offsets[b + 1])
  std::vector<int32_t> type_ids;   // [N] token types, or empty: all 0
  int64_t tokens() const { return offsets.empty() ? 0 : offsets.back(); }
};
// Throws InvalidArgument for an empty row, or type rows that do not match the rows.
PackedBatch pack_rows(const std::vector<std::vector<int32_t>>& rows,
                      const std::vector<std::vector<int32_t>>& type_rows = {});

struct PackedActivations {
  ScratchBuffer<float> buf;        // grown (never shrunk) to the largest batch seen; overwritten
  std::vector<int32_t> positions;  // [N] RoBERTa's position ids
};

// logits: [B, K].
void encoder_forward_packed(const ModelConfig& cfg, const Weights& w, const PackedBatch& batch, PackedActivations& acts,
                            float* logits);

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
// using the activations kept by the last training-mode encoder_forward on the same batch.
// The [PAD] row of the word embedding (and RoBERTa's padding position row) gets no gradient.
void encoder_backward(const ModelConfig& cfg, const Weights& w, const Weights& grads, const TokenBatch& batch,
                      Activations& acts, const float* dlogits);

}  // namespace bert_emotion

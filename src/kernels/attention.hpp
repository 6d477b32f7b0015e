// attention.hpp — softmax and multi-head scaled dot-product attention with HF DistilBERT's masking.
//
// Layout: q [B, Tq, C], k and v [B, Tk, C], ctx [B, Tq, C], with C = H * D and head h occupying
// channels [h*D, (h+1)*D) of every row (PyTorch's view(B, T, H, D)). Probabilities are
// [B, H, Tq, Tk]. Semantics follow Transformers 4.35's MultiHeadSelfAttention:
//   - q arrives already scaled by 1/sqrt(D) (HF scales q, not the scores);
//   - key j of row b is masked iff j >= key_lengths[b] and its score is *replaced* by the float32
//     lowest value -3.4028235e38 (not -inf), so a fully masked row comes out uniform, as in torch;
//   - softmax subtracts the row's true maximum;
//   - dropout (inverted, p = attention_dropout) acts on the probabilities before they weight v.
// The (b, h) pairs run in parallel with OpenMP; each pair's products go through gemm().
//
//   attention_forward(ctx, P, Pd, keep, q, k, v, lengths, B, T, T, H, D, p, seed, stream);
//   attention_backward(dq, dk, dv, scratch, dctx, q, k, v, P, Pd, keep, lengths, B, T, T, H, D, p);
//   // dq is the gradient w.r.t. the *scaled* q; chain through the 1/sqrt(D) yourself.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bert_emotion {

// Row-wise softmax over `cols` (max-subtracted); out may alias in.
void softmax_forward(float* out, const float* in, int64_t rows, int64_t cols);
// din = probs * (dout - sum(probs * dout)) per row; din may alias dout.
void softmax_backward(float* din, const float* dout, const float* probs, int64_t rows, int64_t cols);

// ctx [B,Tq,C]; probs [B,H,Tq,Tk] (softmax, before dropout); probs_dropped [B,H,Tq,Tk] (after
// dropout; may equal probs when dropout_p == 0); keep [B,H,Tq,Tk] (null when dropout_p == 0).
void attention_forward(float* ctx, float* probs, float* probs_dropped, uint8_t* keep, const float* q, const float* k,
                       const float* v, const int32_t* key_lengths, int B, int Tq, int Tk, int H, int D, float dropout_p,
                       uint64_t seed, uint64_t stream);

// Writes (overwrites) dq [B,Tq,C], dk and dv [B,Tk,C] from dctx [B,Tq,C]. scratch: [B,H,Tq,Tk].
void attention_backward(float* dq, float* dk, float* dv, float* scratch, const float* dctx, const float* q,
                        const float* k, const float* v, const float* probs, const float* probs_dropped,
                        const uint8_t* keep, const int32_t* key_lengths, int B, int Tq, int Tk, int H, int D,
                        float dropout_p);

// Ragged attention for inference (no dropout, no mask): sequences laid end to end without padding.
// Sequence b's queries are rows [q_offsets[b], q_offsets[b+1]) of q and ctx [Nq, C]; its keys and
// values are rows [kv_offsets[b], kv_offsets[b+1]) of k and v [Nkv, C]. Every key is real, so each
// row's result equals attention_forward's for that row padded to any length (up to the float
// rounding of a shorter sum). The (b, h) pairs run in parallel (dynamic schedule: lengths differ);
// each thread's scores go to its own slice of `scratch`, which must hold
// attention_varlen_scratch_floats(...) floats, computed in the same thread just before the call.
size_t attention_varlen_scratch_floats(const int32_t* q_offsets, const int32_t* kv_offsets, int B);
void attention_forward_varlen(float* ctx, float* scratch, const float* q, const float* k, const float* v,
                              const int32_t* q_offsets, const int32_t* kv_offsets, int B, int H, int D);

}  // namespace bert_emotion

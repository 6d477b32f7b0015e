// layers.hpp — the parameterised layers of DistilBERT as forward/backward kernel pairs.
//
// Pure functions on raw float pointers with explicit dimensions: no allocation, no I/O. Shapes use
// the engine's letters (B batch, T tokens, C dim, V vocab, N = any number of rows). Backward kernels
// *accumulate* (+=) into parameter gradients, so a caller zeroes the gradient arena once per step;
// input gradients are overwritten unless `accumulate_dx` is set (residual branches add into one
// buffer). A null gradient pointer skips that gradient (a frozen tensor, or the first layer's dx).
// Semantics are PyTorch's: nn.Linear (W [out, in], y = x W^T + b), nn.Embedding with padding_idx
// (that row never receives gradient), nn.LayerNorm (biased variance, eps inside the square root).
//
//   linear_forward(y, x, W, b, N, C, F);                      // y[N,F] = x[N,C] W[F,C]^T + b
//   linear_backward(dx, dW, db, dy, x, W, N, C, F, false);    // dx = dy W; dW += dy^T x; db += sum dy
//   layernorm_forward(y, mean, rstd, x, w, b, N, C, 1e-12f);
//   layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, N, C, false);
//   embedding_forward(out, ids, word, pos, B, T, C, V);       // throws InvalidArgument on a bad id
#pragma once

#include <cstddef>
#include <cstdint>

namespace bert_emotion {

struct Int8Weights;    // kernels/int8_gemm.hpp
struct Bf16Weights;    // kernels/bf16_gemm.hpp
struct OnednnWeights;  // kernels/onednn_matmul.hpp

// y[N, out] = x[N, in] W[out, in]^T + b[out]. b may be null.
void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int64_t in, int64_t out);

// The model forward's linear, in the form its weights are held (model/quantize.hpp): int8 when `q`
// is set, bf16 when `h` is, else FP32 — by oneDNN's matmul on `packed` (W prepacked for inference)
// where set and usable on this CPU, else linear_forward with W [out, in]. Throws InvalidArgument
// when a reduced copy's shape is not [out, in].
void linear_forward_any(float* y, const float* x, const float* W, const Int8Weights* q, const Bf16Weights* h,
                        const OnednnWeights* packed, const float* b, int64_t N, int64_t in, int64_t out);

// dx[N, in] (=, or += with accumulate_dx) dy[N, out] W; dW[out, in] += dy^T x; db[out] += sum_n dy.
// Any of dx, dW, db may be null.
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t N,
                     int64_t in, int64_t out, bool accumulate_dx);

// out[B, T, C] = word[ids[b, t]] + pos[t]. Validates every id against [0, V) first and throws
// InvalidArgument naming the row and position of the first bad one.
void embedding_forward(float* out, const int32_t* ids, const float* word, const float* pos, int B, int T, int C, int V);

// Packed rows (no padding): out[N, C] = word[ids[i]] + pos[positions[i]]. Validates ids against
// [0, V) and throws InvalidArgument naming the first bad token's index.
void embedding_forward_packed(float* out, const int32_t* ids, const int32_t* positions, const float* word,
                              const float* pos, int64_t N, int C, int V);

// BERT/RoBERTa embeddings over N token rows (padded B x T, or packed):
// out[i] = (word[ids[i]] + types[type_ids[i]]) + pos[positions[i]], HF's order of additions.
// type_ids null: type 0 for every token. Validates ids against [0, V), positions against [0, P)
// and type ids against [0, TV); throws InvalidArgument naming the first bad token's index.
void embedding_forward_typed(float* out, const int32_t* ids, const int32_t* positions, const int32_t* type_ids,
                             const float* word, const float* pos, const float* types, int64_t N, int C, int V, int P,
                             int TV);

// Scatter-add of embedding_forward_typed: dword[ids[i]] += dout[i] unless ids[i] == word_pad;
// dpos[positions[i]] += dout[i] unless positions[i] == pos_pad (-1: none); dtypes[type_ids[i]] +=
// dout[i] (type 0 when type_ids is null).
void embedding_backward_typed(float* dword, float* dpos, float* dtypes, const float* dout, const int32_t* ids,
                              const int32_t* positions, const int32_t* type_ids, int64_t N, int C, int word_pad,
                              int pos_pad);

// Scatter-add: dword[ids[b, t]] += dout[b, t] unless ids[b, t] == pad_id; dpos[t] += dout[b, t].
// dpos null: frozen (sinusoidal) position table. dword null: frozen word table.
void embedding_backward(float* dword, float* dpos, const float* dout, const int32_t* ids, int B, int T, int C,
                        int pad_id);

// y[N, C] = (x - mean) * rstd * w + b per row; mean/rstd [N] are written when non-null (training
// keeps them for backward). rstd = 1 / sqrt(biased variance + eps).
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w, const float* b, int64_t N,
                       int64_t C, float eps);

// dx[N, C] (=, or += with accumulate_dx); dw[C] += sum dy * xhat; db[C] += sum dy. dw/db may be null.
void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C, bool accumulate_dx);

}  // namespace bert_emotion

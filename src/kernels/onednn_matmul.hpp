// onednn_matmul.hpp — linear products by oneDNN's matmul primitive with weights reordered once into
// its own blocked layout, where oneDNN has a brgemm kernel for this CPU (AVX-512 and up):
//   int8  xq[N, in] q^T -> exact int32, for kernels/int8_gemm.hpp (AVX-512 VNNI)
//   f32   y[N, out] = x[N, in] W^T + b, for FP32 inference (model/quantize.hpp packs a loaded model)
//   bf16  C = op(A) op(B) (+ C) on plain bf16 operands, for --bf16 training's products (no prepacking:
//         the weights change every step)
//
// Why: prepacked, these primitives run the base model's linear shapes faster than the engine's
// other paths at every row count measured (bench/onednn_matmul_bench.cpp, docs/PERFORMANCE.md):
// int8 1.7-2.7x our VNNI kernel, with bit-identical (exact) sums; f32 1.3-1.6x dnnl_sgemm (which
// repacks W on every call) at one tweet, 1.0-1.4x at batch 32. The FP32 sums are in oneDNN's order,
// within float rounding of dnnl_sgemm's, and a row's result does not depend on the other rows of
// the batch (tests/onednn_matmul_test.cpp). Training keeps dnnl_sgemm: its weights change every step.
// Primitives depend on the row count: one per (dtype, rows, in, out, strides) is created on first use
// and cached (a bounded, mutex-guarded map; execution is concurrent).
//
//   auto q8 = onednn_prepack_int8(q, out, in);               // once; null: no fast path here
//   if (q8) onednn_int8_gemm(acc, ldc, xq, in_pad, *q8, N);   // acc[N, out] = xq q^T, exact
//   auto f = onednn_prepack_f32(W, out, in);                  // once
//   if (f) onednn_f32_linear(y, x, *f, b, N, in, out);        // y[N, out] = x W^T + b
#pragma once

#include <cstdint>
#include <memory>

namespace bert_emotion {

struct OnednnWeights;  // the reordered weights (opaque: keeps dnnl.hpp out of the engine's headers)

// q[out, in] (symmetric int8 per output channel) reordered for oneDNN's int8 brgemm matmul; null
// when this CPU has no such kernel (gemm_int8 uses it only when the active level is avx512_vnni+).
std::shared_ptr<const OnednnWeights> onednn_prepack_int8(const int8_t* q, int64_t out, int64_t in);

// acc[N, ldc] (columns 0..out-1) = xq[N, ld_xq] (its first `in` columns) q^T in exact int32.
// Returns false, writing nothing, when oneDNN picks no brgemm kernel for this row count.
bool onednn_int8_gemm(int32_t* acc, int64_t ldc, const int8_t* xq, int64_t ld_xq, const OnednnWeights& w, int64_t N);

// W[out, in] (FP32, PyTorch's layout) reordered for oneDNN's f32 brgemm matmul; null when this CPU
// has no such kernel.
std::shared_ptr<const OnednnWeights> onednn_prepack_f32(const float* W, int64_t out, int64_t in);

// y[N, out] = x[N, in] W^T + b (b may be null) in FP32; throws InvalidArgument when `w` is not
// [out, in]. Returns false, writing nothing, when the active instruction set (kernels/cpu_isa.hpp,
// capped) is below AVX-512 or oneDNN picks no brgemm kernel for this row count: the caller then runs
// linear_forward.
bool onednn_f32_linear(float* y, const float* x, const OnednnWeights& w, const float* b, int64_t N, int64_t in,
                       int64_t out);

// C[M, N] = op(A) op(B) (+ C when `accumulate`) on bf16 operands with FP32 sums and output, by
// oneDNN's bf16 brgemm matmul (--bf16 training's large products; kernels/bf16_gemm.hpp). A and B
// hold bf16 bits, row-major with leading dimensions lda / ldb, transposed as gemm()'s flags say
// (op(A) = A^T reads A [K, M]). Returns false, writing nothing, when oneDNN picks no brgemm kernel.
bool onednn_bf16_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
                      const uint16_t* B, int64_t ldb, bool accumulate, float* C, int64_t ldc);

// Bytes the reordered weights occupy.
size_t onednn_weights_bytes(const OnednnWeights& w);

}  // namespace bert_emotion

// onednn_int8.hpp — the int8 product of kernels/int8_gemm.hpp by oneDNN's matmul primitive, where
// oneDNN has a brgemm kernel for this CPU (AVX-512 VNNI and up).
//
// Why: with its weights reordered once into the primitive's own blocked layout, oneDNN's s8 x s8
// -> s32 matmul runs a base-size linear 1.7-2.7x faster than our own VNNI kernel, 27 to 1280 rows
// (bench/onednn_matmul_bench.cpp, docs/PERFORMANCE.md), and its int32 sums are exact, so the
// results are bit-identical to every other path: the engine uses it for the avx512_vnni path and
// keeps its own kernels for AVX2 and the scalar reference (and where oneDNN offers no brgemm).
// Primitives depend on the row count: one per (rows, in, out, strides) is created on first use and
// cached (a bounded, mutex-guarded map; execution is concurrent).
//
//   auto packed = onednn_int8_prepack(q, out, in);                // once; null: no fast path here
//   if (packed) onednn_int8_gemm(acc, ldc, xq, in_pad, *packed, N);   // acc[N, out] = xq q^T, exact
#pragma once

#include <cstdint>
#include <memory>

namespace bert_emotion {

struct OnednnInt8Weights;  // the reordered weights (opaque: keeps dnnl.hpp out of the engine's headers)

// q[out, in] (symmetric int8 per output channel) reordered for oneDNN's int8 brgemm matmul; null
// when this CPU has no such kernel (gemm_int8 uses it only when the active level is avx512_vnni+).
std::shared_ptr<const OnednnInt8Weights> onednn_int8_prepack(const int8_t* q, int64_t out, int64_t in);

// acc[N, ldc] (columns 0..out-1) = xq[N, ld_xq] (its first `in` columns) q^T in exact int32.
// Returns false, writing nothing, when oneDNN picks no brgemm kernel for this row count.
bool onednn_int8_gemm(int32_t* acc, int64_t ldc, const int8_t* xq, int64_t ld_xq, const OnednnInt8Weights& w,
                      int64_t N);

}  // namespace bert_emotion

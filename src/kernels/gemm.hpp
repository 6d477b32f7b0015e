// gemm.hpp — the engine's one matrix product: row-major SGEMM on oneDNN's dnnl_sgemm.
//
// C[M,N] = alpha * op(A) op(B) + beta * C, every matrix row-major with an explicit leading
// dimension (floats between consecutive rows), op(X) = X or X^T as trans_a / trans_b say.
// oneDNN threads with OpenMP, the same pool as the engine's own loops, so there is no second pool
// to oversubscribe the cores (see ../shared/docs/ROOFLINE.md for why dnnl_sgemm was chosen).
// Called from inside an OpenMP parallel region it runs single-threaded, which is what the
// per-(batch, head) attention products want. A oneDNN failure throws InvalidArgument naming the
// shapes.
//
//   // y[N, out] = x[N, in] W^T, with W [out, in] as PyTorch stores it
//   gemm(false, true, N, out, in, 1.f, x, in, W, in, 0.f, y, out);
//   // dW[out, in] += dy^T x
//   gemm(true, false, out, in, N, 1.f, dy, out, x, in, 1.f, dW, in);
#pragma once

#include <cstdint>

namespace bert_emotion {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace bert_emotion

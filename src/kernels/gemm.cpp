#include "kernels/gemm.hpp"

#include <dnnl.h>

#include <string>

#include "util/error.hpp"

namespace bert_emotion {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    // dnnl_sgemm handles K = 0, but keep the semantics explicit: C = beta * C.
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  const dnnl_status_t st =
      dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success)
    throw InvalidArgument("dnnl_sgemm failed (status " + std::to_string(static_cast<int>(st)) +
                          ") for M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                          " lda=" + std::to_string(lda) + " ldb=" + std::to_string(ldb) +
                          " ldc=" + std::to_string(ldc) + (trans_a ? " A^T" : "") + (trans_b ? " B^T" : ""));
}

}  // namespace bert_emotion

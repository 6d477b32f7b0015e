// onednn_int8.cpp — oneDNN's int8 matmul with weights reordered once and primitives cached by shape.
#include "kernels/onednn_int8.hpp"

#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "kernels/cpu_isa.hpp"
#include "util/error.hpp"

namespace bert_emotion {

struct OnednnInt8Weights {
  int64_t out = 0, in = 0;
  dnnl::memory packed;  // [in, out] in the layout the brgemm primitives chose (format_tag::any)
};

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The primitive for src [rows, in] (row stride ld_src) x weights -> dst s32 [rows, out] (stride
// ld_dst); weights either `any` (to learn the layout) or the prepacked one.
dnnl::matmul::primitive_desc describe(int64_t rows, int64_t in, int64_t out, int64_t ld_src, int64_t ld_dst,
                                      const dnnl::memory::desc& weights) {
  const dnnl::memory::desc src(dims{rows, in}, dt::s8, dims{ld_src, 1});
  const dnnl::memory::desc dst(dims{rows, out}, dt::s32, dims{ld_dst, 1});
  return {dnnl::matmul::desc(src, weights, dst), cpu_engine()};
}

bool is_brgemm(const dnnl::matmul::primitive_desc& pd) { return std::string(pd.impl_info_str()).rfind("brg", 0) == 0; }

// Created primitives, by (rows, in, out, ld_src, ld_dst). A server sees a new row count per token
// count; the map is cleared when it grows past kMaxPrimitives (recreating one costs ~0.1 ms).
class PrimitiveCache {
 public:
  // The primitive, or an empty one when oneDNN has no brgemm kernel for this shape.
  dnnl::matmul get(int64_t rows, int64_t in, int64_t out, int64_t ld_src, int64_t ld_dst,
                   const dnnl::memory::desc& weights) {
    const Key key{rows, in, out, ld_src, ld_dst};
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
    }
    dnnl::matmul made;
    const auto pd = describe(rows, in, out, ld_src, ld_dst, weights);
    if (is_brgemm(pd)) made = dnnl::matmul(pd);
    const std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxPrimitives) cache_.clear();
    cache_.emplace(key, made);
    return made;
  }

 private:
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;
  static constexpr size_t kMaxPrimitives = 1024;
  std::mutex mu_;
  std::map<Key, dnnl::matmul> cache_;
};

PrimitiveCache& primitives() {
  static PrimitiveCache cache;
  return cache;
}

}  // namespace

std::shared_ptr<const OnednnInt8Weights> onednn_int8_prepack(const int8_t* q, int64_t out, int64_t in) {
  // The detected level, not the capped one: this runs while loading, possibly in parallel, where
  // a bad cap must not throw (the caller reads active_cpu_isa() and reports it).
  if (detected_cpu_isa() < CpuIsa::avx512_vnni || out <= 0 || in <= 0) return nullptr;
  try {
    const auto pd =
        describe(1, in, out, in, out, dnnl::memory::desc(dims{in, out}, dt::s8, dnnl::memory::format_tag::any));
    if (!is_brgemm(pd)) return nullptr;
    auto w = std::make_shared<OnednnInt8Weights>();
    w->out = out;
    w->in = in;
    w->packed = dnnl::memory(pd.weights_desc(), cpu_engine());
    // q [out, in] row-major is the [in, out] weights in column-major order (tag ba); the reorder
    // only reads it (oneDNN's handles are non-const).
    dnnl::memory plain(dnnl::memory::desc(dims{in, out}, dt::s8, dnnl::memory::format_tag::ba), cpu_engine(),
                       const_cast<int8_t*>(q));
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(plain, w->packed).execute(stream, plain, w->packed);
    stream.wait();
    return w;
  } catch (const dnnl::error&) {
    return nullptr;  // no oneDNN int8 here: the engine's own kernels run instead
  }
}

bool onednn_int8_gemm(int32_t* acc, int64_t ldc, const int8_t* xq, int64_t ld_xq, const OnednnInt8Weights& w,
                      int64_t N) {
  if (N <= 0) return true;
  try {
    const dnnl::memory::desc& weights = w.packed.get_desc();
    dnnl::matmul matmul = primitives().get(N, w.in, w.out, ld_xq, ldc, weights);
    if (!matmul) return false;
    dnnl::memory src(dnnl::memory::desc(dims{N, w.in}, dt::s8, dims{ld_xq, 1}), cpu_engine(), const_cast<int8_t*>(xq));
    dnnl::memory dst(dnnl::memory::desc(dims{N, w.out}, dt::s32, dims{ldc, 1}), cpu_engine(), acc);
    thread_local dnnl::stream stream(cpu_engine());
    matmul.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w.packed}, {DNNL_ARG_DST, dst}});
    stream.wait();
    return true;
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN int8 matmul failed: ") + e.what());
  }
}

}  // namespace bert_emotion

// onednn_matmul.cpp — oneDNN's matmul with weights reordered once and primitives cached by shape.
#include "kernels/onednn_matmul.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

#include "kernels/cpu_isa.hpp"
#include "util/error.hpp"
#include "util/scratch_buffer.hpp"

namespace bert_emotion {

struct OnednnWeights {
  int64_t out = 0, in = 0;
  std::unique_ptr<void, decltype(&std::free)> buffer{nullptr, &std::free};  // what `packed` lies in
  dnnl::memory packed;  // [in, out] in the layout the brgemm primitives chose (format_tag::any)
};

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// What a primitive computes: int8 (s8 x s8 -> s32) or f32 (f32 x f32 + optional f32 bias -> f32).
struct Shape {
  dt src, dst;
  int64_t rows, in, out, ld_src, ld_dst;
  bool bias;
};

// Primitives are shared by every calling thread (the cache below), so they run with a scratchpad the
// caller provides (run(): one per thread). In oneDNN's default "library" mode, as Debian builds it
// (DNNL_ENABLE_CONCURRENT_EXEC=OFF), all primitives share one library scratchpad and a primitive
// may only run on the thread that created it: concurrent Classifier callers got wrong logits.
dnnl::matmul::primitive_desc describe(const Shape& s, const dnnl::memory::desc& weights) {
  const dnnl::memory::desc src(dims{s.rows, s.in}, s.src, dims{s.ld_src, 1});
  const dnnl::memory::desc dst(dims{s.rows, s.out}, s.dst, dims{s.ld_dst, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (!s.bias) return {dnnl::matmul::desc(src, weights, dst), attr, cpu_engine()};
  const dnnl::memory::desc bias(dims{1, s.out}, dt::f32, dnnl::memory::format_tag::ab);
  return {dnnl::matmul::desc(src, weights, bias, dst), attr, cpu_engine()};
}

bool is_brgemm(const dnnl::matmul::primitive_desc& pd) { return std::string(pd.impl_info_str()).rfind("brg", 0) == 0; }

// A primitive and the scratchpad its execution needs (user-provided: see describe()).
struct Primitive {
  dnnl::matmul matmul;  // empty when oneDNN has no brgemm kernel for the shape
  dnnl::memory::desc scratchpad;
};

// Created primitives, by key (a shape). A server sees a new row count per token count, training one
// per padded length; the map is cleared when it grows past kMaxPrimitives (recreating one costs
// ~0.1 ms).
template <class Key>
class PrimitiveCache {
 public:
  // The cached primitive for `key`, else make(): the description, kept only if it is brgemm.
  template <class Describe>
  Primitive get(const Key& key, Describe describe_it) {
    {
      const std::lock_guard<std::mutex> lock(mu_);
      if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
    }
    Primitive made;
    const dnnl::matmul::primitive_desc pd = describe_it();
    if (is_brgemm(pd)) made = {dnnl::matmul(pd), pd.scratchpad_desc()};
    const std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxPrimitives) cache_.clear();
    cache_.emplace(key, made);
    return made;
  }

 private:
  static constexpr size_t kMaxPrimitives = 1024;
  std::mutex mu_;
  std::map<Key, Primitive> cache_;
};

// The calling thread's scratchpad, grown on demand (64-byte aligned, as oneDNN prefers).
void* thread_scratchpad(size_t bytes) {
  thread_local ScratchBuffer<unsigned char> buffer;
  return buffer.ensure(bytes);
}

using LinearKey = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;
PrimitiveCache<LinearKey>& primitives() {
  static PrimitiveCache<LinearKey> cache;
  return cache;
}

// Executes `primitive` with `args` and the calling thread's scratchpad, on the thread's own stream.
void execute(const Primitive& primitive, std::unordered_map<int, dnnl::memory>& args) {
  const size_t scratch_bytes = primitive.scratchpad.get_size();
  if (scratch_bytes > 0)
    args.emplace(DNNL_ARG_SCRATCHPAD,
                 dnnl::memory(primitive.scratchpad, cpu_engine(), thread_scratchpad(scratch_bytes)));
  thread_local dnnl::stream stream(cpu_engine());
  primitive.matmul.execute(stream, args);
  stream.wait();
}

// `bytes` of memory for reordered weights, 2 MiB-aligned and advised into transparent huge pages:
// the reorder then writes a model's ~170-340 MB with 512x fewer page faults (measured: the base
// model's first load 522 -> ~410 ms, bert-base's 982 -> ~580 ms). std::bad_alloc when out of memory.
void* huge_page_buffer(size_t bytes) {
  constexpr size_t kHugePage = size_t(2) << 20;
  void* p = nullptr;
  if (::posix_memalign(&p, kHugePage, std::max<size_t>(bytes, 1)) != 0) throw std::bad_alloc();
  if (bytes >= kHugePage) (void)::madvise(p, bytes, MADV_HUGEPAGE);  // advice only
  return p;
}

// The blocked weights layout a brgemm primitive for `layout_rows` rows picks, or none; remembered per
// shape, since describing the primitive costs ~10 ms (a model has a handful of linear shapes).
std::optional<dnnl::memory::desc> weights_layout(dt type, dt dst, int64_t in, int64_t out, int64_t layout_rows) {
  static std::mutex mu;
  static std::map<std::tuple<int, int64_t, int64_t, int64_t>, std::optional<dnnl::memory::desc>> known;
  const auto key = std::make_tuple(int(type), in, out, layout_rows);
  const std::lock_guard<std::mutex> lock(mu);
  if (const auto it = known.find(key); it != known.end()) return it->second;
  const auto pd = describe({type, dst, layout_rows, in, out, in, out, false},
                           dnnl::memory::desc(dims{in, out}, type, dnnl::memory::format_tag::any));
  std::optional<dnnl::memory::desc> layout;
  if (is_brgemm(pd)) layout = pd.weights_desc();
  known.emplace(key, layout);
  return layout;
}

// w[out, in] row-major (= [in, out] column-major, tag ba) reordered into the layout a brgemm
// primitive for `layout_rows` rows picks; null when there is none. `needed` is the detected (not
// the capped) level: this runs while loading, possibly in parallel, where a bad cap must not throw
// (the caller reads active_cpu_isa() and reports it).
std::shared_ptr<const OnednnWeights> prepack(const void* w, dt type, dt dst, int64_t out, int64_t in,
                                             int64_t layout_rows, CpuIsa needed) {
  if (detected_cpu_isa() < needed || out <= 0 || in <= 0) return nullptr;
  try {
    const std::optional<dnnl::memory::desc> layout = weights_layout(type, dst, in, out, layout_rows);
    if (!layout) return nullptr;
    auto packed = std::make_shared<OnednnWeights>();
    packed->out = out;
    packed->in = in;
    packed->buffer.reset(huge_page_buffer(layout->get_size()));
    packed->packed = dnnl::memory(*layout, cpu_engine(), packed->buffer.get());
    // The reorder only reads `w` (oneDNN's handles are non-const).
    dnnl::memory plain(dnnl::memory::desc(dims{in, out}, type, dnnl::memory::format_tag::ba), cpu_engine(),
                       const_cast<void*>(w));
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(plain, packed->packed).execute(stream, plain, packed->packed);
    stream.wait();
    return packed;
  } catch (const dnnl::error&) {
    return nullptr;  // no oneDNN kernel here: the engine's own paths run instead
  }
}

// Runs the cached primitive for `s` on the given buffers; false when there is none for this shape.
bool run(const Shape& s, const OnednnWeights& w, const void* src, void* dst, const float* bias, const char* what) {
  try {
    const dnnl::memory::desc& weights = w.packed.get_desc();
    const Primitive primitive = primitives().get(LinearKey{int(s.src), s.rows, s.in, s.out, s.ld_src, s.ld_dst, s.bias},
                                                 [&] { return describe(s, weights); });
    if (!primitive.matmul) return false;
    // The primitive only reads src and bias (oneDNN's handles are non-const).
    dnnl::memory src_m(dnnl::memory::desc(dims{s.rows, s.in}, s.src, dims{s.ld_src, 1}), cpu_engine(),
                       const_cast<void*>(src));
    dnnl::memory dst_m(dnnl::memory::desc(dims{s.rows, s.out}, s.dst, dims{s.ld_dst, 1}), cpu_engine(), dst);
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, w.packed}, {DNNL_ARG_DST, dst_m}};
    if (s.bias)
      args.emplace(DNNL_ARG_BIAS,
                   dnnl::memory(dnnl::memory::desc(dims{1, s.out}, dt::f32, dnnl::memory::format_tag::ab), cpu_engine(),
                                const_cast<float*>(bias)));
    execute(primitive, args);
    return true;
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN ") + what + " matmul failed: " + e.what());
  }
}

}  // namespace

std::shared_ptr<const OnednnWeights> onednn_prepack_int8(const int8_t* q, int64_t out, int64_t in) {
  return prepack(q, dt::s8, dt::s32, out, in, /*layout_rows=*/1, CpuIsa::avx512_vnni);
}

bool onednn_int8_gemm(int32_t* acc, int64_t ldc, const int8_t* xq, int64_t ld_xq, const OnednnWeights& w, int64_t N) {
  if (N <= 0) return true;
  return run({dt::s8, dt::s32, N, w.in, w.out, ld_xq, ldc, false}, w, xq, acc, nullptr, "int8");
}

std::shared_ptr<const OnednnWeights> onednn_prepack_f32(const float* W, int64_t out, int64_t in) {
  // One layout, chosen for a batch-1 tweet's ~32 rows, serves every row count: with it the primitive
  // ran 1.0-1.6x dnnl_sgemm's speed from 27 to 1280 rows (docs/PERFORMANCE.md, "FP32 inference").
  return prepack(W, dt::f32, dt::f32, out, in, /*layout_rows=*/32, CpuIsa::avx512);
}

bool onednn_f32_linear(float* y, const float* x, const OnednnWeights& w, const float* b, int64_t N, int64_t in,
                       int64_t out) {
  if (w.in != in || w.out != out)
    throw InvalidArgument("f32 linear: prepacked weights are [" + std::to_string(w.out) + ", " + std::to_string(w.in) +
                          "], the layer needs [" + std::to_string(out) + ", " + std::to_string(in) + "]");
  if (N <= 0) return true;
  if (active_cpu_isa() < CpuIsa::avx512) return false;
  return run({dt::f32, dt::f32, N, w.in, w.out, w.in, w.out, b != nullptr}, w, x, y, b, "f32");
}

size_t onednn_weights_bytes(const OnednnWeights& w) { return w.packed.get_desc().get_size(); }

bool onednn_bf16_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
                      const uint16_t* B, int64_t ldb, bool accumulate, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0 || K <= 0) throw InvalidArgument("bf16 gemm: oneDNN needs positive sizes");
  try {
    // op(A) [M, K] and op(B) [K, N] as strided views of the stored matrices: a transpose swaps the
    // strides, so nothing is copied.
    const dnnl::memory::desc a_md(dims{M, K}, dt::bf16, trans_a ? dims{1, lda} : dims{lda, 1});
    const dnnl::memory::desc b_md(dims{K, N}, dt::bf16, trans_b ? dims{1, ldb} : dims{ldb, 1});
    const dnnl::memory::desc c_md(dims{M, N}, dt::f32, dims{ldc, 1});
    using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t, int64_t, bool>;
    static PrimitiveCache<Key> cache;
    const Primitive primitive = cache.get(Key{M, N, K, trans_a, trans_b, lda, ldb, ldc, accumulate}, [&] {
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      if (accumulate) {  // C += product: the sum post-op adds the product's FP32 result to C
        dnnl::post_ops sum;
        sum.append_sum(1.f);
        attr.set_post_ops(sum);
      }
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, cpu_engine());
    });
    if (!primitive.matmul) return false;
    // The primitive only reads A and B (oneDNN's handles are non-const).
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, dnnl::memory(a_md, cpu_engine(), const_cast<uint16_t*>(A))},
        {DNNL_ARG_WEIGHTS, dnnl::memory(b_md, cpu_engine(), const_cast<uint16_t*>(B))},
        {DNNL_ARG_DST, dnnl::memory(c_md, cpu_engine(), C)}};
    execute(primitive, args);
    return true;
  } catch (const dnnl::error& e) {
    throw Error(std::string("oneDNN bf16 matmul failed: ") + e.what());
  }
}

}  // namespace bert_emotion

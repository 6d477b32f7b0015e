#include "kernels/cpu_isa.hpp"

#include <algorithm>
#include <cstdlib>

#include "util/error.hpp"

namespace bert_emotion {

namespace {

constexpr const char* kCapVariable = "BERT_EMOTION_MAX_CPU_ISA";
constexpr const char* kNames[] = {"scalar", "avx2", "avx512", "avx512_vnni", "avx512_bf16"};

CpuIsa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return CpuIsa::scalar;
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")))
    return CpuIsa::avx2;
  if (!__builtin_cpu_supports("avx512vnni")) return CpuIsa::avx512;
  if (!__builtin_cpu_supports("avx512bf16")) return CpuIsa::avx512_vnni;
  return CpuIsa::avx512_bf16;
#else
  return CpuIsa::scalar;
#endif
}

const char* cap_value() {
  const char* v = std::getenv(kCapVariable);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

CpuIsa detected_cpu_isa() {
  static const CpuIsa isa = detect();
  return isa;
}

CpuIsa active_cpu_isa() {
  static const CpuIsa isa = [] {
    const char* cap = cap_value();
    if (cap == nullptr) return detected_cpu_isa();
    return std::min(detected_cpu_isa(), parse_cpu_isa(cap, std::string("$") + kCapVariable));
  }();
  return isa;
}

const char* cpu_isa_name(CpuIsa isa) { return kNames[static_cast<int>(isa)]; }

CpuIsa parse_cpu_isa(const std::string& name, const std::string& what) {
  for (int i = 0; i < 5; ++i)
    if (name == kNames[i]) return static_cast<CpuIsa>(i);
  throw InvalidArgument(what + ": unknown instruction set '" + name +
                        "'; expected scalar, avx2, avx512, avx512_vnni or avx512_bf16");
}

std::string cpu_isa_summary() {
  const CpuIsa active = active_cpu_isa(), cpu = detected_cpu_isa();
  std::string s = cpu_isa_name(active);
  if (active != cpu) s += std::string(" (CPU: ") + cpu_isa_name(cpu) + ", capped by " + kCapVariable + ")";
  return s;
}

}  // namespace bert_emotion

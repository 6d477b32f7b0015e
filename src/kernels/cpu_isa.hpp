// cpu_isa.hpp — which x86 instruction set the engine's own int8/bf16 kernels use, chosen at run time.
//
// The kernels that need more than the build's baseline (int8_gemm_*.cpp) are compiled with
// per-function target attributes, so one binary carries every path; which one runs is decided here
// from the CPU (cpuid via __builtin_cpu_supports, which also checks that the OS saves the vector
// registers), capped by the environment variable BERT_EMOTION_MAX_CPU_ISA — as ONEDNN_MAX_CPU_ISA
// caps oneDNN — so tests exercise every path on any machine. Levels, each implying the ones below:
//   scalar        portable C++ (no vector extension assumed)
//   avx2          AVX2 + FMA
//   avx512        AVX-512 F/BW/VL
//   avx512_vnni   + VNNI (vpdpbusd: 4 int8 products per 32-bit lane)
//   avx512_bf16   + BF16 (vdpbf16ps)
// An unknown value of the variable throws InvalidArgument naming it and the accepted values; a cap
// above what the CPU has changes nothing (the CPU's level is used).
//
//   CpuIsa isa = active_cpu_isa();          // detected, capped; computed once per process
//   std::cout << cpu_isa_name(isa);          // "avx512_vnni"
//   if (isa >= CpuIsa::avx512_vnni) ...      // levels are ordered
#pragma once

#include <string>

namespace bert_emotion {

enum class CpuIsa { scalar = 0, avx2 = 1, avx512 = 2, avx512_vnni = 3, avx512_bf16 = 4 };

// What this CPU (and OS) supports, uncapped.
CpuIsa detected_cpu_isa();
// detected_cpu_isa() capped by $BERT_EMOTION_MAX_CPU_ISA (read once, on the first call).
CpuIsa active_cpu_isa();
// "scalar", "avx2", "avx512", "avx512_vnni", "avx512_bf16".
const char* cpu_isa_name(CpuIsa isa);
// The inverse of cpu_isa_name; throws InvalidArgument naming `what` (e.g. the variable) otherwise.
CpuIsa parse_cpu_isa(const std::string& name, const std::string& what);
// One line for `--version` and `inspect`: "avx512_vnni (CPU: avx512_bf16, capped by BERT_EMOTION_MAX_CPU_ISA)".
std::string cpu_isa_summary();

}  // namespace bert_emotion

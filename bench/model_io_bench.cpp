// model_io_bench — what it costs to get base-size (65.8 M parameter) weights in and out:
// random init, save_model_dir (F32, fsync'ed), load_model_dir mapped in place vs copied into an
// owned arena, and the F16 / BF16 widening loops.
//
//   build/bench/model_io_bench --benchmark_min_time=1x
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "model/init.hpp"
#include "model/model_dir.hpp"
#include "model/safetensors.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

ModelConfig base_config() {
  ModelConfig c = preset_config("base");
  set_labels(c, {"anger", "joy", "optimism", "sadness"});
  return c;
}

// One base-size model directory on disk, written on first use, removed at exit.
fs::path g_base_dir;

const fs::path& base_dir() {
  if (g_base_dir.empty()) {
    g_base_dir = fs::temp_directory_path() / ("model_io_bench_" + std::to_string(::getpid()));
    create_random_model_dir(g_base_dir, base_config(), 1);
  }
  return g_base_dir;
}

void BM_InitBase(benchmark::State& state) {
  const ModelConfig cfg = base_config();
  const ParamLayout layout(cfg);
  std::vector<float> arena(layout.size());
  for (auto _ : state) {
    init_weights(cfg, layout, arena.data(), 7);
    benchmark::DoNotOptimize(arena.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * layout.size()));
}

void BM_SaveBase(benchmark::State& state) {
  const ModelConfig cfg = base_config();
  const ParamLayout layout(cfg);
  std::vector<float> arena(layout.size());
  init_weights(cfg, layout, arena.data(), 7);
  const fs::path out = fs::temp_directory_path() / ("model_io_bench_save_" + std::to_string(::getpid()));
  for (auto _ : state) save_model_dir(out, cfg, layout, arena.data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * layout.size() * sizeof(float)));
  fs::remove_all(out);
}

void BM_LoadBaseMapped(benchmark::State& state) {
  const fs::path& dir = base_dir();
  for (auto _ : state) {
    LoadedModel m = load_model_dir(dir);
    benchmark::DoNotOptimize(m.weights.cls_w);
  }
}

void BM_LoadBaseOwned(benchmark::State& state) {
  const fs::path& dir = base_dir();
  size_t n = 0;
  for (auto _ : state) {
    LoadedModel m = load_model_dir(dir, {.owned_arena = true});
    n = m.arena.size();
    benchmark::DoNotOptimize(m.arena.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * sizeof(float)));
}

void BM_Widen(benchmark::State& state, Dtype dtype) {
  const size_t n = 22'268'928;  // the base model's word-embedding table, 28996 x 768
  std::vector<uint16_t> raw(n);
  for (size_t i = 0; i < n; ++i) raw[i] = static_cast<uint16_t>(0x3C00 + (i % 977));
  const std::string bytes = serialize_safetensors({{"w", dtype, {static_cast<int64_t>(n)}, raw.data(), n * 2}});
  auto file = SafetensorsFile::from_bytes(std::string_view(bytes));
  std::vector<float> out(n);
  for (auto _ : state) {
    file->to_float32("w", out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

}  // namespace

BENCHMARK(BM_InitBase)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SaveBase)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadBaseMapped)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadBaseOwned)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Widen, F16, Dtype::F16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Widen, BF16, Dtype::BF16)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!g_base_dir.empty()) fs::remove_all(g_base_dir);
  return 0;
}

// init.cpp — random initialisation as Transformers does it (see init.hpp).
#include "model/init.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "model/family.hpp"
#include "model/model_dir.hpp"
#include "util/rng.hpp"

namespace bert_emotion {

namespace {

constexpr size_t kChunk = size_t{1} << 16;  // floats per independently seeded stream

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool is_layer_norm(const std::string& name) {
  return name.find("LayerNorm.") != std::string::npos || name.find("layer_norm.") != std::string::npos;
}

// normal(0, stddev) by Marsaglia's polar method on Rng's uniforms: no trigonometry, two values per
// accepted pair, which keeps a 65.8 M-parameter init well under a second.
void fill_normal(Rng& rng, float stddev, float* out, size_t n) {
  for (size_t i = 0; i < n; i += 2) {
    double u, v, s;
    do {
      u = 2.0 * rng.uniform() - 1.0;
      v = 2.0 * rng.uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    out[i] = static_cast<float>(stddev * u * f);
    if (i + 1 < n) out[i + 1] = static_cast<float>(stddev * v * f);
  }
}

}  // namespace

void sinusoidal_position_table(int n_pos, int dim, float* out) {
  for (int pos = 0; pos < n_pos; ++pos)
    for (int j = 0; j < dim; ++j) {
      const int pair = j / 2;  // columns 2i (sin) and 2i + 1 (cos) share frequency i
      const double angle = pos / std::pow(10000.0, 2.0 * pair / dim);
      out[static_cast<size_t>(pos) * dim + j] = static_cast<float>(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
}

void init_weights(const ModelConfig& cfg, const ParamLayout& layout, float* arena, uint64_t seed, bool head_only) {
  init_weights(cfg, layout, arena, seed, [head_only](const ParamInfo& p) { return !head_only || p.head; });
}

void init_weights(const ModelConfig& cfg, const ParamLayout& layout, float* arena, uint64_t seed,
                  const std::function<bool(const ParamInfo&)>& which) {
  struct Job {
    size_t param;
    size_t chunk;
  };
  std::vector<Job> normal_jobs;
  const auto& params = layout.params();
  for (size_t pi = 0; pi < params.size(); ++pi) {
    const ParamInfo& p = params[pi];
    if (!which(p)) continue;
    float* x = arena + p.offset;
    const bool is_position = &p == &layout.position_embeddings();
    if (is_layer_norm(p.name)) {
      std::fill(x, x + p.numel, ends_with(p.name, ".weight") ? 1.0f : 0.0f);
    } else if (ends_with(p.name, ".bias")) {
      std::fill(x, x + p.numel, 0.0f);
    } else if (is_position && cfg.sinusoidal_pos_embds) {
      sinusoidal_position_table(cfg.max_position_embeddings, cfg.dim, x);
    } else {
      for (size_t c = 0; c * kChunk < p.numel; ++c) normal_jobs.push_back({pi, c});
    }
  }
#pragma omp parallel for schedule(dynamic)
  for (size_t j = 0; j < normal_jobs.size(); ++j) {
    const ParamInfo& p = params[normal_jobs[j].param];
    const size_t begin = normal_jobs[j].chunk * kChunk;
    const size_t n = std::min(kChunk, p.numel - begin);
    Rng rng(hash3(seed, normal_jobs[j].param, normal_jobs[j].chunk));
    fill_normal(rng, cfg.initializer_range, arena + p.offset + begin, n);
  }
  // nn.Embedding(padding_idx=pad_token_id): that row starts at zero (RoBERTa's position table has
  // the same padding_idx).
  auto zero_pad_row = [&](const ParamInfo& table) {
    if (!which(table)) return;
    float* row = arena + table.offset + static_cast<size_t>(cfg.pad_token_id) * cfg.dim;
    std::fill(row, row + cfg.dim, 0.0f);
  };
  zero_pad_row(layout.word_embeddings());
  if (family_spec(cfg).positions_from_ids) zero_pad_row(layout.position_embeddings());
}

void create_random_model_dir(const std::filesystem::path& out, const ModelConfig& cfg, uint64_t seed,
                             const std::filesystem::path& tokenizer_dir) {
  ParamLayout layout(cfg);
  std::vector<float> arena(layout.size());
  init_weights(cfg, layout, arena.data(), seed);
  save_model_dir(out, cfg, layout, arena.data(), tokenizer_dir);
}

}  // namespace bert_emotion

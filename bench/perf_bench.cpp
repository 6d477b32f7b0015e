// perf_bench.cpp — training-step, evaluation and model-load timings for bench/run.sh, measured the
// way ../shared/reference/bench.py measures PyTorch so the two compare line by line.
//
//   perf_bench train --model DIR [--steps 40] [--warmup 3] [--seed 0] [--threads 2] [--bf16]
//   perf_bench eval  --model DIR [--batch 4] [--threads 2]
//   perf_bench load  --model DIR [--iters 5]
//   perf_bench lengths --model DIR            (token counts of the test tweets: the ORT peer's input)
//
// train : one optimizer step = forward (dropout on) + cross-entropy + backward + global gradient
//         norm + fused clip/AdamW/zero-grad, exactly the trainer's step (src/train/trainer.cpp),
//         batch 4 padded to the longest of a random batch of TweetEval emotion training tweets
//         (true token counts from the model's tokenizer), random ids as bench.py draws them.
//         Reports the median step and bench.py's two projections of the 3-epoch recipe
//         (2445 steps): mean step x steps, and a least-squares fit a + b * padded_len applied
//         to a simulated 3-epoch shuffle of the real lengths. --bf16: the step as `train --bf16`
//         runs it (kernels/bf16_gemm.hpp; bench.py train --bf16 is the peer).
// eval  : evaluate_tokenized on the 374 validation tweets (the trainer's per-epoch evaluation).
// load  : load_model_dir (F32 tensors mmap'ed) + set_inference_dtype (prepacks the FP32 linears, as
//         Classifier::load) + the first touch of every weight page the forward reads, median.
// Prints one JSON line; peak_rss_mb is getrusage's ru_maxrss.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "data/dataset.hpp"
#include "data/evaluate.hpp"
#include "kernels/bf16_gemm.hpp"
#include "kernels/cpu_isa.hpp"
#include "model/encoder.hpp"
#include "model/init.hpp"
#include "model/model_dir.hpp"
#include "model/quantize.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/optimizer.hpp"
#include "util/rng.hpp"

#include <omp.h>

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

std::vector<std::vector<int32_t>> tokenize_split(const Tokenizer& tok, const std::string& data,
                                                 const std::string& split, std::vector<int>* labels) {
  Dataset ds = load_dataset(data, split, {.allow_missing_labels = true});
  std::vector<std::vector<int32_t>> ids;
  for (const auto& r : ds.rows) {
    ids.push_back(tok.encode_ids(r.text));
    if (labels) labels->push_back(std::max(0, r.label));
  }
  return ids;
}

nlohmann::json bench_train(const fs::path& model, const std::string& data, int steps, int warmup, uint64_t seed) {
  constexpr int kBatch = 4, kEpochs = 3;
  const Tokenizer tok = Tokenizer::from_model_dir(model);
  std::vector<size_t> lengths;
  for (const auto& r : tokenize_split(tok, data, "train", nullptr)) lengths.push_back(r.size());
  LoadedModel m = load_model_dir(model, {.owned_arena = true});
  m.file.reset();  // the trainer keeps only its own copy of the weights (run_training.cpp)
  const ModelConfig& cfg = m.config;
  const int K = cfg.num_labels();
  Weights w = m.layout.bind(m.arena.data());
  std::vector<float> grads(m.layout.size(), 0.f);
  Weights gw = m.layout.bind(grads.data());
  AdamW opt(m.layout.params(), m.layout.size(), {0.9, 0.999, 1e-8, 0.0});
  const double rss_model = bench::peak_rss_mb();

  Rng rng(seed);
  std::vector<size_t> perm(lengths.size());
  std::iota(perm.begin(), perm.end(), size_t{0});
  rng.shuffle(perm);
  const size_t max_len = *std::max_element(lengths.begin(), lengths.end());
  Activations acts;
  activations_reserve(acts, cfg, kBatch, int(max_len), /*training=*/true);
  std::vector<float> logits(kBatch * K), dlogits(kBatch * K);
  std::vector<int32_t> labels(kBatch);
  std::vector<double> times, lens;
  for (int s = 0; s < warmup + steps; ++s) {
    std::vector<std::vector<int32_t>> rows;
    for (int i = 0; i < kBatch; ++i) {
      const size_t n = lengths[perm[(size_t(s) * kBatch + size_t(i)) % perm.size()]];
      std::vector<int32_t> r(n);
      for (auto& id : r) id = int32_t(1000 + rng.next_u64() % uint64_t(cfg.vocab_size - 1000));
      r.front() = 101;
      r.back() = 102;
      rows.push_back(std::move(r));
      labels[size_t(i)] = int32_t(rng.next_u64() % uint64_t(K));
    }
    const TokenBatch batch = make_batch(rows, cfg.pad_token_id);
    const double t0 = bench::now();
    const DropoutSpec spec{42, uint64_t(s)};
    {
      const Bf16WeightReuseScope reuse;  // as the trainer's step
      encoder_forward(cfg, w, batch, acts, logits.data(), &spec);
      cross_entropy_forward_backward(logits.data(), labels.data(), batch.B, K, dlogits.data());
      encoder_backward(cfg, w, gw, batch, acts, dlogits.data());
    }
    const float norm = global_grad_norm(m.layout.params(), grads.data());
    opt.step_and_zero_grads(m.arena.data(), grads.data(), 5e-5, clip_coefficient(norm, 1.0));
    const double dt = bench::now() - t0;
    if (s >= warmup) {
      times.push_back(dt);
      lens.push_back(double(batch.T));
    }
  }
  // Projection of the full recipe, bench.py's way: least-squares time = c + b * padded_len over a
  // simulated 3-epoch shuffle of the real lengths.
  const size_t steps_per_epoch = (lengths.size() + kBatch - 1) / kBatch, total = kEpochs * steps_per_epoch;
  const double mx = std::accumulate(lens.begin(), lens.end(), 0.0) / double(lens.size());
  const double my = std::accumulate(times.begin(), times.end(), 0.0) / double(times.size());
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < lens.size(); ++i) {
    sxy += (lens[i] - mx) * (times[i] - my);
    sxx += (lens[i] - mx) * (lens[i] - mx);
  }
  const double b = sxx > 0 ? sxy / sxx : 0.0, c = my - b * mx;
  Rng sim(seed + 1000);
  double proj_fit = 0, padded_sum = 0;
  for (int e = 0; e < kEpochs; ++e) {
    std::vector<size_t> p(lengths.size());
    std::iota(p.begin(), p.end(), size_t{0});
    sim.shuffle(p);
    for (size_t k = 0; k < steps_per_epoch; ++k) {
      size_t L = 0;
      for (size_t i = k * kBatch; i < std::min(p.size(), (k + 1) * kBatch); ++i) L = std::max(L, lengths[p[i]]);
      proj_fit += c + b * double(L);
      padded_sum += double(L);
    }
  }
  nlohmann::json out;
  out["what"] = "train";
  out["batch"] = kBatch;
  out["steps_measured"] = times.size();
  out["step_median_s"] = bench::median(times);
  out["step_mean_s"] = my;
  out["step_min_s"] = *std::min_element(times.begin(), times.end());
  out["step_max_s"] = *std::max_element(times.begin(), times.end());
  out["padded_len_mean"] = mx;
  out["fit_s_per_step"] = {c, b};
  out["total_steps_full_run"] = total;
  out["projected_full_run_s_mean"] = my * double(total);
  out["projected_full_run_s_fit"] = proj_fit;
  out["sim_padded_len_mean"] = padded_sum / double(total);
  out["rss_after_model_mb"] = rss_model;
  return out;
}

nlohmann::json bench_eval(const fs::path& model, const std::string& data, int batch) {
  const Tokenizer tok = Tokenizer::from_model_dir(model);
  std::vector<int> labels;
  const auto ids = tokenize_split(tok, data, "val", &labels);
  LoadedModel m = load_model_dir(model);
  for (auto& l : labels) l = std::min(l, m.config.num_labels() - 1);
  evaluate_tokenized(m.config, m.weights, {ids.begin(), ids.begin() + std::min<size_t>(ids.size(), 8)},
                     {labels.begin(), labels.begin() + std::min<size_t>(labels.size(), 8)}, batch);  // warm-up
  const double t0 = bench::now();
  const EvalOutput eo = evaluate_tokenized(m.config, m.weights, ids, labels, batch);
  const double dt = bench::now() - t0;
  nlohmann::json out;
  out["what"] = "eval";
  out["batch"] = batch;
  out["tweets"] = ids.size();
  out["seconds"] = dt;
  out["tweets_per_s"] = double(ids.size()) / dt;
  out["eval_loss"] = eo.loss;
  return out;
}

nlohmann::json bench_load(const fs::path& model, int iters) {
  std::vector<double> times;
  double checksum = 0;
  for (int i = 0; i < iters; ++i) {
    const double t0 = bench::now();
    LoadedModel m = load_model_dir(model);
    set_inference_dtype(m, "auto");  // what Classifier::load does: FP32 linears prepacked where possible
    // Touch one float per 4 KiB page of every tensor the forward reads: a mapping that is never read
    // costs nothing, so "loaded" means every page is resident (prepacking read the linears already).
    double s = 0;
    const Weights& w = m.weights;
    auto touch = [&](const float* t, size_t n) {
      for (size_t k = 0; k < n; k += 1024) s += double(t[k]);
    };
    touch(w.word_emb, size_t(m.config.vocab_size) * size_t(m.config.dim));
    for (const auto& L : m.packed_f32 ? std::vector<LayerWeights>{} : w.layers) {
      const size_t CC = size_t(m.config.dim) * size_t(m.config.dim),
                   CF = size_t(m.config.dim) * size_t(m.config.hidden_dim);
      touch(L.q_w, CC), touch(L.k_w, CC), touch(L.v_w, CC), touch(L.o_w, CC), touch(L.ff1_w, CF), touch(L.ff2_w, CF);
    }
    const double dt = bench::now() - t0;
    checksum += s;
    times.push_back(dt);
  }
  nlohmann::json out;
  out["what"] = "load";
  out["iters"] = iters;
  out["median_ms"] = 1000 * bench::median(times);
  out["first_ms"] = 1000 * times.front();
  out["checksum"] = checksum;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: perf_bench train|eval|load --model DIR [options]\n";
    return 2;
  }
  const std::string what = argv[1];
  std::string model, data = std::string(SHARED_DIR) + "/data/tweeteval/datasets/emotion";
  int steps = 40, warmup = 3, threads = 2, batch = 4, iters = 5;
  bool bf16 = false;
  uint64_t seed = 0;
  bench::Options opts;
  opts.value("--model", model).value("--data", data).value("--steps", steps).value("--warmup", warmup);
  opts.value("--threads", threads).value("--batch", batch).value("--iters", iters).value("--seed", seed);
  opts.flag("--bf16", bf16);
  if (!opts.parse(argc, argv)) return 2;
  if (model.empty()) {
    std::cerr << "--model is required\n";
    return 2;
  }
  try {
    if (threads > 0) omp_set_num_threads(threads);
    if (what == "lengths") {
      std::vector<size_t> lengths;
      for (const auto& r : tokenize_split(Tokenizer::from_model_dir(model), data, "test", nullptr))
        lengths.push_back(r.size());
      std::cout << nlohmann::json(lengths).dump() << std::endl;
      return 0;
    }
    nlohmann::json out;
    const Bf16AutocastScope autocast(bf16);
    if (what == "train") out = bench_train(model, data, steps, warmup, seed);
    else if (what == "eval") out = bench_eval(model, data, batch);
    else if (what == "load") out = bench_load(model, iters);
    else {
      std::cerr << "unknown benchmark " << what << "\n";
      return 2;
    }
    out["threads"] = threads;
    if (bf16) out["precision"] = std::string("bf16 autocast, ") + cpu_isa_name(active_cpu_isa());
    out["peak_rss_mb"] = bench::peak_rss_mb();
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

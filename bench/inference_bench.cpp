// inference_bench.cpp — the engine's side of bench/inference_bench.sh, measured the way
// ../shared/reference/bench.py measures PyTorch so the two can be compared.
//
//   inference_bench latency    --model DIR [--iters 100] [--warmup 10] [--threads 2] [--dtype f32|int8]
//   inference_bench throughput --model DIR [--batch 32] [--sorted] [--threads 2]
//   inference_bench classify   --model DIR [--batch 32] [--threads 2]
//   ... latency|throughput --lengths LENGTHS.json   token counts instead of our tokenizer's
//
// latency    : batch 1, one median-length TweetEval emotion test tweet (token count from our
//              tokenizer, [CLS]/[SEP] included), Classifier::logits on pre-tokenized ids, as
//              bench.py times model(ids, mask) without tokenization; median/p90/min over --iters.
// throughput : all 1421 test tweets as token ids, batches of --batch in file order (or sorted by
//              length), one warm-up batch, then one timed pass of Classifier::logits per batch.
// classify   : the end-to-end library call, Classifier::classify(texts) on the 1421 raw tweets
//              (tokenization + its own length sorting included).
// --lengths: rows of exactly these token counts (a JSON array, e.g. `perf_bench lengths`'s WordPiece
//              counts): the tokenizer's first and last special token around pseudo-random ids from
//              [1000, vocab), as bench.py and ort_peer.mjs draw theirs, so that every engine and
//              family runs the same shapes (bench/families.sh; speed does not depend on the ids).
// --dtype int8 runs the dynamically quantized linears (model/quantize.hpp); default: the directory's.
// Prints one JSON line; peak_rss_mb is getrusage's ru_maxrss. A plain main (no Google Benchmark
// loop) so the statistics match bench.py's one-pass / fixed-iteration methodology.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <stdexcept>
#include <string>

#include "api/classifier.hpp"
#include "bench_common.hpp"
#include "data/dataset.hpp"
#include "kernels/cpu_isa.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

std::vector<std::vector<int32_t>> rows_of_lengths(const std::string& path, int32_t first, int32_t last, int64_t vocab) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open (expected a JSON array of token counts)");
  const auto lengths = nlohmann::json::parse(in).get<std::vector<size_t>>();
  uint64_t state = 12345;
  std::vector<std::vector<int32_t>> rows;
  for (size_t n : lengths) {
    if (n < 2) throw std::runtime_error(path + ": a token count below 2 (no room for the special tokens)");
    std::vector<int32_t> row(n);
    for (size_t t = 1; t + 1 < n; ++t) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      row[t] = static_cast<int32_t>(1000 + int64_t((state >> 33) % uint64_t(vocab - 1000)));
    }
    row.front() = first;
    row.back() = last;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: inference_bench latency|throughput|classify --model DIR [options]\n";
    return 2;
  }
  std::string what = argv[1], model, lengths_path, dtype = "auto";
  std::string data = std::string(SHARED_DIR) + "/data/tweeteval/datasets/emotion";
  int iters = 100, warmup = 10, batch = 32, threads = 2;
  bool sorted = false;
  bench::Options opts;
  opts.value("--model", model).value("--data", data).value("--iters", iters).value("--warmup", warmup);
  opts.value("--dtype", dtype);
  opts.value("--batch", batch).value("--threads", threads).flag("--sorted", sorted);
  opts.value("--lengths", lengths_path);
  if (!opts.parse(argc, argv)) return 2;
  if (model.empty()) {
    std::cerr << "--model is required\n";
    return 2;
  }

  try {
    auto clf = Classifier::load(model, {.threads = threads, .batch_size = batch, .dtype = dtype});
    Dataset test = load_dataset(data, "test", {.allow_missing_labels = true});
    std::vector<std::string> texts;
    for (const auto& r : test.rows) texts.push_back(r.text);
    std::vector<std::vector<int32_t>> ids;
    for (const auto& t : texts) ids.push_back(clf->tokenizer().encode_ids(t));
    if (!lengths_path.empty())
      ids = rows_of_lengths(lengths_path, ids.front().front(), ids.front().back(), clf->config().vocab_size);
    size_t real_tokens = 0;
    for (const auto& r : ids) real_tokens += r.size();
    nlohmann::json out;
    out["threads"] = threads;
    out["dtype"] = dtype;
    out["cpu_isa"] = cpu_isa_summary();

    if (what == "latency") {
      std::vector<size_t> lengths;
      for (const auto& r : ids) lengths.push_back(r.size());
      std::vector<size_t> s = lengths;
      std::sort(s.begin(), s.end());
      // Python's statistics.median, truncated to int as bench.py does.
      const size_t L = s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
      // The first test tweet of exactly that length.
      const auto it = std::find(lengths.begin(), lengths.end(), L);
      if (it == lengths.end()) throw std::runtime_error("no row of the median length " + std::to_string(L));
      const std::vector<int32_t> row = ids[size_t(it - lengths.begin())];
      std::vector<double> times;
      for (int k = 0; k < warmup + iters; ++k) {
        const double t0 = bench::now();
        auto l = clf->logits({row});
        const double dt = bench::now() - t0;
        if (k >= warmup) times.push_back(dt);
      }
      std::sort(times.begin(), times.end());
      out["what"] = "latency";
      out["seq_len"] = L;
      out["iters"] = times.size();
      out["median_ms"] = 1000 * bench::median(times);
      out["p90_ms"] = 1000 * times[size_t(0.9 * double(times.size() - 1))];
      out["min_ms"] = 1000 * times.front();
    } else if (what == "throughput") {
      std::vector<size_t> order(ids.size());
      std::iota(order.begin(), order.end(), size_t{0});
      if (sorted)
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() < ids[b].size(); });
      std::vector<std::vector<std::vector<int32_t>>> batches;
      size_t padded = 0;
      for (size_t s = 0; s < order.size(); s += size_t(batch)) {
        std::vector<std::vector<int32_t>> b;
        size_t T = 0;
        for (size_t i = s; i < std::min(order.size(), s + size_t(batch)); ++i) {
          b.push_back(ids[order[i]]);
          T = std::max(T, ids[order[i]].size());
        }
        padded += T * b.size();
        batches.push_back(std::move(b));
      }
      clf->logits(batches[batches.size() / 2]);  // warm-up
      const double t0 = bench::now();
      for (const auto& b : batches) clf->logits(b);
      const double dt = bench::now() - t0;
      out["what"] = sorted ? "throughput_sorted" : "throughput_in_order";
      out["batch"] = batch;
      out["tweets"] = ids.size();
      out["batches"] = batches.size();
      out["padded_tokens"] = padded;
      out["real_tokens"] = real_tokens;
      out["seconds"] = dt;
      out["tweets_per_s"] = double(ids.size()) / dt;
    } else if (what == "classify") {
      clf->classify(std::vector<std::string>(texts.begin(), texts.begin() + batch));  // warm-up
      const double t0 = bench::now();
      auto preds = clf->classify(texts);
      const double dt = bench::now() - t0;
      out["what"] = "classify_end_to_end";
      out["batch"] = batch;
      out["tweets"] = preds.size();
      out["seconds"] = dt;
      out["tweets_per_s"] = double(preds.size()) / dt;
    } else {
      std::cerr << "unknown benchmark " << what << "\n";
      return 2;
    }
    out["peak_rss_mb"] = bench::peak_rss_mb();
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

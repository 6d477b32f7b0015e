// tokenizer_bench.cpp — single-threaded tokenization of every TweetEval emotion text
// (train + val + test, 5052 tweets) with the distilbert-base-cased tokenizer.json, or the model
// directory named by TOKENIZER_BENCH_MODEL (e.g. ../shared/models/roberta-bpe-test: byte-level BPE).
//
//   build/bench/tokenizer_bench --benchmark_filter=Encode
//   TOKENIZER_BENCH_MODEL=../shared/models/roberta-bpe-test build/bench/tokenizer_bench
//   bench/tokenizer_peer.sh     # the same texts through Hugging Face's npm `tokenizers`, and the ratio
//
// BM_EncodeFull builds complete Encodings (ids, token strings, offsets, masks) like the npm
// encode(); BM_EncodeIds only the ids (what training and inference use); BM_EncodeBatch uses
// encode_batch on 1 thread. Items = tweets, bytes = UTF-8 input bytes.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
const fs::path kModel = std::getenv("TOKENIZER_BENCH_MODEL")
                            ? fs::path(std::getenv("TOKENIZER_BENCH_MODEL"))
                            : fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";

const std::vector<std::string>& tweets() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    for (const char* split : {"train", "val", "test"}) {
      std::ifstream in(fs::path(SHARED_DIR) / "data/tweeteval/datasets/emotion" / (std::string(split) + "_text.txt"),
                       std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string data = ss.str();
      size_t i = 0;
      while (i < data.size()) {
        size_t j = data.find('\n', i);
        if (j == std::string::npos) j = data.size();
        out.push_back(data.substr(i, j - i));
        i = j + 1;
      }
    }
    return out;
  }();
  return texts;
}

size_t total_bytes() {
  size_t n = 0;
  for (const auto& t : tweets()) n += t.size();
  return n;
}

const bert_emotion::Tokenizer& tokenizer() {
  static const bert_emotion::Tokenizer tok = bert_emotion::Tokenizer::from_model_dir(kModel);
  return tok;
}

void BM_EncodeFull(benchmark::State& state) {
  const auto& tok = tokenizer();
  const auto& texts = tweets();
  size_t tokens = 0;
  for (auto _ : state) {
    for (const auto& t : texts) {
      bert_emotion::Encoding e = tok.encode(t);
      tokens += e.ids.size();
      benchmark::DoNotOptimize(e);
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations() * texts.size()));
  state.SetBytesProcessed(int64_t(state.iterations() * total_bytes()));
  state.counters["tokens_per_pass"] = double(tokens) / double(state.iterations());
}
BENCHMARK(BM_EncodeFull)->Unit(benchmark::kMillisecond)->MinTime(1.0);

void BM_EncodeIds(benchmark::State& state) {
  const auto& tok = tokenizer();
  const auto& texts = tweets();
  for (auto _ : state) {
    for (const auto& t : texts) {
      auto ids = tok.encode_ids(t);
      benchmark::DoNotOptimize(ids);
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations() * texts.size()));
  state.SetBytesProcessed(int64_t(state.iterations() * total_bytes()));
}
BENCHMARK(BM_EncodeIds)->Unit(benchmark::kMillisecond)->MinTime(1.0);

void BM_EncodeBatch1Thread(benchmark::State& state) {
  const auto& tok = tokenizer();
  const auto& texts = tweets();
  for (auto _ : state) {
    auto all = tok.encode_batch(texts, 0, 1);
    benchmark::DoNotOptimize(all);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * texts.size()));
  state.SetBytesProcessed(int64_t(state.iterations() * total_bytes()));
}
BENCHMARK(BM_EncodeBatch1Thread)->Unit(benchmark::kMillisecond)->MinTime(1.0);

void BM_LoadTokenizerJson(benchmark::State& state) {
  for (auto _ : state) {
    auto tok = bert_emotion::Tokenizer::from_model_dir(kModel);
    benchmark::DoNotOptimize(tok);
  }
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

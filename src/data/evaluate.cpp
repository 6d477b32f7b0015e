// evaluate.cpp — Trainer.evaluate() semantics over packed batches (see evaluate.hpp).
#include "data/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "model/encoder.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

// Per-example cross-entropy -log softmax(logits)[label], in double (log-sum-exp with the max
// subtracted, as torch's log_softmax).
double example_cross_entropy(const float* logits, int K, int label) {
  double mx = logits[0];
  for (int k = 1; k < K; ++k) mx = std::max(mx, static_cast<double>(logits[k]));
  double sum = 0;
  for (int k = 0; k < K; ++k) sum += std::exp(static_cast<double>(logits[k]) - mx);
  return mx + std::log(sum) - static_cast<double>(logits[label]);
}

// torch.argmax: the first maximal index.
int argmax_first(const float* v, int K) {
  int best = 0;
  for (int k = 1; k < K; ++k)
    if (v[k] > v[best]) best = k;
  return best;
}

double round_to(double v, int decimals) {
  double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

}  // namespace

EvalOutput evaluate_tokenized(const ModelConfig& cfg, const Weights& w, const std::vector<std::vector<int32_t>>& ids,
                              const std::vector<int>& labels, int batch_size, dist::Communicator& comm,
                              const std::vector<std::vector<int32_t>>& type_rows) {
  const auto t0 = std::chrono::steady_clock::now();
  const int K = cfg.num_labels();
  if (batch_size < 1) throw InvalidArgument("evaluate: batch size must be >= 1, got " + std::to_string(batch_size));
  if (cfg.multi_label())
    throw InvalidArgument("evaluate: the model is multi_label_classification; only single-label datasets are supported");
  if (K < 1) throw InvalidArgument("evaluate: the model has no labels (id2label is empty)");
  if (ids.size() != labels.size())
    throw InvalidArgument("evaluate: " + std::to_string(ids.size()) + " token rows but " +
                          std::to_string(labels.size()) + " labels");
  if (!type_rows.empty() && type_rows.size() != ids.size())
    throw InvalidArgument("evaluate: " + std::to_string(ids.size()) + " token rows but " +
                          std::to_string(type_rows.size()) + " token type rows");
  const size_t N = ids.size();
  EvalOutput out;
  for (size_t i = 0; i < N; ++i) {
    if (labels[i] < 0 || labels[i] >= K)
      throw InvalidArgument("evaluate: label " + std::to_string(labels[i]) + " of example " + std::to_string(i) +
                            " is outside [0, " + std::to_string(K) + ")");
    if (ids[i].empty()) throw InvalidArgument("evaluate: example " + std::to_string(i) + " has no tokens");
    if (ids[i].size() > static_cast<size_t>(cfg.max_tokens()))
      throw InvalidArgument("evaluate: example " + std::to_string(i) + " has " + std::to_string(ids[i].size()) +
                            " tokens, more than the model's " + std::to_string(cfg.max_tokens()) + " positions");
    out.num_tokens += ids[i].size();
  }
  out.labels = labels;
  out.predictions.assign(N, 0);
  out.logits.assign(N * K, 0.f);

  // Batches in dataset order, packed (no padding: encoder_forward_packed); this rank's share of
  // them (all of them in one process).
  const size_t bs = static_cast<size_t>(batch_size);
  const dist::Range share = dist::even_share((N + bs - 1) / bs, comm.size(), comm.rank());
  const size_t row_first = std::min(N, share.first * bs), row_last = std::min(N, share.last * bs);
  PackedActivations acts;
  std::vector<std::vector<int32_t>> rows, types;
  std::vector<float> logits;
  double loss_sum = 0;
  for (size_t start = row_first; start < row_last; start += bs) {
    const size_t end = std::min(row_last, start + bs);
    rows.clear();
    types.clear();
    for (size_t i = start; i < end; ++i) {
      rows.push_back(ids[i]);
      if (!type_rows.empty()) types.push_back(type_rows[i]);
    }
    const PackedBatch batch = pack_rows(rows, types);
    logits.assign(static_cast<size_t>(batch.B) * K, 0.f);
    encoder_forward_packed(cfg, w, batch, acts, logits.data());
    std::copy(logits.begin(), logits.end(), out.logits.begin() + static_cast<ptrdiff_t>(start * K));
  }
  if (comm.distributed())  // every rank's rows, in rank order = dataset order
    out.logits = comm.allgather(std::vector<float>(out.logits.begin() + static_cast<ptrdiff_t>(row_first * K),
                                                   out.logits.begin() + static_cast<ptrdiff_t>(row_last * K)));
  for (size_t i = 0; i < N; ++i) out.predictions[i] = argmax_first(out.logits.data() + i * K, K);
  // Sum the losses in dataset order so the result does not depend on the batching.
  for (size_t i = 0; i < N; ++i) loss_sum += example_cross_entropy(out.logits.data() + i * K, K, labels[i]);
  out.loss = N ? loss_sum / static_cast<double>(N) : 0.0;
  out.metrics = compute_metrics(labels, out.predictions, K);
  out.runtime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

EvalOutput evaluate_model(const ModelConfig& cfg, const Weights& w, const Tokenizer& tok, const Dataset& data,
                          int batch_size, size_t max_length, dist::Communicator& comm) {
  const auto t0 = std::chrono::steady_clock::now();
  const int K = cfg.num_labels();
  if (static_cast<int>(data.label_names.size()) != K)
    throw InvalidArgument("evaluate: dataset " + data.source + " has " + std::to_string(data.label_names.size()) +
                          " labels but the model has " + std::to_string(K));
  if (max_length == 0) max_length = std::min<size_t>(tok.model_max_length(), static_cast<size_t>(cfg.max_tokens()));
  std::vector<std::vector<int32_t>> ids, types;
  std::vector<int> labels;
  bool any_pair = false;
  ids.reserve(data.rows.size());
  labels.reserve(data.rows.size());
  for (const auto& row : data.rows) {
    if (row.label < 0)
      throw InvalidArgument("evaluate: " + data.source + " line " + std::to_string(row.line) + " has no label");
    if (row.text_pair.empty()) {
      ids.push_back(tok.encode_ids(row.text, max_length));
      types.emplace_back(ids.back().size(), 0);
    } else {
      Encoding e = tok.encode_pair(row.text, row.text_pair, max_length);
      types.emplace_back(e.type_ids.begin(), e.type_ids.end());
      ids.push_back(std::move(e.ids));
      any_pair = true;
    }
    labels.push_back(row.label);
  }
  if (!any_pair || !cfg.takes_token_types()) types.clear();
  EvalOutput out = evaluate_tokenized(cfg, w, ids, labels, batch_size, comm, types);
  out.runtime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

nlohmann::json eval_results_json(const EvalOutput& out, const std::vector<std::string>& names, int batch_size,
                                 const std::string& prefix) {
  nlohmann::json j = metrics_to_json(out.metrics, names, prefix);
  j[prefix + "loss"] = out.loss;
  const double n = static_cast<double>(out.predictions.size());
  const double steps = batch_size > 0 ? std::ceil(n / batch_size) : 0.0;
  // transformers' speed_metrics rounds: runtime to 4 decimals, rates to 3.
  j[prefix + "runtime"] = round_to(out.runtime_seconds, 4);
  j[prefix + "samples_per_second"] = out.runtime_seconds > 0 ? round_to(n / out.runtime_seconds, 3) : 0.0;
  j[prefix + "steps_per_second"] = out.runtime_seconds > 0 ? round_to(steps / out.runtime_seconds, 3) : 0.0;
  j[prefix + "samples"] = out.predictions.size();
  return j;
}

}  // namespace bert_emotion

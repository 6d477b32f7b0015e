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

namespace {

// Checks the rows and runs the model in eval mode: logits [N * K] in dataset order, batches packed.
// Under MPI each rank runs its share of the batches and the logits are gathered (rank order =
// dataset order), so every rank ends with all of them.
std::vector<float> run_logits(const ModelConfig& cfg, const Weights& w, const std::vector<std::vector<int32_t>>& ids,
                              int batch_size, size_t& num_tokens, dist::Communicator& comm,
                              const std::vector<std::vector<int32_t>>& type_rows) {
  const int K = cfg.num_labels();
  if (batch_size < 1) throw InvalidArgument("evaluate: batch size must be >= 1, got " + std::to_string(batch_size));
  if (K < 1) throw InvalidArgument("evaluate: the model has no labels (id2label is empty)");
  const size_t N = ids.size();
  if (!type_rows.empty() && type_rows.size() != N)
    throw InvalidArgument("evaluate: " + std::to_string(N) + " token rows but " + std::to_string(type_rows.size()) +
                          " token type rows");
  for (size_t i = 0; i < N; ++i) {
    if (ids[i].empty()) throw InvalidArgument("evaluate: example " + std::to_string(i) + " has no tokens");
    if (ids[i].size() > static_cast<size_t>(cfg.max_tokens()))
      throw InvalidArgument("evaluate: example " + std::to_string(i) + " has " + std::to_string(ids[i].size()) +
                            " tokens, more than the model's " + std::to_string(cfg.max_tokens()) + " positions");
    num_tokens += ids[i].size();
  }
  std::vector<float> all(N * K, 0.f);

  // Batches in dataset order, packed (no padding: encoder_forward_packed); this rank's share of
  // them (all of them in one process).
  const size_t bs = static_cast<size_t>(batch_size);
  const dist::Range share = dist::even_share((N + bs - 1) / bs, comm.size(), comm.rank());
  const size_t row_first = std::min(N, share.first * bs), row_last = std::min(N, share.last * bs);
  PackedActivations acts;
  std::vector<std::vector<int32_t>> rows, types;
  std::vector<float> logits;
  for (size_t start = row_first; start < row_last; start += bs) {
    const size_t end = std::min(row_last, start + bs);
    rows.assign(ids.begin() + static_cast<ptrdiff_t>(start), ids.begin() + static_cast<ptrdiff_t>(end));
    if (type_rows.empty()) types.clear();
    else
      types.assign(type_rows.begin() + static_cast<ptrdiff_t>(start), type_rows.begin() + static_cast<ptrdiff_t>(end));
    const PackedBatch batch = pack_rows(rows, types);
    logits.assign(static_cast<size_t>(batch.B) * K, 0.f);
    encoder_forward_packed(cfg, w, batch, acts, logits.data());
    std::copy(logits.begin(), logits.end(), all.begin() + static_cast<ptrdiff_t>(start * K));
  }
  if (comm.distributed())
    all = comm.allgather(std::vector<float>(all.begin() + static_cast<ptrdiff_t>(row_first * K),
                                            all.begin() + static_cast<ptrdiff_t>(row_last * K)));
  return all;
}

// BCE with logits of one entry, in double: max(z, 0) - z y + log1p(exp(-|z|)) (torch's stable form).
double bce_with_logits(double z, double y) { return std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::fabs(z))); }

}  // namespace

EvalOutput evaluate_tokenized(const ModelConfig& cfg, const Weights& w, const std::vector<std::vector<int32_t>>& ids,
                              const std::vector<int>& labels, int batch_size, dist::Communicator& comm,
                              const std::vector<std::vector<int32_t>>& type_rows) {
  const auto t0 = std::chrono::steady_clock::now();
  const int K = cfg.num_labels();
  if (cfg.multi_label()) {
    MultiHot targets(labels.size(), std::vector<float>(static_cast<size_t>(std::max(K, 0)), 0.f));
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] >= 0 && labels[i] < K) targets[i][static_cast<size_t>(labels[i])] = 1.f;
    return evaluate_tokenized_multilabel(cfg, w, ids, targets, batch_size, {}, comm, type_rows);
  }
  if (ids.size() != labels.size())
    throw InvalidArgument("evaluate: " + std::to_string(ids.size()) + " token rows but " +
                          std::to_string(labels.size()) + " labels");
  const size_t N = ids.size();
  for (size_t i = 0; i < N; ++i)
    if (labels[i] < 0 || labels[i] >= K)
      throw InvalidArgument("evaluate: label " + std::to_string(labels[i]) + " of example " + std::to_string(i) +
                            " is outside [0, " + std::to_string(K) + ")");
  EvalOutput out;
  out.logits = run_logits(cfg, w, ids, batch_size, out.num_tokens, comm, type_rows);
  out.labels = labels;
  out.predictions.assign(N, 0);
  double loss_sum = 0;
  // Sum the losses in dataset order so the result does not depend on the batching.
  for (size_t i = 0; i < N; ++i) {
    out.predictions[i] = argmax_first(out.logits.data() + i * K, K);
    loss_sum += example_cross_entropy(out.logits.data() + i * K, K, labels[i]);
  }
  out.loss = N ? loss_sum / static_cast<double>(N) : 0.0;
  out.metrics = compute_metrics(labels, out.predictions, K);
  out.runtime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

MultiHot apply_thresholds(const MultiHot& scores, const std::vector<float>& thresholds) {
  MultiHot out(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    out[i].resize(scores[i].size());
    for (size_t k = 0; k < scores[i].size(); ++k)
      out[i][k] = scores[i][k] > (thresholds.empty() ? 0.5f : thresholds[k]) ? 1.f : 0.f;
  }
  return out;
}

EvalOutput evaluate_tokenized_multilabel(const ModelConfig& cfg, const Weights& w,
                                         const std::vector<std::vector<int32_t>>& ids, const MultiHot& targets,
                                         int batch_size, const std::vector<float>& thresholds, dist::Communicator& comm,
                                         const std::vector<std::vector<int32_t>>& type_rows) {
  const auto t0 = std::chrono::steady_clock::now();
  const int K = cfg.num_labels();
  if (ids.size() != targets.size())
    throw InvalidArgument("evaluate: " + std::to_string(ids.size()) + " token rows but " +
                          std::to_string(targets.size()) + " label sets");
  if (!thresholds.empty() && thresholds.size() != static_cast<size_t>(K))
    throw InvalidArgument("evaluate: " + std::to_string(thresholds.size()) + " thresholds for " + std::to_string(K) +
                          " labels");
  const size_t N = ids.size();
  for (size_t i = 0; i < N; ++i)
    if (targets[i].size() != static_cast<size_t>(K))
      throw InvalidArgument("evaluate: label set of example " + std::to_string(i) + " has " +
                            std::to_string(targets[i].size()) + " entries, expected " + std::to_string(K));
  EvalOutput out;
  out.multi_label = true;
  out.logits = run_logits(cfg, w, ids, batch_size, out.num_tokens, comm, type_rows);
  out.targets = targets;
  out.scores.assign(N, std::vector<float>(static_cast<size_t>(K)));
  out.predictions.assign(N, 0);
  out.labels.assign(N, -1);
  double loss_sum = 0;
  for (size_t i = 0; i < N; ++i) {
    const float* z = out.logits.data() + i * K;
    for (int k = 0; k < K; ++k) {
      out.scores[i][static_cast<size_t>(k)] = 1.f / (1.f + std::exp(-z[k]));
      loss_sum += bce_with_logits(z[k], targets[i][static_cast<size_t>(k)]);
      if (out.labels[i] < 0 && targets[i][static_cast<size_t>(k)] > 0.5f) out.labels[i] = k;
    }
    out.predictions[i] = argmax_first(z, K);
  }
  out.loss = N ? loss_sum / (static_cast<double>(N) * K) : 0.0;
  out.predicted_sets = apply_thresholds(out.scores, thresholds);
  out.ml_metrics = compute_multilabel_metrics(targets, out.predicted_sets, out.scores);
  out.runtime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void encode_rows(const Tokenizer& tok, const std::vector<LabeledText>& rows, size_t max_length, bool token_types,
                 std::vector<std::vector<int32_t>>& ids, std::vector<std::vector<int32_t>>& types) {
  std::vector<std::string_view> first;
  std::vector<std::optional<std::string_view>> second;
  first.reserve(rows.size());
  second.reserve(rows.size());
  for (const auto& row : rows) {
    first.emplace_back(row.text);
    second.push_back(row.text_pair.empty() ? std::nullopt : std::optional<std::string_view>(row.text_pair));
  }
  TokenRows encoded = tok.encode_rows(first, second, max_length, token_types);
  ids = std::move(encoded.ids);
  types = std::move(encoded.type_ids);
}

EvalOutput evaluate_model(const ModelConfig& cfg, const Weights& w, const Tokenizer& tok, const Dataset& data,
                          int batch_size, size_t max_length, dist::Communicator& comm,
                          const std::vector<float>& thresholds) {
  const auto t0 = std::chrono::steady_clock::now();
  const int K = cfg.num_labels();
  if (static_cast<int>(data.label_names.size()) != K)
    throw InvalidArgument("evaluate: dataset " + data.source + " has " + std::to_string(data.label_names.size()) +
                          " labels but the model has " + std::to_string(K));
  if (max_length == 0) max_length = std::min<size_t>(tok.model_max_length(), static_cast<size_t>(cfg.max_tokens()));
  std::vector<std::vector<int32_t>> ids, types;
  std::vector<int> labels;
  labels.reserve(data.rows.size());
  if (data.multi_label && !cfg.multi_label())
    throw InvalidArgument("evaluate: " + data.source +
                          " is multi-label data but the model is single-label (problem_type " +
                          (cfg.problem_type.empty() ? std::string("unset") : cfg.problem_type) + ")");
  if (!cfg.multi_label())
    for (const auto& row : data.rows) {
      if (row.label < 0)
        throw InvalidArgument("evaluate: " + data.source + " line " + std::to_string(row.line) + " has no label");
      labels.push_back(row.label);
    }
  encode_rows(tok, data.rows, max_length, cfg.takes_token_types(), ids, types);
  EvalOutput out = cfg.multi_label() ? evaluate_tokenized_multilabel(cfg, w, ids, multi_hot(data), batch_size,
                                                                     thresholds, comm, types)
                                     : evaluate_tokenized(cfg, w, ids, labels, batch_size, comm, types);
  out.runtime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

nlohmann::json eval_results_json(const EvalOutput& out, const std::vector<std::string>& names, int batch_size,
                                 const std::string& prefix) {
  nlohmann::json j = out.multi_label ? multilabel_metrics_to_json(out.ml_metrics, names, prefix)
                                     : metrics_to_json(out.metrics, names, prefix);
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

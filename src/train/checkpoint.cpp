// checkpoint.cpp — checkpoint-N directories; the format is documented in checkpoint.hpp.
#include "train/checkpoint.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <tuple>

#include "model/model_dir.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStateFormat = "bert-emotion-training-state";
constexpr const char* kOptimizerFormat = "bert-emotion-adamw";

std::string hex64(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// `checkpoint-<digits>` exactly, as the Trainer's ^checkpoint\-(\d+)$.
std::optional<int64_t> checkpoint_step(const std::string& name) {
  const std::string prefix = "checkpoint-";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string digits = name.substr(prefix.size());
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(digits);
}

}  // namespace

nlohmann::json training_state_json(const TrainingState& s) {
  nlohmann::json rng = nlohmann::json::array();
  for (uint64_t w : s.shuffle_rng_state) rng.push_back(hex64(w));
  return {{"format", kStateFormat},
          {"version", 1},
          {"global_step", s.global_step},
          {"optimizer_step", s.optimizer_step},
          {"epoch", s.epoch},
          {"step_in_epoch", s.step_in_epoch},
          {"shuffle_rng_state", rng},
          {"seed", s.seed},
          {"num_train_examples", s.num_train_examples},
          {"train_batch_size", s.train_batch_size},
          {"world_size", s.world_size},
          {"num_train_epochs", s.num_train_epochs},
          {"max_steps", s.max_steps},
          {"warmup_steps", s.warmup_steps},
          {"learning_rate", s.learning_rate},
          {"loss_sum", s.loss_sum},
          {"logged_loss_sum", s.logged_loss_sum},
          {"steps_since_log", s.steps_since_log},
          {"num_input_tokens_seen", s.num_input_tokens_seen},
          {"total_flos", s.total_flos},
          {"run_id", s.run_id},
          {"saved_at", s.saved_at}};
}

std::string new_run_id() {
  std::random_device rd;
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                     static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  return hex64(v);
}

TrainingState training_state_from_json(const nlohmann::json& j, const std::string& source) {
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) throw FormatError(source + ": missing field '" + key + "'");
    return j.at(key);
  };
  if (need("format") != kStateFormat)
    throw FormatError(source + ": field 'format' is not \"" + std::string(kStateFormat) + "\"");
  if (need("version") != 1) throw UnsupportedError(source + ": unsupported version " + need("version").dump());
  TrainingState s;
  try {
    s.global_step = need("global_step").get<int64_t>();
    s.optimizer_step = need("optimizer_step").get<int64_t>();
    s.epoch = need("epoch").get<int64_t>();
    s.step_in_epoch = need("step_in_epoch").get<int64_t>();
    const auto& rng = need("shuffle_rng_state");
    if (!rng.is_array() || rng.size() != 4)
      throw FormatError(source + ": field 'shuffle_rng_state' must hold 4 hex strings");
    for (size_t i = 0; i < 4; ++i) {
      const std::string h = rng[i].get<std::string>();
      char* end = nullptr;
      s.shuffle_rng_state[i] = std::strtoull(h.c_str(), &end, 16);
      if (h.empty() || h.size() > 16 || *end != '\0')
        throw FormatError(source + ": field 'shuffle_rng_state' holds a bad hex word '" + h + "'");
    }
    s.seed = need("seed").get<uint64_t>();
    s.num_train_examples = need("num_train_examples").get<int64_t>();
    s.train_batch_size = need("train_batch_size").get<int64_t>();
    s.world_size = j.value("world_size", int64_t{1});  // absent before MPI support: one process
    s.num_train_epochs = need("num_train_epochs").get<int64_t>();
    s.max_steps = need("max_steps").get<int64_t>();
    s.warmup_steps = need("warmup_steps").get<int64_t>();
    s.learning_rate = need("learning_rate").get<double>();
    s.loss_sum = need("loss_sum").get<double>();
    s.logged_loss_sum = need("logged_loss_sum").get<double>();
    s.steps_since_log = need("steps_since_log").get<int64_t>();
    s.num_input_tokens_seen = j.value("num_input_tokens_seen", int64_t{0});
    s.total_flos = j.value("total_flos", 0.0);
    s.run_id = j.value("run_id", std::string());
    s.saved_at = j.value("saved_at", 0.0);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(source + ": " + e.what());
  }
  return s;
}

fs::path save_checkpoint(const fs::path& output_dir, const CheckpointData& c) {
  if (!c.config || !c.layout || !c.params || !c.exp_avg || !c.exp_avg_sq)
    throw InvalidArgument("save_checkpoint: config, layout, params and both moments are required");
  const std::string name = "checkpoint-" + std::to_string(c.state.global_step);
  fs::path final_dir = output_dir / name;  // not const: returned by move
  const fs::path tmp_dir = output_dir / (name + ".tmp-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  fs::create_directories(tmp_dir, ec);
  if (ec) throw IoError("cannot create " + tmp_dir.string() + ": " + ec.message());

  // A failed save (disk full, file-size limit) must not leave the half-written temp dir behind.
  try {
    save_model_dir(tmp_dir, *c.config, *c.layout, c.params, c.tokenizer_dir);

    std::vector<TensorToWrite> moments;
    moments.reserve(c.layout->params().size() * 2);
    for (const auto& p : c.layout->params()) {
      moments.push_back({"exp_avg." + p.name, Dtype::F32, p.shape, c.exp_avg + p.offset, p.numel * sizeof(float)});
      moments.push_back(
          {"exp_avg_sq." + p.name, Dtype::F32, p.shape, c.exp_avg_sq + p.offset, p.numel * sizeof(float)});
    }
    write_safetensors(tmp_dir / "optimizer.safetensors", std::move(moments),
                      {{"format", kOptimizerFormat}, {"step", std::to_string(c.state.optimizer_step)}});
    write_json_file(tmp_dir / "training_state.json", training_state_json(c.state), 2);
    write_json_file(tmp_dir / "trainer_state.json", trainer_state_json(c.trainer_state), 2);
    write_file_atomic(tmp_dir / "train_log.jsonl", c.train_log_jsonl);
    if (!c.training_args.is_null()) write_json_file(tmp_dir / "training_args.json", c.training_args, 2);
    fsync_directory(tmp_dir);
  } catch (...) {
    fs::remove_all(tmp_dir, ec);
    throw;
  }

  // Replace an older directory of the same name (a rerun over the same output dir).
  if (fs::exists(final_dir, ec)) fs::remove_all(final_dir, ec);
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) throw IoError("cannot rename " + tmp_dir.string() + " to " + final_dir.string() + ": " + ec.message());
  fsync_directory(output_dir);
  return final_dir;
}

LoadedCheckpoint load_checkpoint(const fs::path& dir, const ParamLayout& layout) {
  if (!fs::is_directory(dir)) throw IoError("checkpoint " + dir.string() + " is not a directory");
  LoadedCheckpoint out;
  out.dir = dir;
  LoadOptions lo;
  lo.owned_arena = true;
  LoadedModel m = load_model_dir(dir, lo);
  if (m.layout.size() != layout.size())
    throw FormatError(dir.string() + ": the checkpoint's model has " + std::to_string(m.layout.size()) +
                      " parameters, expected " + std::to_string(layout.size()) + " (a different model?)");
  out.params = std::move(m.arena);

  const fs::path opt_path = dir / "optimizer.safetensors";
  auto st = SafetensorsFile::open(opt_path);
  auto fmt = st->metadata().find("format");
  if (fmt == st->metadata().end() || fmt->second != kOptimizerFormat)
    throw FormatError(opt_path.string() + ": __metadata__ format is not \"" + std::string(kOptimizerFormat) + "\"");
  out.exp_avg.assign(layout.size(), 0.0f);
  out.exp_avg_sq.assign(layout.size(), 0.0f);
  for (const auto& p : layout.params()) {
    for (int which = 0; which < 2; ++which) {
      const std::string name = (which == 0 ? "exp_avg." : "exp_avg_sq.") + p.name;
      const TensorEntry& t = st->at(name);
      if (t.shape != p.shape || t.dtype != Dtype::F32) {
        std::string want, got;
        for (auto d : p.shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
        for (auto d : t.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
        throw FormatError(opt_path.string() + ": tensor " + name + ": expected F32 [" + want + "], got " +
                          dtype_name(t.dtype) + " [" + got + "]");
      }
      st->to_float32(t, (which == 0 ? out.exp_avg : out.exp_avg_sq).data() + p.offset);
    }
  }
  const fs::path state_path = dir / "training_state.json";
  const fs::path trainer_path = dir / "trainer_state.json";
  try {
    out.state = training_state_from_json(nlohmann::json::parse(read_file(state_path)), state_path.string());
    out.trainer_state = trainer_state_from_json(nlohmann::json::parse(read_file(trainer_path)), trainer_path.string());
    if (const fs::path args_path = dir / "training_args.json"; fs::exists(args_path))
      out.training_args = nlohmann::json::parse(read_file(args_path));
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range 406 (number overflow: 1e400)
    throw FormatError(dir.string() + ": " + e.what());
  }
  const fs::path log_path = dir / "train_log.jsonl";
  if (fs::exists(log_path)) out.train_log_jsonl = read_file(log_path);
  return out;
}

std::vector<CheckpointEntry> list_checkpoints(const fs::path& output_dir) {
  std::vector<CheckpointEntry> out;
  std::error_code ec;
  if (!fs::is_directory(output_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(output_dir, ec)) {
    if (!entry.is_directory()) continue;
    auto n = checkpoint_step(entry.path().filename().string());
    if (!n) continue;
    CheckpointEntry c{*n, entry.path(), "", 0};
    try {  // a missing or broken state leaves the run unknown; load_checkpoint reports it when used
      const auto j = nlohmann::json::parse(read_file(entry.path() / "training_state.json"));
      c.run_id = j.value("run_id", std::string());
      c.saved_at = j.value("saved_at", 0.0);
    } catch (const std::exception&) {
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.step < b.step; });
  return out;
}

std::optional<fs::path> latest_checkpoint(const fs::path& output_dir) {
  const auto all = list_checkpoints(output_dir);
  if (all.empty()) return std::nullopt;
  const auto last_saved = std::max_element(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::tie(a.saved_at, a.step) < std::tie(b.saved_at, b.step);
  });
  const std::string& run = last_saved->run_id;
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->run_id == run) return it->dir;
  return last_saved->dir;
}

void refuse_earlier_run_outputs(const fs::path& output_dir) {
  const auto all = list_checkpoints(output_dir);
  std::error_code ec;
  const bool model = fs::exists(output_dir / "model.safetensors", ec);
  if (all.empty() && !model) return;
  std::string what;
  if (!all.empty())
    what = std::to_string(all.size()) + " checkpoint" + (all.size() == 1 ? "" : "s") + " (" +
           all.front().dir.filename().string() + (all.size() > 1 ? " ... " + all.back().dir.filename().string() : "") +
           ")";
  if (model) what += std::string(what.empty() ? "" : " and ") + "a model.safetensors";
  throw InvalidArgument("--output-dir " + output_dir.string() + " already holds an earlier run's " + what + ": " +
                        (all.empty() ? "" : "continue that run with --resume-from-checkpoint latest, ") +
                        "start a new run there with --overwrite-output-dir (earlier checkpoints are kept and never "
                        "rotated), or choose another --output-dir");
}

std::vector<fs::path> rotate_checkpoints(const fs::path& output_dir, int limit, const std::string& run_id,
                                         const fs::path& keep, const fs::path& best) {
  std::vector<fs::path> deleted;
  if (limit <= 0) return deleted;
  std::vector<fs::path> mine;  // this run's, oldest first, then the best one, the one just saved last
  bool has_best = false;
  for (const auto& c : list_checkpoints(output_dir)) {
    if (c.run_id != run_id || c.dir.filename() == keep.filename()) continue;
    if (!best.empty() && c.dir.filename() == best.filename()) has_best = true;
    else mine.push_back(c.dir);
  }
  // As the Trainer: the best checkpoint is never rotated away; a limit of 1 then keeps two.
  if (has_best) {
    mine.push_back(output_dir / best.filename());
    limit = std::max(limit, 2);
  }
  mine.push_back(keep);
  for (size_t i = 0; i + static_cast<size_t>(limit) < mine.size(); ++i) {
    std::error_code ec;
    fs::remove_all(mine[i], ec);
    if (ec) throw IoError("cannot delete old checkpoint " + mine[i].string() + ": " + ec.message());
    deleted.push_back(mine[i]);
  }
  return deleted;
}

}  // namespace bert_emotion

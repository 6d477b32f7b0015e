// model_dir.cpp — load and save Hugging Face model directories (see model_dir.hpp).
//
// Loading maps each canonical parameter (ParamLayout) to a tensor of model.safetensors, accepting
// the family-prefixed names of XFor* checkpoints ("distilbert.", "bert.", "roberta.") and the bare
// names of a plain base model. Tensors we do not need (the family's pretraining heads: masked-LM
// vocab_* of DistilBERT, cls.* of BERT, lm_head.* and roberta.pooler.* of RoBERTa; position_ids
// buffers) are ignored, as Transformers drops them with a warning. BERT's pooler belongs to the
// pretrained model: used when present, created fresh (with the classifier) when absent.
#include "model/model_dir.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include "model/checkpoint.hpp"
#include "model/family.hpp"
#include "model/init.hpp"
#include "model/quantize.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The file's tensor for a canonical name: "bert.X" or, for a bare base model, "X". DistilBERT's
// word embeddings may survive only as the masked-LM decoder tied to them (vocab_projector).
const CheckpointTensor* find_tensor(const Checkpoint& file, const FamilySpec& family, const ParamLayout& layout,
                                    const ParamInfo& p) {
  if (const CheckpointTensor* t = file.find(p.name)) return t;
  const size_t n = std::strlen(family.prefix);
  if (p.name.compare(0, n, family.prefix) == 0)
    if (const CheckpointTensor* t = file.find(p.name.substr(n))) return t;
  if (family.family == Family::distilbert && &p == &layout.word_embeddings())
    return file.find("vocab_projector.weight");
  return nullptr;
}

// The F32 [out] scales "<name>_scale" beside an I8 linear weight `t` (model/quantize.hpp).
const CheckpointTensor* int8_scale_tensor(const Checkpoint& file, const CheckpointTensor& t, const ParamInfo& p,
                                          bool training) {
  const std::string src = t.file;
  if (training)
    throw UnsupportedError(src + ": tensor " + t.name + " is int8 (a `bert-emotion quantize` directory): training " +
                           "needs the FP32 model it was made from");
  const CheckpointTensor* s = file.find(t.name + "_scale");
  if (s == nullptr || s->dtype != Dtype::F32 || s->shape != std::vector<int64_t>{p.shape.at(0)})
    throw FormatError(src + ": I8 tensor " + t.name + " needs " + t.name + "_scale, F32 [" +
                      std::to_string(p.shape.at(0)) + "] (its per-output-channel scales)" +
                      (s == nullptr ? ", which is missing"
                                    : ", got " + std::string(dtype_name(s->dtype)) + " " + shape_text(s->shape)));
  return s;
}

// "classifier.out_proj.weight" -> "classifier.out_proj".
std::string module_name(const std::string& tensor) { return tensor.substr(0, tensor.rfind('.')); }

}  // namespace

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {
      "vocab.txt", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};
  return names;
}

LoadedModel load_model_dir(const std::filesystem::path& dir, const LoadOptions& opts) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw IoError(dir.string() + ": not a directory (expected a model directory)");
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path)) throw IoError(config_path.string() + ": no such file (not a model directory?)");
  const fs::path weights_path = Checkpoint::weights_path(dir);

  LoadedModel m;
  m.dir = dir;
  m.config = load_config(config_path);
  m.file = Checkpoint::open(weights_path);
  m.file->normalize_names();
  const Checkpoint& file = *m.file;
  const std::string src = weights_path.string();
  // Every layer needs tensors of its own: a config claiming more layers than the file has tensors
  // is refused before ParamLayout would build (and the arena allocate) millions of entries.
  if (static_cast<size_t>(m.config.n_layers) > file.tensors().size())
    throw FormatError(src + ": " + config_path.string() + " has n_layers " + std::to_string(m.config.n_layers) +
                      " but the file holds only " + std::to_string(file.tensors().size()) + " tensors");
  m.layout = ParamLayout(m.config);
  const FamilySpec& family = family_spec(m.config);

  // Resolve every parameter first so that errors come before any copying.
  const auto& params = m.layout.params();
  std::vector<const CheckpointTensor*> entries(params.size(), nullptr);
  std::vector<std::string> missing_head, missing_body;
  std::set<std::string> dtypes;
  // An int8 directory's linear weights: the I8 tensor and its per-channel F32 scales.
  const std::vector<const ParamInfo*> linear_list = linear_weight_params(m.config, m.layout);
  const std::set<const ParamInfo*> linear(linear_list.begin(), linear_list.end());
  std::vector<std::pair<const CheckpointTensor*, const CheckpointTensor*>> int8_entries(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamInfo& p = params[i];
    const CheckpointTensor* t = find_tensor(file, family, m.layout, p);
    if (t == nullptr) {
      (p.head ? missing_head : missing_body).push_back(p.name);
      continue;
    }
    if (t->shape != p.shape)
      throw FormatError(src + ": tensor " + t->name + ": expected " + shape_text(p.shape) + ", got " +
                        shape_text(t->shape));
    if (t->dtype == Dtype::I8 && linear.count(&p)) {  // written by `bert-emotion quantize`
      int8_entries[i] = {t, int8_scale_tensor(file, *t, p, opts.owned_arena)};
      dtypes.insert("I8");
      continue;
    }
    if (t->dtype != Dtype::F32 && t->dtype != Dtype::F16 && t->dtype != Dtype::BF16)
      throw UnsupportedError(src + ": tensor " + t->name + " has dtype " + dtype_name(t->dtype) +
                             "; a float parameter must be F32, F16 or BF16" +
                             (t->dtype == Dtype::I8 ? " (int8 is for linear weights only)" : ""));
    entries[i] = t;
    dtypes.insert(dtype_name(t->dtype));
  }
  // HF computes a sinusoidal table itself, so a checkpoint may omit it.
  const std::string position_name = m.layout.position_embeddings().name;
  bool compute_positions = false;
  if (m.config.sinusoidal_pos_embds) {
    auto it = std::find(missing_body.begin(), missing_body.end(), position_name);
    if (it != missing_body.end()) {
      missing_body.erase(it);
      compute_positions = true;
    }
  }
  if (!missing_body.empty()) {
    std::string list;
    for (size_t i = 0; i < missing_body.size() && i < 5; ++i) list += (i ? ", " : "") + missing_body[i];
    if (missing_body.size() > 5) list += ", ... (" + std::to_string(missing_body.size()) + " in all)";
    throw FormatError(src + ": missing tensor" + (missing_body.size() > 1 ? "s " : " ") + list);
  }
  if (!missing_head.empty()) {
    // The head is two modules (its dense, the classifier), each present or absent as a whole; a
    // BERT checkpoint may carry its pooler (the dense) without a classifier.
    const auto& h = family.head_params;
    auto missing = [&](const char* name) {
      return std::find(missing_head.begin(), missing_head.end(), name) != missing_head.end();
    };
    // Only BERT's dense (the pooler) belongs to the pretrained model and may stay without a classifier.
    const bool whole_head_only = family.family != Family::bert;
    for (size_t module = 0; module < 2; ++module)
      if (missing(h[2 * module]) != missing(h[2 * module + 1]) || (whole_head_only && missing_head.size() != 4)) {
        std::string list;
        for (size_t i = 0; i < missing_head.size(); ++i) list += (i ? ", " : "") + missing_head[i];
        throw FormatError(src + ": incomplete classification head: missing " + list);
      }
    if (!opts.allow_missing_head)
      throw FormatError(dir.string() + " has no classification head (" + module_name(h[0]) + "/" + module_name(h[2]) +
                        "): fine-tune it first with `bert-emotion train`");
    m.has_head = false;
    m.missing_head = missing_head;
  }
  m.weights_dtype = dtypes.count("I8") ? "I8" : dtypes.size() == 1 ? *dtypes.begin() : dtypes.empty() ? "" : "mixed";

  // Which tensors can stay in the mapping, and does anything need the owned arena?
  std::vector<const float*> in_place(params.size(), nullptr);
  bool need_arena = opts.owned_arena;
  for (size_t i = 0; i < params.size(); ++i) {
    if (int8_entries[i].first != nullptr) continue;  // no float copy: the forward reads the int8 one
    if (!opts.owned_arena && entries[i] != nullptr) in_place[i] = file.f32_data(*entries[i]);
    if (in_place[i] == nullptr) need_arena = true;
  }
  if (need_arena) {
    m.arena.assign(m.layout.size(), 0.0f);  // a missing head stays zero-filled
    for (size_t i = 0; i < params.size(); ++i) {
      if (in_place[i] != nullptr || entries[i] == nullptr) continue;
      file.to_float32(*entries[i], m.arena.data() + params[i].offset);
    }
    if (compute_positions) {
      const ParamInfo& p = m.layout.find(position_name);
      sinusoidal_position_table(m.config.max_position_embeddings, m.config.dim, m.arena.data() + p.offset);
    }
  }
  // Views: into the read-only mapping where possible (never written through: inference only),
  // else into the arena.
  std::vector<float*> where(params.size());
  for (size_t i = 0; i < params.size(); ++i)
    where[i] = int8_entries[i].first != nullptr ? nullptr
               : in_place[i] != nullptr         ? const_cast<float*>(in_place[i])
                                                : m.arena.data() + params[i].offset;
  const ParamInfo* first = params.data();
  m.weights = m.layout.bind([&](const ParamInfo& p) { return where[static_cast<size_t>(&p - first)]; });
  if (dtypes.count("I8")) {
    std::vector<std::pair<const CheckpointTensor*, const CheckpointTensor*>> per_slot;
    for (const ParamInfo* p : linear_list) {
      const auto& e = int8_entries[static_cast<size_t>(p - first)];
      if (e.first == nullptr)
        throw FormatError(src + ": tensor " + p->name + " is not I8 while other linear weights are: an int8 " +
                          "directory (bert-emotion quantize) quantizes every linear");
      per_slot.push_back(e);
    }
    attach_int8_weights(m, per_slot);
  }
  // A bf16 directory (`quantize --dtype bf16`): its BF16 linears, widened exactly above, run in bf16.
  const auto quantization = file.metadata().find("quantization");
  if (!opts.owned_arena && quantization != file.metadata().end() && quantization->second == kBf16Quantization) {
    for (const ParamInfo* p : linear_list)
      if (const CheckpointTensor* t = entries[static_cast<size_t>(p - first)]; t == nullptr || t->dtype != Dtype::BF16)
        throw FormatError(src + ": tensor " + p->name + " is not BF16 in a bf16 directory (metadata quantization '" +
                          kBf16Quantization + "')");
    quantize_linears_bf16(m);
  }
  if (m.arena.empty() && opts.owned_arena) throw Error("load_model_dir: internal error, arena not built");
  return m;
}

void save_model_dir(const std::filesystem::path& dir, const ModelConfig& cfg, const ParamLayout& layout,
                    const float* arena, const std::filesystem::path& tokenizer_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw IoError(dir.string() + ": cannot create directory: " + ec.message());

  // Read the tokenizer files before writing anything, so a bad --tokenizer leaves no half directory.
  std::vector<std::pair<std::string, std::string>> tokenizer_files;
  if (!tokenizer_dir.empty()) {
    if (!fs::is_directory(tokenizer_dir)) throw IoError(tokenizer_dir.string() + ": not a directory");
    const bool same_dir = fs::equivalent(tokenizer_dir, dir, ec);
    for (const auto& name : tokenizer_file_names()) {
      if (!fs::exists(tokenizer_dir / name)) continue;
      if (!same_dir) tokenizer_files.emplace_back(name, read_file(tokenizer_dir / name));
    }
    if (tokenizer_files.empty() && !same_dir)
      throw IoError(tokenizer_dir.string() + ": no tokenizer files (vocab.txt, tokenizer.json, ...)");
  }

  std::vector<TensorToWrite> tensors;
  for (const ParamInfo& p : layout.params())
    tensors.push_back({p.name, Dtype::F32, p.shape, arena + p.offset, p.numel * sizeof(float)});
  write_safetensors(dir / "model.safetensors", std::move(tensors), {{"format", "pt"}});

  // What save_pretrained writes for the model class we hold.
  nlohmann::json j = config_to_json(cfg);
  j["architectures"] = {family_spec(cfg).architecture};
  j["torch_dtype"] = "float32";
  write_file_atomic(dir / "config.json", j.dump(2) + "\n");

  for (const auto& [name, contents] : tokenizer_files) write_file_atomic(dir / name, contents);
}

}  // namespace bert_emotion

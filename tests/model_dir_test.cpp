// Model directories: loading checkpoints written by the PyTorch reference (F32/BF16/F16 fixtures
// from tools/make_interop_fixture.sh), shape and missing-tensor errors with exact messages,
// missing heads, bare DistilBertModel names, ignored masked-LM tensors, mmap views vs owned copies,
// and save_model_dir round trips.
#include "model/model_dir.hpp"
#include "model/checkpoint.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "model/init.hpp"
#include "model/safetensors.hpp"
#include "test_support.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using bert_emotion::testing_support::error_of;
using bert_emotion::testing_support::TempDir;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path kInterop = fs::path(FIXTURES_DIR) / "interop";

// The interop fixture's shape, with emotion labels.
ModelConfig small_config() {
  ModelConfig c = preset_config("tiny");
  c.vocab_size = 1000;
  c.dim = 24;
  c.n_heads = 3;
  c.hidden_dim = 48;
  c.n_layers = 2;
  c.max_position_embeddings = 64;
  set_labels(c, {"anger", "joy", "optimism", "sadness"});
  return c;
}

struct Model {
  ModelConfig cfg;
  ParamLayout layout{ModelConfig{}};
  std::vector<float> arena;
};

Model random_model(uint64_t seed = 3) {
  Model m;
  m.cfg = small_config();
  m.layout = ParamLayout(m.cfg);
  m.arena.resize(m.layout.size());
  init_weights(m.cfg, m.layout, m.arena.data(), seed);
  return m;
}

// Writes config.json + a safetensors file holding `names` (renamed by `rename`) from `m`, plus extras.
void write_custom_dir(const fs::path& dir, const Model& m, const std::function<std::string(const std::string&)>& rename,
                      const std::vector<TensorToWrite>& extra = {}) {
  std::vector<TensorToWrite> tensors = extra;
  for (const ParamInfo& p : m.layout.params()) {
    const std::string name = rename(p.name);
    if (name.empty()) continue;
    tensors.push_back({name, Dtype::F32, p.shape, m.arena.data() + p.offset, p.numel * 4});
  }
  write_safetensors(dir / "model.safetensors", tensors);
  write_file_atomic(dir / "config.json", config_to_json(m.cfg).dump(2));
}

// The views of `w` in ParamLayout order.
std::vector<const float*> all_views(const Weights& w) {
  std::vector<const float*> views = {w.word_emb, w.pos_emb, w.emb_ln_w, w.emb_ln_b};
  for (const auto& L : w.layers)
    for (const float* p : {L.q_w, L.q_b, L.k_w, L.k_b, L.v_w, L.v_b, L.o_w, L.o_b, L.ln1_w, L.ln1_b, L.ff1_w, L.ff1_b,
                           L.ff2_w, L.ff2_b, L.ln2_w, L.ln2_b})
      views.push_back(p);
  for (const float* p : {w.pre_w, w.pre_b, w.cls_w, w.cls_b}) views.push_back(p);
  return views;
}

// Every parameter reachable through the loaded views equals `arena` (layout order).
void expect_weights_equal(const LoadedModel& loaded, const std::vector<float>& arena) {
  const std::vector<const float*> views = all_views(loaded.weights);
  const auto& params = loaded.layout.params();
  ASSERT_EQ(views.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(std::memcmp(views[i], arena.data() + params[i].offset, params[i].numel * 4), 0) << params[i].name;
}

}  // namespace

// ---- checkpoints written by PyTorch ----

class Interop : public ::testing::TestWithParam<std::string> {};

TEST_P(Interop, LoadsReferenceModelExactly) {
  const std::string variant = GetParam();
  const json expected = json::parse(read_file(kInterop / "expected.json")).at("models").at(variant);
  const LoadedModel m = load_model_dir(kInterop / variant);
  EXPECT_EQ(m.weights_dtype, expected.at("dtype").get<std::string>());
  EXPECT_TRUE(m.has_head);
  EXPECT_EQ(m.layout.size(), expected.at("parameters").get<size_t>());
  size_t body = 0;
  for (const auto& p : m.layout.params()) body += p.head ? 0 : p.numel;
  EXPECT_EQ(body, expected.at("parameters_without_head").get<size_t>());
  // same tensor names and shapes as PyTorch's state_dict
  const auto& tensors = expected.at("tensors");
  EXPECT_EQ(tensors.size(), m.layout.params().size());
  for (const auto& p : m.layout.params()) {
    ASSERT_TRUE(tensors.contains(p.name)) << p.name;
    EXPECT_EQ(tensors.at(p.name).get<std::vector<int64_t>>(), p.shape) << p.name;
  }
  // values as PyTorch widens them to float32: exact
  for (auto it = expected.at("values").begin(); it != expected.at("values").end(); ++it) {
    const ParamInfo& p = m.layout.find(it.key());
    const float* view = all_views(m.weights)[static_cast<size_t>(&p - m.layout.params().data())];
    const auto first = it.value().at("first").get<std::vector<double>>();
    const auto last = it.value().at("last").get<std::vector<double>>();
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(view[k], static_cast<float>(first[k])) << it.key() << "[" << k << "]";
      EXPECT_EQ(view[p.numel - 3 + k], static_cast<float>(last[k])) << it.key();
    }
    double sum = 0;
    for (size_t k = 0; k < p.numel; ++k) sum += view[k];
    const double want = it.value().at("sum").get<double>();
    EXPECT_NEAR(sum, want, 1e-9 * (1 + std::fabs(want))) << it.key();
  }
  // config as written by make_model.py
  EXPECT_EQ(m.config.label_names(), (std::vector<std::string>{"anger", "joy", "optimism", "sadness"}));
  EXPECT_EQ(m.config.problem_type, "single_label_classification");
  EXPECT_EQ(m.config.dim, 24);
  EXPECT_EQ(m.config.extra.at("transformers_version"), "4.35.2");
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Interop, ::testing::Values("f32", "bf16", "f16"));

TEST(ModelDir, F32IsMappedInPlaceAndEqualsOwnedCopy) {
  const LoadedModel mapped = load_model_dir(kInterop / "f32");
  EXPECT_TRUE(mapped.arena.empty());  // every tensor used straight from the mapping
  ASSERT_NE(mapped.file, nullptr);
  const auto st = SafetensorsFile::open(kInterop / "f32" / "model.safetensors");
  const uint8_t* lo = mapped.file->tensors().front().bytes.data() - 8 - st->header_size() - st->tensors().front().begin;
  const auto* p = reinterpret_cast<const uint8_t*>(mapped.weights.layers[1].ff1_w);
  EXPECT_TRUE(mapped.file->tensors().front().mapped);
  EXPECT_GE(p, lo);
  EXPECT_LT(p, lo + st->file_size());

  const LoadedModel owned = load_model_dir(kInterop / "f32", {.owned_arena = true});
  ASSERT_EQ(owned.arena.size(), owned.layout.size());
  EXPECT_EQ(owned.weights.word_emb, owned.arena.data());
  expect_weights_equal(mapped, owned.arena);
  expect_weights_equal(owned, owned.arena);

  // widened copies of the BF16 file live in the arena, never in the mapping
  const LoadedModel bf16 = load_model_dir(kInterop / "bf16");
  EXPECT_EQ(bf16.arena.size(), bf16.layout.size());
  expect_weights_equal(bf16, bf16.arena);
}

// ---- errors ----

TEST(ModelDir, ShapeMismatchMessageIsExact) {
  TempDir dir;
  Model m = random_model();
  save_model_dir(dir.path, m.cfg, m.layout, m.arena.data());
  ModelConfig wider = m.cfg;
  wider.hidden_dim = 64;  // the weights file says 48
  write_file_atomic(dir.path / "config.json", config_to_json(wider).dump(2));
  const std::string msg = error_of<FormatError>([&] { load_model_dir(dir.path); });
  EXPECT_EQ(msg, (dir.path / "model.safetensors").string() +
                     ": tensor distilbert.transformer.layer.0.ffn.lin1.weight: expected [64, 24], got [48, 24]");
  // the label count is checked through the classifier's shape
  ModelConfig more_labels = m.cfg;
  set_labels(more_labels, {"a", "b", "c", "d", "e", "f"});
  write_file_atomic(dir.path / "config.json", config_to_json(more_labels).dump(2));
  EXPECT_NE(error_of<FormatError>([&] {
              load_model_dir(dir.path);
            }).find("tensor classifier.weight: expected [6, 24], got [4, 24]"),
            std::string::npos);
}

TEST(ModelDir, MissingTensorIsNamed) {
  TempDir dir;
  Model m = random_model();
  write_custom_dir(dir.path, m, [](const std::string& n) {
    return n == "distilbert.transformer.layer.1.sa_layer_norm.bias" ? std::string() : n;
  });
  const std::string msg = error_of<FormatError>([&] { load_model_dir(dir.path, {.allow_missing_head = true}); });
  EXPECT_NE(msg.find("missing tensor distilbert.transformer.layer.1.sa_layer_norm.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST(ModelDir, MissingHead) {
  TempDir dir;
  Model m = random_model();
  write_custom_dir(dir.path, m, [](const std::string& n) {
    return n.rfind("pre_classifier.", 0) == 0 || n.rfind("classifier.", 0) == 0 ? std::string() : n;
  });
  const std::string msg = error_of<FormatError>([&] { load_model_dir(dir.path); });
  EXPECT_EQ(msg, dir.path.string() +
                     " has no classification head (pre_classifier/classifier): fine-tune it first with "
                     "`bert-emotion train`");

  for (bool owned : {false, true}) {
    const LoadedModel l = load_model_dir(dir.path, {.allow_missing_head = true, .owned_arena = owned});
    EXPECT_FALSE(l.has_head);
    ASSERT_EQ(l.arena.size(), l.layout.size());  // the head needs owned (zero) memory
    std::vector<float> want = m.arena;
    for (const auto& p : l.layout.params())
      if (p.head) std::fill(want.begin() + p.offset, want.begin() + p.offset + p.numel, 0.0f);
    expect_weights_equal(l, want);
    if (!owned) {  // the body still comes from the mapping
      const uint8_t* lo = l.file->tensors().front().bytes.data();
      EXPECT_GE(reinterpret_cast<const uint8_t*>(l.weights.word_emb), lo);
    }
  }
  // half a head is a broken file, not a masked-LM checkpoint
  TempDir half;
  write_custom_dir(half.path, m, [](const std::string& n) { return n.rfind("classifier.", 0) == 0 ? "" : n; });
  EXPECT_NE(error_of<FormatError>([&] {
              load_model_dir(half.path, {.allow_missing_head = true});
            }).find("incomplete classification head: missing classifier.weight, classifier.bias"),
            std::string::npos);
}

TEST(ModelDir, BareDistilBertModelNamesAndIgnoredTensors) {
  // A masked-LM checkpoint: DistilBertModel names without the "distilbert." prefix, the MLM
  // vocab_* tensors, a position_ids buffer, and no classification head.
  TempDir dir;
  Model m = random_model();
  std::vector<float> vt(24 * 24, 0.5f), vb(24, 0.25f), vp(1000 * 24, -1.0f), vpb(1000, 0.0f);
  std::vector<int64_t> position_ids(64);
  for (int i = 0; i < 64; ++i) position_ids[i] = i;
  const std::vector<TensorToWrite> mlm = {
      {"vocab_transform.weight", Dtype::F32, {24, 24}, vt.data(), vt.size() * 4},
      {"vocab_transform.bias", Dtype::F32, {24}, vb.data(), 96},
      {"vocab_layer_norm.weight", Dtype::F32, {24}, vb.data(), 96},
      {"vocab_layer_norm.bias", Dtype::F32, {24}, vb.data(), 96},
      {"vocab_projector.weight", Dtype::F32, {1000, 24}, vp.data(), vp.size() * 4},
      {"vocab_projector.bias", Dtype::F32, {1000}, vpb.data(), 4000},
      {"embeddings.position_ids", Dtype::I64, {1, 64}, position_ids.data(), 512},
  };
  write_custom_dir(
      dir.path, m,
      [](const std::string& n) {
        if (n.rfind("distilbert.", 0) == 0) return n.substr(11);
        return std::string();  // no head
      },
      mlm);
  const LoadedModel l = load_model_dir(dir.path, {.allow_missing_head = true, .owned_arena = true});
  EXPECT_FALSE(l.has_head);
  EXPECT_EQ(l.weights_dtype, "F32");  // the I64 position_ids buffer is not a parameter
  std::vector<float> want = m.arena;
  for (const auto& p : l.layout.params())
    if (p.head) std::fill(want.begin() + p.offset, want.begin() + p.offset + p.numel, 0.0f);
  expect_weights_equal(l, want);
}

TEST(ModelDir, UnpaddedHeaderIsCopiedNotMisreadInPlace) {
  // A writer that does not pad its header leaves F32 data at offsets that are not multiples of 4:
  // such tensors cannot be used in place, they are copied into the arena.
  TempDir dir;
  Model m = random_model();
  write_custom_dir(dir.path, m, [](const std::string& n) { return n; });
  std::string bytes = read_file(dir.path / "model.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  std::string header = bytes.substr(8, n);
  header.erase(header.find_last_not_of(' ') + 1);
  header += std::string((4 - header.size() % 4) % 4 + 1, ' ');  // N = 1 (mod 4)
  const uint64_t n2 = header.size();
  std::string unpadded(8, '\0');
  std::memcpy(unpadded.data(), &n2, 8);
  write_file_atomic(dir.path / "model.safetensors", unpadded + header + bytes.substr(8 + n));
  const LoadedModel l = load_model_dir(dir.path);
  EXPECT_EQ(SafetensorsFile::open(dir.path / "model.safetensors")->header_size() % 4, 1u);
  EXPECT_EQ(l.arena.size(), l.layout.size());
  EXPECT_EQ(l.weights.word_emb, l.arena.data());
  expect_weights_equal(l, m.arena);
}

TEST(ModelDir, TiedWordEmbeddingsFromVocabProjector) {
  // save_pretrained may keep only one of two tied tensors; the MLM decoder is the word embedding.
  TempDir dir;
  Model m = random_model();
  const ParamInfo& word = m.layout.find("distilbert.embeddings.word_embeddings.weight");
  write_custom_dir(dir.path, m,
                   [](const std::string& n) { return n == "distilbert.embeddings.word_embeddings.weight" ? "" : n; },
                   {{"vocab_projector.weight", Dtype::F32, word.shape, m.arena.data() + word.offset, word.numel * 4}});
  expect_weights_equal(load_model_dir(dir.path), m.arena);
}

TEST(ModelDir, NonFloatParameterIsRefused) {
  TempDir dir;
  Model m = random_model();
  std::vector<int32_t> ints(4, 1);
  write_custom_dir(dir.path, m, [](const std::string& n) { return n == "classifier.bias" ? "" : n; },
                   {{"classifier.bias", Dtype::I32, {4}, ints.data(), 16}});
  const std::string msg = error_of<UnsupportedError>([&] { load_model_dir(dir.path); });
  EXPECT_NE(msg.find("tensor classifier.bias has dtype I32"), std::string::npos) << msg;
}

TEST(ModelDir, MissingFilesAreIoErrorsNamingThePath) {
  TempDir dir;
  EXPECT_NE(error_of<IoError>([&] { load_model_dir(dir.path / "nope"); }).find((dir.path / "nope").string()),
            std::string::npos);
  EXPECT_NE(error_of<IoError>([&] { load_model_dir(dir.path); }).find((dir.path / "config.json").string()),
            std::string::npos);
  Model m = random_model();
  write_file_atomic(dir.path / "config.json", config_to_json(m.cfg).dump(2));
  const std::string no_weights = error_of<IoError>([&] { load_model_dir(dir.path); });
  EXPECT_NE(
      no_weights.find(dir.path.string() + ": no weights (expected model.safetensors, model.safetensors.index.json, "
                                          "pytorch_model.bin or pytorch_model.bin.index.json)"),
      std::string::npos)
      << no_weights;
  write_file_atomic(dir.path / "pytorch_model.bin", "not a zip");
  EXPECT_NE(error_of<CheckpointError>([&] { load_model_dir(dir.path); }).find("pytorch_model.bin"), std::string::npos);
  // a corrupt weights file surfaces the safetensors rule
  write_file_atomic(dir.path / "model.safetensors", "short");
  try {
    load_model_dir(dir.path);
    FAIL();
  } catch (const SafetensorsError& e) {
    EXPECT_EQ(e.rule, SafetensorsRule::HeaderTooSmall);
  }
}

TEST(ModelDir, SinusoidalTableMayBeOmitted) {
  TempDir dir;
  Model m;
  m.cfg = small_config();
  m.cfg.sinusoidal_pos_embds = true;
  m.layout = ParamLayout(m.cfg);
  m.arena.resize(m.layout.size());
  init_weights(m.cfg, m.layout, m.arena.data(), 5);
  write_custom_dir(dir.path, m, [](const std::string& n) {
    return n == "distilbert.embeddings.position_embeddings.weight" ? "" : n;
  });
  const LoadedModel l = load_model_dir(dir.path);
  expect_weights_equal(l, m.arena);       // init wrote the same sinusoidal table the loader computes
  EXPECT_EQ(l.weights.pos_emb[1], 1.0f);  // cos(0) at position 0, odd column
}

// ---- saving ----

TEST(ModelDir, SaveRoundTripAndTransformersConventions) {
  TempDir dir;
  TempDir tok;
  write_file_atomic(tok.path / "vocab.txt", "[PAD]\n[UNK]\n");
  write_file_atomic(tok.path / "tokenizer_config.json", "{\"do_lower_case\": false}");
  Model m = random_model(11);
  m.cfg.architectures = {"DistilBertForMaskedLM"};  // a fine-tuned MLM checkpoint becomes a classifier
  m.cfg.extra["torch_dtype"] = "bfloat16";
  m.cfg.extra["transformers_version"] = "4.35.2";
  const fs::path out = dir.path / "nested" / "run";
  save_model_dir(out, m.cfg, m.layout, m.arena.data(), tok.path);

  EXPECT_EQ(read_file(out / "vocab.txt"), "[PAD]\n[UNK]\n");
  EXPECT_EQ(read_file(out / "tokenizer_config.json"), "{\"do_lower_case\": false}");
  EXPECT_FALSE(fs::exists(out / "tokenizer.json"));
  const std::string config_text = read_file(out / "config.json");
  EXPECT_EQ(config_text.back(), '\n');
  const json cfg = json::parse(config_text);
  EXPECT_EQ(cfg.at("architectures"), json::array({"DistilBertForSequenceClassification"}));
  EXPECT_EQ(cfg.at("torch_dtype"), "float32");
  EXPECT_EQ(cfg.at("transformers_version"), "4.35.2");
  EXPECT_EQ(cfg.at("id2label").at("0"), "anger");

  auto st = SafetensorsFile::open(out / "model.safetensors");
  EXPECT_EQ(st->metadata().at("format"), "pt");
  EXPECT_EQ(st->header_size() % 8, 0u);
  EXPECT_EQ(st->tensors().size(), m.layout.params().size());
  for (const auto& t : st->tensors()) EXPECT_EQ(t.dtype, Dtype::F32);

  const LoadedModel back = load_model_dir(out, {.owned_arena = true});
  EXPECT_EQ(back.arena, m.arena);  // bit-exact
  // saving what was loaded reproduces the same weights file byte for byte
  save_model_dir(dir.path / "again", back.config, back.layout, back.arena.data());
  EXPECT_EQ(read_file(dir.path / "again" / "model.safetensors"), read_file(out / "model.safetensors"));
  EXPECT_EQ(read_file(dir.path / "again" / "config.json"), config_text);

  // a tokenizer directory without tokenizer files is an error, and nothing is written
  TempDir empty;
  EXPECT_THROW(save_model_dir(dir.path / "third", m.cfg, m.layout, m.arena.data(), empty.path), IoError);
  EXPECT_FALSE(fs::exists(dir.path / "third" / "model.safetensors"));
}

TEST(ModelDir, TokenizerFileNames) {
  const auto& names = tokenizer_file_names();
  for (const char* n : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

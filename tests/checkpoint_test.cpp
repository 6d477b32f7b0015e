// Checkpoint layouts against their safetensors copies (tests/fixtures/checkpoints, made by
// tools/make_checkpoint_fixtures.py with torch.save): every tensor byte-identical, logits identical;
// tied storages shared, mapped where contiguous; hostile files refused with the right rule and
// their payloads never run. DistilBERT at the top level, tiny BERT and RoBERTa under bert/ and
// roberta/ (with a pretraining checkpoint and the reference's logits, reference.json).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "model/checkpoint.hpp"
#include "model/convert.hpp"
#include "model/encoder.hpp"
#include "model/family.hpp"
#include "model/model_dir.hpp"
#include "model/torch_zip.hpp"
#include "test_support.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(FIXTURES_DIR) / "checkpoints";
const char* const kMarker = "/tmp/bert_emotion_pickle_payload_ran";  // what the hostile payloads touch

// A family's reference.json (input_ids, the reference's logits), beside its layout directories.
nlohmann::json reference_of(const std::string& family) {
  return nlohmann::json::parse(slurp(kDir / family / "reference.json"));
}

std::vector<float> logits_of(const LoadedModel& m, const std::vector<std::vector<int32_t>>& ids) {
  Activations acts;
  activations_reserve(acts, m.config, static_cast<int>(ids.size()), 8, false);
  const TokenBatch batch = make_batch(ids, m.config.pad_token_id);
  std::vector<float> logits(static_cast<size_t>(batch.B * m.config.num_labels()));
  encoder_forward(m.config, m.weights, batch, acts, logits.data(), nullptr);
  return logits;
}

// The batch: DistilBERT's fixed one at the top level, the family's reference.json ids below it.
std::vector<float> logits_of(const fs::path& dir) {
  const LoadedModel m = load_model_dir(dir);
  std::vector<std::vector<int32_t>> ids = {{101, 17, 42, 199, 3, 102}, {101, 150, 102}};
  if (m.config.family != Family::distilbert)
    ids = reference_of(family_spec(m.config).model_type)["input_ids"].get<std::vector<std::vector<int32_t>>>();
  return logits_of(m, ids);
}

void expect_same_tensors(const Checkpoint& want, const Checkpoint& got) {
  for (const CheckpointTensor& w : want.tensors()) {
    const CheckpointTensor* g = got.find(w.name);
    ASSERT_NE(g, nullptr) << w.name << " missing from " << got.source();
    EXPECT_EQ(g->dtype, w.dtype) << w.name;
    EXPECT_EQ(g->shape, w.shape) << w.name;
    ASSERT_EQ(g->bytes.size(), w.bytes.size()) << w.name;
    EXPECT_EQ(std::memcmp(g->bytes.data(), w.bytes.data(), w.bytes.size()), 0) << w.name;
  }
  for (const CheckpointTensor& g : got.tensors())  // only the tied MLM decoder is extra
    if (want.find(g.name) == nullptr) {
      EXPECT_TRUE(g.name == "vocab_projector.weight" || g.name.starts_with("cls.predictions.decoder.") ||
                  g.name.starts_with("lm_head.decoder."))
          << g.name;
    }
}

std::shared_ptr<Checkpoint> open_normalized(const fs::path& dir) {
  auto ck = Checkpoint::open_dir(dir);
  ck->normalize_names();
  return ck;
}

template <class F>
CheckpointRule rule_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const CheckpointError& e) {
    if (message) *message = e.what();
    return e.rule;
  }
  ADD_FAILURE() << "no CheckpointError";
  return CheckpointRule::BadPickle;
}

}  // namespace

struct Layout {
  const char* dir;
  const char* copy;  // the safetensors directory with the same tensors
  const char* format;
};

class Layouts : public ::testing::TestWithParam<Layout> {};

TEST_P(Layouts, TensorsAndLogitsEqualTheSafetensorsCopy) {
  const Layout& l = GetParam();
  const auto want = open_normalized(kDir / l.copy);
  const auto got = open_normalized(kDir / l.dir);
  EXPECT_EQ(got->format(), l.format);
  expect_same_tensors(*want, *got);
  const std::vector<float> a = logits_of(kDir / l.copy), b = logits_of(kDir / l.dir);
  ASSERT_EQ(a.size(), 8u);
  EXPECT_EQ(a, b);
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, Layouts,
                         ::testing::Values(Layout{"bin-f32", "st-f32", "pytorch"},
                                           Layout{"bin-f16", "st-f16", "pytorch"},
                                           Layout{"bin-bf16", "st-bf16", "pytorch"},
                                           Layout{"sharded-st", "st-f32", "sharded safetensors"},
                                           Layout{"sharded-bin", "st-f32", "sharded pytorch"},
                                           Layout{"bert/bin-f32", "bert/st-f32", "pytorch"},
                                           Layout{"bert/bin-f16", "bert/st-f16", "pytorch"},
                                           Layout{"bert/bin-bf16", "bert/st-bf16", "pytorch"},
                                           Layout{"bert/sharded-bin", "bert/st-f32", "sharded pytorch"},
                                           Layout{"roberta/bin-f32", "roberta/st-f32", "pytorch"},
                                           Layout{"roberta/bin-f16", "roberta/st-f16", "pytorch"},
                                           Layout{"roberta/bin-bf16", "roberta/st-bf16", "pytorch"},
                                           Layout{"roberta/sharded-bin", "roberta/st-f32", "sharded pytorch"}),
                         [](const auto& info) {
                           std::string n = info.param.dir;
                           for (char& c : n)
                             if (c == '-' || c == '/') c = '_';
                           return n;
                         });

TEST(Checkpoint, PicksTheWeightsFileAsTransformersDoes) {
  TempDir d;
  EXPECT_THROW(Checkpoint::weights_path(d.path), IoError);
  for (const char* name :
       {"pytorch_model.bin.index.json", "pytorch_model.bin", "model.safetensors.index.json", "model.safetensors"}) {
    spit(d.path / name, "x");
    EXPECT_EQ(Checkpoint::weights_path(d.path).filename(), name);  // each later one is preferred
  }
  EXPECT_EQ(Checkpoint::open_dir(kDir / "sharded-bin")->files().size(), 2u);
}

TEST(Checkpoint, LegacyNamesBuffersTiesViewsAndMapping) {
  auto ck = Checkpoint::open_dir(kDir / "bin-f32");
  ASSERT_NE(ck->find("distilbert.embeddings.LayerNorm.gamma"), nullptr);
  const auto notes = ck->normalize_names();
  EXPECT_EQ(notes.size(), 3u);  // gamma, beta, position_ids
  EXPECT_EQ(ck->find("distilbert.embeddings.LayerNorm.gamma"), nullptr);
  EXPECT_NE(ck->find("distilbert.embeddings.LayerNorm.weight"), nullptr);
  EXPECT_NE(ck->find("distilbert.embeddings.LayerNorm.bias"), nullptr);
  EXPECT_EQ(ck->find("distilbert.embeddings.position_ids"), nullptr);

  const CheckpointTensor* word = ck->find("distilbert.embeddings.word_embeddings.weight");
  const CheckpointTensor* tied = ck->find("vocab_projector.weight");
  ASSERT_TRUE(word && tied);
  EXPECT_EQ(word->bytes.data(), tied->bytes.data());  // one storage, one mapping
  EXPECT_TRUE(word->mapped);
  EXPECT_NE(ck->f32_data(*word), nullptr);
  const CheckpointTensor* lin1 = ck->find("distilbert.transformer.layer.1.ffn.lin1.weight");
  ASSERT_NE(lin1, nullptr);
  EXPECT_FALSE(lin1->mapped);  // transposed storage: materialized
  const CheckpointTensor* q = ck->find("distilbert.transformer.layer.0.attention.q_lin.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_TRUE(q->mapped);  // storage offset 7, contiguous: still in place

  // The loader uses every F32 tensor in place: the mapped ones and the one copy of the strided view.
  const LoadedModel m = load_model_dir(kDir / "bin-f32");
  EXPECT_TRUE(m.arena.empty());
  EXPECT_EQ(m.weights.word_emb, m.file->f32_data(*m.file->find("distilbert.embeddings.word_embeddings.weight")));
}

TEST(Checkpoint, RefusesTheLegacyFormatClearly) {
  std::string msg;
  EXPECT_EQ(rule_of([&] { Checkpoint::open_dir(kDir / "legacy"); }, &msg), CheckpointRule::LegacyFormat);
  EXPECT_NE(msg.find((kDir / "legacy" / "pytorch_model.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("pre-1.6"), std::string::npos) << msg;
}

TEST(Checkpoint, HostilePayloadsAreRefusedAndNeverRun) {
  ::unlink(kMarker);
  for (const char* name : {"os_system", "posix_system", "builtins_exec", "builtins_eval"}) {
    const fs::path file = kDir / "hostile" / (std::string(name) + ".bin");
    std::string msg;
    EXPECT_EQ(rule_of([&] { Checkpoint::open(file); }, &msg), CheckpointRule::ForbiddenGlobal) << name;
    std::string dotted = name;
    dotted[dotted.find('_')] = '.';
    EXPECT_NE(msg.find("forbidden global " + dotted), std::string::npos) << msg;
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    // through a model directory too
    TempDir d;
    fs::copy_file(kDir / "st-f32" / "config.json", d.path / "config.json");
    fs::copy_file(file, d.path / "pytorch_model.bin");
    EXPECT_THROW(load_model_dir(d.path), CheckpointError);
    EXPECT_FALSE(fs::exists(kMarker)) << name << " ran its payload";
  }
  std::string msg;
  EXPECT_EQ(rule_of([&] { Checkpoint::open(kDir / "hostile" / "reduce_counter.bin"); }, &msg),
            CheckpointRule::ForbiddenGlobal);
  EXPECT_NE(msg.find("collections.Counter"), std::string::npos) << msg;
  EXPECT_EQ(rule_of([&] { Checkpoint::open(kDir / "hostile" / "reduce_storage_type.bin"); }, &msg),
            CheckpointRule::ForbiddenGlobal);
  EXPECT_NE(msg.find("REDUCE of a storage type"), std::string::npos) << msg;
}

TEST(Checkpoint, InconsistentSizesAreRefused) {
  std::string msg;
  EXPECT_EQ(rule_of([&] { Checkpoint::open(kDir / "hostile" / "storage_too_short.bin"); }, &msg),
            CheckpointRule::StorageTooShort);
  EXPECT_NE(msg.find("holds 16 bytes, but the pickle declares 1000000 F32 elements"), std::string::npos) << msg;
  EXPECT_EQ(rule_of([&] { Checkpoint::open(kDir / "hostile" / "view_past_storage.bin"); }, &msg),
            CheckpointRule::StorageTooShort);
  EXPECT_NE(msg.find("tensor w reaches element 5 of storage 0, which has 4"), std::string::npos) << msg;
  EXPECT_EQ(rule_of([&] { Checkpoint::open(kDir / "hostile" / "shape_overflow.bin"); }, &msg),
            CheckpointRule::ShapeOverflow);
  EXPECT_EQ(rule_of([&] { Checkpoint::open(kDir / "hostile" / "entry_claims_4gib.bin"); }, &msg),
            CheckpointRule::EntryTooLarge);
  EXPECT_NE(msg.find("archive/data/0 claims 4294967280 bytes"), std::string::npos) << msg;
}

TEST(Checkpoint, EveryTruncationIsABadZip) {
  const std::string bytes = slurp(kDir / "bin-f32" / "pytorch_model.bin");
  TempDir d;
  for (size_t n = 0; n < bytes.size(); n += 499) {
    const fs::path f = d.path / "pytorch_model.bin";
    spit(f, bytes.substr(0, n));
    const CheckpointRule r = rule_of([&] { Checkpoint::open(f); });
    EXPECT_EQ(r, CheckpointRule::BadZip) << "truncated at " << n;
  }
}

TEST(Checkpoint, AnIndexThatLiesIsRefused) {
  const fs::path src = kDir / "sharded-st";
  TempDir d;
  for (const auto& e : fs::directory_iterator(src)) fs::copy_file(e.path(), d.path / e.path().filename());
  const fs::path index = d.path / "model.safetensors.index.json";
  const nlohmann::json good = nlohmann::json::parse(slurp(index));
  auto expect_bad = [&](const nlohmann::json& j, const std::string& needle) {
    spit(index, j.dump());
    std::string msg;
    EXPECT_EQ(rule_of([&] { Checkpoint::open_dir(d.path); }, &msg), CheckpointRule::BadIndex);
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  };
  nlohmann::json j = good;
  j["weight_map"]["classifier.weight"] = "model-00002-of-00002.safetensors";
  expect_bad(j, "says classifier.weight is in model-00002-of-00002.safetensors");
  j = good;
  j["weight_map"]["classifier.weight"] = "../st-f32/model.safetensors";
  expect_bad(j, "expected a file name in the same directory");
  j = good;
  j["weight_map"]["classifier.weight"] = "absent.safetensors";
  expect_bad(j, "shard absent.safetensors");
  expect_bad(nlohmann::json::array(), "weight_map");
  spit(index, good.dump());
  EXPECT_NO_THROW(Checkpoint::open_dir(d.path));
}

// convert writes what the reference's safetensors writer wrote from the same tensors, byte for byte
// (so it loads in ../shared/reference): names normalized, the tied decoder dropped, casts as torch's.
struct ConvertCase {
  const char* from;
  std::optional<Dtype> dtype;
  const char* want;
};

// Converts dir/from into root/"from-want"; its model.safetensors must be dir/want's, byte for byte.
fs::path expect_converts_to(const fs::path& dir, const fs::path& root, const ConvertCase& c) {
  const fs::path out = root / (std::string(c.from) + "-" + c.want);
  convert_model_dir(dir / c.from, out, c.dtype);
  EXPECT_TRUE(slurp(out / "model.safetensors") == slurp(dir / c.want / "model.safetensors"))
      << dir << ": " << c.from << " -> " << c.want;
  return out;
}

TEST(Convert, WritesTheSafetensorsTheReferenceWrites) {
  TempDir d;
  for (const ConvertCase& c :
       {ConvertCase{"bin-f32", std::nullopt, "st-f32"}, ConvertCase{"bin-f32", Dtype::F16, "st-f16"},
        ConvertCase{"sharded-bin", Dtype::BF16, "st-bf16"}, ConvertCase{"bin-bf16", std::nullopt, "st-bf16"},
        ConvertCase{"sharded-st", Dtype::F32, "st-f32"}}) {
    const fs::path out = expect_converts_to(kDir, d.path, c);
    const auto config = nlohmann::json::parse(slurp(out / "config.json"));
    EXPECT_EQ(config.at("torch_dtype"), std::string(c.want) == "st-f32"   ? "float32"
                                        : std::string(c.want) == "st-f16" ? "float16"
                                                                          : "bfloat16");
    EXPECT_EQ(logits_of(out), logits_of(kDir / c.want));
  }
  EXPECT_THROW(convert_model_dir(kDir / "st-f32", kDir / "st-f32"), InvalidArgument);
  EXPECT_THROW(convert_model_dir(kDir / "st-f32", d.path / "x", Dtype::I64), InvalidArgument);
  EXPECT_THROW(convert_model_dir(kDir / "hostile", d.path / "y"), IoError);  // no config.json
  EXPECT_FALSE(fs::exists(d.path / "y" / "model.safetensors"));
}

TEST(Convert, HalfAndBfloatRoundToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);        // halfway to the next: rounds to even = inf
  EXPECT_EQ(f32_to_f16(5.9604645e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(2.9802322e-08f), 0x0000);  // half of it: ties to even (0)
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);  // tie, to even
  EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);  // tie, to even (up)
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256), 0x3f80);  // tie, to even
  EXPECT_EQ(f32_to_bf16(1.0f + 3.0f / 256), 0x3f82);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::nanf("")))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
  for (float x : {0.1f, -3.14159f, 1e-5f, 6.1e-5f, 1234.5f})
    EXPECT_EQ(f32_to_f16(f16_to_f32(f32_to_f16(x))), f32_to_f16(x)) << x;
}

// --- BERT and RoBERTa (tests/fixtures/checkpoints/{bert,roberta}) ---

class Families : public ::testing::TestWithParam<const char*> {};

TEST_P(Families, LegacyNamesBuffersTiesViewsAndMapping) {
  const std::string f = GetParam();
  auto ck = Checkpoint::open_dir(kDir / f / "bin-f32");
  ASSERT_NE(ck->find(f + ".embeddings.LayerNorm.gamma"), nullptr);
  EXPECT_EQ(ck->normalize_names().size(), 3u);  // gamma, beta, position_ids
  EXPECT_NE(ck->find(f + ".embeddings.LayerNorm.weight"), nullptr);
  EXPECT_EQ(ck->find(f + ".embeddings.position_ids"), nullptr);
  const CheckpointTensor* word = ck->find(f + ".embeddings.word_embeddings.weight");
  const CheckpointTensor* decoder = ck->find(f == "bert" ? "cls.predictions.decoder.weight" : "lm_head.decoder.weight");
  ASSERT_TRUE(word && decoder);
  EXPECT_EQ(word->bytes.data(), decoder->bytes.data());  // one storage, one mapping
  EXPECT_TRUE(word->mapped);
  const CheckpointTensor* inter = ck->find(f + ".encoder.layer.1.intermediate.dense.weight");
  ASSERT_NE(inter, nullptr);
  EXPECT_FALSE(inter->mapped);  // transposed storage: materialized
  const CheckpointTensor* query = ck->find(f + ".encoder.layer.0.attention.self.query.weight");
  ASSERT_NE(query, nullptr);
  EXPECT_TRUE(query->mapped);  // storage offset 5, contiguous: in place
  const LoadedModel m = load_model_dir(kDir / f / "bin-f32");
  EXPECT_TRUE(m.arena.empty());
  EXPECT_EQ(m.weights.word_emb, m.file->f32_data(*m.file->find(f + ".embeddings.word_embeddings.weight")));
}

// A pretraining checkpoint (cls.* / lm_head.* heads, every LayerNorm under its legacy name, no
// classifier): the body maps to the same tensors as the classifier model's; only the head is fresh.
TEST_P(Families, PretrainingCheckpointLoadsWithAFreshClassifier) {
  const std::string f = GetParam();
  const fs::path dir = kDir / f / "pretrain-bin";
  const bool bert = f == "bert";
  auto ck = Checkpoint::open_dir(dir);
  const std::vector<std::string> notes = ck->normalize_names();
  // gamma and beta of each LayerNorm: the embeddings', two per layer, BERT's cls.predictions.transform
  EXPECT_EQ(notes.size(), 2u * (1 + 2 * 2 + (bert ? 1 : 0)));
  EXPECT_EQ(ck->find(f + ".encoder.layer.1.output.LayerNorm.gamma"), nullptr);
  expect_same_tensors(*open_normalized(kDir / f / "pretrain-st"), *ck);

  EXPECT_THROW(load_model_dir(dir), FormatError);  // a classifier is needed to predict
  LoadedModel m = load_model_dir(dir, {.allow_missing_head = true, .owned_arena = true});
  const std::vector<std::string> want_missing =
      bert ? std::vector<std::string>{"classifier.weight", "classifier.bias"}
           : std::vector<std::string>{"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                                      "classifier.out_proj.bias"};
  EXPECT_FALSE(m.has_head);
  EXPECT_EQ(m.missing_head, want_missing);  // BERT keeps its pretrained pooler

  // With the classifier model's head copied in, the logits are that model's, bit for bit.
  const LoadedModel full = load_model_dir(kDir / f / "st-f32", {.owned_arena = true});
  for (const std::string& name : want_missing) {
    const ParamInfo& p = m.layout.find(name);
    std::copy_n(full.arena.data() + full.layout.find(name).offset, p.numel, m.arena.data() + p.offset);
  }
  const auto ids = reference_of(f)["input_ids"].get<std::vector<std::vector<int32_t>>>();
  EXPECT_EQ(logits_of(m, ids), logits_of(full, ids));
}

// convert's output is what the reference's writer wrote from the same tensors (so it loads in
// ../shared/reference: the fixture script loads pretrain-st there), and its logits are the
// reference's (reference.json, from ../shared/reference/forward.py) within float tolerance.
TEST_P(Families, ConvertWritesWhatTheReferenceLoads) {
  const std::string f = GetParam();
  TempDir d;
  for (const ConvertCase& c :
       {ConvertCase{"bin-f32", std::nullopt, "st-f32"}, ConvertCase{"bin-f32", Dtype::F16, "st-f16"},
        ConvertCase{"sharded-bin", Dtype::BF16, "st-bf16"}, ConvertCase{"bin-f16", std::nullopt, "st-f16"},
        ConvertCase{"pretrain-bin", std::nullopt, "pretrain-st"}})
    expect_converts_to(kDir / f, d.path, c);
  const nlohmann::json ref = reference_of(f);
  const std::vector<float> got = logits_of(d.path / "bin-f32-st-f32");
  const auto want = ref["logits"].get<std::vector<std::vector<double>>>();
  ASSERT_EQ(got.size(), want.size() * want[0].size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i / want[0].size()][i % want[0].size()], 1e-5) << f << " logit " << i;
  EXPECT_NO_THROW(load_model_dir(d.path / "pretrain-bin-pretrain-st", {.allow_missing_head = true}));
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, Families, ::testing::Values("bert", "roberta"));

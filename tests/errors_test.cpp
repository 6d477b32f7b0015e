// errors_test — the bad-input matrix of docs/ERRORS.md, model-directory rows, through the CLI.
//
// Each test breaks one thing in a freshly initialised tiny model directory (bert-emotion init) and
// runs `bert-emotion predict` on it: the command must fail with the documented exit code
// (3 = malformed/unsupported input, 4 = cannot read/write) and one `error:` line naming the file and
// the field/tensor/rule and what was expected. The safetensors rules themselves are unit-tested one
// by one in safetensors_test.cpp (SafetensorsReject.*); here a few of them are checked end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_harness.hpp"
#include "model/safetensors.hpp"

namespace {

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class ModelErrors : public TinyModelTest {
 protected:
  CliResult predict() { return run_cli({"predict", "--model", model.string(), "I love this"}); }
  // Runs `predict` after setting config.json's n_layers; the refusal must come at once (nothing
  // sized from the number) with one error line and exit code 3.
  CliResult predict_with_layer_count(int64_t n_layers) {
    nlohmann::json cfg = read_json("config.json");
    cfg["n_layers"] = n_layers;
    write_json("config.json", cfg);
    CliOptions o;
    o.timeout_s = 30;
    const CliResult r = run_cli({"predict", "--model", model.string(), "hi"}, o);
    EXPECT_FALSE(r.timed_out);
    EXPECT_LT(r.seconds, 10.0);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    expect_one_error_line(r);
    return r;
  }
  // The whole stderr must be one "error: ..." line.
  static void expect_one_error_line(const CliResult& r) {
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  nlohmann::json read_json(const std::string& name) { return nlohmann::json::parse(slurp(model / name)); }
  void write_json(const std::string& name, const nlohmann::json& j) { spit(model / name, j.dump(2)); }

  // Rewrites model.safetensors through `edit`, which may drop or change tensors.
  void rewrite_weights(
      const std::function<void(std::vector<TensorToWrite>&, std::vector<std::string>& storage)>& edit) {
    const auto st = SafetensorsFile::open(model / "model.safetensors");
    std::vector<TensorToWrite> tensors;
    for (const auto& t : st->tensors()) {
      const auto b = st->bytes(t);
      tensors.push_back({t.name, t.dtype, t.shape, b.data(), b.size()});
    }
    std::vector<std::string> storage;
    storage.reserve(16);
    edit(tensors, storage);
    const std::string bytes = serialize_safetensors(std::move(tensors));
    spit(model / "model.safetensors", bytes);  // `st` still maps the old inode: safe to replace
  }
};

TEST_F(ModelErrors, Baseline_TheUntouchedModelWorks) {
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"label\""));
}

TEST_F(ModelErrors, MissingModelDirectory) {
  const CliResult r = run_cli({"predict", "--model", (tmp.path / "nope").string(), "x"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr((tmp.path / "nope").string()));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, MissingConfigJson) {
  fs::remove(model / "config.json");
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "config.json").string()));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, MissingWeightsFile) {
  fs::remove(model / "model.safetensors");
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("model.safetensors"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, UnreadableWeightsFile) {
  // Tests run as root in CI, where chmod 000 does not stop a read: a directory in the file's place
  // cannot be read by anyone.
  fs::remove(model / "model.safetensors");
  fs::create_directory(model / "model.safetensors");
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "model.safetensors").string()));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, TruncatedSafetensorsHeader) {
  const std::string bytes = slurp(model / "model.safetensors");
  spit(model / "model.safetensors", bytes.substr(0, 1000));  // inside the JSON header
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "model.safetensors").string()));
  EXPECT_THAT(r.err, HasSubstr("InvalidHeaderLength"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, TruncatedSafetensorsData) {
  const std::string bytes = slurp(model / "model.safetensors");
  spit(model / "model.safetensors", bytes.substr(0, bytes.size() - 100));  // header intact, data short
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "model.safetensors").string()));
  EXPECT_THAT(r.err, HasSubstr("MetadataIncompleteBuffer"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, TrailingGarbageAfterData) {
  spit(model / "model.safetensors", slurp(model / "model.safetensors") + "garbage");
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("MetadataIncompleteBuffer"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, CorruptSafetensorsHeaderJson) {
  std::string bytes = slurp(model / "model.safetensors");
  const size_t at = bytes.find("\"data_offsets\":[");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 15] = '{';  // [begin,end] -> {begin,end]: not JSON any more, same length
  spit(model / "model.safetensors", bytes);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "model.safetensors").string()));
  EXPECT_THAT(r.err, HasSubstr("InvalidHeaderDeserialization"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, HeaderLengthOverflow) {
  std::string bytes = slurp(model / "model.safetensors");
  for (int i = 0; i < 8; ++i) bytes[i] = '\xff';  // N = 2^64 - 1
  spit(model / "model.safetensors", bytes);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("HeaderTooLarge"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, EmptyWeightsFile) {
  spit(model / "model.safetensors", "");
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("HeaderTooSmall"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, UnsupportedDtype) {
  const std::string name = "classifier.bias";
  std::vector<int64_t> as_i64(4, 7);
  rewrite_weights([&](std::vector<TensorToWrite>& ts, std::vector<std::string>&) {
    for (auto& t : ts)
      if (t.name == name) t = {name, Dtype::I64, {4}, as_i64.data(), as_i64.size() * sizeof(int64_t)};
  });
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr(name));
  EXPECT_THAT(r.err, HasSubstr("I64"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, TensorShapeDisagreesWithConfig) {
  // config.json says 3 labels, the weights have a 4-label head.
  nlohmann::json cfg = read_json("config.json");
  cfg["id2label"] = {{"0", "a"}, {"1", "b"}, {"2", "c"}};
  cfg["label2id"] = {{"a", 0}, {"b", 1}, {"c", 2}};
  write_json("config.json", cfg);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("classifier.weight"));
  EXPECT_THAT(r.err, HasSubstr("expected [3, 32], got [4, 32]"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, MissingTensor) {
  const std::string name = "distilbert.transformer.layer.1.ffn.lin2.weight";
  rewrite_weights([&](std::vector<TensorToWrite>& ts, std::vector<std::string>&) {
    std::erase_if(ts, [&](const TensorToWrite& t) { return t.name == name; });
  });
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("model.safetensors"));
  EXPECT_THAT(r.err, HasSubstr("transformer.layer.1.ffn.lin2.weight"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, ConfigWithAbsurdLayerCountIsRefusedQuickly) {
  // Used to build a 100M-entry parameter layout (15 GB, > 60 s) before noticing the tensors were
  // missing. config.json validation now refuses absurd sizes outright, naming the file and key.
  const CliResult r = predict_with_layer_count(100000000);
  EXPECT_THAT(r.err, HasSubstr("\"n_layers\": 100000000 is implausibly large"));
  EXPECT_THAT(r.err, HasSubstr((model / "config.json").string()));
}

TEST_F(ModelErrors, ConfigWithMoreLayersThanTheFileIsRefusedQuickly) {
  // A plausible layer count that the weights file cannot back: refused before the layout is built,
  // naming both files.
  const CliResult r = predict_with_layer_count(1000);
  EXPECT_THAT(r.err, HasSubstr("n_layers 1000"));
  EXPECT_THAT(r.err, HasSubstr((model / "model.safetensors").string()));
}

TEST_F(ModelErrors, ConfigMissingRequiredKey) {
  nlohmann::json cfg = read_json("config.json");
  cfg.erase("n_layers");
  write_json("config.json", cfg);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "config.json").string()));
  EXPECT_THAT(r.err, HasSubstr("n_layers"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, ConfigUnknownModelType) {
  nlohmann::json cfg = read_json("config.json");
  cfg["model_type"] = "gpt2";
  write_json("config.json", cfg);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "config.json").string()));
  EXPECT_THAT(r.err, HasSubstr("gpt2"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, ConfigWrongValueType) {
  nlohmann::json cfg = read_json("config.json");
  cfg["dim"] = "thirty-two";
  write_json("config.json", cfg);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "config.json").string()));
  EXPECT_THAT(r.err, HasSubstr("dim"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, ConfigNotJson) {
  spit(model / "config.json", "{\"model_type\": \"distilbert\",");
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "config.json").string()));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, UnsupportedTokenizerType) {
  nlohmann::json tok = read_json("tokenizer.json");
  tok["model"]["type"] = "Unigram";  // BPE and WordPiece are supported
  write_json("tokenizer.json", tok);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((model / "tokenizer.json").string()));
  EXPECT_THAT(r.err, HasSubstr("Unigram"));
  expect_one_error_line(r);
}

TEST_F(ModelErrors, NoTokenizerFiles) {
  for (const char* f : {"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"})
    fs::remove(model / f);
  const CliResult r = predict();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no tokenizer.json, vocab.json + merges.txt, or vocab.txt"));
  EXPECT_THAT(r.err, HasSubstr(model.string()));
  expect_one_error_line(r);
}

}  // namespace

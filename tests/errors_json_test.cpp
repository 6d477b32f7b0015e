// errors_json_test — regression tests for fuzzer findings in the JSON-reading code paths.
//
// nlohmann::json throws out_of_range (406, "number overflow parsing '1e400'") — not parse_error —
// for a number literal that overflows a double, even where allow_exceptions=false is used for the
// first parse. Every reader that caught only json::parse_error let it escape as an untyped
// exception (the CLI then printed it with exit code 1; the fuzz targets aborted). Each reader must
// instead throw its documented typed error naming the file (and line). Found by fuzz_tokenizer_json
// and fuzz_predict_request (docs/ERRORS.md, "Fuzzing").
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "cli_harness.hpp"
#include "data/dataset.hpp"
#include "model/config.hpp"
#include "model/model_dir.hpp"
#include "serve/request.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/checkpoint.hpp"
#include "util/error.hpp"

namespace {

using namespace bert_emotion;
using namespace bert_emotion::testing_support;
namespace fs = std::filesystem;

// Throws `Expected` (and nothing else) with a message containing every `needle`.
template <class Expected, class Fn>
void expect_typed_error(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const Expected& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

TEST(JsonNumberOverflow, ConfigIsFormatErrorNamingFile) {
  TempDir tmp;
  const fs::path p = tmp.path / "config.json";
  spit(p, R"({"model_type": "distilbert", "dim": 1e400})");
  expect_typed_error<FormatError>([&] { load_config(p); }, {p.string(), "1e400"});
}

TEST(JsonNumberOverflow, JsonlDatasetIsFormatErrorNamingLine) {
  TempDir tmp;
  const fs::path p = tmp.path / "train.jsonl";
  spit(p, "{\"text\": \"ok\", \"label\": 0}\n{\"text\": \"x\", \"label\": -1e999}\n");
  expect_typed_error<FormatError>([&] { load_dataset(p, "train"); }, {p.string() + ":2"});
}

TEST(JsonNumberOverflow, TokenizerJsonIsFormatErrorNamingFile) {
  TempDir tmp;
  const fs::path p = tmp.path / "tokenizer.json";
  spit(p, R"({"version": "1.0", "truncation": {"max_length": 1e400}})");
  expect_typed_error<FormatError>([&] { Tokenizer::from_tokenizer_json(p); }, {p.string()});
}

TEST(JsonNumberOverflow, PredictBodyIsValidationError) {
  for (const char* body : {R"({"inputs": "a", "x": 1e400})", R"({"inputs": ["a"], "truncate": 2e308})"}) {
    try {
      serve::parse_predict_request(body, 4);
      ADD_FAILURE() << body;
    } catch (const serve::ApiError& e) {
      EXPECT_EQ(e.type, serve::ErrorType::Validation) << body;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception type for " << body << ": " << e.what();
    }
    EXPECT_THROW(serve::parse_tokenize_request(body, 4), serve::ApiError) << body;
  }
}

TEST(JsonNumberOverflow, CheckpointStateIsFormatErrorNamingDir) {
  // A real checkpoint whose training_state.json then gets an overflowing number: load_checkpoint
  // must refuse it with FormatError, like any other corrupt state file.
  TempDir tmp;
  make_tiny_model(tmp.path / "m");
  const LoadedModel m = load_model_dir(tmp.path / "m", {.owned_arena = true});
  const std::vector<float> zeros(m.layout.size(), 0.0f);
  CheckpointData c;
  c.config = &m.config;
  c.layout = &m.layout;
  c.params = m.arena.data();
  c.exp_avg = zeros.data();
  c.exp_avg_sq = zeros.data();
  c.state.global_step = 3;
  const fs::path ck = save_checkpoint(tmp.path / "out", c);
  ASSERT_NO_THROW(load_checkpoint(ck, m.layout));
  spit(ck / "training_state.json", R"({"format": "bert-emotion-training-state", "global_step": 1e400})");
  try {
    load_checkpoint(ck, m.layout);
    ADD_FAILURE() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(ck.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1e400"), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

TEST(JsonNumberOverflow, CliReportsItAsBadInputNotACrash) {
  TempDir tmp;
  const fs::path m = tmp.path / "m";
  make_tiny_model(m);
  std::string cfg = slurp(m / "config.json");
  const auto pos = cfg.find("\"initializer_range\"");
  ASSERT_NE(pos, std::string::npos);
  cfg.replace(pos, std::string("\"initializer_range\"").size(), "\"initializer_range\": 1e400, \"unused\"");
  spit(m / "config.json", cfg);
  const CliResult r = run_cli({"predict", "--model", m.string(), "hello"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find((m / "config.json").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1e400"), std::string::npos) << r.err;
}

TEST(DatasetLabels, AHugeIntegerLabelDoesNotCreateBillionsOfNames) {
  // fuzz_dataset timeout: a TSV label "1888888888" made the reader build LABEL_0..LABEL_1888888888.
  // Integer labels above 1,000,000 now make the label space the distinct strings, as JSON ids do.
  TempDir tmp;
  const fs::path p = tmp.path / "d.tsv";
  spit(p, "label\ttext\n1\tgood\n1888888888\tbad\n");
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset d = load_dataset(p, "train");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"1", "1888888888"}));
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1].label, 1);
}

TEST(JsonNumberOverflow, InitConfigOverridesAreBadInput) {
  TempDir tmp;
  const CliResult r = run_cli({"init", "--config", R"({"dim": 1e400})", "--out", (tmp.path / "m").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("--config"), std::string::npos) << r.err;
  EXPECT_TRUE(partial_outputs(tmp.path).empty());
}

}  // namespace

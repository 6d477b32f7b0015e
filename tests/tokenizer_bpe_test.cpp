// tokenizer_bpe_test.cpp — byte-level BPE (RoBERTa layout) ids, tokens, offsets and type ids
// identical to Hugging Face `tokenizers`.
//
// Expected outputs come from the official bindings (npm `tokenizers` 0.23.2,
// tools/tokenizer-fixtures/generate_bpe.js) on ../shared/models/roberta-bpe-test/tokenizer.json:
// every TweetEval emotion text, the hard cases (tests/fixtures/tokenizer/hard_cases.txt and
// bpe/hard_cases.txt: emoji, ZWJ, CJK, space runs, <mask> next to spaces, <s> in text,
// contractions, numbers, URLs, the empty string), small max_length truncation and pairs. Both
// file layouts of that directory (tokenizer.json, and vocab.json + merges.txt with the side files)
// are checked against the same fixtures.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer_fixtures.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using bert_emotion::Encoding;
using bert_emotion::Tokenizer;
using nlohmann::json;
using namespace tokenizer_fixtures;

namespace {

const fs::path kFixtures = fs::path(FIXTURES_DIR) / "tokenizer";
const fs::path kBpe = kFixtures / "bpe";
const fs::path kModel = fs::path(SHARED_DIR) / "models" / "roberta-bpe-test";
const fs::path kEmotion = fs::path(SHARED_DIR) / "data" / "tweeteval" / "datasets" / "emotion";

// The two layouts of the same tokenizer.
const char* const kLayouts[] = {"tokenizer.json", "vocab.json"};

Tokenizer load(const std::string& layout) {
  if (layout == "tokenizer.json") return Tokenizer::from_tokenizer_json(kModel / "tokenizer.json");
  return Tokenizer::from_bpe_files(kModel / "vocab.json", kModel / "merges.txt");
}

std::vector<std::string> hard_cases() {
  std::vector<std::string> texts = read_lines(kFixtures / "hard_cases.txt");
  for (auto& t : read_lines(kBpe / "hard_cases.txt")) texts.push_back(t);
  return texts;
}

json roberta_json() { return json::parse(read_file(kModel / "tokenizer.json")); }

}  // namespace

TEST(TokenizerBpe, LoadsBothLayoutsWithIdsFromTheFiles) {
  for (const std::string layout : kLayouts) {
    SCOPED_TRACE(layout);
    Tokenizer tok = load(layout);
    EXPECT_EQ(tok.source().filename(), layout);
    // Ids read from ../shared/models/roberta-bpe-test (see its SOURCE.md).
    EXPECT_EQ(tok.cls_id(), 0);  // <s>
    EXPECT_EQ(tok.pad_id(), 1);  // <pad>
    EXPECT_EQ(tok.sep_id(), 2);  // </s>
    EXPECT_EQ(tok.unk_id(), 3);  // <unk>
    EXPECT_EQ(tok.token_to_id("<mask>"), 50260);
    EXPECT_EQ(tok.token_to_id("Ġthe"), 266);      // GPT-2's 262 + 4
    EXPECT_EQ(tok.id_to_token(50259), "Ġgazed");  // GPT-2's last merge-made token, 50255 + 4
    EXPECT_FALSE(tok.token_to_id("<|endoftext|>").has_value());
    EXPECT_EQ(tok.vocab_size(), 50261u);
    EXPECT_EQ(tok.model_max_length(), 512u);
  }
  // A directory without tokenizer.json is read as vocab.json + merges.txt.
  fs::path dir = temp_dir("bpe_layout");
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(kModel / f, dir / f);
  Tokenizer tok = Tokenizer::from_model_dir(dir);
  EXPECT_EQ(tok.source().filename(), "vocab.json");
  EXPECT_EQ(tok.encode("Hello <mask>!").ids, load("tokenizer.json").encode("Hello <mask>!").ids);
  fs::remove_all(dir);
}

class BpeTweetEval : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(BpeTweetEval, IdsIdenticalToHuggingFace) {
  const auto [layout, split] = GetParam();
  expect_all_equal(load(layout), read_lines(kEmotion / (std::string(split) + "_text.txt")),
                   kBpe / ("tweeteval_" + std::string(split) + ".jsonl"));
}

INSTANTIATE_TEST_SUITE_P(Splits, BpeTweetEval,
                         ::testing::Combine(::testing::ValuesIn(kLayouts), ::testing::Values("train", "val", "test")));

TEST(TokenizerBpe, HardCasesIdsTokensOffsetsIdenticalToHuggingFace) {
  const auto texts = hard_cases();
  for (const std::string layout : kLayouts) {
    SCOPED_TRACE(layout);
    expect_all_equal(load(layout), texts, kBpe / "hard_cases.jsonl");
    expect_all_equal(load(layout), texts, kBpe / "hard_cases_notrunc.jsonl", size_t(1) << 30);
  }
}

TEST(TokenizerBpe, TruncationAtSmallMaxLengthIdenticalToHuggingFace) {
  const auto val = read_lines(kEmotion / "val_text.txt");
  const auto hard = hard_cases();
  for (const std::string layout : kLayouts) {
    Tokenizer tok = load(layout);
    size_t checked = 0, mismatches = 0;
    std::string first;
    for (const auto& row : read_jsonl(kBpe / "truncation.jsonl")) {
      const std::string& text = (row["source"] == "val" ? val : hard).at(row["line"].get<size_t>());
      const size_t m = row["max_length"].get<size_t>();
      Encoding e = tok.encode(text, m);
      EXPECT_LE(e.ids.size(), m);
      std::string d = diff(row, e);
      ++checked;
      if (!d.empty() && mismatches++ == 0) first = row.dump().substr(0, 200) + ": " + d;
      EXPECT_EQ(tok.encode_ids(text, m), e.ids);
    }
    EXPECT_EQ(checked, 3u * (val.size() + hard.size()));
    EXPECT_EQ(mismatches, 0u) << layout << ": " << first;
  }
}

TEST(TokenizerBpe, PairsWithLongestFirstTruncationIdenticalToHuggingFace) {
  const auto val = read_lines(kEmotion / "val_text.txt");
  const auto hard = hard_cases();
  auto text = [&](const json& ref) -> const std::string& {
    return (ref[0] == "hard" ? hard : val).at(ref[1].get<size_t>());
  };
  for (const std::string layout : kLayouts) {
    Tokenizer tok = load(layout);
    auto rows = read_jsonl(kBpe / "pairs.jsonl");
    ASSERT_GE(rows.size(), 500u);
    size_t mismatches = 0;
    for (const auto& row : rows) {
      const std::string &a = text(row["a"]), &b = text(row["b"]);
      std::string d = diff(row, tok.encode_pair(a, b, row["max_length"].get<size_t>()));
      if (!d.empty() && mismatches++ < 3)
        ADD_FAILURE() << layout << " max_length " << row["max_length"] << " a=\"" << show(a.substr(0, 100)) << "\" b=\""
                      << show(b.substr(0, 100)) << "\": " << d;
    }
    EXPECT_EQ(mismatches, 0u) << layout;
  }
}

TEST(TokenizerBpe, MaskSwallowsSpacesAndSpecialsInTextAreMatched) {
  Tokenizer tok = load("tokenizer.json");
  Encoding e = tok.encode("a  <mask> b");
  // <s> a <mask>(lstrip: both spaces) Ġb </s>
  ASSERT_EQ(e.tokens.size(), 5u);
  EXPECT_EQ(e.tokens[2], "  <mask>");
  EXPECT_EQ(e.ids[2], 50260);
  EXPECT_EQ(e.tokens[3], "Ġb");
  EXPECT_EQ(tok.encode("<s>x</s>").ids, (std::vector<int32_t>{0, 0, 91, 2, 2}));
}

TEST(TokenizerBpe, MergesAsArraysGiveTheSameIds) {
  json j = roberta_json();
  for (auto& m : j["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    const size_t sp = s.find(' ');
    m = json::array({s.substr(0, sp), s.substr(sp + 1)});
  }
  fs::path dir = temp_dir("bpe_array_merges");
  write_file(dir / "tokenizer.json", j.dump());
  Tokenizer arrays = Tokenizer::from_tokenizer_json(dir / "tokenizer.json");
  Tokenizer strings = load("tokenizer.json");
  for (const auto& t : hard_cases())
    EXPECT_EQ(arrays.encode_ids(t, 1 << 20), strings.encode_ids(t, 1 << 20)) << show(t);
  fs::remove_all(dir);
}

TEST(TokenizerBpe, EncodeIdsBatchAndThreadsAgreeWithEncode) {
  Tokenizer tok = load("tokenizer.json");
  const auto texts = read_lines(kEmotion / "val_text.txt");
  std::vector<Encoding> single;
  for (const auto& t : texts) single.push_back(tok.encode(t));
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(tok.encode_ids(texts[i]), single[i].ids);
  auto batch = tok.encode_batch(texts, 0, 4);
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(batch[i].ids, single[i].ids);
    EXPECT_EQ(batch[i].offsets, single[i].offsets);
  }
}

TEST(TokenizerBpe, InvalidUtf8ThrowsWithByteOffset) {
  Tokenizer tok = load("tokenizer.json");
  for (const auto& [text, offset] : std::vector<std::pair<std::string, size_t>>{
           {"ok \xC3\x28 bad", 3}, {"\xFF", 0}, {"abc\xED\xA0\x80", 3}, {"caf\xC3\xA9 \xF0\x9F\x98", 6}}) {
    try {
      tok.encode(text);
      ADD_FAILURE() << "no error for " << show(text);
    } catch (const bert_emotion::Utf8Error& e) {
      EXPECT_EQ(e.byte_offset, offset) << show(text);
      EXPECT_NE(std::string(e.what()).find("byte " + std::to_string(offset)), std::string::npos) << e.what();
    }
  }
}

TEST(TokenizerBpe, MalformedTokenizerJsonNamesFileAndField) {
  const json base = roberta_json();
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"three-part merge", [](json& j) { j["model"]["merges"][5] = "a b c"; }, "model.merges[5]"},
      {"merge of unknown token", [](json& j) { j["model"]["merges"][0] = "Ġ zzzzqq"; }, "zzzzqq"},
      {"merge as a number", [](json& j) { j["model"]["merges"][2] = 7; }, "model.merges[2]"},
      {"merges not an array", [](json& j) { j["model"]["merges"] = "x"; }, "model.merges"},
      {"vocab id not an integer", [](json& j) { j["model"]["vocab"]["hello"] = "1"; }, "model.vocab[\"hello\"]"},
      {"unk not in vocab", [](json& j) { j["model"]["unk_token"] = "<nope>"; }, "model.unk_token"},
      {"RobertaProcessing cls", [](json& j) { j["post_processor"]["cls"] = "<s>"; }, "post_processor.cls"},
  };
  for (const auto& c : cases) {
    auto what =
        edited_load_error<bert_emotion::FormatError>(base, c.edit, temp_dir("bpe_malformed"), c.name, "FormatError");
    if (!what) continue;
    EXPECT_NE(what->find("tokenizer.json"), std::string::npos) << c.name << ": " << *what;
    EXPECT_NE(what->find(c.expected), std::string::npos) << c.name << ": " << *what;
  }
}

TEST(TokenizerBpe, UnsupportedBpeOptionsAreRefusedClearly) {
  const json base = roberta_json();
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"dropout", [](json& j) { j["model"]["dropout"] = 0.1; }, "dropout"},
      {"byte_fallback", [](json& j) { j["model"]["byte_fallback"] = true; }, "byte_fallback"},
      {"subword prefix", [](json& j) { j["model"]["continuing_subword_prefix"] = "##"; }, "continuing_subword_prefix"},
      {"suffix", [](json& j) { j["model"]["end_of_word_suffix"] = "</w>"; }, "end_of_word_suffix"},
      {"normalizer",
       [](json& j) {
         j["normalizer"] = json{{"type", "NFC"}};
       },
       "normalizer"},
      {"pre-tokenizer",
       [](json& j) {
         j["pre_tokenizer"] = json{{"type", "BertPreTokenizer"}};
       },
       "BertPreTokenizer"},
      {"post-processor", [](json& j) { j["post_processor"]["type"] = "Nope"; }, "Nope"},
  };
  for (const auto& c : cases) {
    auto what = edited_load_error<bert_emotion::UnsupportedError>(base, c.edit, temp_dir("bpe_unsupported"), c.name,
                                                                  "UnsupportedError");
    if (!what) continue;
    EXPECT_NE(what->find("tokenizer.json"), std::string::npos) << c.name << ": " << *what;
    EXPECT_NE(what->find(c.expected), std::string::npos) << c.name << ": " << *what;
  }
}

TEST(TokenizerBpe, MalformedMergesTxtAndVocabJsonNameFileAndLine) {
  const std::string merges = read_file(kModel / "merges.txt");
  const std::string vocab = read_file(kModel / "vocab.json");
  fs::path dir = temp_dir("bpe_malformed_files");
  auto error_of = [&](const std::string& v, const std::string& m) -> std::string {
    write_file(dir / "vocab.json", v);
    write_file(dir / "merges.txt", m);
    try {
      Tokenizer::from_bpe_files(dir / "vocab.json", dir / "merges.txt");
    } catch (const bert_emotion::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  // Line 3 (after "#version" and one merge) has three parts.
  const size_t second = merges.find('\n', merges.find('\n') + 1) + 1;
  std::string bad = merges.substr(0, second) + "a b c\n" + merges.substr(second);
  std::string what = error_of(vocab, bad);
  EXPECT_NE(what.find("merges.txt: line 3"), std::string::npos) << what;
  what = error_of(vocab, "#version: 0.2\nĠ t\nqqqzz t\n");
  EXPECT_NE(what.find("merges.txt: line 3"), std::string::npos) << what;
  EXPECT_NE(what.find("qqqzz"), std::string::npos) << what;
  what = error_of(vocab, "#version: 0.2\n\xC3\x28 t\n");
  EXPECT_NE(what.find("merges.txt: invalid UTF-8 at byte 14"), std::string::npos) << what;
  what = error_of("{\"a\": \"x\"}", "#version: 0.2\n");
  EXPECT_NE(what.find("vocab.json: field '\"a\"'"), std::string::npos) << what;
  what = error_of("[1, 2]", "");
  EXPECT_NE(what.find("vocab.json: must be a JSON object"), std::string::npos) << what;
  fs::remove_all(dir);
}

TEST(TokenizerBpe, AddPrefixSpaceFromTheConfigKeepsTheFirstOffset) {
  // RobertaTokenizer(add_prefix_space=True): "hello" -> "Ġhello" with offsets [0, 5).
  fs::path dir = temp_dir("bpe_prefix");
  for (const char* f : {"vocab.json", "merges.txt", "special_tokens_map.json"}) fs::copy_file(kModel / f, dir / f);
  json cfg = json::parse(read_file(kModel / "tokenizer_config.json"));
  cfg["add_prefix_space"] = true;
  write_file(dir / "tokenizer_config.json", cfg.dump());
  Tokenizer tok = Tokenizer::from_model_dir(dir);
  Encoding e = tok.encode("hello world");
  ASSERT_EQ(e.tokens.size(), 4u);
  EXPECT_EQ(e.tokens[1], "Ġhello");
  EXPECT_EQ(e.ids[1], *load("tokenizer.json").token_to_id("Ġhello"));
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>(0, 5)));
  EXPECT_EQ(e.offsets[2], (std::pair<uint32_t, uint32_t>(6, 11)));
  fs::remove_all(dir);
}

TEST(TokenizerBpe, IgnoreMergesKeepsWholeVocabularyWordsIdenticalToHuggingFace) {
  // As generate_bpe.js builds it: ignore_merges on, two whole words no merge makes added.
  json j = roberta_json();
  j["model"]["ignore_merges"] = true;
  j["model"]["vocab"]["Ġhellothere"] = 50261;
  j["model"]["vocab"]["zzqx"] = 50262;
  fs::path dir = temp_dir("bpe_ignore_merges");
  write_file(dir / "tokenizer.json", j.dump());
  Tokenizer tok = Tokenizer::from_tokenizer_json(dir / "tokenizer.json");
  std::vector<std::string> texts = {"hellothere", " hellothere zzqx", "a hellothere's zzqxzzqx <mask> hellothere"};
  for (auto& t : hard_cases()) texts.push_back(t);
  for (auto& t : read_lines(kEmotion / "val_text.txt")) texts.push_back(t);
  expect_all_equal(tok, texts, kBpe / "ignore_merges.jsonl", 512);
  EXPECT_EQ(tok.encode(" hellothere").ids, (std::vector<int32_t>{0, 50261, 2}));
  EXPECT_NE(load("tokenizer.json").encode(" hellothere").ids.size(), 3u);  // merges alone split it
  fs::remove_all(dir);
}

TEST(TokenizerBpe, SparseIdsUpToTwoToTheThirtyLoadWithoutMemorySizedByTheLargestId) {
  // Hugging Face keeps id -> token in a map, so a vocabulary may leave gaps. A table indexed by
  // id would take 2^30 strings here (32 GiB: bad_alloc); the fuzzer found a 6 GB one.
  json j = roberta_json();
  j["model"]["ignore_merges"] = true;
  const int32_t far_id = int32_t(1) << 30;
  j["model"]["vocab"]["zzqx"] = far_id;
  fs::path dir = temp_dir("bpe_sparse_ids");
  write_file(dir / "tokenizer.json", j.dump());
  Tokenizer tok = Tokenizer::from_tokenizer_json(dir / "tokenizer.json");
  const Encoding e = tok.encode("zzqx hello");
  ASSERT_GE(e.ids.size(), 3u);
  EXPECT_EQ(e.ids[1], far_id);
  EXPECT_EQ(e.tokens[1], "zzqx");
  EXPECT_EQ(tok.id_to_token(far_id), "zzqx");
  EXPECT_EQ(tok.vocab_size(), size_t(far_id) + 1);
  EXPECT_EQ(tok.encode("hello").ids, load("tokenizer.json").encode("hello").ids);
  fs::remove_all(dir);
}

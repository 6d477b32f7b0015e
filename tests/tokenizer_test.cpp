// tokenizer_test.cpp — token ids, tokens and offsets identical to Hugging Face `tokenizers`.
//
// Expected outputs come from the official bindings (npm `tokenizers`, pinned in
// tools/tokenizer-fixtures/package-lock.json; regenerate with tools/tokenizer-fixtures/generate.sh):
// every TweetEval emotion text, a hard-case file (tests/fixtures/tokenizer/hard_cases.txt), small
// max_length truncation and pairs, through the cased distilbert-base-cased tokenizer.json and an
// uncased variant of it. Any mismatch fails and prints the first differing line and token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
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
const fs::path kModel = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";
const fs::path kEmotion = fs::path(SHARED_DIR) / "data" / "tweeteval" / "datasets" / "emotion";

Tokenizer uncased() { return Tokenizer::from_tokenizer_json(kFixtures / "uncased" / "tokenizer.json"); }

}  // namespace

TEST(Tokenizer, LoadsDistilbertBaseCased) {
  Tokenizer tok = Tokenizer::from_model_dir(kModel);
  EXPECT_EQ(tok.source().filename(), "tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 28996u);
  EXPECT_EQ(tok.model_max_length(), 512u);
  // Ids read from the files (see ../shared/models/distilbert-base-cased/SOURCE.md).
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 100);
  EXPECT_EQ(tok.cls_id(), 101);
  EXPECT_EQ(tok.sep_id(), 102);
  EXPECT_EQ(tok.token_to_id("[MASK]"), 103);
  EXPECT_EQ(tok.token_to_id("Hello"), 8667);
  EXPECT_EQ(tok.token_to_id("##："), 28995);
  EXPECT_FALSE(tok.token_to_id("definitely-not-a-token").has_value());
  EXPECT_EQ(tok.id_to_token(106), "!");
  EXPECT_EQ(tok.id_to_token(28996), "");
}

class TweetEval : public ::testing::TestWithParam<const char*> {};

TEST_P(TweetEval, CasedIdsIdenticalToHuggingFace) {
  std::string split = GetParam();
  expect_all_equal(Tokenizer::from_model_dir(kModel), read_lines(kEmotion / (split + "_text.txt")),
                   kFixtures / ("tweeteval_" + split + "_cased.jsonl"));
}

TEST_P(TweetEval, UncasedIdsIdenticalToHuggingFace) {
  std::string split = GetParam();
  expect_all_equal(uncased(), read_lines(kEmotion / (split + "_text.txt")),
                   kFixtures / ("tweeteval_" + split + "_uncased.jsonl"));
}

// vocab.txt + tokenizer_config.json (no tokenizer.json) builds the same tokenizer.
TEST_P(TweetEval, VocabTxtPathGivesTheSameIds) {
  std::string split = GetParam();
  auto texts = read_lines(kEmotion / (split + "_text.txt"));
  expect_all_equal(Tokenizer::from_vocab_files(kModel / "vocab.txt"), texts,
                   kFixtures / ("tweeteval_" + split + "_cased.jsonl"));

  fs::path dir = temp_dir(std::string("vocab_uncased_") + split);
  fs::copy_file(kModel / "vocab.txt", dir / "vocab.txt");
  write_file(dir / "tokenizer_config.json", R"({"do_lower_case": true, "model_max_length": 512})");
  Tokenizer tok = Tokenizer::from_model_dir(dir);
  EXPECT_EQ(tok.source().filename(), "vocab.txt");
  expect_all_equal(tok, texts, kFixtures / ("tweeteval_" + split + "_uncased.jsonl"));
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Splits, TweetEval, ::testing::Values("train", "val", "test"));

TEST(Tokenizer, HardCasesIdsTokensOffsetsIdenticalToHuggingFace) {
  auto texts = read_lines(kFixtures / "hard_cases.txt");
  ASSERT_GE(texts.size(), 50u);
  expect_all_equal(Tokenizer::from_model_dir(kModel), texts, kFixtures / "hard_cases_cased.jsonl");
  expect_all_equal(uncased(), texts, kFixtures / "hard_cases_uncased.jsonl");
  // No truncation: the long lines keep all their (> 600) tokens.
  expect_all_equal(Tokenizer::from_model_dir(kModel), texts, kFixtures / "hard_cases_cased_notrunc.jsonl",
                   size_t(1) << 30);
  expect_all_equal(uncased(), texts, kFixtures / "hard_cases_uncased_notrunc.jsonl", size_t(1) << 30);
}

TEST(Tokenizer, LowercaseWithoutAccentStrippingUsesFullLowercase) {
  // The uncased file with strip_accents: false (as the generator builds it for the bindings).
  json j = json::parse(read_file(kFixtures / "uncased" / "tokenizer.json"));
  j["normalizer"]["strip_accents"] = false;
  fs::path dir = temp_dir("lower_nostrip");
  write_file(dir / "tokenizer.json", j.dump());
  Tokenizer tok = Tokenizer::from_tokenizer_json(dir / "tokenizer.json");
  expect_all_equal(tok, read_lines(kFixtures / "hard_cases.txt"), kFixtures / "hard_cases_lower_nostrip.jsonl");
  // 'İ' lowercases to "i̇" (i + U+0307, two code points), a word whose "##̇" piece is not in the
  // vocabulary, so the whole word is [UNK]; simple 1:1 lowercasing would give the token "i".
  Encoding e = tok.encode("\xC4\xB0");
  ASSERT_EQ(e.ids.size(), 3u);
  EXPECT_EQ(e.ids[1], tok.unk_id());
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>{0, 2}));
  EXPECT_EQ(tok.encode("\xC4\xB0 I").tokens, (std::vector<std::string>{"[CLS]", "[UNK]", "i", "[SEP]"}));
  fs::remove_all(dir);
}

TEST(Tokenizer, AddedTokenFlagsIdenticalToHuggingFace) {
  // uncased/tokenizer.json plus added tokens with lstrip, rstrip, single_word and normalized set
  // (the generator gives the bindings the same file).
  json j = json::parse(read_file(kFixtures / "uncased" / "tokenizer.json"));
  for (const auto& t : json::parse(read_file(kFixtures / "added_tokens_extra.json"))) j["added_tokens"].push_back(t);
  fs::path dir = temp_dir("added");
  write_file(dir / "tokenizer.json", j.dump());
  Tokenizer tok = Tokenizer::from_tokenizer_json(dir / "tokenizer.json");
  auto texts = read_lines(kFixtures / "added_cases.txt");
  auto hard = read_lines(kFixtures / "hard_cases.txt");
  texts.insert(texts.end(), hard.begin(), hard.end());
  expect_all_equal(tok, texts, kFixtures / "added_tokens_uncased.jsonl");
  // As the bindings do, ids are assigned while loading, not read from the file: "word" is in the
  // model vocabulary and keeps its id there (1937), so "<both>" (29002 in the file) becomes 29001.
  EXPECT_EQ(tok.token_to_id("word"), 1937);
  EXPECT_EQ(tok.token_to_id("<both>"), 29001);
  EXPECT_EQ(tok.id_to_token(29001), "<both>");
  EXPECT_EQ(tok.vocab_size(), 29002u);
  fs::remove_all(dir);
}

TEST(Tokenizer, TruncationAtSmallMaxLengthIdenticalToHuggingFace) {
  auto val = read_lines(kEmotion / "val_text.txt");
  auto hard = read_lines(kFixtures / "hard_cases.txt");
  for (const char* variant : {"cased", "uncased"}) {
    Tokenizer tok = std::string(variant) == "cased" ? Tokenizer::from_model_dir(kModel) : uncased();
    size_t checked = 0, mismatches = 0;
    std::string first;
    for (const auto& row : read_jsonl(kFixtures / (std::string("truncation_") + variant + ".jsonl"))) {
      const auto& texts = row["source"] == "val" ? val : hard;
      const std::string& text = texts.at(row["line"].get<size_t>());
      const size_t m = row["max_length"].get<size_t>();
      Encoding e = tok.encode(text, m);
      EXPECT_LE(e.ids.size(), m);
      std::string d = diff(row, e);
      ++checked;
      if (!d.empty() && mismatches++ == 0) first = row.dump().substr(0, 200) + ": " + d;
      EXPECT_EQ(tok.encode_ids(text, m), e.ids);
    }
    EXPECT_EQ(checked, 2u * (val.size() + hard.size()));
    EXPECT_EQ(mismatches, 0u) << variant << ": " << first;
  }
}

TEST(Tokenizer, PairsWithLongestFirstTruncationIdenticalToHuggingFace) {
  auto val = read_lines(kEmotion / "val_text.txt");
  auto hard = read_lines(kFixtures / "hard_cases.txt");
  auto text = [&](const json& ref) -> const std::string& {
    return (ref[0] == "hard" ? hard : val).at(ref[1].get<size_t>());
  };
  for (const char* variant : {"cased", "uncased"}) {
    Tokenizer tok = std::string(variant) == "cased" ? Tokenizer::from_model_dir(kModel) : uncased();
    auto rows = read_jsonl(kFixtures / (std::string("pairs_") + variant + ".jsonl"));
    ASSERT_GE(rows.size(), 500u);
    size_t mismatches = 0;
    for (const auto& row : rows) {
      const std::string &a = text(row["a"]), &b = text(row["b"]);
      std::string d = diff(row, tok.encode_pair(a, b, row["max_length"].get<size_t>()));
      if (!d.empty() && mismatches++ < 3)
        ADD_FAILURE() << variant << " max_length " << row["max_length"] << " a=\"" << show(a.substr(0, 100))
                      << "\" b=\"" << show(b.substr(0, 100)) << "\": " << d;
    }
    EXPECT_EQ(mismatches, 0u) << variant;
  }
}

TEST(Tokenizer, SpecialTokensTypedInTextAreMatchedBeforeNormalization) {
  Tokenizer tok = Tokenizer::from_model_dir(kModel);
  Encoding e = tok.encode("a[SEP]b");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 170, 102, 171, 102}));
  EXPECT_EQ(e.offsets[2], (std::pair<uint32_t, uint32_t>{1, 6}));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<uint8_t>{1, 0, 0, 0, 1}));
  // The uncased normalizer would lowercase "[SEP]" if it ran first; it does not.
  EXPECT_EQ(uncased().encode("x [MASK]").ids[2], 103);
}

TEST(Tokenizer, EncodeIdsAndBatchAgreeWithEncode) {
  Tokenizer tok = Tokenizer::from_model_dir(kModel);
  auto texts = read_lines(kEmotion / "val_text.txt");
  auto hard = read_lines(kFixtures / "hard_cases.txt");
  texts.insert(texts.end(), hard.begin(), hard.end());
  auto batch = tok.encode_batch(texts, 0, 4);
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    Encoding e = tok.encode(texts[i]);
    ASSERT_EQ(batch[i].ids, e.ids) << i;
    ASSERT_EQ(batch[i].offsets, e.offsets) << i;
    ASSERT_EQ(tok.encode_ids(texts[i]), e.ids) << i;
  }
}

// The rows training, evaluation, the Classifier and the Python module feed the model: ids as
// encode_ids / encode_pair, token types only when wanted and some row is a pair.
TEST(Tokenizer, EncodeRowsAgreesWithEncodeAndEncodePair) {
  Tokenizer tok = Tokenizer::from_model_dir(kModel);
  const std::vector<std::string> a = {"I love this!", "so angry right now", "a much longer text than the limit allows"};
  const std::vector<std::string> b = {"me too", "why"};
  const std::vector<std::string_view> first(a.begin(), a.end());
  const std::vector<std::optional<std::string_view>> second = {b[0], std::nullopt, b[1]};
  std::vector<size_t> visited;
  const bert_emotion::TokenRows rows =
      tok.encode_rows(first, second, 8, /*token_types=*/true, [&](size_t i) { visited.push_back(i); });
  EXPECT_EQ(visited, (std::vector<size_t>{0, 1, 2}));
  ASSERT_EQ(rows.ids.size(), 3u);
  ASSERT_EQ(rows.type_ids.size(), 3u);
  for (size_t i : {size_t{0}, size_t{2}}) {
    const Encoding e = tok.encode_pair(a[i], *second[i], 8);
    EXPECT_EQ(rows.ids[i], e.ids) << i;
    EXPECT_EQ(rows.type_ids[i], std::vector<int32_t>(e.type_ids.begin(), e.type_ids.end())) << i;
    EXPECT_EQ(rows.type_ids[i].back(), 1) << i;
  }
  EXPECT_EQ(rows.ids[1], tok.encode_ids(a[1], 8));
  EXPECT_EQ(rows.type_ids[1], std::vector<int32_t>(rows.ids[1].size(), 0));

  // No pair (or no token type embeddings): no token types, the same ids.
  const bert_emotion::TokenRows single = tok.encode_rows(first, {}, 0, /*token_types=*/true);
  EXPECT_TRUE(single.type_ids.empty());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(single.ids[i], tok.encode_ids(a[i])) << i;
  EXPECT_TRUE(tok.encode_rows(first, second, 8, /*token_types=*/false).type_ids.empty());
  EXPECT_EQ(tok.encode_rows(first, second, 8, /*token_types=*/false).ids, rows.ids);

  EXPECT_THROW(tok.encode_rows(first, {b[0]}, 0, true), bert_emotion::InvalidArgument);
}

TEST(Tokenizer, ConcurrentEncodeIsDeterministic) {
  Tokenizer tok = Tokenizer::from_model_dir(kModel);
  auto texts = read_lines(kEmotion / "test_text.txt");
  std::vector<std::vector<int32_t>> expected;
  for (const auto& t : texts) expected.push_back(tok.encode_ids(t));
  std::vector<size_t> bad(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = t; i < texts.size() * 2; i += 3) {
        size_t k = i % texts.size();
        if (tok.encode(texts[k]).ids != expected[k] || tok.encode_ids(texts[k]) != expected[k]) ++bad[t];
      }
    });
  for (auto& th : threads) th.join();
  for (size_t b : bad) EXPECT_EQ(b, 0u);
}

TEST(Tokenizer, InvalidUtf8ThrowsWithByteOffset) {
  Tokenizer tok = Tokenizer::from_model_dir(kModel);
  try {
    tok.encode("good text \xC3\x28 bad");
    FAIL() << "expected Utf8Error";
  } catch (const bert_emotion::Utf8Error& e) {
    EXPECT_EQ(e.byte_offset, 10u);
  }
  EXPECT_THROW(tok.encode_pair("fine", "\xFF"), bert_emotion::Utf8Error);
  EXPECT_THROW(tok.encode_ids("\xED\xA0\x80"), bert_emotion::Utf8Error);  // a surrogate
}

TEST(Tokenizer, MaxLengthShorterThanSpecialsIsRejected) {
  Tokenizer tok = Tokenizer::from_model_dir(kModel);
  EXPECT_THROW(tok.encode("hello", 1), bert_emotion::InvalidArgument);
  EXPECT_EQ(tok.encode("hello world", 2).ids, (std::vector<int32_t>{101, 102}));
}

TEST(Tokenizer, UnsupportedTypesNameFileAndType) {
  json base = json::parse(read_file(kModel / "tokenizer.json"));
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    const char* type;
  };
  std::vector<Case> cases = {
      // A BPE model with WordPiece's "##" prefix.
      {"bpe", [](json& j) { j["model"]["type"] = "BPE"; }, "continuing_subword_prefix"},
      {"unigram", [](json& j) { j["model"]["type"] = "Unigram"; }, "Unigram"},
      {"wordlevel", [](json& j) { j["model"]["type"] = "WordLevel"; }, "WordLevel"},
      {"nfkc",
       [](json& j) {
         j["normalizer"] = {{"type", "NFKC"}};
       },
       "NFKC"},
      {"metaspace",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "Metaspace"}};
       },
       "Metaspace"},
      {"bytelevel",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "ByteLevel"}};
       },
       "ByteLevel"},
      {"processor",
       [](json& j) {
         j["post_processor"] = {{"type", "Precompiled"}};
       },
       "Precompiled"},
  };
  for (const auto& c : cases) {
    const fs::path dir = temp_dir(c.name);
    if (const auto what =
            edited_load_error<bert_emotion::UnsupportedError>(base, c.edit, dir, c.name, "UnsupportedError")) {
      EXPECT_NE(what->find("tokenizer.json"), std::string::npos) << *what;
      EXPECT_NE(what->find(c.type), std::string::npos) << *what;
    }
  }
}

TEST(Tokenizer, MalformedFilesNameFileAndField) {
  json base = json::parse(read_file(kModel / "tokenizer.json"));
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    const char* field;
  };
  std::vector<Case> cases = {
      {"no_vocab", [](json& j) { j["model"].erase("vocab"); }, "model.vocab"},
      {"bad_id", [](json& j) { j["model"]["vocab"]["hello"] = "x"; }, "model.vocab[\"hello\"]"},
      {"no_unk", [](json& j) { j["model"]["unk_token"] = "[NOPE]"; }, "model.unk_token"},
      {"bad_lowercase", [](json& j) { j["normalizer"]["lowercase"] = 3; }, "normalizer.lowercase"},
      {"bad_added", [](json& j) { j["added_tokens"][1].erase("content"); }, "added_tokens[1].content"},
      {"bad_template",
       [](json& j) {
         j["post_processor"]["single"][0] = {{"Oops", 1}};
       },
       "post_processor.single[0]"},
      {"bad_truncation", [](json& j) { j["truncation"]["strategy"] = "Sideways"; }, "truncation.strategy"},
  };
  for (const auto& c : cases) {
    const fs::path dir = temp_dir(c.name);
    if (const auto what = edited_load_error<bert_emotion::FormatError>(base, c.edit, dir, c.name, "FormatError")) {
      EXPECT_NE(what->find((dir / "tokenizer.json").string()), std::string::npos) << *what;
      EXPECT_NE(what->find(c.field), std::string::npos) << *what;
    }
  }
  fs::path dir = temp_dir("not_json");
  write_file(dir / "tokenizer.json", "{ not json");
  EXPECT_THROW(Tokenizer::from_model_dir(dir), bert_emotion::FormatError);
  fs::remove(dir / "tokenizer.json");
  EXPECT_THROW(Tokenizer::from_model_dir(dir), bert_emotion::FormatError);  // neither file
  fs::remove_all(dir);
  EXPECT_THROW(Tokenizer::from_model_dir(dir), bert_emotion::IoError);  // no directory
}

TEST(Tokenizer, VocabTxtReadsLinesLikePython) {
  // CRLF line ends are universal newlines in Python's readlines(): tokens must not keep "\r".
  fs::path dir = temp_dir("crlf");
  write_file(dir / "vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\r\n##s\r\nworld\r\n");
  write_file(dir / "tokenizer_config.json", R"({"do_lower_case": true, "model_max_length": 16})");
  Tokenizer tok = Tokenizer::from_model_dir(dir);
  EXPECT_EQ(tok.vocab_size(), 8u);
  EXPECT_EQ(tok.model_max_length(), 16u);
  Encoding e = tok.encode("Hellos WORLD zzz");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 5, 6, 7, 1, 3}));
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "hello", "##s", "world", "[UNK]", "[SEP]"}));
  EXPECT_EQ(e.offsets[2], (std::pair<uint32_t, uint32_t>{5, 6}));
  fs::remove_all(dir);
}

TEST(Tokenizer, DefaultMaxLengthPrecedence) {
  json base = json::parse(read_file(kModel / "tokenizer.json"));
  auto load = [&](const json& tj, const char* tokenizer_config, const char* config) {
    fs::path dir = temp_dir("maxlen");
    write_file(dir / "tokenizer.json", tj.dump());
    if (tokenizer_config) write_file(dir / "tokenizer_config.json", tokenizer_config);
    if (config) write_file(dir / "config.json", config);
    Tokenizer tok = Tokenizer::from_model_dir(dir);
    fs::remove_all(dir);
    return tok;
  };
  json t64 = base;
  t64["truncation"]["max_length"] = 64;
  json none = base;
  none["truncation"] = nullptr;
  EXPECT_EQ(load(t64, nullptr, nullptr).model_max_length(), 64u);  // the file's truncation
  EXPECT_EQ(load(t64, nullptr, R"({"max_position_embeddings": 128})").model_max_length(), 64u);
  EXPECT_EQ(load(none, nullptr, R"({"max_position_embeddings": 128})").model_max_length(), 128u);  // position limit
  EXPECT_EQ(load(t64, R"({"model_max_length": 32})", nullptr).model_max_length(), 32u);  // model_max_length wins
  // Transformers' "no limit" (VERY_LARGE_INTEGER) falls through to the next source.
  EXPECT_EQ(load(t64, R"({"model_max_length": 1000000000000000019884624838656})", nullptr).model_max_length(), 64u);
  Tokenizer unlimited = load(none, nullptr, nullptr);
  EXPECT_EQ(unlimited.model_max_length(), std::numeric_limits<size_t>::max());
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "word ";
  EXPECT_EQ(unlimited.encode(long_text).ids.size(), 602u);  // 600 words + [CLS] + [SEP], untruncated
  EXPECT_EQ(Tokenizer::from_model_dir(kModel).encode(long_text).ids.size(), 512u);
}

TEST(Tokenizer, VocabTxtSpecialTokensFromConfigFiles) {
  // AddedToken dicts in tokenizer_config.json, special_tokens_map.json overriding it, and an
  // additional special token outside the vocabulary (appended after it, as Transformers does).
  fs::path dir = temp_dir("vocab_specials");
  write_file(dir / "vocab.txt", "<pad>\n<unk>\n<s>\n</s>\n[MASK]\nhello\nworld\n");
  write_file(dir / "tokenizer_config.json", R"({
    "do_lower_case": false,
    "unk_token": {"__type": "AddedToken", "content": "<unk>", "lstrip": false, "rstrip": false},
    "pad_token": "[PAD-not-used]", "cls_token": "<s>", "sep_token": "</s>", "model_max_length": 6})");
  write_file(dir / "special_tokens_map.json", R"({"pad_token": "<pad>", "additional_special_tokens": ["<e1>"]})");
  Tokenizer tok = Tokenizer::from_model_dir(dir);
  EXPECT_EQ(tok.pad_id(), 0);  // special_tokens_map.json wins over tokenizer_config.json
  EXPECT_EQ(tok.cls_id(), 2);
  EXPECT_EQ(tok.sep_id(), 3);
  EXPECT_EQ(tok.unk_id(), 1);
  EXPECT_EQ(tok.token_to_id("<e1>"), 7);
  EXPECT_EQ(tok.vocab_size(), 8u);
  Encoding e = tok.encode("hello<e1>Hello world world world");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 5, 7, 1, 6, 3}));  // cased: "Hello" is unknown; max 6
  EXPECT_EQ(e.tokens[2], "<e1>");
  fs::remove_all(dir);
}

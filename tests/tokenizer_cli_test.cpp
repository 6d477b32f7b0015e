// tokenizer_cli_test.cpp — `bert-emotion tokenize` end to end: line splitting on "\n" only
// ("\r" stays in the text), empty lines, order, pairs, --max-length, --offsets, invalid UTF-8.
// Expected ids come from the library's encode(), itself checked against Hugging Face by
// tokenizer_test.cpp, and from hand derivations noted inline.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kModel = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";

struct CliRun {
  int status = -1;
  std::string out, err;
};

CliRun run(const std::string& args, const std::string& stdin_data = "", const fs::path& model = kModel) {
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() /
                       ("bert_emotion_tokenize_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(dir);
  { std::ofstream(dir / "in", std::ios::binary) << stdin_data; }
  const std::string cmd = std::string(BERT_EMOTION_BIN) + " tokenize --model '" + model.string() + "' " + args +
                          " < '" + (dir / "in").string() + "' > '" + (dir / "out").string() + "' 2> '" +
                          (dir / "err").string() + "'";
  CliRun r;
  int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  fs::remove_all(dir);
  return r;
}

std::vector<json> lines_of(const std::string& out) {
  std::vector<json> rows;
  size_t i = 0;
  while (i < out.size()) {
    size_t j = out.find('\n', i);
    rows.push_back(json::parse(out.substr(i, j - i)));
    i = j + 1;
  }
  return rows;
}

fs::path write_temp(const std::string& name, const std::string& data) {
  fs::path p = fs::temp_directory_path() / ("bert_emotion_tokenize_cli_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << data;
  return p;
}

}  // namespace

TEST(TokenizeCli, SplitsOnNewlineOnlyKeepsCarriageReturnsAndEmptyLines) {
  const bert_emotion::Tokenizer tok = bert_emotion::Tokenizer::from_model_dir(kModel);
  // "x\ry" is ONE line ("\r" is a space for the normalizer, so two words); the empty middle line
  // is an input; the final newline adds nothing.
  const std::vector<std::string> texts = {"I love this! \xF0\x9F\x98\x80", "x\ry", "", "last one\r"};
  CliRun r = run("--input -", "I love this! \xF0\x9F\x98\x80\nx\ry\n\nlast one\r\n");
  ASSERT_EQ(r.status, 0) << r.err;
  auto rows = lines_of(r.out);
  ASSERT_EQ(rows.size(), texts.size()) << r.out;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto e = tok.encode(texts[i]);
    EXPECT_EQ(rows[i]["input_ids"].get<std::vector<int32_t>>(), e.ids) << i;
    EXPECT_EQ(rows[i]["tokens"].get<std::vector<std::string>>(), e.tokens) << i;
  }
  EXPECT_EQ(rows[1]["tokens"], json({"[CLS]", "x", "y", "[SEP]"}));
  EXPECT_EQ(rows[2]["input_ids"], json({101, 102}));  // empty line: just [CLS] [SEP]
  EXPECT_FALSE(rows[0].contains("offsets"));
}

TEST(TokenizeCli, PositionalTextsFileInputAndOffsets) {
  CliRun r = run("--offsets 'a[SEP]b' 'Hello world'");
  ASSERT_EQ(r.status, 0) << r.err;
  auto rows = lines_of(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["input_ids"], json({101, 170, 102, 171, 102}));  // typed [SEP] is the special id
  EXPECT_EQ(rows[0]["offsets"], json({{0, 0}, {0, 1}, {1, 6}, {6, 7}, {0, 0}}));
  EXPECT_EQ(rows[0]["special_tokens_mask"], json({1, 0, 0, 0, 1}));
  EXPECT_EQ(rows[1]["tokens"], json({"[CLS]", "Hello", "world", "[SEP]"}));

  fs::path in = write_temp("in.txt", "first line\nsecond line without newline");
  CliRun f = run("--input '" + in.string() + "' --max-length 3");
  ASSERT_EQ(f.status, 0) << f.err;
  auto frows = lines_of(f.out);
  ASSERT_EQ(frows.size(), 2u);
  EXPECT_EQ(frows[0]["tokens"], json({"[CLS]", "first", "[SEP]"}));  // max_length counts the specials
  EXPECT_EQ(frows[1]["tokens"], json({"[CLS]", "second", "[SEP]"}));
  fs::remove(in);
}

TEST(TokenizeCli, PairInput) {
  const bert_emotion::Tokenizer tok = bert_emotion::Tokenizer::from_model_dir(kModel);
  fs::path a = write_temp("a.txt", "question one\nq2\n");
  fs::path b = write_temp("b.txt", "answer one\na2\n");
  CliRun r = run("--input '" + a.string() + "' --pair-input '" + b.string() + "' --offsets");
  ASSERT_EQ(r.status, 0) << r.err;
  auto rows = lines_of(r.out);
  ASSERT_EQ(rows.size(), 2u);
  auto e = tok.encode_pair("question one", "answer one");
  EXPECT_EQ(rows[0]["input_ids"].get<std::vector<int32_t>>(), e.ids);
  EXPECT_EQ(rows[0]["type_ids"], json({0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(rows[0]["sequence_ids"], json({nullptr, 0, 0, nullptr, 1, 1, nullptr}));
  fs::path c = write_temp("c.txt", "only one line\n");
  CliRun bad = run("--input '" + a.string() + "' --pair-input '" + c.string() + "'");
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_TRUE(bad.out.empty());
  fs::remove(a);
  fs::remove(b);
  fs::remove(c);
}

TEST(TokenizeCli, InvalidUtf8NamesFileAndLine) {
  fs::path in = write_temp("bad.txt", "fine\nalso fine\nbro\xC3\x28ken\n");
  CliRun r = run("--input '" + in.string() + "'");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find(in.string() + ":3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("byte 3"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  CliRun s = run("", "ok\n\xFF\n");
  EXPECT_EQ(s.status, 3);
  EXPECT_NE(s.err.find("<stdin>:2"), std::string::npos) << s.err;
  fs::remove(in);
}

// A RoBERTa-layout byte-level BPE directory, as tokenizer.json and as vocab.json + merges.txt:
// <s> ... </s> from the files, <mask> swallowing the space before it, byte-level tokens.
TEST(TokenizeCli, RobertaBpeDirectoryBothLayouts) {
  const fs::path roberta = fs::path(SHARED_DIR) / "models" / "roberta-bpe-test";
  const fs::path only_vocab =
      fs::temp_directory_path() / ("bert_emotion_tokenize_cli_" + std::to_string(::getpid()) + "_bpe");
  fs::create_directories(only_vocab);
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(roberta / f, only_vocab / f, fs::copy_options::overwrite_existing);
  const bert_emotion::Tokenizer tok = bert_emotion::Tokenizer::from_model_dir(roberta);
  const std::vector<std::string> texts = {"Hello <mask>!", "I'm so happy \xF0\x9F\x98\x80", ""};
  for (const fs::path& dir : {roberta, only_vocab}) {
    CliRun r = run("--offsets --input -", texts[0] + "\n" + texts[1] + "\n" + texts[2] + "\n", dir);
    ASSERT_EQ(r.status, 0) << dir << ": " << r.err;
    auto rows = lines_of(r.out);
    ASSERT_EQ(rows.size(), texts.size()) << r.out;
    for (size_t i = 0; i < texts.size(); ++i) {
      auto e = tok.encode(texts[i]);
      EXPECT_EQ(rows[i]["input_ids"].get<std::vector<int32_t>>(), e.ids) << dir << " " << i;
      EXPECT_EQ(rows[i]["tokens"].get<std::vector<std::string>>(), e.tokens) << dir << " " << i;
    }
    // <s>=0 Hello=15500 " <mask>"=50260 !=4 (GPT-2 0 + 4) </s>=2 (../shared/models/roberta-bpe-test).
    EXPECT_EQ(rows[0]["input_ids"], json({0, 15500, 50260, 4, 2})) << dir;
    EXPECT_EQ(rows[0]["tokens"], json({"<s>", "Hello", " <mask>", "!", "</s>"})) << dir;
    EXPECT_EQ(rows[0]["offsets"], json({{0, 0}, {0, 5}, {6, 12}, {12, 13}, {0, 0}})) << dir;
    EXPECT_EQ(rows[1]["tokens"][1], "I") << dir;
    EXPECT_EQ(rows[1]["tokens"][2], "'m") << dir;
    EXPECT_EQ(rows[2]["input_ids"], json({0, 2})) << dir;
  }
  fs::remove_all(only_vocab);
}

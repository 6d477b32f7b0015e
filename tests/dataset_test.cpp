// dataset_test.cpp — TweetEval / CSV / TSV / JSONL readers, label resolution and error messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "data/dataset.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

const fs::path kFixtures = fs::path(FIXTURES_DIR) / "data";
const fs::path kEmotion = fs::path(SHARED_DIR) / "data/tweeteval/datasets/emotion";

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("bert_emotion_dataset_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path write(const std::string& name, const std::string& bytes) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

// Runs `fn`, expects a FormatError whose message contains every fragment.
template <typename Fn>
void expect_format_error(Fn fn, std::vector<std::string> fragments) {
  try {
    fn();
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    for (const auto& f : fragments) EXPECT_THAT(e.what(), HasSubstr(f));
  }
}

// Writes `contents` to the file `name` of `t`, loads it and expects a FormatError containing every fragment.
void expect_file_error(const TempDir& t, const std::string& name, const std::string& contents,
                       std::vector<std::string> fragments, const DatasetOptions& opts = {}) {
  const fs::path p = t.write(name, contents);
  expect_format_error([&] { load_dataset(p, "", opts); }, std::move(fragments));
}

}  // namespace

TEST(Dataset, TweetEvalMiniKeepsSpecialCharactersInsideLines) {
  Dataset d = load_dataset(kFixtures / "tweeteval_mini", "test");
  ASSERT_EQ(d.rows.size(), 6u);
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"anger", "joy", "optimism", "sadness"}));
  EXPECT_EQ(d.rows[0].text, "plain tweet #happy ");  // trailing space is part of the tweet
  EXPECT_EQ(d.rows[1].text, "next\u0085line stays in one row");
  EXPECT_EQ(d.rows[2].text, "para\u2028sep too");
  EXPECT_EQ(d.rows[3].text, "vertical\vtab and form\ffeed");
  EXPECT_EQ(d.rows[4].text, "carriage\rreturn inside");
  std::vector<int> labels;
  for (const auto& r : d.rows) labels.push_back(r.label);
  EXPECT_EQ(labels, (std::vector<int>{1, 3, 2, 0, 3, 1}));
  EXPECT_EQ(d.rows[5].line, 6u);
}

TEST(Dataset, ValidationIsAliasOfVal) {
  TempDir t;
  t.write("val_text.txt", "a\nb\n");
  t.write("val_labels.txt", "0\n1\n");
  t.write("mapping.txt", "0\tneg\n1\tpos\n");
  EXPECT_EQ(load_dataset(t.path(), "validation").rows.size(), 2u);
  EXPECT_EQ(load_dataset(t.path(), "val").rows.size(), 2u);
  EXPECT_THROW(load_dataset(t.path(), "dev2"), InvalidArgument);
  EXPECT_THROW(load_dataset(t.path(), "train"), IoError);
}

TEST(Dataset, RealTweetEvalEmotionSplits) {
  if (!fs::exists(kEmotion)) GTEST_SKIP() << "no " << kEmotion;
  // Counts from `wc -l` and `sort test_labels.txt | uniq -c` on the shared files.
  Dataset test = load_dataset(kEmotion, "test");
  EXPECT_EQ(test.rows.size(), 1421u);
  EXPECT_EQ(test.label_names, (std::vector<std::string>{"anger", "joy", "optimism", "sadness"}));
  std::vector<int> counts(4, 0);
  for (const auto& r : test.rows) counts[r.label]++;
  EXPECT_EQ(counts, (std::vector<int>{558, 358, 123, 382}));
  EXPECT_EQ(load_dataset(kEmotion, "train").rows.size(), 3257u);
  EXPECT_EQ(load_dataset(kEmotion, "validation").rows.size(), 374u);
}

TEST(Dataset, TweetEvalWithModelLabelNames) {
  // Generic model names (LABEL_i) adopt mapping.txt's names; real names must agree.
  DatasetOptions generic{.label_names = {"LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"}};
  EXPECT_EQ(load_dataset(kFixtures / "tweeteval_mini", "test", generic).label_names[3], "sadness");
  DatasetOptions same{.label_names = {"anger", "joy", "optimism", "sadness"}};
  EXPECT_EQ(load_dataset(kFixtures / "tweeteval_mini", "test", same).rows[1].label, 3);
  expect_format_error(
      [&] {
        load_dataset(kFixtures / "tweeteval_mini", "test", {.label_names = {"a", "b"}});
      },
      {"mapping.txt", "4 labels", "model has 2"});
  expect_format_error(
      [&] {
        load_dataset(kFixtures / "tweeteval_mini", "test", {.label_names = {"joy", "anger", "optimism", "sadness"}});
      },
      {"mapping.txt", "differ"});
}

TEST(Dataset, TweetEvalErrorsNameFileAndLine) {
  TempDir t;
  t.write("mapping.txt", "0\tneg\n1\tpos");
  t.write("test_text.txt", "a\nb\nc\n");
  t.write("test_labels.txt", "0\n1\n");
  expect_format_error([&] { load_dataset(t.path(), "test"); }, {"test_labels.txt", "2 labels", "3 lines"});
  t.write("test_labels.txt", "0\n5\n1\n");
  expect_format_error([&] { load_dataset(t.path(), "test"); }, {"test_labels.txt:2", "out of range", "[0, 2)"});
  t.write("test_labels.txt", "0\nmaybe\n1\n");
  expect_format_error([&] { load_dataset(t.path(), "test"); },
                      {"test_labels.txt:2", "unknown label 'maybe'", "neg, pos"});
  t.write("test_labels.txt", "0\n\n1\n");
  expect_format_error([&] { load_dataset(t.path(), "test"); }, {"test_labels.txt:2", "empty label"});
  t.write("test_labels.txt", "0\n1\n1\n");
  t.write("test_text.txt", "a\nb\xff\xfe\nc\n");
  try {
    load_dataset(t.path(), "test");
    FAIL();
  } catch (const Utf8Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("test_text.txt:2"));
    EXPECT_THAT(e.what(), HasSubstr("invalid UTF-8 at byte 1"));
    EXPECT_EQ(e.byte_offset, 1u);
  }
  t.write("test_text.txt", "");
  t.write("test_labels.txt", "");
  expect_format_error([&] { load_dataset(t.path(), "test"); }, {"test_text.txt", "empty dataset"});
  t.write("test_text.txt", "a\n");
  t.write("test_labels.txt", "1\n");
  t.write("mapping.txt", "0\tneg\n2\tpos\n");
  expect_format_error([&] { load_dataset(t.path(), "test"); }, {"mapping.txt", "id 1 is missing"});
  t.write("mapping.txt", "0 neg\n");
  expect_format_error([&] { load_dataset(t.path(), "test"); }, {"mapping.txt:1", "id<TAB>name"});
}

TEST(Dataset, LabelFileToleratesCrAndSpacesAndNames) {
  TempDir t;
  t.write("mapping.txt", "0\tneg\r\n1\tpos\r\n");
  t.write("test_text.txt", "a\nb\n");
  t.write("test_labels.txt", "1\r\npos \n");
  auto d = load_dataset(t.path(), "test");
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(d.rows[0].label, 1);
  EXPECT_EQ(d.rows[1].label, 1);
}

TEST(Dataset, StanceStyleMappingInParentFolder) {
  TempDir t;
  t.write("mapping.txt", "0\tnone\n1\tagainst\n2\tfavor\n");
  t.write("abortion/train_text.txt", "x\ny\n");
  t.write("abortion/train_labels.txt", "2\n0\n");
  auto d = load_dataset(t.path() / "abortion", "train");
  EXPECT_EQ(d.label_names[2], "favor");
  EXPECT_EQ(d.rows[0].label, 2);
}

TEST(Dataset, EmojiStyleMappingTakesSecondField) {
  TempDir t;
  t.write("mapping.txt", "0\t\u2764\t_red_heart_\t\n1\t\U0001F60D\t_smiling_face_\t\n");
  t.write("test_text.txt", "x\n");
  t.write("test_labels.txt", "1\n");
  EXPECT_EQ(load_dataset(t.path(), "test").label_names, (std::vector<std::string>{"\u2764", "\U0001F60D"}));
}

TEST(Dataset, CsvQuotingEdgeCases) {
  Dataset d = load_dataset(kFixtures / "quoted.csv", "");
  ASSERT_EQ(d.rows.size(), 4u);
  EXPECT_EQ(d.rows[0].text, "He said \"hi\", then left");
  EXPECT_EQ(d.rows[1].text, "two\nlines, one text");
  EXPECT_EQ(d.rows[2].text, "unquoted text");
  EXPECT_EQ(d.rows[3].text, "");
  // Lines: header 1, records start on lines 2, 3, 6 (blank line 5 skipped), 7.
  EXPECT_EQ(d.rows[0].line, 2u);
  EXPECT_EQ(d.rows[1].line, 3u);
  EXPECT_EQ(d.rows[2].line, 6u);
  EXPECT_EQ(d.rows[3].line, 7u);
  // String labels without a model: the sorted set of names.
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"anger", "joy", "optimism", "sadness"}));
  EXPECT_EQ(d.rows[0].label, 1);
  EXPECT_EQ(d.rows[1].label, 3);
  EXPECT_EQ(d.rows[2].label, 0);
  EXPECT_EQ(d.rows[3].label, 2);
}

TEST(Dataset, CsvColumnsIdsAndPairs) {
  TempDir t;
  auto p = t.write("train.csv", "premise,hypothesis,gold\n\"a, b\",c,1\nd,\"e\"\"f\",0\n");
  auto d = load_dataset(p, "", {.text_column = "premise", .label_column = "gold", .text_pair_column = "hypothesis"});
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0].text, "a, b");
  EXPECT_EQ(d.rows[0].text_pair, "c");
  EXPECT_EQ(d.rows[1].text_pair, "e\"f");
  // All-integer labels without a model: LABEL_0..LABEL_max.
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"LABEL_0", "LABEL_1"}));
  EXPECT_EQ(d.rows[0].label, 1);
  // A folder of {split}.csv selects by split; "validation.csv" serves "val".
  t.write("validation.csv", "text,label\nhello,0\n");
  EXPECT_EQ(load_dataset(t.path(), "val").rows[0].text, "hello");
  EXPECT_EQ(load_dataset(t.path(), "train", {.text_column = "premise", .label_column = "gold"}).rows.size(), 2u);
  // With model label names, ids and names both resolve.
  auto p2 = t.write("m.csv", "text,label\nx,neg\ny,1\n");
  auto m = load_dataset(p2, "", {.label_names = {"neg", "pos"}});
  EXPECT_EQ(m.rows[0].label, 0);
  EXPECT_EQ(m.rows[1].label, 1);
}

TEST(Dataset, TsvAndFinalRecordWithoutNewline) {
  TempDir t;
  auto p = t.write("d.tsv", "label\ttext\n0\thas, comma\n1\t\"quoted\ttab\"");
  auto d = load_dataset(p, "");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0].text, "has, comma");
  EXPECT_EQ(d.rows[1].text, "quoted\ttab");
  EXPECT_EQ(d.rows[1].label, 1);
}

TEST(Dataset, CsvErrorsNameFileAndLine) {
  TempDir t;
  expect_file_error(t, "a.csv", "text,label\nok,0\n\"never closed,1\nmore,0\n",
                    {"a.csv:3", "quoted field never closed"});
  expect_file_error(t, "b.csv", "text,label\nok,0\n\"bad\"x,1\n", {"b.csv:3", "broken quoting", "got 'x'"});
  expect_file_error(t, "c.csv", "body,label\nok,0\n", {"c.csv:1", "missing column 'text'", "'body'"});
  expect_file_error(t, "d.csv", "text,label\nok,0\ntoo,many,fields\n", {"d.csv:3", "expected 2 fields", "got 3"});
  expect_file_error(t, "e.csv", "text,label\n", {"e.csv", "empty dataset"});
  expect_file_error(t, "f.csv", "text,label\nok,neg\nno,maybe\n", {"f.csv:3", "unknown label 'maybe'", "neg, pos"},
                    {.label_names = {"neg", "pos"}});
  expect_file_error(t, "g.csv", "text,label\nok,\n", {"g.csv:2", "missing label"});
  expect_file_error(t, "h.csv", "text,label\n\"multi\nline\",0\nx,7\n", {"h.csv:4", "out of range"},
                    {.label_names = {"a", "b"}});
}

TEST(Dataset, JsonlFormat) {
  TempDir t;
  auto p = t.write("d.jsonl",
                   "{\"text\": \"first \\u2028 line\", \"label\": 2}\n"
                   "\n"
                   "{\"text\": \"second\", \"label\": \"0\", \"extra\": true}\n");
  auto d = load_dataset(p, "");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0].text, "first \u2028 line");
  EXPECT_EQ(d.rows[0].label, 2);
  EXPECT_EQ(d.rows[1].line, 3u);
  EXPECT_EQ(d.label_names.size(), 3u);  // LABEL_0..LABEL_2
  auto named = t.write("n.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": 0}\n");
  auto dn = load_dataset(named, "", {.label_names = {"neg", "pos"}});
  EXPECT_EQ(dn.rows[0].label, 1);
  EXPECT_EQ(dn.rows[1].label, 0);
}

TEST(Dataset, JsonlErrorsNameFileAndLine) {
  TempDir t;
  expect_file_error(t, "a.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 0\n",
                    {"a.jsonl:2", "invalid JSON"});
  expect_file_error(t, "b.jsonl", "{\"label\": 0}\n", {"b.jsonl:1", "missing key 'text'"});
  expect_file_error(t, "c.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 4}\n",
                    {"c.jsonl:2", "out of range"}, {.label_names = {"x", "y"}});
  expect_file_error(t, "d.jsonl", "{\"text\": \"a\", \"label\": 0.5}\n", {"d.jsonl:1", "integer id or a label name"});
  expect_file_error(t, "e.jsonl", "[1, 2]\n", {"e.jsonl:1", "JSON object"});
  expect_file_error(t, "f.jsonl", "{\"text\": \"a\"}\n", {"f.jsonl:1", "missing label"});
  EXPECT_EQ(load_dataset(t.path() / "f.jsonl", "", {.allow_missing_labels = true}).rows[0].label, -1);
}

TEST(Dataset, ReadLinesSplitsOnNewlineOnly) {
  EXPECT_EQ(split_lines("", "x").size(), 0u);
  EXPECT_EQ(split_lines("a", "x"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(split_lines("a\n", "x"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(split_lines("a\n\n", "x"), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(split_lines("a\r\nb\u2028c\x0b\n", "x"), (std::vector<std::string>{"a\r", "b\u2028c\x0b"}));
  TempDir t;
  auto p = t.write("in.txt", "one\ntwo\xc3\n");
  try {
    read_lines(p);
    FAIL();
  } catch (const Utf8Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("in.txt:2"));
  }
  // Overlong encodings and surrogates are invalid too.
  EXPECT_THROW(split_lines("\xc0\xaf", "x"), Utf8Error);
  EXPECT_THROW(split_lines("\xed\xa0\x80", "x"), Utf8Error);
  EXPECT_NO_THROW(split_lines("\xf0\x9f\x98\x80", "x"));
}

TEST(Dataset, TenMegabyteLineIsFine) {
  TempDir t;
  std::string big(10 * 1024 * 1024, 'a');
  t.write("test_text.txt", "short\n" + big + "\n");
  t.write("test_labels.txt", "0\n1\n");
  auto d = load_dataset(t.path(), "test");
  EXPECT_EQ(d.rows[1].text.size(), big.size());
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"LABEL_0", "LABEL_1"}));  // no mapping.txt
}

TEST(Dataset, UnknownSpecs) {
  TempDir t;
  EXPECT_THROW(load_dataset(t.path() / "missing", "test"), IoError);
  auto p = t.write("x.parquet", "PAR1");
  EXPECT_THROW(load_dataset(p, ""), InvalidArgument);
  EXPECT_THROW(load_dataset(t.path(), ""), InvalidArgument);
  try {
    load_dataset(t.path(), "test");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_THAT(e.what(), HasSubstr("test_text.txt"));
  }
}

TEST(Dataset, ResolveLabel) {
  std::vector<std::string> names = {"anger", "joy"};
  EXPECT_EQ(resolve_label("joy", names), 1);
  EXPECT_EQ(resolve_label("0", names), 0);
  EXPECT_EQ(resolve_label("2", names), -1);
  EXPECT_EQ(resolve_label("-1", names), -1);
  EXPECT_EQ(resolve_label("Joy", names), -1);
  EXPECT_EQ(resolve_label("1x", names), -1);
}

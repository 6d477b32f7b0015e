// errors_data_test — the bad-input matrix of docs/ERRORS.md, dataset rows, through the CLI.
//
// `bert-emotion eval` (and `train`, `predict --input`) on a broken dataset must fail with exit code 3
// and one `error:` line naming the file and the 1-based line (and the column/label/byte) with what
// was expected — before any model work, and without writing any output. A 10 MB line is not an
// error: it is tokenized, truncated to the model maximum and classified.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_harness.hpp"

namespace {

using namespace bert_emotion::testing_support;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class DataErrors : public TinyModelTest {
 protected:
  void SetUp() override {
    TinyModelTest::SetUp();
    fs::create_directories(tmp.path / "out");
  }
  // Writes `contents` to `name` and runs eval on it (writing metrics to out.json).
  CliResult eval_file(const std::string& name, const std::string& contents) {
    spit(tmp.path / name, contents);
    return eval_spec(tmp.path / name);
  }
  CliResult eval_spec(const fs::path& spec, const std::string& split = "test") {
    return run_cli({"eval", "--model", model.string(), "--data", spec.string(), "--split", split, "--output",
                    (tmp.path / "out" / "metrics.json").string()});
  }
  void expect_input_error(const CliResult& r, const std::string& where) {
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr(where));
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(tmp.path / "out" / "metrics.json"));
    EXPECT_THAT(partial_outputs(tmp.path / "out"), ::testing::IsEmpty());
  }
  // A TweetEval task folder with the emotion mapping.
  fs::path tweeteval(const std::string& texts, const std::string& labels) {
    const fs::path d = tmp.path / "tweeteval";
    fs::create_directories(d);
    spit(d / "mapping.txt", "0\tanger\n1\tjoy\n2\toptimism\n3\tsadness\n");
    spit(d / "test_text.txt", texts);
    spit(d / "test_labels.txt", labels);
    return d;
  }
};

TEST_F(DataErrors, Baseline_AWellFormedCsvEvaluates) {
  const CliResult r = eval_file("ok.csv", "text,label\nhello,joy\n\"so, sad\",3\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(tmp.path / "out" / "metrics.json"));
}

TEST_F(DataErrors, MissingDatasetFile) {
  const CliResult r = eval_spec(tmp.path / "absent.csv");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("absent.csv"));
}

TEST_F(DataErrors, InvalidUtf8InCsvLine) {
  const CliResult r = eval_file("u.csv", "text,label\nhello,joy\nbad \xc3\x28 byte,anger\n");
  expect_input_error(r, (tmp.path / "u.csv").string() + ":3");
  EXPECT_THAT(r.err, HasSubstr("UTF-8"));
}

TEST_F(DataErrors, InvalidUtf8InTweetEvalLine) {
  const fs::path d = tweeteval("fine\nsurrogate \xed\xa0\x80 here\n", "0\n1\n");
  const CliResult r = eval_spec(d);
  expect_input_error(r, (d / "test_text.txt").string() + ":2");
  EXPECT_THAT(r.err, HasSubstr("UTF-8"));
}

TEST_F(DataErrors, LabelIdOutOfRange) {
  const CliResult r = eval_file("l.csv", "text,label\nhello,1\nworld,7\n");
  expect_input_error(r, (tmp.path / "l.csv").string() + ":3");
  EXPECT_THAT(r.err, HasSubstr("7"));
  EXPECT_THAT(r.err, HasSubstr("[0, 4)"));
}

TEST_F(DataErrors, LabelOutOfRangeInTweetEvalLabels) {
  const fs::path d = tweeteval("a\nb\nc\n", "0\n1\n9\n");
  const CliResult r = eval_spec(d);
  expect_input_error(r, "test_labels.txt:3");
}

TEST_F(DataErrors, UnknownLabelName) {
  const CliResult r =
      eval_file("n.jsonl", "{\"text\": \"a\", \"label\": \"joy\"}\n{\"text\": \"b\", \"label\": \"furious\"}\n");
  expect_input_error(r, (tmp.path / "n.jsonl").string() + ":2");
  EXPECT_THAT(r.err, HasSubstr("furious"));
  EXPECT_THAT(r.err, HasSubstr("anger, joy, optimism, sadness"));
}

TEST_F(DataErrors, TextLabelCountMismatch) {
  const fs::path d = tweeteval("a\nb\nc\n", "0\n1\n");
  const CliResult r = eval_spec(d);
  expect_input_error(r, "test_labels.txt");
  EXPECT_THAT(r.err, HasSubstr("test_text.txt"));
  EXPECT_THAT(r.err, HasSubstr("2 labels"));
  EXPECT_THAT(r.err, HasSubstr("3 lines"));
}

TEST_F(DataErrors, EmptyCsv) {
  const CliResult r = eval_file("e.csv", "text,label\n");
  expect_input_error(r, (tmp.path / "e.csv").string());
  EXPECT_THAT(r.err, HasSubstr("empty"));
}

TEST_F(DataErrors, EmptyTweetEvalSplit) {
  const fs::path d = tweeteval("", "");
  const CliResult r = eval_spec(d);
  expect_input_error(r, "test_text.txt");
  EXPECT_THAT(r.err, HasSubstr("empty"));
}

TEST_F(DataErrors, ZeroByteFile) {
  const CliResult r = eval_file("z.tsv", "");
  expect_input_error(r, (tmp.path / "z.tsv").string());
}

TEST_F(DataErrors, CsvMissingColumn) {
  const CliResult r = eval_file("c.csv", "review,label\nnice,joy\n");
  expect_input_error(r, (tmp.path / "c.csv").string() + ":1");
  EXPECT_THAT(r.err, HasSubstr("'text'"));
}

TEST_F(DataErrors, CsvBrokenQuoting) {
  const CliResult r = eval_file("q.csv", "text,label\nok,joy\n\"never closed,joy\nx,1\n");
  expect_input_error(r, (tmp.path / "q.csv").string() + ":3");
  EXPECT_THAT(r.err, HasSubstr("quot"));
}

TEST_F(DataErrors, CsvStrayQuoteInsideField) {
  const CliResult r = eval_file("s.csv", "text,label\n\"ok\"junk,joy\n");
  expect_input_error(r, (tmp.path / "s.csv").string() + ":2");
}

TEST_F(DataErrors, CsvRowWithTooFewFields) {
  const CliResult r = eval_file("f.csv", "text,label\nonly-text\n");
  expect_input_error(r, (tmp.path / "f.csv").string() + ":2");
}

TEST_F(DataErrors, JsonlLineNotAnObject) {
  const CliResult r = eval_file("o.jsonl", "{\"text\": \"a\", \"label\": 0}\n[1, 2]\n");
  expect_input_error(r, (tmp.path / "o.jsonl").string() + ":2");
}

TEST_F(DataErrors, TrainRefusesBrokenDataBeforeWritingAnything) {
  spit(tmp.path / "t.csv", "text,label\nhello,joy\nbad \xc0\xaf overlong,anger\n");
  const fs::path out = tmp.path / "run";
  const CliResult r = run_cli({"train", "--model", model.string(), "--data", (tmp.path / "t.csv").string(),
                               "--output-dir", out.string(), "--eval-split", "none", "--test-split", "none", "-q"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((tmp.path / "t.csv").string() + ":3"));
  EXPECT_THAT(partial_outputs(out), ::testing::IsEmpty());
}

TEST_F(DataErrors, PredictInputFileWithInvalidUtf8) {
  spit(tmp.path / "in.txt", "fine\nnot \xff fine\n");
  const CliResult r = run_cli({"predict", "--model", model.string(), "--input", (tmp.path / "in.txt").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr((tmp.path / "in.txt").string() + ":2"));
}

TEST_F(DataErrors, TenMegabyteLineIsTruncatedNotAnError) {
  // One 10 MB "tweet" (words and emoji) between two short ones: it is tokenized and truncated to
  // the model maximum; every line gets its prediction, in order, in bounded time and memory.
  std::string big;
  big.reserve(10u << 20);
  while (big.size() < (10u << 20)) big += "word\xF0\x9F\x98\x80 naïve, ";
  spit(tmp.path / "big.txt", "first\n" + big + "\nlast\n");
  CliOptions o;
  o.timeout_s = 240;
  const CliResult r = run_cli({"predict", "--model", model.string(), "--input", (tmp.path / "big.txt").string()}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out.substr(0, 2000);
}

TEST_F(DataErrors, TenMegabyteCsvFieldEvaluates) {
  std::string big(10u << 20, 'a');
  for (size_t i = 7; i < big.size(); i += 8) big[i] = ' ';
  CliOptions o;
  o.timeout_s = 240;
  spit(tmp.path / "big.csv", "text,label\n\"" + big + "\",joy\nsmall,sadness\n");
  const CliResult r = run_cli({"eval", "--model", model.string(), "--data", (tmp.path / "big.csv").string()}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  EXPECT_FALSE(r.timed_out);
}

}  // namespace

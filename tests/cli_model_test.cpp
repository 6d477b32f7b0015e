// `bert-emotion init` and `bert-emotion inspect`, run as a user would (the built executable).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/model_dir.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path kTokenizer = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";

struct Result {
  int code = -1;
  std::string out, err;
};

class CliModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cli_model_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::string& args) {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    const std::string cmd = std::string(BERT_EMOTION_BIN) + " " + args + " >" + out.string() + " 2>" + err.string();
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }
  fs::path dir_;
};

}  // namespace

TEST_F(CliModel, InitWritesALoadableClassifierDirectory) {
  if (!fs::exists(kTokenizer / "tokenizer.json")) GTEST_SKIP() << "no shared tokenizer";
  const fs::path out = dir_ / "tiny";
  const Result r = run("init --config tiny --out " + out.string() + " --seed 7 --labels neg,neu,pos --tokenizer " +
                       kTokenizer.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const LoadedModel m = load_model_dir(out);
  EXPECT_EQ(m.config.label_names(), (std::vector<std::string>{"neg", "neu", "pos"}));
  EXPECT_EQ(m.config.problem_type, "single_label_classification");
  EXPECT_EQ(m.config.architectures, std::vector<std::string>{"DistilBertForSequenceClassification"});
  EXPECT_EQ(m.config.dim, 32);
  EXPECT_EQ(m.config.vocab_size, 28996);
  EXPECT_TRUE(m.has_head);
  for (const auto& name : tokenizer_file_names())
    if (fs::exists(kTokenizer / name)) {
      EXPECT_EQ(read_file(out / name), read_file(kTokenizer / name)) << name;
    }
  EXPECT_NE(r.out.find(std::to_string(m.layout.size()) + " parameters"), std::string::npos) << r.out;
}

TEST_F(CliModel, InitDefaultsSeedsAndJsonOverrides) {
  ASSERT_EQ(run("init --out " + (dir_ / "a").string() + " --seed 1").code, 0);
  ASSERT_EQ(run("init --out " + (dir_ / "b").string() + " --seed 1").code, 0);
  ASSERT_EQ(run("init --out " + (dir_ / "c").string() + " --seed 2").code, 0);
  EXPECT_EQ(read_file(dir_ / "a" / "model.safetensors"), read_file(dir_ / "b" / "model.safetensors"));
  EXPECT_NE(read_file(dir_ / "a" / "model.safetensors"), read_file(dir_ / "c" / "model.safetensors"));
  // default labels: the TweetEval emotion ones
  EXPECT_EQ(load_config(dir_ / "a" / "config.json").label_names(),
            (std::vector<std::string>{"anger", "joy", "optimism", "sadness"}));

  // a JSON file overrides keys of the base preset, like make_model.py
  write_file_atomic(dir_ / "cfg.json", R"({"dim": 24, "n_heads": 3, "hidden_dim": 40, "n_layers": 1,
                                          "vocab_size": 300, "max_position_embeddings": 20,
                                          "id2label": {"0": "ignored"}})");
  ASSERT_EQ(run("init --config " + (dir_ / "cfg.json").string() + " --out " + (dir_ / "j").string()).code, 0);
  const ModelConfig j = load_config(dir_ / "j" / "config.json");
  EXPECT_EQ(j.dim, 24);
  EXPECT_EQ(j.hidden_dim, 40);
  EXPECT_EQ(j.n_layers, 1);
  EXPECT_EQ(j.vocab_size, 300);
  EXPECT_FLOAT_EQ(j.seq_classif_dropout, 0.2f);  // from base
  EXPECT_EQ(j.num_labels(), 4);
  // inline JSON with an HF alias
  ASSERT_EQ(run("init --config '{\"hidden_size\": 16, \"num_attention_heads\": 2, \"n_layers\": 1, \"vocab_size\": 50, "
                "\"hidden_dim\": 8}' --out " +
                (dir_ / "i").string())
                .code,
            0);
  EXPECT_EQ(load_config(dir_ / "i" / "config.json").dim, 16);
}

TEST_F(CliModel, InitErrors) {
  const std::string out = " --out " + (dir_ / "x").string();
  Result r = run("init --config huge" + out);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("huge"), std::string::npos);
  r = run("init --labels a,,b" + out);
  EXPECT_EQ(r.code, 2) << r.err;
  r = run("init --labels a,a" + out);
  EXPECT_EQ(r.code, 2) << r.err;
  write_file_atomic(dir_ / "bad.json", R"({"dim": 30, "n_heads": 4})");
  r = run("init --config " + (dir_ / "bad.json").string() + out);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("must be divisible by n_heads"), std::string::npos) << r.err;
  write_file_atomic(dir_ / "broken.json", "{\"dim\": ");
  r = run("init --config " + (dir_ / "broken.json").string() + out);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("broken.json: not valid JSON"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "x" / "model.safetensors"));
}

TEST_F(CliModel, InitRefusesANonEmptyDirectoryUnlessOverwrite) {
  // A "trained" model directory: model, config, tokenizer, model card, results, a checkpoint.
  const fs::path out = dir_ / "trained";
  ASSERT_EQ(run("init --config tiny --seed 3 --out " + out.string() + " --tokenizer " + kTokenizer.string()).code, 0);
  write_file_atomic(out / "README.md", "# my fine-tuned model\n");
  write_file_atomic(out / "all_results.json", "{}");
  fs::create_directories(out / "checkpoint-6520");
  const std::string weights = read_file(out / "model.safetensors");

  Result r = run("init --config tiny --seed 4 --out " + out.string());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("error: --out " + out.string() + " is not empty"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(out / "model.safetensors"), weights);  // untouched
  EXPECT_TRUE(fs::exists(out / "README.md"));

  // --overwrite (alias --force) replaces the directory as a whole: nothing of the old model stays,
  // so the note about missing tokenizer files is true.
  for (const char* flag : {"--overwrite", "--force"}) {
    r = run("init --config tiny --seed 4 --out " + out.string() + " " + flag);
    ASSERT_EQ(r.code, 0) << flag << " " << r.err;
    EXPECT_NE(read_file(out / "model.safetensors"), weights);
    for (const char* gone : {"README.md", "all_results.json", "checkpoint-6520", "vocab.txt", "tokenizer.json"})
      EXPECT_FALSE(fs::exists(out / gone)) << flag << " left " << gone;
    EXPECT_NE(r.out.find("no tokenizer files"), std::string::npos) << r.out;
  }
  for (const auto& e : fs::directory_iterator(dir_))  // no temp or old copies beside it
    EXPECT_EQ(e.path().filename().string().find("trained."), std::string::npos) << e.path();

  // --tokenizer may name the directory being replaced: its files are read before the swap.
  ASSERT_EQ(run("init --config tiny --out " + out.string() + " --force --tokenizer " + kTokenizer.string()).code, 0);
  r = run("init --config tiny --out " + out.string() + " --force --tokenizer " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_file(out / "vocab.txt"), read_file(kTokenizer / "vocab.txt"));
  EXPECT_EQ(r.out.find("no tokenizer files"), std::string::npos) << r.out;

  // A non-empty directory that is not a model directory is never deleted, even with --overwrite.
  const fs::path notes = dir_ / "notes";
  fs::create_directories(notes);
  write_file_atomic(notes / "todo.txt", "keep me");
  r = run("init --config tiny --out " + notes.string() + " --overwrite");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("not a model directory"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(notes / "todo.txt"), "keep me");
  EXPECT_FALSE(fs::exists(notes / "model.safetensors"));
  // An existing empty directory is fine.
  fs::create_directories(dir_ / "empty");
  EXPECT_EQ(run("init --config tiny --out " + (dir_ / "empty").string()).code, 0);
}

TEST_F(CliModel, InitKeepsAMultiLabelProblemType) {
  write_file_atomic(dir_ / "ml.json", R"({"n_layers": 1, "dim": 16, "n_heads": 2, "hidden_dim": 8, "vocab_size": 50,
                                         "problem_type": "multi_label_classification"})");
  ASSERT_EQ(run("init --config " + (dir_ / "ml.json").string() + " --out " + (dir_ / "ml").string()).code, 0);
  EXPECT_EQ(load_config(dir_ / "ml" / "config.json").problem_type, "multi_label_classification");
  ASSERT_EQ(run("init --config tiny --out " + (dir_ / "sl").string()).code, 0);
  EXPECT_EQ(load_config(dir_ / "sl" / "config.json").problem_type, "single_label_classification");
}

TEST_F(CliModel, InspectJsonDescribesTheReferenceFixture) {
  // The F16 fixture written by PyTorch; expected numbers are PyTorch's.
  const fs::path fixture = fs::path(FIXTURES_DIR) / "interop" / "f16";
  const json expected = json::parse(read_file(fs::path(FIXTURES_DIR) / "interop" / "expected.json"))["models"]["f16"];
  const Result r = run("inspect --json " + fixture.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["model_type"], "distilbert");
  EXPECT_EQ(j["architectures"], json::array({"DistilBertForSequenceClassification"}));
  EXPECT_EQ(j["parameters"]["total"], expected["parameters"]);
  EXPECT_EQ(j["parameters"]["without_head"], expected["parameters_without_head"]);
  EXPECT_EQ(j["weights"]["dtype"], "F16");
  EXPECT_EQ(j["weights"]["dtypes"]["F16"], expected["tensors"].size());
  EXPECT_EQ(j["weights"]["has_head"], true);
  EXPECT_EQ(j["weights"]["tensors_ignored"], 0);
  EXPECT_EQ(j["weights"]["metadata"]["format"], "pt");
  EXPECT_EQ(j["labels"], json::array({"anger", "joy", "optimism", "sadness"}));
  EXPECT_EQ(j["config"]["dim"], 24);
  EXPECT_EQ(j["config"]["hidden_dim"], 48);
  EXPECT_EQ(j["files"]["model.safetensors"], fs::file_size(fixture / "model.safetensors"));
  EXPECT_TRUE(j["tokenizer"]["files"].empty());
}

TEST_F(CliModel, InspectTableAndTokenizerSummary) {
  if (!fs::exists(kTokenizer / "tokenizer.json")) GTEST_SKIP() << "no shared tokenizer";
  const fs::path out = dir_ / "m";
  ASSERT_EQ(run("init --out " + out.string() + " --tokenizer " + kTokenizer.string()).code, 0);
  Result r = run("inspect --json " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  // vocabulary size counted independently from vocab.txt (one token per line)
  const std::string vocab = read_file(kTokenizer / "vocab.txt");
  EXPECT_EQ(j["tokenizer"]["vocab_size"], std::count(vocab.begin(), vocab.end(), '\n'));
  EXPECT_EQ(j["tokenizer"]["model_type"], "WordPiece");
  EXPECT_EQ(j["tokenizer"]["lowercase"], false);  // distilbert-base-cased
  // special token ids agree with the vocabulary's line numbers
  for (const char* tok : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    const size_t at = ("\n" + vocab).find("\n" + std::string(tok) + "\n");
    ASSERT_NE(at, std::string::npos) << tok;
    const auto line = std::count(vocab.begin(), vocab.begin() + static_cast<std::ptrdiff_t>(at), '\n');
    EXPECT_EQ(j["tokenizer"]["special_tokens"][tok], line) << tok;
  }
  r = run("inspect " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  // 950,308 / 949,120: what PyTorch counts for make_model.py --config tiny (4 labels) with and without the head
  EXPECT_NE(r.out.find("parameters    950,308 (949,120 without the classification head)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4: 0 anger, 1 joy, 2 optimism, 3 sadness"), std::string::npos) << r.out;
}

TEST_F(CliModel, InspectErrors) {
  Result r = run("inspect " + (dir_ / "nope").string());
  EXPECT_NE(r.code, 0);
  ASSERT_EQ(run("init --out " + (dir_ / "m").string()).code, 0);
  write_file_atomic(dir_ / "m" / "model.safetensors", std::string(8, '\xFF'));
  r = run("inspect " + (dir_ / "m").string());
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("(HeaderTooLarge)"), std::string::npos) << r.err;
}

// The server with the real engine: a tiny random DistilBERT of the real architecture and the real
// distilbert-base-cased tokenizer. Checks that batched answers equal single answers (the model is
// exact under padding), that the server's scores equal the Classifier's own, truncation against the
// real tokenizer, /tokenize ids, and the `serve` command's lifecycle (port 0, SIGTERM -> exit 0).
#include <fcntl.h>
#include <gtest/gtest.h>

#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "api/classifier.hpp"
#include "data/dataset.hpp"
#include "data/thresholds.hpp"
#include "model/config.hpp"
#include "model/init.hpp"
#include "serve/server.hpp"
#include "util/atomic_file.hpp"

using namespace bert_emotion;
using namespace bert_emotion::serve;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kTokenizerDir = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";
const fs::path kEmotion = fs::path(SHARED_DIR) / "data/tweeteval/datasets/emotion";

class Env : public ::testing::Environment {
 public:
  static inline fs::path root, tiny, multi;
  static inline std::vector<float> multi_thresholds;  // what multi/thresholds.json holds, by label id
  void SetUp() override {
    root = fs::temp_directory_path() / ("bert_emotion_server_model_test_" + std::to_string(::getpid()));
    fs::create_directories(root);
    ModelConfig cfg = preset_config("tiny");
    set_labels(cfg, {"anger", "joy", "optimism", "sadness"});
    cfg.initializer_range = 0.5f;  // spread the logits so that ordering mistakes show
    tiny = root / "tiny";
    create_random_model_dir(tiny, cfg, 7, kTokenizerDir);
    make_multi_label_dir();
  }
  // A multi-label model whose thresholds.json puts each label of the first test tweet 0.01 from its
  // score (0.005 after the file's rounding): even ids pass, odd ids fail, unlike the 0.5 rule.
  static void make_multi_label_dir() {
    ModelConfig cfg = preset_config("tiny");
    set_labels(cfg, {"anger", "joy", "optimism", "sadness", "fear", "love"});
    cfg.problem_type = "multi_label_classification";
    cfg.initializer_range = 0.5f;
    multi = root / "multi";
    create_random_model_dir(multi, cfg, 11, kTokenizerDir);
    const auto clf = Classifier::load(multi, {.threads = 1});
    const std::string first = split_lines(read_file(kEmotion / "test_text.txt"), "test_text.txt").at(0);
    const std::vector<float> scores = clf->classify({first}).at(0).scores;
    multi_thresholds.clear();
    for (size_t k = 0; k < scores.size(); ++k)
      multi_thresholds.push_back(std::clamp(scores[k] + (k % 2 == 0 ? -0.01f : 0.01f), 0.f, 1.f));
    write_thresholds(multi, cfg.label_names(), multi_thresholds, "server_model_test");
    multi_thresholds = read_thresholds(multi, cfg.label_names());  // as stored: rounded to 0.01
  }
  void TearDown() override { fs::remove_all(root); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Env);

std::vector<std::string> tweets(size_t n) {
  auto t = split_lines(read_file(kEmotion / "test_text.txt"), "test_text.txt");
  t.resize(n);
  return t;
}

// Server + real Classifier; the backend can be slowed so that concurrent requests share batches.
struct RealHarness {
  std::unique_ptr<Classifier> clf = Classifier::load(Env::tiny, {.threads = 1});
  std::atomic<int> sleep_ms{0};
  std::atomic<size_t> max_rows{0};
  FunctionBackend backend{[this](const std::vector<std::vector<int32_t>>& rows) {
    if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms.load()));
    size_t m = max_rows.load();
    while (rows.size() > m && !max_rows.compare_exchange_weak(m, rows.size())) {
    }
    return clf->logits(rows);
  }};
  TokenizerEncoder encoder{clf->tokenizer()};
  std::unique_ptr<Server> server;
  int port = 0;

  explicit RealHarness(ServerOptions o = {}) {
    o.port = 0;
    o.access_log = false;
    ModelInfo info{"tiny", clf->config().label_names(), clf->config().multi_label(),
                   std::min<size_t>(clf->config().max_position_embeddings, clf->tokenizer().model_max_length())};
    server = std::make_unique<Server>(backend, encoder, info, o);
    port = server->start();
  }
  ~RealHarness() { server->stop(); }
  httplib::Result predict(const json& body) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    return c.Post("/predict", body.dump(), "application/json");
  }
  // label -> score of one prediction list
  std::map<std::string, double> scores(const json& list) {
    std::map<std::string, double> m;
    for (auto& p : list) m[p["label"]] = p["score"].get<double>();
    return m;
  }
};

void expect_close(const std::map<std::string, double>& a, const std::map<std::string, double>& b, double tol,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (auto& [label, s] : a) EXPECT_NEAR(s, b.at(label), tol * std::max(1.0, std::abs(s))) << what << " " << label;
}

}  // namespace

TEST(ServerModel, BatchAnswerEqualsSingleAnswers) {
  RealHarness h;
  const auto texts = tweets(12);
  std::vector<std::map<std::string, double>> singles;
  for (auto& t : texts) {
    auto r = h.predict({{"inputs", t}, {"raw_scores", true}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    singles.push_back(h.scores(json::parse(r->body)));
  }
  json batch = json::array();
  for (auto& t : texts) batch.push_back({t});
  auto r = h.predict({{"inputs", batch}, {"raw_scores", true}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json b = json::parse(r->body);
  ASSERT_EQ(b.size(), texts.size());
  EXPECT_GE(h.max_rows.load(), 2u);
  // Padded rows change only float rounding (different GEMM shapes), never the answer.
  for (size_t i = 0; i < texts.size(); ++i) expect_close(h.scores(b[i]), singles[i], 1e-4, "row " + std::to_string(i));
}

TEST(ServerModel, ConcurrentRequestsShareBatchesWithSameAnswers) {
  RealHarness h;
  const auto texts = tweets(10);
  std::vector<std::map<std::string, double>> sequential;
  for (auto& t : texts) sequential.push_back(h.scores(json::parse(h.predict({{"inputs", t}})->body)));
  h.max_rows = 0;
  h.sleep_ms = 60;
  std::vector<std::map<std::string, double>> concurrent(texts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < texts.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = h.predict({{"inputs", texts[i]}});
      if (r && r->status == 200) concurrent[i] = h.scores(json::parse(r->body));
    });
  for (auto& t : threads) t.join();
  EXPECT_GE(h.max_rows.load(), 2u) << "concurrent requests were never batched together";
  for (size_t i = 0; i < texts.size(); ++i) expect_close(concurrent[i], sequential[i], 1e-4, texts[i]);
}

TEST(ServerModel, ScoresEqualTheClassifiers) {
  RealHarness h;
  const auto texts = tweets(6);
  const auto preds = h.clf->classify(texts);
  const auto names = h.clf->config().label_names();
  for (size_t i = 0; i < texts.size(); ++i) {
    auto r = h.predict({{"inputs", texts[i]}});
    ASSERT_EQ(r->status, 200);
    json list = json::parse(r->body);
    auto got = h.scores(list);
    std::map<std::string, double> want;
    double sum = 0;
    for (size_t k = 0; k < names.size(); ++k) {
      want[names[k]] = preds[i].scores[k];
      sum += got[names[k]];
    }
    expect_close(got, want, 1e-5, texts[i]);
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(list[0]["label"], preds[i].label) << "top label differs from the Classifier's argmax";
    EXPECT_EQ(r->get_header_value("x-compute-tokens"), std::to_string(preds[i].num_tokens));
  }
}

TEST(ServerModel, TruncationWithTheRealTokenizer) {
  RealHarness h;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word" + std::to_string(i) + " ";
  const size_t full = h.clf->tokenizer().encode(text, 100000).ids.size();  // untruncated length
  ASSERT_GT(full, 128u);
  auto off = h.predict({{"inputs", text}, {"truncate", false}});
  ASSERT_EQ(off->status, 422);
  EXPECT_EQ(json::parse(off->body)["error"], "`inputs` must have less than 128 tokens. Given: " + std::to_string(full));

  auto right = h.predict({{"inputs", text}, {"truncate", true}, {"raw_scores", true}});
  ASSERT_EQ(right->status, 200) << right->body;
  EXPECT_EQ(right->get_header_value("x-truncated"), "true");
  EXPECT_EQ(right->get_header_value("x-compute-tokens"), "128");
  // The Classifier truncates the same way ([CLS] + first pieces + [SEP]); its logits must match.
  const auto pred = h.clf->classify({text})[0];
  std::map<std::string, double> want;
  const auto names = h.clf->config().label_names();
  for (size_t k = 0; k < names.size(); ++k) want[names[k]] = pred.logits[k];
  expect_close(h.scores(json::parse(right->body)), want, 1e-5, "right truncation");

  auto left = h.predict({{"inputs", text}, {"truncate", true}, {"truncation_direction", "left"}, {"raw_scores", true}});
  ASSERT_EQ(left->status, 200);
  auto l = h.scores(json::parse(left->body));
  double diff = 0;
  for (auto& [label, s] : l) diff += std::abs(s - want[label]);
  EXPECT_GT(diff, 1e-4) << "left truncation gave the right-truncated answer";
}

TEST(ServerModel, TokenizeMatchesTheTokenizer) {
  RealHarness h;
  const std::string text = "I l\xC3\xB6ve this! \xF0\x9F\x98\x80 [SEP] ok";  // ö, an emoji, a literal [SEP]
  httplib::Client c("127.0.0.1", h.port);
  auto r = c.Post("/tokenize", json({{"inputs", text}}).dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  json toks = json::parse(r->body)[0];
  const Encoding e = h.clf->tokenizer().encode(text);
  ASSERT_EQ(toks.size(), e.ids.size());
  for (size_t i = 0; i < e.ids.size(); ++i) EXPECT_EQ(toks[i]["id"], e.ids[i]) << i;
  EXPECT_EQ(toks.front()["special"], true);
  EXPECT_EQ(toks.back()["special"], true);
  // Character offsets: "I löve this! " is 13 characters (ö is 2 bytes), the emoji is 4 bytes but one
  // character (13), a space (14), so the literal "[SEP]" spans characters [15, 20) (bytes [20, 25)).
  bool found_sep = false;
  for (auto& t : toks)
    if (t["text"] == "[SEP]" && t["special"] == false) {
      found_sep = true;
      EXPECT_EQ(t["start"], 15);
      EXPECT_EQ(t["stop"], 20);
    }
  EXPECT_TRUE(found_sep) << toks;
}

// ---- the `serve` command ----

namespace {

struct Child {
  pid_t pid = -1;
  int out_fd = -1;
};

// env: variables to set (value) or unset (nullopt) in the child before it starts.
Child spawn_serve(const std::vector<std::string>& extra,
                  const std::vector<std::pair<std::string, std::optional<std::string>>>& env = {}) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [name, value] : env) {
      if (value) setenv(name.c_str(), value->c_str(), 1);
      else unsetenv(name.c_str());
    }
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::vector<std::string> args = {BERT_EMOTION_BIN, "serve"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads the child's stdout until "listening on http://HOST:PORT\n" or the deadline.
int read_port(int fd, int timeout_ms, const std::string& host = "127.0.0.1") {
  const std::string prefix = "listening on http://" + host + ":";
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return -1;
    out.append(buf, size_t(n));
    const auto at = out.find(prefix);
    const auto nl = out.find('\n', at);
    if (at != std::string::npos && nl != std::string::npos)
      return std::stoi(out.substr(at + prefix.size(), nl - at - prefix.size()));
  }
  return -1;
}

int wait_exit(pid_t pid, int timeout_ms) {
  for (int i = 0; i < timeout_ms / 10; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// NAME=VALUE entries of a running process's environment.
std::map<std::string, std::string> environment_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::map<std::string, std::string> env;
  std::string entry;
  while (std::getline(f, entry, '\0')) {
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

}  // namespace

TEST(ServeCommand, OpenMpWaitDefaultsUnlessTheUserChose) {
  // Neither variable set: the CLI re-executes itself with PASSIVE + a short spin, or no spin when the
  // load average leaves no idle CPU (src/cli/main.cpp, util/openmp_waits.hpp; the rule itself is
  // tested in openmp_waits_test). Either one set: both are left exactly as the user gave them.
  struct Case {
    std::optional<std::string> policy, spin;
    std::optional<std::string> want_policy, want_spin;
  };
  const std::vector<Case> cases = {{std::nullopt, std::nullopt, "PASSIVE", "10000"},
                                   {"ACTIVE", std::nullopt, "ACTIVE", std::nullopt},
                                   {std::nullopt, "5", std::nullopt, "5"}};
  for (const Case& c : cases) {
    Child child = spawn_serve({"--model", Env::tiny.string(), "--port", "0", "--threads", "1", "--no-access-log"},
                              {{"OMP_WAIT_POLICY", c.policy}, {"GOMP_SPINCOUNT", c.spin}});
    ASSERT_GT(child.pid, 0);
    ASSERT_GT(read_port(child.out_fd, 60000), 0) << "no 'listening on' line";
    const auto env = environment_of(child.pid);
    const auto get = [&](const std::string& k) -> std::optional<std::string> {
      auto it = env.find(k);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    EXPECT_EQ(get("OMP_WAIT_POLICY"), c.want_policy) << "given policy " << c.policy.value_or("(unset)");
    if (!c.policy && !c.spin) {
      const auto spin = get("GOMP_SPINCOUNT");
      EXPECT_TRUE(spin == "10000" || spin == "0") << spin.value_or("(unset)");
    } else {
      EXPECT_EQ(get("GOMP_SPINCOUNT"), c.want_spin) << "given spin " << c.spin.value_or("(unset)");
    }
    kill(child.pid, SIGTERM);
    EXPECT_EQ(wait_exit(child.pid, 20000), 0);
    close(child.out_fd);
  }
}

TEST(ServeCommand, EphemeralPortRequestsAndSigtermDrain) {
  Child child = spawn_serve({"--model", Env::tiny.string(), "--port", "0", "--threads", "1", "--no-access-log"});
  ASSERT_GT(child.pid, 0);
  const int port = read_port(child.out_fd, 60000);
  ASSERT_GT(port, 0) << "no 'listening on' line";
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto r = c.Post("/predict", R"({"inputs": "so happy today"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json single = json::parse(r->body);
  EXPECT_EQ(single.size(), 4u);
  EXPECT_FALSE(single[0].contains("passing")) << "a single-label answer keeps TEI's {score, label}";
  auto info = c.Get("/info");
  ASSERT_TRUE(info);
  const json info_body = json::parse(info->body);
  EXPECT_EQ(info_body["max_input_length"], 128);
  EXPECT_EQ(info_body["problem_type"], "single_label_classification");
  EXPECT_TRUE(info_body["thresholds"].is_null());
  kill(child.pid, SIGTERM);
  EXPECT_EQ(wait_exit(child.pid, 20000), 0);
  close(child.out_fd);
}

// Issue 15: a multi-label model's answers mark exactly the labels whose sigmoid score is over the
// threshold thresholds.json gives (or --threshold, which overrides it), on /predict and the HF
// route; /info reports the problem type and the thresholds.
TEST(ServeCommand, MultiLabelMarksTheLabelsOverTheirThresholds) {
  const auto clf = Classifier::load(Env::multi, {.threads = 1});
  const auto names = clf->config().label_names();
  const auto texts = tweets(4);
  const auto preds = clf->classify(texts);
  // The fixture must tell the file's thresholds from the 0.5 default.
  bool differs_from_default = false;
  for (size_t k = 0; k < names.size(); ++k)
    differs_from_default |= (preds[0].scores[k] > Env::multi_thresholds[k]) != (preds[0].scores[k] > 0.5f);
  ASSERT_TRUE(differs_from_default);

  for (const std::optional<float> flag : {std::optional<float>(), std::optional<float>(0.5f)}) {
    std::vector<std::string> args = {"--model", Env::multi.string(), "--port", "0", "--threads",
                                     "1",       "--no-access-log"};
    if (flag) args.insert(args.end(), {"--threshold", "0.5"});
    const std::vector<float> want_t = flag ? std::vector<float>(names.size(), *flag) : Env::multi_thresholds;
    Child child = spawn_serve(args);
    ASSERT_GT(child.pid, 0);
    const int port = read_port(child.out_fd, 60000);
    ASSERT_GT(port, 0) << "no 'listening on' line";
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    const std::string what = flag ? "--threshold 0.5" : "thresholds.json";
    // One answer list of text i: every entry's threshold and passing mark, and the count shown.
    auto check = [&](const json& list, size_t i, size_t shown) {
      ASSERT_EQ(list.size(), shown) << what;
      for (const json& p : list) {
        const size_t k = static_cast<size_t>(std::find(names.begin(), names.end(), p["label"]) - names.begin());
        ASSERT_LT(k, names.size()) << p.dump();
        EXPECT_NEAR(p["threshold"].get<double>(), want_t[k], 1e-6) << what << " " << names[k];
        EXPECT_EQ(p["passing"].get<bool>(), preds[i].scores[k] > want_t[k]) << what << " text " << i << " " << names[k];
      }
    };
    json batch = json::array();
    for (const auto& t : texts) batch.push_back(json::array({t}));
    auto r = c.Post("/predict", json{{"inputs", batch}}.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json lists = json::parse(r->body);
    ASSERT_EQ(lists.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) check(lists[i], i, names.size());

    // The HF route: top_k 2 of the raw logits; the marks still come from sigmoid vs threshold.
    const json hf_body = {{"inputs", texts}, {"parameters", {{"top_k", 2}, {"function_to_apply", "none"}}}};
    auto hf = c.Post("/pipeline/text-classification", hf_body.dump(), "application/json");
    ASSERT_TRUE(hf);
    ASSERT_EQ(hf->status, 200) << hf->body;
    const json hf_lists = json::parse(hf->body);
    ASSERT_EQ(hf_lists.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) check(hf_lists[i], i, 2);

    auto info = c.Get("/info");
    ASSERT_TRUE(info);
    const json info_body = json::parse(info->body);
    EXPECT_EQ(info_body["problem_type"], "multi_label_classification");
    ASSERT_EQ(info_body["thresholds"].size(), names.size());
    for (size_t k = 0; k < names.size(); ++k)
      EXPECT_NEAR(info_body["thresholds"][names[k]].get<double>(), want_t[k], 1e-6) << what;
    kill(child.pid, SIGTERM);
    EXPECT_EQ(wait_exit(child.pid, 20000), 0);
    close(child.out_fd);
  }
}

// Issue 20 #9: an IPv6 literal is printed in brackets, as a URL needs.
TEST(ServeCommand, Ipv6HostPrintsABracketedUrl) {
  Child child =
      spawn_serve({"--model", Env::tiny.string(), "--host", "::1", "--port", "0", "--threads", "1", "--no-access-log"});
  ASSERT_GT(child.pid, 0);
  const int port = read_port(child.out_fd, 60000, "[::1]");
  EXPECT_GT(port, 0) << "no 'listening on http://[::1]:PORT' line";
  if (port > 0) {
    httplib::Client c("::1", port);
    auto health = c.Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
  }
  kill(child.pid, SIGTERM);
  EXPECT_EQ(wait_exit(child.pid, 20000), 0);
  close(child.out_fd);
}

TEST(ServeCommand, BadArgumentsFail) {
  Child bad_port = spawn_serve({"--model", Env::tiny.string(), "--port", "70000"});
  EXPECT_EQ(wait_exit(bad_port.pid, 20000), 2);
  close(bad_port.out_fd);
  Child no_model = spawn_serve({"--model", (Env::root / "missing").string(), "--port", "0"});
  const int code = wait_exit(no_model.pid, 20000);
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1) << "did not exit";
  close(no_model.out_fd);
}

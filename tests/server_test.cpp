// The HTTP server end to end on loopback with fake encoders and backends: every route, every error
// status, response shapes and scores, truncation, limits, concurrency (429), draining stop(), metrics.
// Expected scores are recomputed here in double precision from the fake backend's logits.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "serve/server.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
using namespace bert_emotion::serve;
using nlohmann::json;

namespace {

const std::vector<std::string> kLabels = {"anger", "joy", "optimism", "sadness"};

// Whitespace "tokenizer": [CLS] w... [SEP] (w... [SEP]); id of a word = 1000 + its byte sum.
class FakeEncoder : public TextEncoder {
 public:
  Encoding encode(std::string_view text) const override {
    Encoding e;
    push(e, 101, "[CLS]", {0, 0}, true, 0);
    add_words(e, text, 0);
    push(e, 102, "[SEP]", {0, 0}, true, 0);
    return e;
  }
  Encoding encode_pair(std::string_view a, std::string_view b) const override {
    Encoding e = encode(a);
    add_words(e, b, 1);
    push(e, 102, "[SEP]", {0, 0}, true, 1);
    return e;
  }
  static int32_t word_id(std::string_view w) {
    int32_t s = 1000;
    for (unsigned char c : w) s += c;
    return s;
  }

 private:
  static void push(Encoding& e, int32_t id, std::string tok, std::pair<uint32_t, uint32_t> off, bool special,
                   uint8_t type) {
    e.ids.push_back(id);
    e.tokens.push_back(std::move(tok));
    e.offsets.push_back(off);
    e.special_tokens_mask.push_back(special);
    e.type_ids.push_back(type);
    e.sequence_ids.push_back(special ? -1 : int8_t(type));
  }
  static void add_words(Encoding& e, std::string_view text, uint8_t type) {
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && text[i] == ' ') ++i;
      size_t j = i;
      while (j < text.size() && text[j] != ' ') ++j;
      if (j > i) {
        std::string_view w = text.substr(i, j - i);
        if (w == "__bad__") throw FormatError("fake tokenizer: cannot tokenize __bad__");
        push(e, word_id(w), std::string(w), {uint32_t(i), uint32_t(j)}, false, type);
      }
      i = j;
    }
  }
};

// Deterministic per-row logits: each row's answer depends on that row only.
std::vector<float> fake_logits(const std::vector<int32_t>& row, size_t k_labels) {
  std::vector<float> out(k_labels);
  for (size_t k = 0; k < k_labels; ++k) {
    long long s = 0;
    for (size_t i = 0; i < row.size(); ++i)
      s += static_cast<long long>(row[i]) * (long long)(i + 1) * (long long)(k + 1);
    out[k] = static_cast<float>(s % 97) / 10.0f - 4.0f;
  }
  return out;
}

// A backend that records rows, can be slowed, gated, broken or made unhealthy.
struct FakeModel {
  std::mutex mutex;
  std::vector<std::vector<std::vector<int32_t>>> batches;
  std::atomic<int> sleep_ms{0};
  std::atomic<bool> fail{false};
  std::atomic<bool> nan{false};
  std::atomic<bool> healthy{true};
  size_t k_labels = kLabels.size();

  std::unique_ptr<FunctionBackend> backend() {
    return std::make_unique<FunctionBackend>(
        [this](const std::vector<std::vector<int32_t>>& rows) {
          {
            std::lock_guard lock(mutex);
            batches.push_back(rows);
          }
          if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms.load()));
          if (fail) throw std::runtime_error("fake backend exploded");
          std::vector<std::vector<float>> out;
          for (const auto& r : rows) {
            out.push_back(fake_logits(r, k_labels));
            if (nan) out.back()[0] = std::numeric_limits<float>::quiet_NaN();
          }
          return out;
        },
        [this] { return healthy.load(); });
  }
  size_t max_batch_rows() {
    std::lock_guard lock(mutex);
    size_t m = 0;
    for (auto& b : batches) m = std::max(m, b.size());
    return m;
  }
  std::vector<int32_t> last_row() {
    std::lock_guard lock(mutex);
    return batches.back().back();
  }
};

struct Harness {
  FakeModel model;
  FakeEncoder encoder;
  std::unique_ptr<FunctionBackend> backend;
  std::unique_ptr<Server> server;
  std::mutex log_mutex;
  std::vector<std::string> log;
  int port = 0;

  explicit Harness(ServerOptions opts = {}, ModelInfo info = {}) {
    if (info.labels.empty()) info = {"fake/model", kLabels, false, 64};
    model.k_labels = info.labels.size();
    backend = model.backend();
    opts.host = "127.0.0.1";
    opts.port = 0;
    opts.log = [this](const std::string& line) {
      std::lock_guard lock(log_mutex);
      log.push_back(line);
    };
    server = std::make_unique<Server>(*backend, encoder, info, opts);
    port = server->start();
  }
  ~Harness() { server->stop(); }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }
  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& h = {}) {
    auto c = client();
    return c.Post(path.c_str(), h, body, "application/json");
  }
  httplib::Result predict(const json& body) { return post("/predict", body.dump()); }
};

std::vector<double> softmax(const std::vector<float>& l) {
  double m = -1e300, s = 0;
  for (float x : l) m = std::max(m, double(x));
  for (float x : l) s += std::exp(double(x) - m);
  std::vector<double> p;
  for (float x : l) p.push_back(std::exp(double(x) - m) / s);
  return p;
}

// Checks one prediction list: every label once, sorted descending, scores == expected[label id].
void expect_predictions(const json& list, const std::vector<double>& expected, double tol = 1e-6) {
  ASSERT_TRUE(list.is_array()) << list;
  ASSERT_EQ(list.size(), kLabels.size()) << list;
  std::vector<bool> seen(kLabels.size(), false);
  double prev = 1e300;
  for (const auto& p : list) {
    ASSERT_TRUE(p.contains("score") && p.contains("label")) << p;
    const double score = p["score"].get<double>();
    EXPECT_LE(score, prev) << "not sorted by score descending: " << list;
    prev = score;
    auto it = std::find(kLabels.begin(), kLabels.end(), p["label"].get<std::string>());
    ASSERT_NE(it, kLabels.end()) << p;
    const size_t id = size_t(it - kLabels.begin());
    EXPECT_FALSE(seen[id]) << "label twice: " << list;
    seen[id] = true;
    EXPECT_NEAR(score, expected[id], tol) << p;
  }
}

std::vector<int32_t> ids_of(const std::string& text) { return FakeEncoder().encode(text).ids; }

json error_of(const httplib::Result& r) { return json::parse(r->body); }

}  // namespace

TEST(Server, HealthAndInfo) {
  Harness h;
  auto c = h.client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "");
  auto info = c.Get("/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 200);
  json j = json::parse(info->body);
  EXPECT_EQ(j["model_id"], "fake/model");
  EXPECT_TRUE(j["model_sha"].is_null());
  EXPECT_EQ(j["model_dtype"], "float32");
  EXPECT_EQ(j["served_model_name"], "fake/model");
  EXPECT_EQ(j["model_type"]["classifier"]["id2label"]["2"], "optimism");
  EXPECT_EQ(j["model_type"]["classifier"]["label2id"]["sadness"], 3);
  EXPECT_EQ(j["max_concurrent_requests"], 512);
  EXPECT_EQ(j["max_input_length"], 64);
  EXPECT_EQ(j["max_batch_tokens"], 16384);
  EXPECT_TRUE(j["max_batch_requests"].is_null());
  EXPECT_EQ(j["max_client_batch_size"], 32);
  EXPECT_EQ(j["auto_truncate"], false);
  EXPECT_GE(j["tokenization_workers"].get<int>(), 1);
  EXPECT_TRUE(j.contains("version") && j.contains("sha") && j.contains("docker_label"));
}

TEST(Server, UnhealthyBackendGives503) {
  Harness h;
  h.model.healthy = false;
  auto r = h.client().Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"error":"unhealthy","error_type":"Unhealthy"})"));
}

TEST(Server, PredictSingleSoftmaxSortedAllLabels) {
  Harness h;
  auto r = h.predict({{"inputs", "I love this so much"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  json j = json::parse(r->body);
  const auto expected = softmax(fake_logits(ids_of("I love this so much"), 4));
  expect_predictions(j, expected);
  double sum = 0;
  for (auto& p : j) sum += p["score"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-6);
  for (const char* hname : {"x-compute-type", "x-compute-time", "x-compute-characters", "x-compute-tokens",
                            "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time"})
    EXPECT_TRUE(r->has_header(hname)) << hname;
  EXPECT_EQ(r->get_header_value("x-compute-type"), "cpu");
  EXPECT_EQ(r->get_header_value("x-compute-characters"), "19");
  EXPECT_EQ(r->get_header_value("x-compute-tokens"), "7");  // 5 words + [CLS] + [SEP]
  EXPECT_FALSE(r->has_header("x-truncated"));
}

TEST(Server, PredictPairRawScoresAndBatch) {
  Harness h;
  // ["a", "b"] is ONE pair (TEI), answered as a single list.
  auto pair = h.predict({{"inputs", {"so happy", "or not"}}, {"raw_scores", true}});
  ASSERT_TRUE(pair);
  ASSERT_EQ(pair->status, 200) << pair->body;
  const auto pair_ids = FakeEncoder().encode_pair("so happy", "or not").ids;
  EXPECT_EQ(h.model.last_row(), pair_ids);
  const auto raw = fake_logits(pair_ids, 4);
  expect_predictions(json::parse(pair->body), std::vector<double>(raw.begin(), raw.end()));

  auto batch = h.predict({{"inputs", {{"first text"}, {"second", "pair part"}, {"third one here"}}}});
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 200) << batch->body;
  json b = json::parse(batch->body);
  ASSERT_TRUE(b.is_array());
  ASSERT_EQ(b.size(), 3u);
  expect_predictions(b[0], softmax(fake_logits(ids_of("first text"), 4)));
  expect_predictions(b[1], softmax(fake_logits(FakeEncoder().encode_pair("second", "pair part").ids, 4)));
  expect_predictions(b[2], softmax(fake_logits(ids_of("third one here"), 4)));
  EXPECT_EQ(batch->get_header_value("x-compute-characters"), "39");  // 10 + 6 + 9 + 14

  // The TEI aliases answer like /predict.
  auto root = h.post("/", json({{"inputs", "first text"}}).dump());
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 200);
  expect_predictions(json::parse(root->body), softmax(fake_logits(ids_of("first text"), 4)));
}

TEST(Server, SigmoidForMultiLabelAndSingleClass) {
  {
    Harness h({}, ModelInfo{"m", kLabels, /*multi_label=*/true, 64});
    auto r = h.predict({{"inputs", "hello there"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    std::vector<double> expected;
    for (float l : fake_logits(ids_of("hello there"), 4)) expected.push_back(1.0 / (1.0 + std::exp(-double(l))));
    expect_predictions(json::parse(r->body), expected);
  }
  {
    Harness h({}, ModelInfo{"m", {"positive"}, false, 64});
    auto r = h.predict({{"inputs", "hello there"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json j = json::parse(r->body);
    ASSERT_EQ(j.size(), 1u);
    const double l = fake_logits(ids_of("hello there"), 1)[0];
    EXPECT_NEAR(j[0]["score"].get<double>(), 1.0 / (1.0 + std::exp(-l)), 1e-6);
    EXPECT_EQ(j[0]["label"], "positive");
  }
}

TEST(Server, ValidationErrors) {
  ServerOptions o;
  o.max_client_batch_size = 2;
  Harness h(o);
  struct Case {
    std::string body;
    int status;
    std::string type;
  };
  const std::vector<Case> cases = {
      {R"({"inputs": []})", 400, "Empty"},
      {R"({"inputs": [["a"], ["b"], ["c"]]})", 422, "Validation"},  // > max_client_batch_size
      {R"({"inputs": ["a", "b", "c"]})", 422, "Validation"},        // 3 strings is neither pair nor batch
      {R"({"inputs": "a")", 422, "Validation"},                     // malformed JSON
      {R"(not json at all)", 422, "Validation"},
      {R"({"inputs": 3})", 422, "Validation"},
      {R"({"inputs": "a", "truncate": "no"})", 422, "Validation"},
      {R"({"inputs": "__bad__"})", 422, "Tokenizer"},
  };
  for (const auto& c : cases) {
    auto r = h.post("/predict", c.body);
    ASSERT_TRUE(r) << c.body;
    EXPECT_EQ(r->status, c.status) << c.body << " -> " << r->body;
    json e = error_of(r);
    EXPECT_EQ(e["error_type"], c.type) << c.body;
    EXPECT_FALSE(e["error"].get<std::string>().empty());
  }
  auto r = h.post("/predict", R"({"inputs": [["a"], ["b"], ["c"]]})");
  EXPECT_EQ(error_of(r)["error"], "batch size 3 > maximum allowed batch size 2");
}

TEST(Server, TruncationTrueFalseNullAndDirection) {
  std::string words;
  for (int i = 0; i < 20; ++i) words.append("w").append(std::to_string(i)).append(" ");  // 20 words -> 22 tokens
  ServerOptions o;
  o.max_input_length = 8;  // below the model's 64
  Harness h(o);

  auto off = h.predict({{"inputs", words}, {"truncate", false}});
  ASSERT_TRUE(off);
  EXPECT_EQ(off->status, 422);
  EXPECT_EQ(error_of(off)["error"], "`inputs` must have less than 8 tokens. Given: 22");
  EXPECT_EQ(error_of(off)["error_type"], "Validation");

  auto null_default = h.predict({{"inputs", words}, {"truncate", nullptr}});  // server default: off
  ASSERT_TRUE(null_default);
  EXPECT_EQ(null_default->status, 422);

  auto right = h.predict({{"inputs", words}, {"truncate", true}});
  ASSERT_TRUE(right);
  ASSERT_EQ(right->status, 200) << right->body;
  EXPECT_EQ(right->get_header_value("x-truncated"), "true");
  EXPECT_EQ(right->get_header_value("x-compute-tokens"), "8");
  EXPECT_EQ(h.model.last_row(), ids_of("w0 w1 w2 w3 w4 w5"));  // [CLS] first 6 [SEP]
  expect_predictions(json::parse(right->body), softmax(fake_logits(ids_of("w0 w1 w2 w3 w4 w5"), 4)));

  auto left = h.predict({{"inputs", words}, {"truncate", true}, {"truncation_direction", "left"}});
  ASSERT_TRUE(left);
  ASSERT_EQ(left->status, 200) << left->body;
  EXPECT_EQ(h.model.last_row(), ids_of("w14 w15 w16 w17 w18 w19"));

  // A batch: truncation applies to each input (TEI #56: it must not be ignored for lists).
  auto batch = h.predict({{"inputs", {{words}, {"short"}}}, {"truncate", true}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->status, 200) << batch->body;

  ServerOptions auto_on = o;
  auto_on.auto_truncate = true;
  Harness h2(auto_on);
  auto null_on = h2.predict({{"inputs", words}});
  ASSERT_TRUE(null_on);
  EXPECT_EQ(null_on->status, 200) << null_on->body;
  EXPECT_EQ(json::parse(h2.client().Get("/info")->body)["auto_truncate"], true);
  auto explicit_off = h2.predict({{"inputs", words}, {"truncate", false}});
  ASSERT_TRUE(explicit_off);
  EXPECT_EQ(explicit_off->status, 422);

  // The pre-tokenization character cap (max_input_length x 250) holds even with truncation on.
  auto huge = h2.predict({{"inputs", std::string(8 * 250 + 1, 'a')}});
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 422);
  EXPECT_NE(error_of(huge)["error"].get<std::string>().find("characters"), std::string::npos);
}

TEST(Server, PayloadLimitGives413) {
  ServerOptions o;
  o.payload_limit = 200;
  Harness h(o);
  auto big = h.predict({{"inputs", std::string(500, 'x')}});
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(error_of(big)["error_type"], "Validation");
  auto small = h.predict({{"inputs", "fits"}});
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
}

TEST(Server, ApiKey) {
  ServerOptions o;
  o.api_key = "s3cret";
  Harness h(o);
  const std::string body = json({{"inputs", "hi"}}).dump();
  auto none = h.post("/predict", body);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(error_of(none)["error_type"], "Unauthorized");
  auto wrong = h.post("/predict", body, {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto prefix = h.post("/predict", body, {{"Authorization", "Bearer s3cre"}});
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->status, 401);
  auto good = h.post("/predict", body, {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
  auto c = h.client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 401);
  auto health_ok = c.Get("/health", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(health_ok);
  EXPECT_EQ(health_ok->status, 200);
}

TEST(Server, BackendFailureAndNaNGive424) {
  Harness h;
  h.model.fail = true;
  auto r = h.predict({{"inputs", "hello"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 424);
  EXPECT_EQ(error_of(r)["error_type"], "Backend");
  EXPECT_NE(error_of(r)["error"].get<std::string>().find("fake backend exploded"), std::string::npos);
  h.model.fail = false;
  h.model.nan = true;
  auto n = h.predict({{"inputs", "hello"}});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 424);
  EXPECT_EQ(error_of(n)["error"], "score is NaN");
  auto raw = h.predict({{"inputs", "hello"}, {"raw_scores", true}});
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 424);
  h.model.nan = false;
  auto ok = h.predict({{"inputs", "hello"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);  // the server survives backend failures
}

TEST(Server, UnknownRouteIsJson404) {
  Harness h;
  auto r = h.client().Get("/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(error_of(r)["error"], "no route for GET /nope");
}

TEST(Server, Tokenize) {
  Harness h;
  auto r = h.post("/tokenize", json({{"inputs", "h\xC3\xA9llo w\xC3\xB6rld"}}).dump());  // "héllo wörld"
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  ASSERT_EQ(j[0].size(), 4u);
  EXPECT_EQ(j[0][0], json::parse(R"({"id":101,"text":"[CLS]","special":true,"start":null,"stop":null})"));
  // offsets in characters: "héllo" is bytes [0,6) but characters [0,5); "wörld" characters [6,11)
  EXPECT_EQ(j[0][1]["text"], "h\xC3\xA9llo");
  EXPECT_EQ(j[0][1]["start"], 0);
  EXPECT_EQ(j[0][1]["stop"], 5);
  EXPECT_EQ(j[0][1]["special"], false);
  EXPECT_EQ(j[0][1]["id"], FakeEncoder::word_id("h\xC3\xA9llo"));
  EXPECT_EQ(j[0][2]["start"], 6);
  EXPECT_EQ(j[0][2]["stop"], 11);
  EXPECT_EQ(j[0][3]["text"], "[SEP]");

  auto plain = h.post("/tokenize", R"({"inputs": ["a b", "c"], "add_special_tokens": false})");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  json p = json::parse(plain->body);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].size(), 2u);
  EXPECT_EQ(p[1].size(), 1u);
  EXPECT_EQ(p[1][0]["text"], "c");

  auto empty = h.post("/tokenize", R"({"inputs": []})");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
}

TEST(Server, ConcurrencyLimitAnswers429NeverServerErrors) {
  ServerOptions o;
  o.max_concurrent_requests = 2;
  o.http_workers = 24;
  Harness h(o);
  h.model.sleep_ms = 100;
  std::atomic<int> ok{0}, overloaded{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&, t] {
      auto c = h.client();
      for (int i = 0; i < 3; ++i) {
        auto r = c.Post("/predict", json({{"inputs", "client " + std::to_string(t)}}).dump(), "application/json");
        if (!r) {
          ++other;
          continue;
        }
        if (r->status == 200) ++ok;
        else if (r->status == 429 && json::parse(r->body)["error_type"] == "Overloaded") ++overloaded;
        else ++other;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(overloaded.load(), 0);
  EXPECT_EQ(ok + overloaded, 48);
  EXPECT_EQ(h.server->metrics().counter("te_request_failure", "err=\"overloaded\""), overloaded.load());
}

TEST(Server, ConcurrentRequestsAreBatchedAndMatchSingleAnswers) {
  Harness h;
  h.model.sleep_ms = 150;  // while batch 1 runs, the others queue up and form batch 2
  std::vector<std::string> texts;
  for (int i = 0; i < 8; ++i) texts.push_back("text number " + std::to_string(i) + std::string(size_t(i), 'x'));
  std::vector<json> answers(texts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < texts.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = h.predict({{"inputs", texts[i]}});
      if (r && r->status == 200) answers[i] = json::parse(r->body);
    });
  for (auto& t : threads) t.join();
  EXPECT_GE(h.model.max_batch_rows(), 2u) << "no batch held more than one request";
  for (size_t i = 0; i < texts.size(); ++i) expect_predictions(answers[i], softmax(fake_logits(ids_of(texts[i]), 4)));
}

TEST(Server, StopDrainsInFlightRequests) {
  auto h = std::make_unique<Harness>();
  h->model.sleep_ms = 300;
  const int n = 4;
  std::vector<int> status(n, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      auto r = h->predict({{"inputs", "in flight " + std::to_string(i)}});
      status[i] = r ? r->status : -1;
    });
  // Wait until every request is inside the handler, then stop while they are being computed.
  for (int i = 0; i < 500 && h->server->metrics().counter("te_request_count", "method=\"predict\"") < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const auto t0 = std::chrono::steady_clock::now();
  h->server->stop();
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& t : threads) t.join();
  for (int i = 0; i < n; ++i) EXPECT_EQ(status[i], 200) << "request " << i;
  EXPECT_GT(stop_s, 0.1) << "stop() returned before the in-flight requests finished";
  auto after = h->client().Get("/health");
  EXPECT_FALSE(after) << "still accepting after stop()";
}

TEST(Server, MetricsAndAccessLog) {
  Harness h;
  ASSERT_EQ(h.predict({{"inputs", "one"}})->status, 200);
  ASSERT_EQ(h.predict({{"inputs", {{"two"}, {"three"}}}})->status, 200);
  ASSERT_EQ(h.post("/predict", R"({"inputs": 1})")->status, 422);
  auto m = h.client().Get("/metrics");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  const std::string& t = m->body;
  EXPECT_NE(t.find("te_request_count{method=\"predict\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("te_request_success{method=\"predict\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("te_request_failure{err=\"validation\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("te_request_duration_count 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("te_request_input_length_count 3\n"), std::string::npos) << t;  // one per input
  EXPECT_NE(t.find("# TYPE te_queue_size gauge\n"), std::string::npos) << t;
  EXPECT_NE(t.find("te_request_queue_duration_bucket{le=\"1e-05\"}"), std::string::npos) << t;
  EXPECT_NE(t.find("te_batch_next_size_count"), std::string::npos) << t;
  EXPECT_NE(t.find("te_batch_next_tokens_bucket{le=\"1048576\"}"), std::string::npos) << t;
  // cpp-httplib calls the logger after the response is on the wire: the line may lag the answer.
  bool found = false;
  for (int i = 0; i < 1000 && !found; ++i) {
    {
      std::lock_guard lock(h.log_mutex);
      for (auto& line : h.log) found |= line.find("\"POST /predict\" 422") != std::string::npos;
    }
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(found) << "no access log line for the 422";
}

// Issue 15: a multi-label model's entries carry each label's threshold and whether its sigmoid is
// over it (whatever the scores shown); a single-label answer has neither.
TEST(Server, MultiLabelEntriesMarkTheLabelsOverTheirThresholds) {
  const auto logits = fake_logits(ids_of("hello there"), 4);
  std::vector<float> thresholds;
  std::vector<bool> want(4);
  for (size_t k = 0; k < 4; ++k) {
    const float sig = static_cast<float>(1.0 / (1.0 + std::exp(-double(logits[k]))));
    want[k] = k % 2 == 0;  // 0.01 under the score passes, 0.01 over it does not
    thresholds.push_back(std::clamp(sig + (want[k] ? -0.01f : 0.01f), 0.f, 1.f));
  }
  Harness h({}, ModelInfo{"m", kLabels, /*multi_label=*/true, 64, thresholds});
  for (const bool raw : {false, true}) {
    auto r = h.predict({{"inputs", "hello there"}, {"raw_scores", raw}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    for (const auto& p : json::parse(r->body)) {
      const size_t k = size_t(std::find(kLabels.begin(), kLabels.end(), p["label"]) - kLabels.begin());
      ASSERT_LT(k, kLabels.size()) << p;
      EXPECT_NEAR(p["threshold"].get<double>(), thresholds[k], 1e-7) << p;
      EXPECT_EQ(p["passing"].get<bool>(), want[k]) << p << (raw ? " raw_scores" : "");
    }
  }
  auto info = h.client().Get("/info");
  ASSERT_TRUE(info);
  const json j = json::parse(info->body);
  EXPECT_EQ(j["problem_type"], "multi_label_classification");
  EXPECT_NEAR(j["thresholds"][kLabels[2]].get<double>(), thresholds[2], 1e-7);

  // No thresholds given: 0.5 each; single-label: no marks, thresholds null.
  Harness half({}, ModelInfo{"m", kLabels, /*multi_label=*/true, 64});
  auto r = half.predict({{"inputs", "hello there"}});
  ASSERT_TRUE(r);
  for (const auto& p : json::parse(r->body)) {
    EXPECT_EQ(p["threshold"].get<double>(), 0.5) << p;
    EXPECT_EQ(p["passing"].get<bool>(), p["score"].get<double>() > 0.5) << p;
  }
  Harness single;
  auto s = single.predict({{"inputs", "hello there"}});
  ASSERT_TRUE(s);
  EXPECT_FALSE(json::parse(s->body)[0].contains("passing"));
  EXPECT_TRUE(json::parse(single.client().Get("/info")->body)["thresholds"].is_null());
}

TEST(Server, InconsistentLimitsAreRejected) {
  FakeModel model;
  auto backend = model.backend();
  FakeEncoder enc;
  ServerOptions o;
  o.max_batch_tokens = 16;  // smaller than the model's max input length 64
  EXPECT_THROW(Server(*backend, enc, ModelInfo{"m", kLabels, false, 64}, o), InvalidArgument);
  EXPECT_THROW(Server(*backend, enc, ModelInfo{"m", {}, false, 64}, {}), InvalidArgument);
  EXPECT_THROW(Server(*backend, enc, ModelInfo{"m", kLabels, true, 64, {0.5f, 0.5f}}, {}), InvalidArgument);
  ServerOptions busy;
  busy.port = 0;
  Server a(*backend, enc, ModelInfo{"m", kLabels, false, 64}, busy);
  const int port = a.start();
  ServerOptions same;
  same.port = port;
  Server b(*backend, enc, ModelInfo{"m", kLabels, false, 64}, same);
  EXPECT_THROW(b.start(), IoError);
}

// Issue 19 #2: /openapi.json documents exactly the routes the server registers (Server::routes();
// registering one outside it throws), each of them is answered, and GET / serves the page to a
// browser and TEI's health answer to anything else.
TEST(Server, OpenApiDocumentsExactlyTheRoutesAndRootNegotiates) {
  Harness h;
  auto r = h.client().Get("/openapi.json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const json doc = json::parse(r->body);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::pair<std::string, std::string>> documented, served;
  for (const auto& [path, ops] : doc["paths"].items())
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      std::transform(m.begin(), m.end(), m.begin(), ::toupper);
      documented.insert({m, path});
      EXPECT_TRUE(op.contains("responses") && op["responses"].contains("401")) << m << " " << path;
    }
  for (const auto& route : Server::routes()) served.insert({route.method, route.path});
  EXPECT_EQ(documented, served);
  for (const auto& [method, path] : served) {
    auto c = h.client();
    auto res =
        method == "POST" ? c.Post(path.c_str(), R"({"inputs": "hello"})", "application/json") : c.Get(path.c_str());
    ASSERT_TRUE(res) << method << " " << path;
    EXPECT_NE(res->status, 404) << method << " " << path;
    EXPECT_NE(res->status, 405) << method << " " << path;
  }
  auto page = h.client().Get("/", {{"Accept", "text/html,application/xhtml+xml"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<textarea"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos) << "the page must not load anything from elsewhere";
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
  auto health = h.client().Get("/");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "");
  h.model.healthy = false;
  EXPECT_EQ(h.client().Get("/")->status, 503);
}

// Issue 19 #1: Hugging Face's Inference API shape — nested list for one input, a list of strings is
// a batch, {text, text_pair} a pair, top_k and function_to_apply.
TEST(Server, HuggingFacePipelineRoute) {
  Harness h;
  const std::string text = "so happy today";
  const std::vector<double> expected = softmax(fake_logits(ids_of(text), 4));
  auto one = h.post("/pipeline/text-classification", json({{"inputs", text}}).dump());
  ASSERT_EQ(one->status, 200) << one->body;
  const json a = json::parse(one->body);
  ASSERT_EQ(a.size(), 1u);
  expect_predictions(a[0], expected);
  auto top = h.post("/pipeline/text-classification",
                    json({{"inputs", json::array({text, "b"})}, {"parameters", {{"top_k", 2}}}}).dump());
  const json t = json::parse(top->body);
  ASSERT_EQ(t.size(), 2u) << "a list of strings is a batch here";
  EXPECT_EQ(t[0].size(), 2u);
  EXPECT_EQ(t[0][0], a[0][0]);
  auto none = h.post("/pipeline/text-classification",
                     json({{"inputs", text}, {"parameters", {{"function_to_apply", "none"}}}}).dump());
  const std::vector<float> logits = fake_logits(ids_of(text), 4);
  const json raw = json::parse(none->body);
  for (const auto& p : raw[0]) {
    const size_t id = size_t(std::find(kLabels.begin(), kLabels.end(), p["label"]) - kLabels.begin());
    EXPECT_NEAR(p["score"].get<double>(), logits[id], 1e-6);
  }
  auto pair = h.post("/pipeline/text-classification",
                     json({{"inputs", json::object({{"text", "a b"}, {"text_pair", "c"}})}}).dump());
  ASSERT_EQ(pair->status, 200) << pair->body;
  expect_predictions(json::parse(pair->body)[0], softmax(fake_logits(FakeEncoder().encode_pair("a b", "c").ids, 4)));
  EXPECT_EQ(h.post("/pipeline/text-classification", R"({"inputs": "x", "parameters": {"top_k": 0}})")->status, 422);
  EXPECT_EQ(
      h.post("/pipeline/text-classification", R"({"inputs": "x", "parameters": {"function_to_apply": "max"}})")->status,
      422);
  EXPECT_EQ(h.post("/pipeline/text-classification", R"({"inputs": []})")->status, 400);
}

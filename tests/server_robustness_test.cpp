// server_robustness_test — malformed HTTP over a raw loopback socket never crashes or hangs the
// server: truncated or huge headers, bad Content-Length, oversized bodies (413), invalid JSON,
// invalid UTF-8 and lone surrogates in JSON strings, deep nesting, binary garbage, slow clients
// (read timeout), and a few hundred seeded random mutations of a valid request. After each abuse
// the server must still answer GET /health and a valid POST /predict.
//
// The server runs in-process with the real distilbert-base-cased tokenizer (../shared/models) and a
// fake backend (logits from the row length), small limits (64 KiB payload, 1 s read timeout, 4 HTTP
// workers) so that limits are reached quickly.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "serve/server.hpp"
#include "serve/text_encoder.hpp"
#include "server_socket.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using namespace bert_emotion;
using namespace bert_emotion::serve;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace bert_emotion::testing_support;

class ServerRobustness : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer = new Tokenizer(Tokenizer::from_model_dir(SHARED_DIR "/models/distilbert-base-cased"));
    encoder = new TokenizerEncoder(*tokenizer);
    backend = new FunctionBackend([](const std::vector<std::vector<int32_t>>& rows) {
      std::vector<std::vector<float>> out;
      for (const auto& r : rows) out.push_back({0.f, static_cast<float>(r.size() % 7), 1.f, -1.f});
      return out;
    });
    ServerOptions o;
    o.port = 0;
    o.payload_limit = 64 * 1024;
    o.read_timeout_s = 1;
    o.write_timeout_s = 1;
    o.keep_alive_timeout_s = 1;
    o.http_workers = 4;
    o.max_concurrent_requests = 4;
    o.max_client_batch_size = 4;
    o.access_log = false;
    server = new Server(*backend, *encoder, ModelInfo{"test", {"anger", "joy", "optimism", "sadness"}, false, 512}, o);
    port = server->start();
  }
  static void TearDownTestSuite() {
    server->stop();
    delete server;
    delete backend;
    delete encoder;
    delete tokenizer;
  }
  // The server is alive and answers correctly.
  static void expect_healthy(const std::string& after) {
    SCOPED_TRACE("after " + after);
    const Exchange h = exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false);
    EXPECT_EQ(status_of(h.response), 200) << h.response;
    const Exchange p = exchange(port, post("/predict", R"({"inputs": "I love it"})"), false);
    EXPECT_EQ(status_of(p.response), 200) << p.response;
    EXPECT_THAT(p.response, HasSubstr("\"label\":\"joy\""));
  }
  static void expect_status(const std::string& request, int status, const std::string& what) {
    SCOPED_TRACE(what);
    const Exchange e = exchange(port, request, false);
    EXPECT_EQ(status_of(e.response), status) << e.response.substr(0, 500);
    expect_healthy(what);
  }

  static Tokenizer* tokenizer;
  static TokenizerEncoder* encoder;
  static FunctionBackend* backend;
  static Server* server;
  static int port;
};
Tokenizer* ServerRobustness::tokenizer = nullptr;
TokenizerEncoder* ServerRobustness::encoder = nullptr;
FunctionBackend* ServerRobustness::backend = nullptr;
Server* ServerRobustness::server = nullptr;
int ServerRobustness::port = 0;

TEST_F(ServerRobustness, Baseline) { expect_healthy("nothing"); }

TEST_F(ServerRobustness, InvalidJsonBodies) {
  expect_status(post("/predict", R"({"inputs": "a")"), 422, "unterminated object");
  expect_status(post("/predict", "not json at all"), 422, "not JSON");
  expect_status(post("/predict", ""), 422, "empty body");
  expect_status(post("/predict", R"({"inputs": 1e400})"), 422, "number overflow");
  expect_status(post("/predict", R"({"inputs": ["a", "b", "c"]})"), 422, "three strings");
  expect_status(post("/predict", R"({"inputs": []})"), 400, "empty batch");
  expect_status(post("/predict", R"({"inputs": [["a"],["b"],["c"],["d"],["e"]]})"), 422, "batch over the limit");
  expect_status(post("/tokenize", R"({"inputs": {"x": 1}})"), 422, "tokenize object");
}

TEST_F(ServerRobustness, InvalidUtf8InJsonStrings) {
  expect_status(post("/predict", "{\"inputs\": \"bad \xc3\x28 byte\"}"), 422, "raw invalid UTF-8");
  expect_status(post("/predict", "{\"inputs\": \"\xed\xa0\x80\"}"), 422, "encoded surrogate");
  expect_status(post("/predict", R"({"inputs": "\ud800 lone surrogate"})"), 422, "escaped lone surrogate");
  expect_status(post("/predict", "{\"inputs\": \"nul \\u0000 inside\"}"), 200, "escaped NUL is valid text");
}

TEST_F(ServerRobustness, DeepNestingIsRefusedQuickly) {
  const std::string deep = "{\"inputs\": " + std::string(30000, '[') + std::string(30000, ']') + "}";
  const auto t0 = std::chrono::steady_clock::now();
  expect_status(post("/predict", deep), 422, "30000 levels");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

TEST_F(ServerRobustness, OversizedBodyIs413) {
  const std::string big = "{\"inputs\": \"" + std::string(200 * 1024, 'a') + "\"}";
  const Exchange e = exchange(port, post("/predict", big), false);
  // 413, or the connection closed before/after the answer while we were still sending.
  if (!e.response.empty()) {
    EXPECT_EQ(status_of(e.response), 413) << e.response.substr(0, 300);
  }
  expect_healthy("200 KiB body");
}

TEST_F(ServerRobustness, LyingContentLength) {
  // Claims 1000 bytes, sends 10, then half-closes: no answer to wait for forever.
  Exchange e =
      exchange(port, "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"inputs\":", true, 10);
  EXPECT_TRUE(e.closed_by_server);
  EXPECT_LT(e.seconds, 5.0);
  expect_healthy("short body");
  for (const char* cl : {"-5", "abc", "99999999999999999999999", "1, 2"}) {
    e = exchange(port,
                 std::string("POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ") + cl +
                     "\r\n\r\n{\"inputs\": \"a\"}",
                 true, 10);
    EXPECT_TRUE(e.closed_by_server) << cl;
    if (!e.response.empty()) {
      EXPECT_NE(status_of(e.response), 200) << cl << "\n" << e.response.substr(0, 300);
    }
    expect_healthy(std::string("Content-Length: ") + cl);
  }
}

TEST_F(ServerRobustness, TruncatedHeaders) {
  for (const char* req : {"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Len", "POST /pre", "GET", "\r\n\r\n",
                          "POST /predict HTTP/1.1\r\nContent-Length: 5\r\n"}) {
    const Exchange e = exchange(port, req, true, 10);
    EXPECT_TRUE(e.closed_by_server) << req;
    EXPECT_LT(e.seconds, 5.0) << req;
    expect_healthy(std::string("truncated: ") + req);
  }
}

TEST_F(ServerRobustness, HugeHeaderLineAndManyHeaders) {
  const std::string huge = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'h') + "\r\n\r\n";
  Exchange e = exchange(port, huge, true, 10);
  EXPECT_TRUE(e.closed_by_server);
  if (!e.response.empty()) {
    EXPECT_GE(status_of(e.response), 400) << e.response.substr(0, 300);
  }
  expect_healthy("1 MiB header line");

  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 20000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  e = exchange(port, many, true, 10);
  EXPECT_TRUE(e.closed_by_server);
  expect_healthy("20000 headers");
}

TEST_F(ServerRobustness, BadChunkedEncoding) {
  const Exchange e = exchange(
      port,
      "POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZZ\r\n{\"inputs\": \"a\"}\r\n0\r\n\r\n",
      true, 10);
  EXPECT_TRUE(e.closed_by_server);
  if (!e.response.empty()) {
    EXPECT_NE(status_of(e.response), 200) << e.response.substr(0, 300);
  }
  expect_healthy("bad chunk size");
}

TEST_F(ServerRobustness, BinaryGarbage) {
  std::mt19937 rng(1);
  for (int i = 0; i < 20; ++i) {
    std::string junk(1 + rng() % 4096, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    const Exchange e = exchange(port, junk, true, 10);
    EXPECT_TRUE(e.closed_by_server);
  }
  expect_healthy("binary garbage");
}

TEST_F(ServerRobustness, SlowClientsAreCutOffByTheReadTimeout) {
  // More idle half-sent requests than HTTP workers: each is dropped after read_timeout_s (1 s), so
  // a normal request still gets through in bounded time.
  std::vector<int> slow;
  for (int i = 0; i < 8; ++i) {
    const int fd = connect_loopback(port);
    ASSERT_GE(fd, 0);
    const std::string partial = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Le";
    ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Exchange p = exchange(port, post("/predict", R"({"inputs": "still served"})"), false, 15);
  EXPECT_EQ(status_of(p.response), 200) << p.response;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 6.0);
  // The slow connections were ended by the server (closed, possibly after an error status).
  for (int fd : slow) {
    timeval tv{0, 200000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string got;
    char buf[4096];
    bool closed = false;
    for (int tries = 0; tries < 50 && !closed; ++tries) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
    }
    EXPECT_TRUE(closed);
    if (!got.empty()) {
      EXPECT_GE(status_of(got), 400) << got.substr(0, 200);
    }
    ::close(fd);
  }
  expect_healthy("slow clients");
}

TEST_F(ServerRobustness, RandomMutationsOfAValidRequest) {
  // The client keeps its side open (cpp-httplib drops a connection whose client half-closed before
  // the answer), so a mutation that leaves the request incomplete is ended by the 1 s read timeout.
  // Four client threads, 12 mutations each (about 15 s: most wait out the read timeout).
  const std::string valid = post("/predict", R"({"inputs": [["I love it"], ["so", "sad"]], "truncate": true})");
  std::atomic<int> answered{0}, unclosed{0}, malformed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(12345 + c);
      for (int i = 0; i < 12; ++i) {
        std::string m = valid;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < edits; ++k) {
          const size_t at = rng() % m.size();
          switch (rng() % 4) {
            case 0: m[at] = static_cast<char>(rng()); break;  // flip a byte
            case 1: m.erase(at, 1 + rng() % 8); break;        // drop bytes
            case 2: m.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng()))); break;
            case 3: m = m.substr(0, std::max<size_t>(at, 1)); break;  // truncate
          }
          if (m.empty()) m.assign(1, 'x');  // not m = "x": GCC 12 -Wrestrict false positive (PR 105329)
        }
        const Exchange e = exchange(port, m, false, 8);
        if (!e.closed_by_server) ++unclosed;
        if (!e.response.empty()) {
          ++answered;
          if (e.response.rfind("HTTP/1.1 ", 0) != 0) ++malformed;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(unclosed.load(), 0) << "connections the server neither answered nor closed within 8 s";
  EXPECT_EQ(malformed.load(), 0);
  EXPECT_GT(answered.load(), 0);
  expect_healthy("48 mutations");
}

}  // namespace

// server_connections_test — how the server holds connections and reads bodies, over raw loopback
// sockets: 429 at once with the default worker count, a bounded wait list under a connection flood,
// graceful stop answering every received request, --payload-limit on chunked bodies, bodies without
// a length, form-encoded bodies, an access log that cannot be forged, CORS, OPTIONS and 405.
//
// The backend is a fake that can be held closed (a gate), so "in flight" is exact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve/server.hpp"
#include "server_socket.hpp"

namespace {

using namespace bert_emotion;
using namespace bert_emotion::serve;
using namespace bert_emotion::testing_support;
using nlohmann::json;
using ::testing::HasSubstr;

const std::vector<std::string> kLabels = {"anger", "joy", "optimism", "sadness"};

// [CLS] <one token for the whole text> [SEP]: enough for the HTTP layer.
class OneTokenEncoder : public TextEncoder {
 public:
  Encoding encode(std::string_view text) const override {
    Encoding e;
    for (int32_t id : {101, 1000 + static_cast<int32_t>(text.size() % 1000), 102}) {
      e.ids.push_back(id);
      e.tokens.push_back("t");
      e.offsets.push_back({0, 0});
      e.special_tokens_mask.push_back(id < 1000);
      e.type_ids.push_back(0);
      e.sequence_ids.push_back(id < 1000 ? -1 : 0);
    }
    return e;
  }
  Encoding encode_pair(std::string_view a, std::string_view) const override { return encode(a); }
};

// A backend whose batches wait while the gate is closed.
struct GatedModel {
  std::mutex mutex;
  std::condition_variable cond;
  bool open = true;
  int sleep_ms = 0;
  std::atomic<int> rows_seen{0};

  FunctionBackend backend() {
    return FunctionBackend([this](const std::vector<std::vector<int32_t>>& rows) {
      rows_seen += static_cast<int>(rows.size());
      std::unique_lock lock(mutex);
      cond.wait(lock, [&] { return open; });
      lock.unlock();
      if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
      return std::vector<std::vector<float>>(rows.size(), std::vector<float>{0.f, 1.f, 2.f, 3.f});
    });
  }
  void set_open(bool o) {
    {
      std::lock_guard lock(mutex);
      open = o;
    }
    cond.notify_all();
  }
};

struct Harness {
  GatedModel model;
  FunctionBackend backend = model.backend();
  OneTokenEncoder encoder;
  std::mutex log_mutex;
  std::vector<std::string> log;
  std::unique_ptr<Server> server;
  int port = 0;

  explicit Harness(ServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.log = [this](const std::string& line) {
      std::lock_guard lock(log_mutex);
      log.push_back(line);
    };
    server = std::make_unique<Server>(backend, encoder, ModelInfo{"fake", kLabels, false, 512}, o);
    port = server->start();
  }
  std::vector<std::string> log_lines() {
    std::lock_guard lock(log_mutex);
    return log;
  }
};

const std::string kPredict = post("/predict", R"({"inputs": "hello"})");

std::string header_of(const std::string& response, const std::string& name) {
  const std::string key = "\r\n" + name + ": ";
  const auto at = response.find(key);
  if (at == std::string::npos) return {};
  const auto end = response.find("\r\n", at + key.size());
  return response.substr(at + key.size(), end - at - key.size());
}

size_t threads_of_this_process() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoul(line.substr(8));
  return 0;
}

// Issue 19 #4: with the default worker count, the request beyond N in flight gets 429 at once
// (before any in-flight request finishes), and the N in flight still get 200.
TEST(ServerConnections, DefaultWorkersAnswer429AtOnce) {
  ServerOptions o;
  o.max_concurrent_requests = 4;
  Harness h(o);
  h.model.set_open(false);
  const int clients = 64;
  std::vector<int> status(clients, 0);
  std::vector<double> seconds(clients, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      const Exchange e = exchange(h.port, kPredict, false, 30);
      status[i] = status_of(e.response);
      seconds[i] = e.seconds;
    });
  // Every request but the N in flight is answered while the backend is still held.
  int answered = 0;
  for (int t = 0; t < 1000 && answered < clients - 4; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    answered = static_cast<int>(h.server->metrics().counter("te_request_failure", "err=\"overloaded\""));
  }
  EXPECT_EQ(answered, clients - 4) << "requests beyond --max-concurrent-requests waited instead of getting 429";
  h.model.set_open(true);
  for (auto& t : threads) t.join();
  int ok = 0, overloaded = 0;
  for (int s : status) (s == 200 ? ok : s == 429 ? overloaded : s) += 1;
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(overloaded, clients - 4);
}

// Issue 19 #4: connections beyond the workers and the wait list get a 429 and are closed at once;
// threads stay bounded however many connections arrive, and the server serves again afterwards.
TEST(ServerConnections, ConnectionFloodIsBounded) {
  ServerOptions o;
  o.max_concurrent_requests = 2;
  o.max_waiting_connections = 8;
  o.read_timeout_s = 1;
  Harness h(o);
  const size_t threads_before = threads_of_this_process();
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) fds.push_back(connect_loopback(h.port));  // connect, send nothing
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE(threads_of_this_process(), threads_before + 2 + 8) << "a thread per connection";
  int rejected = 0;
  for (int fd : fds) {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0 && status_of(std::string(buf, size_t(n))) == 429) ++rejected;
  }
  EXPECT_GE(rejected, 200 - 10 - 8 - 5) << "connections over the wait list were not answered at once";
  for (int fd : fds) ::close(fd);
  Exchange e;
  for (int i = 0; i < 50 && status_of(e.response) != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    e = exchange(h.port, kPredict, false, 5);
  }
  EXPECT_EQ(status_of(e.response), 200) << e.response;
}

// Issue 20 #5: requests received before stop() all get an answer — 200, or 503 with
// Connection: close for the ones not started — never an empty reply.
TEST(ServerConnections, StopAnswersEveryReceivedRequest) {
  ServerOptions o;
  o.max_concurrent_requests = 4;
  o.http_workers = 4;  // four connections wait for a worker when stop() comes
  Harness h(o);
  h.model.sleep_ms = 300;
  const int clients = 8;
  std::vector<std::string> responses(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] { responses[i] = exchange(h.port, kPredict, false, 30).response; });
  for (int t = 0; t < 500 && h.model.rows_seen.load() < 1; ++t)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  h.server->stop();
  for (auto& t : threads) t.join();
  int ok = 0, unavailable = 0;
  for (const std::string& r : responses) {
    if (status_of(r) == 200) ++ok;
    if (status_of(r) == 503) {
      ++unavailable;
      EXPECT_EQ(header_of(r, "Connection"), "close") << r;
    }
  }
  EXPECT_EQ(ok + unavailable, clients) << "a request got no answer";
  EXPECT_GE(ok, 4);
}

// Issue 20 #4: a chunked body is counted as it arrives and refused at --payload-limit.
TEST(ServerConnections, ChunkedBodyOverTheLimitIs413) {
  ServerOptions o;
  o.payload_limit = 64 * 1024;
  Harness h(o);
  std::string chunk = std::string(8192, ' ');
  std::string request =
      "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  request += "1\r\n{\r\n";
  for (int i = 0; i < 128; ++i) request += "2000\r\n" + chunk + "\r\n";  // 1 MiB of spaces
  request += "0\r\n\r\n";
  const Exchange e = exchange(h.port, request, false, 10);
  EXPECT_EQ(status_of(e.response), 413) << e.response.substr(0, 300);
  EXPECT_THAT(e.response, HasSubstr("--payload-limit 65536"));
  // Under the limit, a chunked body is read.
  const std::string body = R"({"inputs": "chunked"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  const Exchange small =
      exchange(h.port,
               "POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n",
               false);
  EXPECT_EQ(status_of(small.response), 200) << small.response;
  // A declared length over the limit is refused before the body is read.
  const Exchange declared =
      exchange(h.port, "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 400000000\r\n\r\n{", false, 5);
  EXPECT_EQ(status_of(declared.response), 413) << declared.response;
  EXPECT_LT(declared.seconds, 3.0);
}

// Issue 20 #6: a POST with neither Content-Length nor Transfer-Encoding has no body (RFC 9112):
// answered at once, not after the read timeout.
TEST(ServerConnections, PostWithoutLengthIsAnsweredAtOnce) {
  Harness h;
  const Exchange e = exchange(h.port, "POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, 8);
  EXPECT_EQ(status_of(e.response), 411) << e.response;
  EXPECT_THAT(e.response, HasSubstr("Content-Length"));
  EXPECT_LT(e.seconds, 2.0);
}

// Issue 20 #7: the body is JSON whatever the content type (curl -d sends form-encoded).
TEST(ServerConnections, FormEncodedBodyIsReadAsJson) {
  Harness h;
  const std::string body = json({{"inputs", std::string(20000, 'x')}}).dump();
  const std::string form =
      "POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  const Exchange f = exchange(h.port, form, false);
  EXPECT_EQ(status_of(f.response), 200) << f.response.substr(0, 300);
  EXPECT_THAT(f.response, HasSubstr("\"label\":\"sadness\""));
}

// Issue 20 #8: a decoded %0A or a quote in the URL cannot write a log line of its own.
TEST(ServerConnections, AccessLogEscapesControlCharactersAndQuotes) {
  Harness h;
  exchange(h.port,
           "GET /health%0Aaccess%20127.0.0.1%20%22GET%20/x%22%20200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           false);
  std::vector<std::string> lines;
  for (int i = 0; i < 500 && lines.empty(); ++i) {
    lines = h.log_lines();
    if (lines.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos) << lines[0];
  EXPECT_THAT(lines[0], HasSubstr("/health\\x0Aaccess 127.0.0.1 \\x22GET /x\\x22 200\" 404"));
}

// Issue 20 #9: OPTIONS answers every known path, wrong methods on known paths are 405 with Allow,
// CORS headers only when --cors-allow-origin is given (preflight needs no API key).
TEST(ServerConnections, OptionsMethodNotAllowedAndCors) {
  {
    Harness plain;
    const Exchange opt = exchange(
        plain.port, "OPTIONS /predict HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\nConnection: close\r\n\r\n",
        false);
    EXPECT_EQ(status_of(opt.response), 204) << opt.response;
    EXPECT_EQ(header_of(opt.response, "Allow"), "POST, OPTIONS");
    EXPECT_EQ(header_of(opt.response, "Access-Control-Allow-Origin"), "") << "CORS is off by default";
    const Exchange del = exchange(
        plain.port, "DELETE /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false);
    EXPECT_EQ(status_of(del.response), 405) << del.response;
    EXPECT_EQ(header_of(del.response, "Allow"), "POST, OPTIONS");
    const Exchange get = exchange(plain.port, "GET /tokenize HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false);
    EXPECT_EQ(status_of(get.response), 405) << get.response;
    EXPECT_THAT(get.response, HasSubstr("\"error_type\":\"Validation\""));
    const Exchange unknown =
        exchange(plain.port, "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false);
    EXPECT_EQ(status_of(unknown.response), 404);
  }
  ServerOptions o;
  o.cors_allow_origin = "https://a.example,https://b.example";
  o.api_key = "secret";
  Harness h(o);
  const Exchange pre = exchange(h.port,
                                "OPTIONS /predict HTTP/1.1\r\nHost: x\r\nOrigin: https://b.example\r\n"
                                "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
                                false);
  EXPECT_EQ(status_of(pre.response), 204) << pre.response;
  EXPECT_EQ(header_of(pre.response, "Access-Control-Allow-Origin"), "https://b.example");
  EXPECT_EQ(header_of(pre.response, "Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_THAT(header_of(pre.response, "Access-Control-Allow-Headers"), HasSubstr("Authorization"));
  const Exchange ok = exchange(
      h.port, post("/predict", R"({"inputs": "hi"})", "Origin: https://a.example\r\nAuthorization: Bearer secret\r\n"),
      false);
  EXPECT_EQ(status_of(ok.response), 200) << ok.response;
  EXPECT_EQ(header_of(ok.response, "Access-Control-Allow-Origin"), "https://a.example");
  const Exchange denied =
      exchange(h.port, post("/predict", R"({"inputs": "hi"})", "Origin: https://a.example\r\n"), false);
  EXPECT_EQ(status_of(denied.response), 401);
  EXPECT_EQ(header_of(denied.response, "Access-Control-Allow-Origin"), "https://a.example")
      << "the browser must see the 401";
  const Exchange other = exchange(h.port,
                                  "GET /info HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nAuthorization: "
                                  "Bearer secret\r\nConnection: close\r\n\r\n",
                                  false);
  EXPECT_EQ(header_of(other.response, "Access-Control-Allow-Origin"), "");
}

}  // namespace

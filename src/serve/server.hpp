// server.hpp — the HTTP inference server, compatible with text-embeddings-inference (TEI).
//
// Routes, with TEI's shapes (docs/SERVING.md has the details and every deviation):
//   POST /predict   {"inputs": "text" | ["a","b"] (a pair!) | [["a"],["b","c"]], "truncate": bool|null,
//                    "truncation_direction": "right"|"left", "raw_scores": bool}
//                   -> [{"score": f, "label": s}, ...] (all labels, score descending) or [[...], ...];
//                   a multi-label model adds "threshold": t, "passing": bool to each (sigmoid > t)
//   POST /tokenize  {"inputs": "text" | ["a", "b"], "add_special_tokens": bool} -> [[{id,text,special,start,stop}]]
//   GET  /health    200 empty | 503 {"error":"unhealthy","error_type":"Unhealthy"}
//   GET  /info      model, problem_type, thresholds and limits;  GET /metrics  Prometheus text (te_* names)
//   aliases as TEI: POST / and /invocations = /predict, GET / and /ping = /health
// Pipeline: an HTTP worker parses, takes a concurrency permit (none left: 429 at once), tokenizes,
// validates lengths, submits rows to the Batcher and waits; one inference thread runs packed batches
// on the Backend. stop() stops accepting, lets in-flight requests finish, then stops the batcher.
//
//   FunctionBackend backend([&](const TokenRows& rows, const TokenRows& types) { return clf->logits(rows, types); });
//   TokenizerEncoder encoder(clf->tokenizer());
//   ModelInfo info{"runs/emotion", clf->config().label_names(), clf->config().multi_label(), 512};
//   Server server(backend, encoder, info, {.port = 0});
//   int port = server.start();          // bound; serving on a background thread
//   ...
//   server.stop();                      // drains
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "serve/api_error.hpp"
#include "serve/backend.hpp"
#include "serve/batcher.hpp"
#include "serve/prometheus.hpp"
#include "serve/request.hpp"
#include "serve/text_encoder.hpp"

namespace httplib {
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace bert_emotion::serve {

class ConnectionPool;
class HttpServer;

// What the server reports about the model and uses to label scores.
struct ModelInfo {
  std::string model_id;             // /info model_id (the directory or hub id served)
  std::vector<std::string> labels;  // id order; every /predict answer lists all of them
  bool multi_label = false;         // sigmoid instead of softmax
  size_t max_input_length = 512;    // tokens, specials included: the model's limit
  // Multi-label: the decision threshold of each label id in effect (Classifier::thresholds():
  // --threshold, else the directory's thresholds.json, else 0.5); empty = 0.5 for every label.
  std::vector<float> thresholds = {};
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 = an ephemeral port (start() returns it)
  size_t max_concurrent_requests = 512;
  size_t max_batch_tokens = 16384;
  size_t max_batch_requests = 0;  // 0 = no limit besides tokens
  size_t max_client_batch_size = 32;
  size_t max_input_length = 0;       // 0 = the model's; else min(this, model's)
  bool auto_truncate = false;        // what "truncate": null / absent means
  size_t payload_limit = 2'000'000;  // bytes; larger bodies get 413
  std::string api_key;               // non-empty: require "Authorization: Bearer <key>"
  std::string served_model_name;     // empty = model_id
  int http_workers = 0;              // HTTP/tokenization threads, started on demand; 0 = max_concurrent_requests + 8
  size_t max_waiting_connections = 256;  // accepted connections waiting for a thread; beyond: 429 and closed
  std::string cors_allow_origin;         // "" = no CORS headers; "*" or a comma-separated list of origins
  int read_timeout_s = 10;
  int write_timeout_s = 10;
  int keep_alive_timeout_s = 2;  // also bounds how long stop() waits for idle keep-alive connections
  size_t keep_alive_max_count = 1000;
  bool access_log = true;
  std::function<void(const std::string&)> log;  // a line without '\n'; empty = stderr
};

class Server {
 public:
  // Throws InvalidArgument for inconsistent limits (e.g. max_input_length > max_batch_tokens).
  Server(Backend& backend, const TextEncoder& encoder, ModelInfo info, ServerOptions opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves on a background thread. Returns the bound port. Throws IoError if it cannot bind.
  int start();
  // Stops accepting, waits for in-flight requests, then stops the inference thread. Idempotent.
  void stop();

  // Every (method, path) the server answers (OPTIONS on each path too); /openapi.json lists the same.
  struct Route {
    std::string method, path;
  };
  static const std::vector<Route>& routes();

  int port() const { return port_; }
  size_t max_input_length() const { return max_input_length_; }
  const MetricsRegistry& metrics() const { return metrics_; }

 private:
  void setup_routes();
  static std::string allowed_methods(const std::string& path);  // "GET, OPTIONS"; "" = unknown path
  std::string cors_origin(const httplib::Request& req) const;
  bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 std::string& body);
  void handle_predict(const std::string& body, httplib::Response& res);
  void handle_tokenize(const std::string& body, httplib::Response& res);
  void handle_hf_classify(const std::string& body, httplib::Response& res);
  // Permit, tokenization, validation, truncation, the batcher, x-* headers and metrics: one
  // request's logits, one row per input. Throws ApiError.
  std::vector<std::vector<float>> classify(const std::vector<Sequence>& inputs, bool is_batch, bool truncate,
                                           TruncationDirection direction, httplib::Response& res,
                                           std::chrono::steady_clock::time_point start);
  // Every label (or the top k) by `scores` descending; a multi-label model's entries also carry
  // their threshold and whether sigmoid(logit) passes it, whatever `scores` are (softmax, logits).
  nlohmann::ordered_json sorted_predictions(const std::vector<float>& scores, const std::vector<float>& logits,
                                            size_t top_k) const;
  void handle_health(httplib::Response& res);
  void handle_info(httplib::Response& res) const;
  void fail(httplib::Response& res, const ApiError& e);
  void log_line(const std::string& line) const;

  Backend& backend_;
  const TextEncoder& encoder_;
  ModelInfo info_;
  ServerOptions opts_;
  size_t max_input_length_ = 0;
  int http_workers_ = 0;
  MetricsRegistry metrics_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<HttpServer> http_;
  ConnectionPool* pool_ = nullptr;  // owned by http_ (created when it listens)
  std::thread listener_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  int port_ = 0;
};

// Softmax (max subtracted) or sigmoid, TEI's choice: sigmoid for multi-label heads or one class.
std::vector<float> scores_for_response(const std::vector<float>& logits, bool multi_label);

}  // namespace bert_emotion::serve

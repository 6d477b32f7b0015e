// server.cpp — TEI-compatible routes on cpp-httplib; see server.hpp and docs/SERVING.md.
#include "serve/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "data/thresholds.hpp"
#include "serve/http_connections.hpp"
#include "serve/request.hpp"
#include "serve/truncation.hpp"
#include "serve/web_pages.hpp"
#include "util/error.hpp"

namespace bert_emotion::serve {

using ordered_json = nlohmann::ordered_json;

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kCharsPerToken = 250;  // TEI's pre-tokenization cap: max_input_length x 250 chars
constexpr const char* kJson = "application/json";
constexpr size_t kSpareWorkers = 8;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
std::string millis(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000.0)); }

// Code points of UTF-8 text (continuation bytes not counted); the text was validated by the JSON parser.
size_t count_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// A float as JSON prints it in TEI (serde f32: shortest round-trip of the float, not of the double).
double json_f32(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0.0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

// One concurrency permit; TEI's semaphore try_acquire.
class Permit {
 public:
  Permit(std::atomic<size_t>& in_flight, size_t limit) : in_flight_(in_flight) {
    size_t cur = in_flight_.load();
    while (cur < limit)
      if (in_flight_.compare_exchange_weak(cur, cur + 1)) {
        held_ = true;
        return;
      }
  }
  ~Permit() {
    if (held_) in_flight_.fetch_sub(1);
  }
  explicit operator bool() const { return held_; }

 private:
  std::atomic<size_t>& in_flight_;
  bool held_ = false;
};

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

thread_local Clock::time_point t_request_start{};

// A field of the access log as one safe token: quotes, backslashes and control bytes (a decoded
// %0A in a URL) become \xHH, so a request cannot write a line of its own.
std::string log_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's library):
// 64 clients connecting at once would see dropped SYNs and 1 s retransmits.
constexpr int kListenBacklog = 1024;

}  // namespace

std::vector<float> scores_for_response(const std::vector<float>& logits, bool multi_label) {
  std::vector<float> out(logits.size());
  if (multi_label || logits.size() == 1) {
    for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(1.0 / (1.0 + std::exp(-double(logits[i]))));
    return out;
  }
  if (logits.empty()) return out;
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(double(l) - max);
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(std::exp(double(logits[i]) - max) / sum);
  return out;
}

Server::Server(Backend& backend, const TextEncoder& encoder, ModelInfo info, ServerOptions opts)
    : backend_(backend), encoder_(encoder), info_(std::move(info)), opts_(std::move(opts)) {
  if (info_.labels.empty()) throw InvalidArgument("the model has no labels (config.json id2label): nothing to serve");
  if (opts_.max_concurrent_requests == 0) throw InvalidArgument("--max-concurrent-requests must be > 0");
  if (opts_.max_client_batch_size == 0) throw InvalidArgument("--max-client-batch-size must be > 0");
  if (opts_.payload_limit == 0) throw InvalidArgument("--payload-limit must be > 0");
  if (info_.multi_label) {
    if (info_.thresholds.empty()) info_.thresholds.assign(info_.labels.size(), 0.5f);
    if (info_.thresholds.size() != info_.labels.size())
      throw InvalidArgument(std::to_string(info_.thresholds.size()) + " thresholds for a model with " +
                            std::to_string(info_.labels.size()) + " labels");
  } else {
    info_.thresholds.clear();
  }
  max_input_length_ = info_.max_input_length;
  if (opts_.max_input_length > 0) max_input_length_ = std::min(max_input_length_, opts_.max_input_length);
  if (max_input_length_ < 3)
    throw InvalidArgument("max input length " + std::to_string(max_input_length_) +
                          " cannot hold a pair's special tokens");
  if (max_input_length_ > opts_.max_batch_tokens)
    throw InvalidArgument("--max-batch-tokens (" + std::to_string(opts_.max_batch_tokens) +
                          ") must be at least the max input length (" + std::to_string(max_input_length_) + ")");
  // Beyond the N threads that may hold permits, spare ones read requests and answer 429 at once.
  http_workers_ = opts_.http_workers > 0
                      ? opts_.http_workers
                      : static_cast<int>(std::min<size_t>(opts_.max_concurrent_requests, 4096) + kSpareWorkers);

  metrics_.add_histogram("te_request_duration", duration_buckets());
  metrics_.add_histogram("te_request_tokenization_duration", duration_buckets());
  metrics_.add_histogram("te_request_queue_duration", duration_buckets());
  metrics_.add_histogram("te_request_inference_duration", duration_buckets());
  metrics_.add_histogram("te_request_input_length", power_of_two_buckets(static_cast<double>(max_input_length_)));

  BatcherOptions bopts;
  bopts.max_batch_tokens = opts_.max_batch_tokens;
  bopts.max_batch_requests = opts_.max_batch_requests;
  // Every queued row belongs to a request holding a permit, so this bound is never the binding one.
  bopts.max_queue_rows = opts_.max_concurrent_requests * opts_.max_client_batch_size;
  batcher_ = std::make_unique<Batcher>(backend_, bopts, &metrics_);

  http_ = std::make_unique<HttpServer>();
  setup_routes();
}

Server::~Server() { stop(); }

void Server::log_line(const std::string& line) const {
  if (opts_.log) opts_.log(line);
  else std::fprintf(stderr, "%s\n", line.c_str());  // one call per line: lines from threads do not interleave
}

void Server::fail(httplib::Response& res, const ApiError& e) {
  const std::string label = e.metric_label.empty() ? std::string(error_metric_label(e.type)) : e.metric_label;
  metrics_.increment("te_request_failure", "err=\"" + label + "\"");
  res.status = http_status(e.type);
  res.set_content(error_body(e), kJson);
}

const std::vector<Server::Route>& Server::routes() {
  static const std::vector<Route> table = {
      {"POST", "/predict"},     {"POST", "/"},
      {"POST", "/invocations"}, {"POST", "/tokenize"},
      {"GET", "/health"},       {"GET", "/"},
      {"GET", "/ping"},         {"GET", "/info"},
      {"GET", "/metrics"},      {"POST", "/pipeline/text-classification"},
      {"GET", "/openapi.json"}, {"GET", "/docs"},
  };
  return table;
}

std::string Server::allowed_methods(const std::string& path) {
  std::string allow;
  for (const Route& r : routes())
    if (path == r.path && allow.find(r.method) == std::string::npos) allow += r.method + std::string(", ");
  return allow.empty() ? allow : allow + "OPTIONS";
}

// The Access-Control-Allow-Origin value for this request, or "" (CORS off, or an origin not listed).
std::string Server::cors_origin(const httplib::Request& req) const {
  if (opts_.cors_allow_origin.empty()) return {};
  if (opts_.cors_allow_origin == "*") return "*";
  std::string origin = req.get_header_value("Origin");  // not const: returned by move
  size_t begin = 0;
  while (begin <= opts_.cors_allow_origin.size()) {
    size_t end = opts_.cors_allow_origin.find(',', begin);
    if (end == std::string::npos) end = opts_.cors_allow_origin.size();
    if (!origin.empty() && opts_.cors_allow_origin.compare(begin, end - begin, origin) == 0) return origin;
    begin = end + 1;
  }
  return {};
}

// Reads a POST body ourselves, whatever its content type (httplib would parse form-encoded bodies
// and cap them at 8 KiB) and whatever its framing: bytes are counted as they arrive, so a chunked
// body stops at --payload-limit too. False: `res` holds the error answer.
bool Server::read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                       std::string& body) {
  auto refuse = [&](int status, const std::string& message) {
    metrics_.increment("te_request_failure", "err=\"validation\"");
    res.status = status;
    res.set_content(error_body(ErrorType::Validation, message), kJson);
    close_after_response(res);  // the rest of the body stays unread
    return false;
  };
  const std::string too_large =
      "payload too large: the body exceeds --payload-limit " + std::to_string(opts_.payload_limit) + " bytes";
  if (req.is_multipart_form_data())
    return refuse(415, "multipart/form-data bodies are not read: send the JSON document as the body");
  if (req.has_header("Content-Length")) {
    const std::string cl = req.get_header_value("Content-Length");
    unsigned long long n = 0;
    const auto r = std::from_chars(cl.data(), cl.data() + cl.size(), n);
    if (r.ec == std::errc() && r.ptr == cl.data() + cl.size() && n > opts_.payload_limit) return refuse(413, too_large);
  }
  bool over = false;
  const bool ok = reader([&](const char* data, size_t n) {
    if (body.size() + n > opts_.payload_limit) {
      over = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (over || res.status == 413) return refuse(413, too_large);
  if (!ok) return refuse(400, "could not read the request body (bad chunked encoding, or the client stopped sending)");
  return true;
}

void Server::setup_routes() {
  HttpServer& svr = *http_;
  svr.new_task_queue = [this] {
    pool_ = new ConnectionPool(static_cast<size_t>(http_workers_), opts_.max_waiting_connections);
    return pool_;
  };
  const std::string overloaded = error_body(ErrorType::Overloaded, "Model is overloaded: too many connections");
  svr.set_policy({&pool_, &stopping_, opts_.payload_limit + 65536,
                  "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(overloaded.size()) + "\r\nConnection: close\r\n\r\n" + overloaded});
  svr.set_payload_max_length(opts_.payload_limit);
  svr.set_read_timeout(opts_.read_timeout_s, 0);
  svr.set_write_timeout(opts_.write_timeout_s, 0);
  svr.set_keep_alive_timeout(opts_.keep_alive_timeout_s);
  svr.set_keep_alive_max_count(opts_.keep_alive_max_count);
  svr.set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind the same port and
  // silently share its traffic; keep SO_REUSEADDR only, so a busy port is an error.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof yes);
  });

  using HR = httplib::Server::HandlerResponse;
  svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    if (const std::string origin = cors_origin(req); !origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", origin);
      if (origin != "*") res.set_header("Vary", "Origin");
    }
    if (stopping_) {  // accepted or read after stop(): answered, never dropped
      res.status = 503;
      res.set_content(error_body(ErrorType::Unhealthy, "the server is shutting down"), kJson);
      close_after_response(res);
      return HR::Handled;
    }
    if (req.method == "OPTIONS") {  // CORS preflight and plain OPTIONS; no API key, as browsers send none
      const std::string allow = allowed_methods(req.path);
      if (allow.empty()) return HR::Unhandled;  // 404
      res.status = 204;
      res.set_header("Allow", allow);
      if (res.has_header("Access-Control-Allow-Origin")) {
        res.set_header("Access-Control-Allow-Methods", allow);
        res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization");
        res.set_header("Access-Control-Max-Age", "600");
      }
      return HR::Handled;
    }
    // HTTP/1.1: no Content-Length and no Transfer-Encoding means no body. httplib would instead read
    // until the client closes (the read timeout); answer at once.
    if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH") && !req.has_header("Content-Length") &&
        !req.has_header("Transfer-Encoding")) {
      res.status = 411;
      res.set_content(
          error_body(ErrorType::Validation,
                     "a " + req.method + " needs a body with Content-Length (or chunked Transfer-Encoding)"),
          kJson);
      return HR::Handled;
    }
    if (opts_.api_key.empty()) return HR::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    if (constant_time_equal(auth, "Bearer " + opts_.api_key)) return HR::Unhandled;
    res.status = 401;
    res.set_content(
        error_body(ErrorType::Unauthorized, "missing or invalid API key (expected `Authorization: Bearer <key>`)"),
        kJson);
    return HR::Handled;
  });
  // Errors httplib answers by itself (413 payload limit, 404 unknown route, 400 bad request line)
  // get TEI's JSON shape too; answers our handlers already filled are left alone.
  svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                    httplib::Response& res) {
    if (!res.body.empty()) return HR::Unhandled;
    std::string message;
    if (res.status == 404 && !allowed_methods(req.path).empty()) {
      res.status = 405;
      res.set_header("Allow", allowed_methods(req.path));
    }
    if (res.status == 413)
      message = "payload too large: the body exceeds --payload-limit " + std::to_string(opts_.payload_limit) + " bytes";
    else if (res.status == 404) message = "no route for " + req.method + " " + req.path;
    else if (res.status == 405)
      message = req.method + " is not allowed on " + req.path + " (allowed: " + allowed_methods(req.path) + ")";
    else if (res.status == 400)
      message = "malformed HTTP request (or a request line / header over cpp-httplib's 8 KiB limit)";
    else message = "HTTP error " + std::to_string(res.status);
    res.set_content(error_body(ErrorType::Validation, message), kJson);
    return HR::Handled;
  }));
  svr.set_exception_handler([this](const httplib::Request&, httplib::Response& res, const std::exception_ptr& ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(error_body(ErrorType::Backend, what), kJson);
  });
  if (opts_.access_log) {
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      char ms[32] = "-";
      if (t_request_start != Clock::time_point{})
        std::snprintf(ms, sizeof ms, "%.1fms", seconds_since(t_request_start) * 1e3);
      t_request_start = {};
      log_line("access " + log_escape(req.remote_addr) + " \"" + log_escape(req.method) + " " + log_escape(req.path) +
               "\" " + std::to_string(res.status) + " " + std::to_string(res.body.size()) + "B " + ms);
    });
  }

  // Every registration must be in routes() (what /openapi.json documents): a route added here but
  // not there fails at construction, in every test.
  auto check = [](const char* method, const char* path) {
    for (const Route& r : routes())
      if (r.method == method && r.path == path) return path;
    throw InvalidArgument(std::string("route ") + method + " " + path + " is not in Server::routes()");
  };
  // POST routes read their body through a content reader (read_body); the rest are plain.
  using BodyHandler = void (Server::*)(const std::string&, httplib::Response&);
  auto post = [&](const char* path, BodyHandler h) {
    svr.Post(check("POST", path),
             [this, h](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
               std::string body;
               if (read_body(req, res, reader, body)) (this->*h)(body, res);
             });
  };
  auto get = [&](const char* path, httplib::Server::Handler h) { svr.Get(check("GET", path), std::move(h)); };
  auto health = [this](const httplib::Request&, httplib::Response& res) { handle_health(res); };
  post("/predict", &Server::handle_predict);
  post("/", &Server::handle_predict);             // TEI: default route of a classifier
  post("/invocations", &Server::handle_predict);  // TEI: SageMaker
  post("/tokenize", &Server::handle_tokenize);
  post("/pipeline/text-classification", &Server::handle_hf_classify);  // Hugging Face's Inference API shape
  get("/health", health);
  get("/ping", health);
  // A browser gets the page; health checkers (no text/html in Accept) get TEI's GET / = /health.
  get("/", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Accept").find("text/html") == std::string::npos) return handle_health(res);
    res.set_content(std::string(index_page()), "text/html; charset=utf-8");
  });
  get("/docs", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(docs_page()), "text/html; charset=utf-8");
  });
  get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi_document(BERT_EMOTION_VERSION), kJson);
  });
  get("/info", [this](const httplib::Request&, httplib::Response& res) { handle_info(res); });
  get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });
}

std::vector<std::vector<float>> Server::classify(const std::vector<Sequence>& inputs, bool is_batch, bool truncate,
                                                 TruncationDirection direction, httplib::Response& res,
                                                 Clock::time_point start) {
  Permit permit(in_flight_, opts_.max_concurrent_requests);
  if (!permit) throw ApiError(ErrorType::Overloaded, "Model is overloaded");

  // Tokenize on this HTTP thread (TEI: tokenization workers), validate, then queue.
  const size_t n = inputs.size();
  TokenRows rows, type_rows;
  rows.reserve(n);
  type_rows.reserve(n);
  size_t chars = 0, tokens = 0, truncated = 0;
  const size_t max_chars = max_input_length_ * kCharsPerToken;
  for (size_t i = 0; i < n; ++i) {
    const Sequence& s = inputs[i];
    const std::string where = is_batch ? "`inputs`[" + std::to_string(i).append("]") : "`inputs`";
    const size_t c = count_chars(s.first) + (s.second ? count_chars(*s.second) : 0);
    if (c > max_chars)
      throw ApiError(ErrorType::Validation, where + " must have less than " + std::to_string(max_chars) +
                                                " characters. Given: " + std::to_string(c));
    chars += c;
    Encoding e;
    try {
      e = s.second ? encoder_.encode_pair(s.first, *s.second) : encoder_.encode(s.first);
    } catch (const Error& err) {
      throw ApiError(ErrorType::Tokenizer, where + ": " + err.what());
    }
    if (e.ids.size() > max_input_length_) {
      if (!truncate)
        throw ApiError(ErrorType::Validation, where + " must have less than " + std::to_string(max_input_length_) +
                                                  " tokens. Given: " + std::to_string(e.ids.size()));
      truncate_encoding(e, max_input_length_, direction);
      ++truncated;
    }
    metrics_.observe("te_request_input_length", static_cast<double>(e.ids.size()));
    tokens += e.ids.size();
    type_rows.emplace_back(e.type_ids.begin(), e.type_ids.end());
    if (type_rows.back().size() != e.ids.size()) type_rows.back().assign(e.ids.size(), 0);  // an encoder without types
    rows.push_back(std::move(e.ids));
  }
  const double tokenization = seconds_since(start);

  auto futures = batcher_->submit(std::move(rows), std::move(type_rows));
  std::vector<RowResult> results;
  results.reserve(n);
  for (auto& f : futures) results.push_back(f.get());  // every row finishes before the permit is released

  double queue = 0.0, inference = 0.0;
  std::vector<std::vector<float>> logits;
  logits.reserve(n);
  for (RowResult& r : results) {
    if (!r.ok()) throw ApiError(ErrorType::Backend, r.error);
    if (r.logits.size() != info_.labels.size())
      throw ApiError(ErrorType::Backend, "the backend returned " + std::to_string(r.logits.size()) +
                                             " scores for a model with " + std::to_string(info_.labels.size()) +
                                             " labels");
    for (float l : r.logits)
      if (std::isnan(l)) throw ApiError(ErrorType::Backend, "score is NaN");
    queue += r.queue_seconds;
    inference += r.inference_seconds;
    logits.push_back(std::move(r.logits));
  }

  const double total = seconds_since(start);
  const double rows_n = static_cast<double>(n);
  // TEI reports a batch's per-stage times as the mean over its inputs.
  res.set_header("x-compute-type", "cpu");
  res.set_header("x-compute-time", millis(total));
  res.set_header("x-compute-characters", std::to_string(chars));
  res.set_header("x-compute-tokens", std::to_string(tokens));
  res.set_header("x-total-time", millis(total));
  res.set_header("x-tokenization-time", millis(tokenization / rows_n));
  res.set_header("x-queue-time", millis(queue / rows_n));
  res.set_header("x-inference-time", millis(inference / rows_n));
  if (truncated > 0) res.set_header("x-truncated", "true");
  metrics_.increment("te_request_success", "method=\"predict\"");
  metrics_.observe("te_request_duration", total);
  metrics_.observe("te_request_tokenization_duration", tokenization / rows_n);
  metrics_.observe("te_request_queue_duration", queue / rows_n);
  metrics_.observe("te_request_inference_duration", inference / rows_n);
  return logits;
}

// [{"score", "label"}, ...] for every label (or the top k), score descending, ties in label order;
// multi-label entries add "threshold" and "passing" (TEI's clients read score and label only).
ordered_json Server::sorted_predictions(const std::vector<float>& scores, const std::vector<float>& logits,
                                        size_t top_k) const {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<bool> passing(scores.size(), false);
  if (info_.multi_label)
    for (int id : passing_labels(scores_for_response(logits, true), info_.thresholds))
      passing[static_cast<size_t>(id)] = true;
  ordered_json predictions = ordered_json::array();
  for (size_t i = 0; i < std::min(top_k, order.size()); ++i) {
    const size_t id = order[i];
    ordered_json p = {{"score", json_f32(scores[id])}, {"label", info_.labels[id]}};
    if (info_.multi_label) {
      p["threshold"] = json_f32(info_.thresholds[id]);
      p["passing"] = static_cast<bool>(passing[id]);
    }
    predictions.push_back(std::move(p));
  }
  return predictions;
}

void Server::handle_predict(const std::string& body_text, httplib::Response& res) {
  const auto start = Clock::now();
  metrics_.increment("te_request_count", "method=\"predict\"");
  try {
    const PredictRequest pr = parse_predict_request(body_text, opts_.max_client_batch_size);
    const auto logits = classify(pr.inputs, pr.is_batch, pr.truncate.value_or(opts_.auto_truncate),
                                 pr.truncation_direction, res, start);
    ordered_json body = ordered_json::array();
    for (const auto& l : logits) {
      ordered_json predictions =
          sorted_predictions(pr.raw_scores ? l : scores_for_response(l, info_.multi_label), l, l.size());
      if (!pr.is_batch) body = std::move(predictions);
      else body.push_back(std::move(predictions));
    }
    res.set_content(body.dump(-1, ' ', false, ordered_json::error_handler_t::replace), kJson);
  } catch (const ApiError& e) {
    fail(res, e);
  } catch (const std::exception& e) {
    fail(res, ApiError(ErrorType::Backend, e.what()));
  }
}

// Hugging Face's Inference API shape (request.hpp): always one list per input, top_k, and the
// pipeline's function_to_apply ("default" = TEI's rule: sigmoid for multi-label or one class).
void Server::handle_hf_classify(const std::string& body_text, httplib::Response& res) {
  const auto start = Clock::now();
  metrics_.increment("te_request_count", "method=\"predict\"");
  try {
    const HfClassifyRequest hr = parse_hf_classify_request(body_text, opts_.max_client_batch_size);
    const auto logits =
        classify(hr.inputs, hr.inputs.size() > 1, opts_.auto_truncate, TruncationDirection::Right, res, start);
    ordered_json body = ordered_json::array();
    for (const auto& l : logits) {
      std::vector<float> scores;
      switch (hr.function) {
        case ScoreFunction::Default: scores = scores_for_response(l, info_.multi_label); break;
        case ScoreFunction::Softmax: scores = scores_for_response(l, false); break;
        case ScoreFunction::Sigmoid: scores = scores_for_response(l, true); break;
        case ScoreFunction::None: scores = l; break;
      }
      // A one-label head under softmax: scores_for_response's TEI rule would give a sigmoid.
      if (hr.function == ScoreFunction::Softmax && l.size() == 1) scores = {1.0f};
      body.push_back(sorted_predictions(scores, l, hr.top_k.value_or(l.size())));
    }
    res.set_content(body.dump(-1, ' ', false, ordered_json::error_handler_t::replace), kJson);
  } catch (const ApiError& e) {
    fail(res, e);
  } catch (const std::exception& e) {
    fail(res, ApiError(ErrorType::Backend, e.what()));
  }
}

void Server::handle_tokenize(const std::string& body_text, httplib::Response& res) {
  try {
    const TokenizeRequest tr = parse_tokenize_request(body_text, opts_.max_client_batch_size);
    const size_t max_chars = max_input_length_ * kCharsPerToken;
    ordered_json body = ordered_json::array();
    for (size_t i = 0; i < tr.inputs.size(); ++i) {
      const std::string& text = tr.inputs[i];
      const size_t c = count_chars(text);
      if (c > max_chars)
        throw ApiError(ErrorType::Validation, "`inputs` must have less than " + std::to_string(max_chars) +
                                                  " characters. Given: " + std::to_string(c));
      Encoding e;
      try {
        e = encoder_.encode(text);
      } catch (const Error& err) {
        throw ApiError(ErrorType::Tokenizer, err.what());
      }
      // TEI reports start/stop in characters (code points); the tokenizer gives byte offsets.
      // char_at[b] counts the lead bytes before byte b: the code-point index of the character
      // starting there (the character count when b == size).
      std::vector<size_t> char_at(text.size() + 1, 0);
      for (size_t b = 0, chars = 0; b <= text.size(); ++b) {
        char_at[b] = chars;
        if (b < text.size() && (static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) ++chars;
      }
      ordered_json tokens = ordered_json::array();
      for (size_t k = 0; k < e.ids.size(); ++k) {
        const bool special = k < e.special_tokens_mask.size() && e.special_tokens_mask[k] != 0;
        if (special && !tr.add_special_tokens) continue;
        ordered_json t;
        t["id"] = e.ids[k];
        if (special || k >= e.offsets.size()) {
          t["text"] = k < e.tokens.size() ? e.tokens[k] : std::string();
          t["special"] = special;
          t["start"] = nullptr;
          t["stop"] = nullptr;
        } else {
          const size_t begin = std::min<size_t>(e.offsets[k].first, text.size());
          const size_t end = std::clamp<size_t>(e.offsets[k].second, begin, text.size());
          t["text"] = text.substr(begin, end - begin);
          t["special"] = false;
          t["start"] = char_at[begin];
          t["stop"] = char_at[end];
        }
        tokens.push_back(std::move(t));
      }
      body.push_back(std::move(tokens));
    }
    res.set_content(body.dump(-1, ' ', false, ordered_json::error_handler_t::replace), kJson);
  } catch (const ApiError& e) {
    fail(res, e);
  } catch (const std::exception& e) {
    fail(res, ApiError(ErrorType::Tokenizer, e.what()));
  }
}

void Server::handle_health(httplib::Response& res) {
  bool healthy = !stopping_.load();
  if (healthy) {
    try {
      healthy = backend_.health();
    } catch (const std::exception&) {
      healthy = false;
    }
  }
  if (healthy) {
    res.status = 200;
    return;
  }
  res.status = 503;
  res.set_content(error_body(ErrorType::Unhealthy, "unhealthy"), kJson);
}

void Server::handle_info(httplib::Response& res) const {
  ordered_json id2label = ordered_json::object(), label2id = ordered_json::object();
  for (size_t i = 0; i < info_.labels.size(); ++i) {
    id2label[std::to_string(i)] = info_.labels[i];
    label2id[info_.labels[i]] = i;
  }
  ordered_json j;
  j["model_id"] = info_.model_id;
  j["model_sha"] = nullptr;
  j["model_dtype"] = "float32";
  j["served_model_name"] = opts_.served_model_name.empty() ? info_.model_id : opts_.served_model_name;
  j["model_type"] = {{"classifier", {{"id2label", id2label}, {"label2id", label2id}}}};
  // Added to TEI's fields: how scores are made and, multi-label, each label's decision threshold.
  j["problem_type"] = info_.multi_label ? "multi_label_classification" : "single_label_classification";
  ordered_json thresholds = nullptr;
  if (info_.multi_label) {
    thresholds = ordered_json::object();
    for (size_t i = 0; i < info_.labels.size(); ++i) thresholds[info_.labels[i]] = json_f32(info_.thresholds[i]);
  }
  j["thresholds"] = thresholds;
  j["max_concurrent_requests"] = opts_.max_concurrent_requests;
  j["max_input_length"] = max_input_length_;
  j["max_batch_tokens"] = opts_.max_batch_tokens;
  j["max_batch_requests"] = opts_.max_batch_requests ? ordered_json(opts_.max_batch_requests) : ordered_json(nullptr);
  j["max_client_batch_size"] = opts_.max_client_batch_size;
  j["auto_truncate"] = opts_.auto_truncate;
  j["tokenization_workers"] = http_workers_;
  j["version"] = BERT_EMOTION_VERSION;
  j["sha"] = nullptr;
  j["docker_label"] = nullptr;
  res.set_content(j.dump(-1, ' ', false, ordered_json::error_handler_t::replace), kJson);
}

int Server::start() {
  if (listener_.joinable()) throw InvalidArgument("server already started");
  const int port = opts_.port == 0 ? http_->bind_to_any_port(opts_.host)
                                   : (http_->bind_to_port(opts_.host, opts_.port) ? opts_.port : -1);
  if (port < 0)
    throw IoError("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) +
                  " (address in use, not a local address, or no permission)");
  port_ = port;
  http_->raise_backlog(kListenBacklog);
  listener_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so do not return before it does.
  for (int i = 0; i < 5000 && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port_;
}

void Server::stop() {
  if (stopped_.exchange(true)) return;
  stopping_ = true;  // every request read from now on is answered 503 with Connection: close
  // Connections the kernel accepted before now carry requests sent before the stop: let the accept
  // loop take them (they get the 503) before closing the listening socket would reset them.
  for (int i = 0; i < 500 && http_ && listener_.joinable() && http_->backlog_length() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (http_) http_->stop();
  if (listener_.joinable()) listener_.join();  // httplib's pool finishes every in-flight request first
  if (batcher_) batcher_->stop();
}

}  // namespace bert_emotion::serve

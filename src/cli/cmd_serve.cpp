// cmd_serve.cpp — `bert-emotion serve --model DIR [--host 127.0.0.1] [--port 8080] ...`.
//
// Loads the classifier once, starts the TEI-compatible HTTP server (src/serve/server.hpp) and
// prints "listening on http://HOST:PORT" on stdout (port 0 = an ephemeral port, so scripts read
// the real one there). SIGINT / SIGTERM stop accepting connections, let in-flight requests finish
// and exit 0. Signals are blocked in every thread and taken synchronously with sigwait() by the
// main thread, so no work happens inside a signal handler.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "api/classifier.hpp"
#include "cli/command.hpp"
#include "hub/hub.hpp"
#include "serve/server.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {
namespace {

struct ServeOptions {
  std::string model;
  serve::ServerOptions server;
  int threads = 0;
  std::string dtype = "auto";
  double threshold = -1;  // multi-label: < 0 = thresholds.json, else 0.5
  bool no_access_log = false;
};

int run_serve(const ServeOptions& o) {
  // Block before any thread exists (OpenMP's pool, httplib's workers) so that all inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto dir = resolve_model_path(o.model, cli_hub_options());
  ClassifierOptions copts;
  copts.threads = o.threads;
  copts.dtype = o.dtype;
  copts.threshold = static_cast<float>(o.threshold);
  auto clf = Classifier::load(dir, copts);
  const ModelConfig& cfg = clf->config();
  const Tokenizer& tok = clf->tokenizer();

  serve::ModelInfo info;
  info.model_id = o.model;
  info.labels = cfg.label_names();
  info.multi_label = cfg.multi_label();
  info.thresholds = clf->thresholds();
  info.max_input_length = static_cast<size_t>(cfg.max_tokens());
  if (tok.model_max_length() > 0) info.max_input_length = std::min(info.max_input_length, tok.model_max_length());

  // Health = a 2-token forward pass that must give finite logits (TEI asks the backend too).
  const std::vector<std::vector<int32_t>> probe = {{tok.cls_id(), tok.sep_id()}};
  serve::FunctionBackend backend(
      [&clf](const serve::TokenRows& rows, const serve::TokenRows& types) { return clf->logits(rows, types); },
      [&clf, &probe] {
        const auto l = clf->logits(probe);
        return l.size() == 1 && std::all_of(l[0].begin(), l[0].end(), [](float v) { return std::isfinite(v); });
      });
  serve::TokenizerEncoder encoder(tok);

  serve::ServerOptions sopts = o.server;
  sopts.access_log = !o.no_access_log;
  serve::Server server(backend, encoder, info, sopts);
  const int port = server.start();
  std::cerr << "serving " << o.model << " (" << info.labels.size() << " labels, max input length "
            << server.max_input_length() << " tokens, max batch tokens " << sopts.max_batch_tokens << ")\n";
  // An IPv6 literal needs brackets in a URL (RFC 3986): http://[::1]:8080
  const bool ipv6 = sopts.host.find(':') != std::string::npos;
  std::cout << "listening on http://" << (ipv6 ? "[" + sopts.host + "]" : sopts.host) << ":" << port << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "received " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << ": no longer accepting connections, finishing in-flight requests\n";
  server.stop();
  std::cerr << "server stopped\n";
  return kExitOk;
}

Registrar reg("serve", [](CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* sub = app.add_subcommand(
      "serve",
      "Serve a classifier over HTTP (text-embeddings-inference API: /predict, /health, /info, /metrics, /tokenize)");
  auto& s = o->server;
  sub->add_option("--model,-m", o->model, "Model directory or hub id")->required();
  sub->add_option("--host", s.host, "Address to bind (default loopback; 0.0.0.0 = every interface)")
      ->capture_default_str();
  sub->add_option("--port,-p", s.port, "TCP port; 0 = any free port (printed on stdout)")
      ->capture_default_str()
      ->check(IntRange(0, 65535));
  sub->add_option("--max-concurrent-requests", s.max_concurrent_requests,
                  "Requests in progress at once; more are answered 429 at once")
      ->capture_default_str()
      ->check(AtLeast(1));
  sub->add_option("--max-batch-tokens", s.max_batch_tokens, "Tokens per inference batch (rows are packed, no padding)")
      ->capture_default_str()
      ->check(AtLeast(1));
  sub->add_option("--max-batch-requests", s.max_batch_requests, "Rows per inference batch (0 = only the token budget)")
      ->capture_default_str()
      ->check(AtLeast(0));
  sub->add_option("--max-client-batch-size", s.max_client_batch_size, "Inputs per HTTP request")
      ->capture_default_str()
      ->check(AtLeast(1));
  sub->add_option("--max-input-length", s.max_input_length,
                  "Tokens per input, specials included (0 = the model's maximum)")
      ->capture_default_str()
      ->check(AtLeast(0));
  sub->add_flag("--auto-truncate", s.auto_truncate,
                "Truncate long inputs when a request leaves `truncate` unset or null");
  sub->add_option("--payload-limit", s.payload_limit, "Largest request body in bytes (larger: 413)")
      ->capture_default_str()
      ->check(AtLeast(1));
  sub->add_option("--api-key", s.api_key, "Require `Authorization: Bearer KEY` on every route")
      ->envname("BERT_EMOTION_API_KEY");
  add_threads_option(sub, o->threads, "OpenMP threads of the inference thread (0 = OpenMP's default)");
  add_dtype_option(sub, o->dtype);
  sub->add_option("--threshold", o->threshold,
                  "Multi-label: one threshold for every label (default: the model's thresholds.json, else 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--http-workers", s.http_workers,
                  "HTTP/tokenization threads, started on demand (0 = max-concurrent-requests + 8; the 8 spare answer "
                  "429 at once)")
      ->capture_default_str()
      ->check(AtLeast(0));
  sub->add_option("--keep-alive-timeout", s.keep_alive_timeout_s,
                  "Seconds an idle connection is kept open (shutdown waits this long for idle ones)")
      ->capture_default_str()
      ->check(IntRange(1, 3600));
  sub->add_option("--cors-allow-origin", s.cors_allow_origin,
                  "Answer browsers from these origins: `*` or a comma-separated list (default: no CORS headers)");
  sub->add_option("--served-model-name", s.served_model_name, "Name reported by /info (default: --model)");
  sub->add_flag("--no-access-log", o->no_access_log, "Do not log one line per request on stderr");
  return std::function<int()>([o] { return run_serve(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli

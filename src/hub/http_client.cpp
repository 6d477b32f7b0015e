// http_client.cpp — libcurl easy handles for HEAD / GET, with Range resume and a progress bar.
#include "hub/http_client.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "util/error.hpp"

namespace bert_emotion {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string to_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

// Everything one transfer's callbacks share.
struct Transfer {
  HttpResponse response;
  long current_status = 0;  // status line of the response being received (redirects reset it)
  // File output (GET to file).
  int fd = -1;
  uint64_t resume_from = 0;
  bool restarted = false;  // server ignored Range: file truncated, writing from 0
  // String output.
  size_t max_bytes = 0;
  bool to_string = false;
  std::string write_error;  // set when writing to the file failed (aborts the transfer)
  // Progress.
  bool progress = false;
  std::string label;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw{};
  bool drew = false;
  bool drew_done = false;  // the 100% line is drawn once
};

size_t on_header(char* data, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nitems;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (first, or after a redirect / 100-continue): headers start afresh.
    t->response.headers.clear();
    size_t sp = line.find(' ');
    t->current_status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    return n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos)
    t->response.headers[to_lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  return n;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

size_t on_body(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  bool ok_status = t->current_status == 200 || t->current_status == 206;
  if (t->to_string || !ok_status) {
    // Error bodies are kept (capped) for the message; they never reach the file.
    size_t cap = t->to_string && ok_status ? t->max_bytes : 64 * 1024;
    if (t->response.body.size() + n > cap) {
      if (t->to_string && ok_status) return 0;  // too large: abort
      return n;
    }
    t->response.body.append(data, n);
    return n;
  }
  if (t->current_status == 200 && t->resume_from > 0 && !t->restarted) {
    // We asked for a range and got the whole body: start the file over.
    if (::ftruncate(t->fd, 0) != 0 || ::lseek(t->fd, 0, SEEK_SET) != 0) {
      t->write_error = std::strerror(errno);
      return 0;
    }
    t->restarted = true;
    t->resume_from = 0;
  }
  if (!write_all(t->fd, data, n)) {
    t->write_error = std::strerror(errno);
    return 0;
  }
  t->response.bytes_written += n;
  return n;
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else if (b >= 1e3) std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->progress) return 0;
  auto now = std::chrono::steady_clock::now();
  bool done = dltotal > 0 && dlnow >= dltotal;
  if (done ? t->drew_done : now - t->last_draw < std::chrono::milliseconds(200)) return 0;
  t->drew_done = done;
  t->last_draw = now;
  double have = double(t->resume_from) + double(dlnow);
  double total = dltotal > 0 ? double(t->resume_from) + double(dltotal) : 0.0;
  double secs = std::chrono::duration<double>(now - t->started).count();
  double rate = secs > 0 ? double(dlnow) / secs : 0.0;
  char bar[31];
  int filled = total > 0 ? int(30.0 * have / total) : 0;
  for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '#' : '.';
  bar[30] = 0;
  if (total > 0)
    std::fprintf(stderr, "\r%-24.24s [%s] %3.0f%% %s / %s  %s/s   ", t->label.c_str(), bar, 100.0 * have / total,
                 human_bytes(have).c_str(), human_bytes(total).c_str(), human_bytes(rate).c_str());
  else
    std::fprintf(stderr, "\r%-24.24s %s  %s/s   ", t->label.c_str(), human_bytes(have).c_str(),
                 human_bytes(rate).c_str());
  t->drew = true;
  return 0;
}

using CurlHandle = std::unique_ptr<CURL, void (*)(CURL*)>;
using HeaderList = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

// Runs one transfer; throws NetworkError on transport failure.
HttpResponse perform(const HttpRequest& req, Transfer& t, bool head, bool follow) {
  global_init_once();
  CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw NetworkError("cannot create a libcurl handle for " + req.url);
  HeaderList headers(nullptr, &curl_slist_free_all);
  for (const auto& h : req.headers) headers.reset(curl_slist_append(headers.release(), h.c_str()));
  std::string range;
  if (!head && t.fd >= 0 && t.resume_from > 0) range = std::to_string(t.resume_from) + "-";
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "bert-emotion/" BERT_EMOTION_VERSION);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!range.empty()) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  if (t.progress) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  }
  CURLcode rc = curl_easy_perform(c);
  if (t.drew) std::fprintf(stderr, "\n");
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  t.response.status = status;
  t.response.effective_url = effective ? effective : req.url;
  if (!t.write_error.empty()) throw IoError("writing the download of " + req.url + " failed: " + t.write_error);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    throw NetworkError(
        (head ? "HEAD " : "GET ") + req.url + " failed: " + why +
        (t.response.bytes_written ? " (after " + std::to_string(t.response.bytes_written) + " bytes)" : ""));
  }
  return std::move(t.response);
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse http_head(const HttpRequest& req) {
  Transfer t;
  return perform(req, t, /*head=*/true, /*follow=*/false);
}

HttpResponse http_get_to_string(const HttpRequest& req, size_t max_bytes) {
  Transfer t;
  t.to_string = true;
  t.max_bytes = max_bytes;
  return perform(req, t, /*head=*/false, /*follow=*/true);
}

HttpResponse http_get_to_file(const HttpRequest& req, int fd, uint64_t resume_from, const std::string& label,
                              bool progress) {
  Transfer t;
  t.fd = fd;
  t.resume_from = resume_from;
  t.label = label;
  t.progress = progress && ::isatty(STDERR_FILENO);
  return perform(req, t, /*head=*/false, /*follow=*/true);
}

std::string url_quote(const std::string& s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace bert_emotion

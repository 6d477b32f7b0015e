// http_client.hpp — the few HTTP transfers the hub code needs, on libcurl.
//
// http_head(): one request, redirects not followed, so the hub's own headers (X-Repo-Commit,
// X-Linked-Etag, X-Linked-Size, Location) are visible. http_get_to_file(): a GET that follows
// redirects and appends the body to an open file from `resume_from` on, sending
// "Range: bytes=<resume_from>-" (a server that answers 200 instead of 206 restarts the file).
// http_get_to_string(): small files (dataset texts). HTTP error statuses are returned, not thrown;
// transport failures (refused, reset, timeout, a body cut short) throw NetworkError naming the URL.
//
//   HttpRequest req{.url = url, .headers = {"Authorization: Bearer " + token}};
//   HttpResponse head = http_head(req);
//   std::string commit = head.header("x-repo-commit");
//   HttpResponse got = http_get_to_file(req, fd, 0, "model.safetensors", /*progress=*/true);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bert_emotion {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  long connect_timeout_s = 15;
  long stall_timeout_s = 60;  // abort when no byte arrives for this long
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the final response, names lower-cased
  std::string body;                            // http_get_to_string, and error bodies (capped)
  std::string effective_url;                   // after redirects
  uint64_t bytes_written = 0;                  // http_get_to_file: body bytes appended this call

  // The header's value, or "" when absent. `name` is lower-case.
  std::string header(const std::string& name) const;
};

HttpResponse http_head(const HttpRequest& req);
HttpResponse http_get_to_string(const HttpRequest& req, size_t max_bytes = size_t(1) << 30);

// Appends a 200/206 body to `fd` (positioned by the caller at `resume_from`); truncates the file
// and starts over if the server ignores the Range. `label` names the file on the progress bar,
// drawn on stderr only when `progress` is set and stderr is a terminal. Bodies of error statuses
// go to HttpResponse::body, not to the file.
HttpResponse http_get_to_file(const HttpRequest& req, int fd, uint64_t resume_from, const std::string& label,
                              bool progress);

// Percent-encodes everything but unreserved characters (and '/' when `keep_slash`).
std::string url_quote(const std::string& s, bool keep_slash);

}  // namespace bert_emotion

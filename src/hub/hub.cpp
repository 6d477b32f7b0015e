// hub.cpp — Hugging Face hub downloads into the shared cache layout, and model-id resolution.
//
// The protocol follows huggingface_hub's hf_hub_download: a HEAD on
// {endpoint}/{repo}/resolve/{revision}/{file} (relative redirects followed, so renamed repos work;
// the CDN redirect of LFS files is not) gives X-Repo-Commit, the etag (X-Linked-Etag for LFS files,
// else ETag) and the size (X-Linked-Size, else Content-Length); then a GET that follows redirects
// fills blobs/{etag}.incomplete, resuming with Range, under the same .locks/ file lock Python uses.
#include "hub/hub.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "hub/http_client.hpp"
#include "hub/sha256.hpp"
#include "model/checkpoint.hpp"
#include "util/atomic_file.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_truthy(const std::string& v) {
  std::string s;
  for (char c : v) s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

fs::path home_dir() {
  std::string h = env("HOME");
  return h.empty() ? fs::path("/tmp") : fs::path(h);
}

bool is_commit_hash(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Revisions and file names become paths inside the cache: relative, without "." / ".." parts.
void check_cache_relative(const std::string& what, const std::string& s) {
  bool bad = s.empty() || s.front() == '/' || s.find('\\') != std::string::npos || s.find('\0') != std::string::npos;
  for (const auto& part : fs::path(s)) bad = bad || part == "." || part == ".." || part.empty();
  if (bad) throw InvalidArgument("invalid " + what + " '" + s + "' (a relative name without '.' or '..' parts)");
}

// "W/\"abc\"" -> "abc", as huggingface_hub's _normalize_etag.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  while (!etag.empty() && etag.front() == '"') etag.erase(etag.begin());
  while (!etag.empty() && etag.back() == '"') etag.pop_back();
  return etag;
}

void note(const HubOptions& opts, const std::string& line) {
  if (opts.log) *opts.log << line << "\n";
}

std::string read_ref(const fs::path& ref_file) {
  std::ifstream in(ref_file);
  std::string commit;
  if (in) std::getline(in, commit);
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r' || commit.back() == ' ')) commit.pop_back();
  return commit;
}

void create_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create directory " + dir.string() + ": " + ec.message());
}

// Exclusive advisory lock on .locks/{repo folder}/{etag}.lock, the file huggingface_hub locks too.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    create_dirs(path.parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError("cannot open lock file " + path.string() + ": " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) throw IoError("cannot lock " + path.string() + ": " + std::strerror(errno));
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// Points `link` at `target` (relative), replacing whatever is there, via a temporary link + rename.
void replace_symlink(const fs::path& target, const fs::path& link) {
  create_dirs(link.parent_path());
  fs::path tmp = link;
  tmp += ".tmp-link-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (ec) throw IoError("cannot create symlink " + tmp.string() + " -> " + target.string() + ": " + ec.message());
  fs::rename(tmp, link, ec);
  if (ec) {
    fs::remove(tmp);
    throw IoError("cannot rename " + tmp.string() + " to " + link.string() + ": " + ec.message());
  }
}

// "scheme://host:port" of a URL.
std::string url_origin(const std::string& url) {
  size_t scheme = url.find("://");
  size_t path_start = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path_start == std::string::npos ? url : url.substr(0, path_start);
}

std::string absolute_location(const std::string& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  if (location.rfind("//", 0) == 0) return base.substr(0, base.find("://") + 1) + location;
  if (!location.empty() && location.front() == '/') return url_origin(base) + location;
  return base.substr(0, base.rfind('/') + 1) + location;
}

// Everything resolved once per call: endpoint, cache, auth header.
struct HubContext {
  HubOptions opts;
  HttpRequest request(const std::string& url) const {
    HttpRequest r;
    r.url = url;
    // The token goes to the hub only, never to the CDN a file is redirected to.
    if (!opts.token.empty() && url_origin(url) == url_origin(opts.endpoint + "/"))
      r.headers.push_back("Authorization: Bearer " + opts.token);
    r.headers.push_back("Accept-Encoding: identity");
    r.connect_timeout_s = opts.connect_timeout_s;
    r.stall_timeout_s = opts.stall_timeout_s;
    return r;
  }
  std::string resolve_url(const std::string& repo_id, const std::string& revision, const std::string& file) const {
    return opts.endpoint + "/" + repo_id + "/resolve/" + url_quote(revision, false) + "/" + url_quote(file, true);
  }
};

// Turns a failed hub response into the error a user can act on.
[[noreturn]] void throw_hub_error(const HttpResponse& r, const std::string& url, const std::string& repo_id,
                                  const std::string& file, const std::string& revision) {
  std::string code = r.header("x-error-code");
  std::string server_msg = r.header("x-error-message");
  std::string suffix =
      " (" + url + ", HTTP " + std::to_string(r.status) + (server_msg.empty() ? "" : ": " + server_msg) + ")";
  if (code == "RepoNotFound")
    throw HubError(
        "no such model '" + repo_id + "' on the hub, or it is private: check the id, or set HF_TOKEN" + suffix,
        r.status, code);
  if (code == "GatedRepo")
    throw HubError("model '" + repo_id + "' is gated: accept its terms on the hub and set HF_TOKEN" + suffix, r.status,
                   code);
  if (code == "RevisionNotFound")
    throw HubError("model '" + repo_id + "' has no revision '" + revision + "'" + suffix, r.status, code);
  if (code == "EntryNotFound")
    throw HubError("model '" + repo_id + "' has no file '" + file + "'" + suffix, r.status, code);
  if (r.status == 401 || r.status == 403)
    throw HubError("authentication required for '" + repo_id + "' (file " + file +
                       "): set HF_TOKEN to a token with access" + suffix,
                   r.status, code);
  if (r.status == 404)
    throw HubError(
        "no such model/file: '" + repo_id + "' has no '" + file + "' at revision '" + revision + "'" + suffix, r.status,
        code);
  throw HubError(
      "the hub answered HTTP " + std::to_string(r.status) + " for " + file + " of '" + repo_id + "'" + suffix, r.status,
      code);
}

struct FileMetadata {
  std::string commit;
  std::string etag;
  int64_t size = -1;  // -1: unknown
  std::string url;    // where to GET: the resolve URL, or where it redirects (LFS: the CDN)
};

// HEAD, following relative redirects only (repo renames), never the CDN redirect.
FileMetadata fetch_metadata(const HubContext& ctx, const std::string& repo_id, const std::string& revision,
                            const std::string& file) {
  std::string url = ctx.resolve_url(repo_id, revision, file);
  for (int hop = 0; hop < 10; ++hop) {
    HttpResponse r = http_head(ctx.request(url));
    bool redirect = r.status >= 300 && r.status < 400;
    std::string location = r.header("location");
    // A relative redirect is a renamed repo: follow it on the same host. One that carries
    // X-Linked-Etag is the LFS redirect to the CDN (relative on some mirrors): the GET follows that.
    bool lfs_redirect = !r.header("x-linked-etag").empty();
    if (redirect && !lfs_redirect && !location.empty() && location.front() == '/' &&
        (location.size() < 2 || location[1] != '/')) {
      url = url_origin(url) + location;
      continue;
    }
    if (r.status >= 400 || r.status < 200) throw_hub_error(r, url, repo_id, file, revision);
    FileMetadata m;
    m.url = url;
    // As huggingface_hub: the body is fetched from where the hub redirects (the CDN for LFS files).
    if (redirect && !location.empty()) m.url = absolute_location(url, location);
    m.commit = r.header("x-repo-commit");
    std::string linked = r.header("x-linked-etag");
    m.etag = normalize_etag(linked.empty() ? r.header("etag") : linked);
    std::string size = r.header("x-linked-size");
    if (size.empty() && !redirect) size = r.header("content-length");
    if (!size.empty()) m.size = std::strtoll(size.c_str(), nullptr, 10);
    if (m.commit.empty())
      throw NetworkError("HEAD " + url + " returned no X-Repo-Commit header: is HF_ENDPOINT (" + ctx.opts.endpoint +
                         ") a Hugging Face hub?");
    if (!is_commit_hash(m.commit))  // it becomes a directory name: never trust it further than that
      throw NetworkError("HEAD " + url + " returned X-Repo-Commit '" + m.commit + "', not a 40-hex commit hash");
    if (m.etag.empty() || m.etag.find('/') != std::string::npos || m.etag == "." || m.etag == "..")
      throw NetworkError("HEAD " + url + " returned no usable ETag / X-Linked-Etag for " + file);
    return m;
  }
  throw NetworkError("too many redirects resolving " + url);
}

uint64_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// Fills blobs/{etag} from m.url: resume, retry, verify, rename.
void download_blob(const HubContext& ctx, const FileMetadata& m, const std::string& repo_id, const std::string& file,
                   const fs::path& blob) {
  fs::path incomplete = blob;
  incomplete += ".incomplete";
  bool lfs = is_sha256_hex(m.etag);
  std::string last_error;
  for (int attempt = 0; attempt <= ctx.opts.max_retries; ++attempt) {
    uint64_t have = file_size_or_zero(incomplete);
    if (m.size >= 0 && have > uint64_t(m.size)) {
      fs::remove(incomplete);  // longer than the file can be: not ours to resume
      have = 0;
    }
    if (m.size < 0 || have < uint64_t(m.size)) {
      int fd = ::open(incomplete.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) throw IoError("cannot open " + incomplete.string() + ": " + std::strerror(errno));
      if (::lseek(fd, static_cast<off_t>(have), SEEK_SET) < 0) {
        ::close(fd);
        throw IoError("cannot seek in " + incomplete.string() + ": " + std::strerror(errno));
      }
      if (have > 0) note(ctx.opts, "resuming " + file + " from byte " + std::to_string(have));
      HttpResponse r;
      try {
        r = http_get_to_file(ctx.request(m.url), fd, have, file, ctx.opts.progress);
      } catch (const NetworkError& e) {
        ::fsync(fd);
        ::close(fd);
        last_error = e.what();
        note(ctx.opts, std::string("download interrupted: ") + e.what());
        // Resume from what arrived; back off first when nothing did (refused, timed out).
        if (file_size_or_zero(incomplete) == have && attempt < ctx.opts.max_retries)
          std::this_thread::sleep_for(std::chrono::seconds(std::min(1 << attempt, 8)));
        continue;
      }
      bool synced = ::fsync(fd) == 0;
      ::close(fd);
      if (!synced) throw IoError("cannot fsync " + incomplete.string() + ": " + std::strerror(errno));
      if (r.status >= 400 || r.status < 200) throw_hub_error(r, m.url, repo_id, file, "");
      if (r.status != 200 && r.status != 206)
        throw NetworkError("GET " + m.url + " answered HTTP " + std::to_string(r.status) + " for " + file);
    }
    uint64_t got = file_size_or_zero(incomplete);
    if (m.size >= 0 && got != uint64_t(m.size)) {
      if (got > uint64_t(m.size)) {
        fs::remove(incomplete);
        throw NetworkError("corrupt download of " + file + " from " + m.url + ": " + std::to_string(got) +
                           " bytes, expected " + std::to_string(m.size));
      }
      last_error =
          "transfer of " + file + " ended after " + std::to_string(got) + " of " + std::to_string(m.size) + " bytes";
      continue;
    }
    if (lfs) {
      std::string digest = sha256_file_hex(incomplete);
      std::string expected = m.etag;
      for (char& c : expected) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
      if (digest != expected) {
        fs::remove(incomplete);  // corrupt bytes must not be resumed from
        throw NetworkError("corrupt download of " + file + " from " + m.url + ": sha256 " + digest + ", expected " +
                           expected + " (removed; run again to retry)");
      }
    }
    std::error_code ec;
    fs::rename(incomplete, blob, ec);
    if (ec) throw IoError("cannot rename " + incomplete.string() + " to " + blob.string() + ": " + ec.message());
    fsync_directory(blob.parent_path());
    return;
  }
  throw NetworkError("download of " + file + " from " + m.url + " failed after " +
                     std::to_string(ctx.opts.max_retries + 1) + " attempt(s): " + last_error +
                     " (the partial file is kept; run again to resume)");
}

// The snapshot path of `file` when cached for `commit`, else empty.
fs::path cached_file(const fs::path& repo_dir, const std::string& commit, const std::string& file) {
  fs::path p = repo_dir / "snapshots" / commit / file;
  std::error_code ec;
  return fs::exists(p, ec) ? p : fs::path();
}

std::string commit_for_revision(const fs::path& repo_dir, const std::string& revision) {
  std::string ref = read_ref(repo_dir / "refs" / revision);
  if (!ref.empty()) return ref;
  if (is_commit_hash(revision)) return revision;
  return {};
}

// One file: from the cache when its blob is there, else downloaded. Returns the snapshot path and
// sets `commit`.
fs::path download_one(const HubContext& ctx, const std::string& repo_id, const std::string& revision,
                      const std::string& file, std::string* commit_out) {
  check_cache_relative("file name", file);
  fs::path repo_dir = repo_cache_folder(ctx.opts.cache_dir, repo_id);
  FileMetadata m = fetch_metadata(ctx, repo_id, revision, file);
  if (commit_out) *commit_out = m.commit;
  if (revision != m.commit) {
    fs::path ref = repo_dir / "refs" / revision;
    if (read_ref(ref) != m.commit) {
      create_dirs(ref.parent_path());
      write_file_atomic(ref, m.commit);
    }
  }
  fs::path blob = repo_dir / "blobs" / m.etag;
  fs::path pointer = repo_dir / "snapshots" / m.commit / file;
  fs::path link_target = (blob).lexically_relative(pointer.parent_path());
  std::error_code ec;
  if (fs::exists(blob, ec)) {
    if (!fs::exists(pointer, ec)) replace_symlink(link_target, pointer);
    return pointer;
  }
  create_dirs(blob.parent_path());
  FileLock lock(ctx.opts.cache_dir / ".locks" / repo_dir.filename() / (m.etag + ".lock"));
  if (!fs::exists(blob, ec)) {  // another process may have finished it while we waited
    note(ctx.opts,
         "downloading " + repo_id + "/" + file + (m.size >= 0 ? " (" + std::to_string(m.size) + " bytes)" : ""));
    download_blob(ctx, m, repo_id, file, blob);
  }
  replace_symlink(link_target, pointer);
  return pointer;
}

void mark_missing(const HubContext& ctx, const std::string& repo_id, const std::string& commit,
                  const std::string& file) {
  // huggingface_hub's marker for "this revision has no such file", so neither of us asks again offline.
  if (commit.empty()) return;
  try {
    fs::path marker = repo_cache_folder(ctx.opts.cache_dir, repo_id) / ".no_exist" / commit / file;
    create_dirs(marker.parent_path());
    if (!fs::exists(marker)) write_file_atomic(marker, "");
  } catch (const Error&) {
    // A marker is an optimisation only.
  }
}

HubContext make_context(const HubOptions& opts) { return HubContext{hub_options_from_env(opts)}; }

// The weights files transformers' from_pretrained looks for, in its order (as Checkpoint::weights_path).
constexpr const char* kWeightCandidates[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                             "pytorch_model.bin.index.json"};
constexpr const char* kWeightList =
    "model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json";

bool is_index(const std::string& name) { return name.size() > 11 && name.ends_with(".index.json"); }

// Fetches the first weights candidate the repo has (an index with its shards) and nothing else.
void download_weights(const HubContext& ctx, const std::string& repo_id, const std::string& commit) {
  for (const char* name : kWeightCandidates) {
    fs::path p;
    try {
      p = download_one(ctx, repo_id, commit, name, nullptr);
    } catch (const HubError& e) {
      if (e.status != 404 || e.error_code == "RepoNotFound" || e.error_code == "RevisionNotFound") throw;
      mark_missing(ctx, repo_id, commit, name);
      continue;
    }
    if (is_index(name))
      for (const std::string& shard : Checkpoint::index_shards(p)) download_one(ctx, repo_id, commit, shard, nullptr);
    return;
  }
  throw HubError(repo_id + " (commit " + commit + ") has no weights: none of " + kWeightList, 404, "EntryNotFound");
}

// The first weights candidate complete in the cached snapshot (an index with every shard), or "".
std::string cached_weights(const fs::path& repo_dir, const std::string& commit) {
  for (const char* name : kWeightCandidates) {
    const fs::path p = cached_file(repo_dir, commit, name);
    if (p.empty()) continue;
    if (!is_index(name)) return name;
    try {
      bool complete = true;
      for (const std::string& shard : Checkpoint::index_shards(p))
        complete = complete && !cached_file(repo_dir, commit, shard).empty();
      if (complete) return name;
    } catch (const FormatError&) {
    }
  }
  return {};
}

std::string effective_revision(const HubRepoRef& ref, const HubOptions& opts) {
  std::string rev = !opts.revision.empty() ? opts.revision : !ref.revision.empty() ? ref.revision : "main";
  check_cache_relative("revision", rev);
  return rev;
}

bool looks_like_path(const std::string& s) {
  if (s.empty()) return false;
  if (s.front() == '/' || s.front() == '.' || s.front() == '~' || s.back() == '/') return true;
  if (s.find('\\') != std::string::npos) return true;
  size_t at = s.find('@');
  std::string base = at == std::string::npos ? s : s.substr(0, at);
  return std::count(base.begin(), base.end(), '/') > 1;
}

}  // namespace

HubOptions hub_options_from_env(HubOptions o) {
  if (o.endpoint.empty()) o.endpoint = env("HF_ENDPOINT");
  if (o.endpoint.empty()) o.endpoint = "https://huggingface.co";
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  std::string hf_home = env("HF_HOME");
  if (o.cache_dir.empty()) {
    std::string hub_cache = env("HF_HUB_CACHE");
    if (hub_cache.empty()) hub_cache = env("HUGGINGFACE_HUB_CACHE");
    if (!hub_cache.empty()) o.cache_dir = hub_cache;
    else if (!hf_home.empty()) o.cache_dir = fs::path(hf_home) / "hub";
    else o.cache_dir = home_dir() / ".cache" / "huggingface" / "hub";
  }
  if (o.token.empty()) o.token = env("HF_TOKEN");
  if (!o.offline.has_value()) o.offline = env_truthy(env("HF_HUB_OFFLINE"));
  if (env_truthy(env("HF_HUB_DISABLE_PROGRESS_BARS"))) o.progress = false;
  if (o.data_cache_dir.empty()) {
    std::string own = env("BERT_EMOTION_CACHE");
    std::string xdg = env("XDG_CACHE_HOME");
    if (!own.empty()) o.data_cache_dir = fs::path(own) / "datasets";
    else if (!xdg.empty()) o.data_cache_dir = fs::path(xdg) / "bert-emotion" / "datasets";
    else o.data_cache_dir = home_dir() / ".cache" / "bert-emotion" / "datasets";
  }
  if (o.tweeteval_url.empty()) o.tweeteval_url = env("BERT_EMOTION_TWEETEVAL_URL");
  if (o.tweeteval_url.empty()) o.tweeteval_url = "https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets";
  while (!o.tweeteval_url.empty() && o.tweeteval_url.back() == '/') o.tweeteval_url.pop_back();
  if (o.goemotions_dir.empty()) o.goemotions_dir = env("BERT_EMOTION_GOEMOTIONS_DIR");
  if (o.goemotions_dir.empty() && !env("BERT_EMOTION_DATA_DIR").empty())
    o.goemotions_dir = fs::path(env("BERT_EMOTION_DATA_DIR")) / "goemotions";
  if (o.goemotions_url.empty()) o.goemotions_url = env("BERT_EMOTION_GOEMOTIONS_URL");
  if (o.goemotions_url.empty())
    o.goemotions_url = "https://raw.githubusercontent.com/google-research/google-research/master/goemotions/data";
  while (!o.goemotions_url.empty() && o.goemotions_url.back() == '/') o.goemotions_url.pop_back();
  return o;
}

HubOptions cli_hub_options() {
  HubOptions o;
  o.progress = true;
  o.log = &std::cerr;
  return hub_options_from_env(o);
}

bool is_valid_repo_ref(const std::string& id) {
  size_t at = id.find('@');
  std::string repo = at == std::string::npos ? id : id.substr(0, at);
  if (at != std::string::npos && at + 1 >= id.size()) return false;
  if (repo.empty() || repo.size() > 96) return false;
  size_t slash = repo.find('/');
  if (slash != std::string::npos && repo.find('/', slash + 1) != std::string::npos) return false;
  auto part_ok = [](const std::string& p) {
    if (p.empty() || p.front() == '.' || p.front() == '-' || p.back() == '.' || p.back() == '-') return false;
    if (p.find("..") != std::string::npos || p.find("--") != std::string::npos) return false;
    for (char c : p) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-';
      if (!ok) return false;
    }
    return true;
  };
  if (slash == std::string::npos) return part_ok(repo);
  return part_ok(repo.substr(0, slash)) && part_ok(repo.substr(slash + 1));
}

HubRepoRef parse_repo_ref(const std::string& id) {
  if (!is_valid_repo_ref(id))
    throw InvalidArgument("'" + id + "' is not a valid hub model id (expected name, org/name or org/name@revision)");
  size_t at = id.find('@');
  if (at == std::string::npos) return {id, ""};
  return {id.substr(0, at), id.substr(at + 1)};
}

fs::path repo_cache_folder(const fs::path& cache_dir, const std::string& repo_id) {
  std::string folder = "models--";
  for (char c : repo_id) {
    if (c == '/') folder += "--";
    else folder.push_back(c);
  }
  return cache_dir / folder;
}

const std::vector<HubFile>& default_model_files() {
  static const std::vector<HubFile> files = {
      {"config.json", true}, {"tokenizer.json", false}, {"tokenizer_config.json", false},   {"vocab.txt", false},
      {"vocab.json", false}, {"merges.txt", false},     {"special_tokens_map.json", false},
  };
  return files;
}

fs::path hub_download_file(const std::string& repo_id, const std::string& filename, const HubOptions& opts) {
  HubContext ctx = make_context(opts);
  HubRepoRef ref = parse_repo_ref(repo_id);
  std::string revision = effective_revision(ref, ctx.opts);
  fs::path repo_dir = repo_cache_folder(ctx.opts.cache_dir, ref.repo_id);
  check_cache_relative("file name", filename);
  if (*ctx.opts.offline) {
    std::string commit = commit_for_revision(repo_dir, revision);
    fs::path p = commit.empty() ? fs::path() : cached_file(repo_dir, commit, filename);
    if (p.empty())
      throw NetworkError("HF_HUB_OFFLINE is set and " + ref.repo_id + "/" + filename + " (revision " + revision +
                         ") is not in the cache " + ctx.opts.cache_dir.string());
    return p;
  }
  return download_one(ctx, ref.repo_id, revision, filename, nullptr);
}

std::optional<fs::path> cached_snapshot(const std::string& repo_ref, const HubOptions& opts) {
  HubOptions o = hub_options_from_env(opts);
  HubRepoRef ref = parse_repo_ref(repo_ref);
  std::string revision = effective_revision(ref, o);
  fs::path repo_dir = repo_cache_folder(o.cache_dir, ref.repo_id);
  std::string commit = commit_for_revision(repo_dir, revision);
  if (commit.empty()) return std::nullopt;
  for (const auto& f : default_model_files())
    if (f.required && cached_file(repo_dir, commit, f.name).empty()) return std::nullopt;
  if (cached_weights(repo_dir, commit).empty()) return std::nullopt;
  return repo_dir / "snapshots" / commit;
}

fs::path snapshot_download(const std::string& repo_ref, const HubOptions& opts, const std::vector<HubFile>& files_in) {
  HubContext ctx = make_context(opts);
  HubRepoRef ref = parse_repo_ref(repo_ref);
  std::string revision = effective_revision(ref, ctx.opts);
  const std::vector<HubFile>& files = files_in.empty() ? default_model_files() : files_in;
  fs::path repo_dir = repo_cache_folder(ctx.opts.cache_dir, ref.repo_id);

  if (*ctx.opts.offline) {
    std::string commit = commit_for_revision(repo_dir, revision);
    if (commit.empty())
      throw NetworkError("HF_HUB_OFFLINE is set and model '" + ref.repo_id + "' (revision " + revision +
                         ") is not in the cache " + ctx.opts.cache_dir.string() + "; run `bert-emotion download " +
                         ref.repo_id + "` with network access, or pass a local model directory");
    for (const auto& f : files)
      if (f.required && cached_file(repo_dir, commit, f.name).empty())
        throw NetworkError("HF_HUB_OFFLINE is set and the cached snapshot " +
                           (repo_dir / "snapshots" / commit).string() + " lacks " + f.name +
                           "; run `bert-emotion download " + ref.repo_id + "` with network access");
    if (files_in.empty() && cached_weights(repo_dir, commit).empty())
      throw NetworkError("HF_HUB_OFFLINE is set and the cached snapshot " + (repo_dir / "snapshots" / commit).string() +
                         " holds no complete weights (" + kWeightList + "); run `bert-emotion download " + ref.repo_id +
                         "` with network access");
    return repo_dir / "snapshots" / commit;
  }

  // The first file pins the commit; the rest are fetched by commit so a push in between cannot mix
  // two revisions in one snapshot (as snapshot_download does).
  std::string commit;
  for (const auto& f : files) {
    std::string rev = commit.empty() ? revision : commit;
    try {
      std::string got;
      download_one(ctx, ref.repo_id, rev, f.name, &got);
      if (commit.empty()) commit = got;
    } catch (const HubError& e) {
      bool missing_file = e.status == 404 && e.error_code != "RepoNotFound" && e.error_code != "RevisionNotFound";
      if (f.required || !missing_file || commit.empty()) throw;
      mark_missing(ctx, ref.repo_id, commit, f.name);
    }
  }
  if (commit.empty()) throw InvalidArgument("snapshot_download of '" + ref.repo_id + "': no files requested");
  if (files_in.empty()) download_weights(ctx, ref.repo_id, commit);
  return repo_dir / "snapshots" / commit;
}

fs::path resolve_model_path(const std::string& id_or_dir, const HubOptions& opts) {
  std::error_code ec;
  if (!id_or_dir.empty() && fs::exists(id_or_dir, ec)) return fs::path(id_or_dir);
  if (id_or_dir.empty()) throw InvalidArgument("empty model path / hub id");
  if (looks_like_path(id_or_dir) || !is_valid_repo_ref(id_or_dir))
    throw IoError("no such model directory: " + id_or_dir + " (and it is not a hub id like org/name)");
  HubOptions o = hub_options_from_env(opts);
  if (*o.offline) return snapshot_download(id_or_dir, o);
  try {
    return snapshot_download(id_or_dir, o);
  } catch (const HubError& e) {
    if (e.status < 500) throw;
    auto cached = cached_snapshot(id_or_dir, o);
    if (!cached) throw;
    note(o, std::string("warning: ") + e.what() + "; using the cached snapshot " + cached->string());
    return *cached;
  } catch (const NetworkError& e) {
    auto cached = cached_snapshot(id_or_dir, o);
    if (!cached) throw;
    note(o, std::string("warning: ") + e.what() + "; using the cached snapshot " + cached->string());
    return *cached;
  }
}

}  // namespace bert_emotion

// hub_test.cpp — hub downloads and model-id resolution against a loopback stand-in for the hub.
//
// The stand-in (cpp-httplib on 127.0.0.1, ephemeral port) serves a tiny model repo the way
// huggingface.co does: HEAD/GET /{repo}/resolve/{rev}/{file} with ETag, X-Repo-Commit,
// X-Linked-Etag / X-Linked-Size for the LFS file, which redirects (302) to a "CDN" path; Range
// requests answer 206; a private repo answers 401 without the right Bearer token; missing repos
// and files answer 404 with X-Error-Code. Switches make the CDN drop the connection half-way or
// serve a corrupted body. It counts requests and bytes so resume can be checked from the server side.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "hub/hub.hpp"
#include "hub/sha256.hpp"
#include "model/checkpoint_error.hpp"
#include "model/config.hpp"
#include "model/init.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace bert_emotion;
using bert_emotion::testing_support::slurp;
using bert_emotion::testing_support::unset_before_tests;

namespace {

// The variables a developer's shell might carry that would change what these tests see.
[[maybe_unused]] const auto* const kCleanEnv =
    unset_before_tests({"HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
                        "BERT_EMOTION_DATA_DIR", "BERT_EMOTION_CACHE", "BERT_EMOTION_TWEETEVAL_URL"});

// A deterministic pseudo-random "weights" file, big enough that half of it is a real transfer.
std::string make_blob(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return s;
}

struct RepoFile {
  std::string body;
  bool lfs = false;
};

class FakeHub {
 public:
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  std::map<std::string, RepoFile> files;  // by name, for repos org/tiny and org/private
  std::string token = "secret-token";

  // Switches and counters (touched by the server thread).
  std::atomic<bool> drop_next_cdn_get{false};
  std::atomic<bool> external_cdn{false};  // redirect LFS files to a second server (another origin)
  std::atomic<bool> corrupt_cdn{false};
  std::mutex mu;
  std::vector<std::string> log;             // "METHOD path [range]"
  std::vector<std::string> authorizations;  // Authorization headers seen
  size_t cdn_bytes_sent = 0;
  int cdn_gets = 0;
  std::vector<std::string> cdn_ranges;

  FakeHub() {
    files["config.json"] = {R"({"model_type": "distilbert", "dim": 8})", false};
    files["tokenizer.json"] = {R"({"version": "1.0"})", false};
    files["tokenizer_config.json"] = {R"({"do_lower_case": false})", false};
    files["vocab.txt"] = {"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", false};
    // special_tokens_map.json deliberately absent: an optional file answered with 404.
    files["model.safetensors"] = {make_blob(300000), true};

    svr_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      resolve(req, res, req.matches[1].str() + "/" + req.matches[2].str(), req.matches[3], req.matches[4]);
    });
    svr_.Get(R"(/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      resolve(req, res, req.matches[1], req.matches[2], req.matches[3]);
    });
    svr_.Get(R"(/cdn/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) { cdn(req, res); });
    cdn_svr_.Get(R"(/cdn/([0-9a-f]{64}))",
                 [this](const httplib::Request& req, httplib::Response& res) { cdn(req, res); });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    cdn_port_ = cdn_svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    cdn_thread_ = std::thread([this] { cdn_svr_.listen_after_bind(); });
    while (!svr_.is_running() || !cdn_svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      svr_.stop();
      thread_.join();
    }
    if (cdn_thread_.joinable()) {
      cdn_svr_.stop();
      cdn_thread_.join();
    }
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  static std::string etag_of(const RepoFile& f) {
    return f.lfs ? sha256_hex(f.body) : sha256_hex(f.body).substr(0, 40);  // git blob ids are 40 hex
  }

 private:
  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(req.method + " " + req.path + (req.has_header("Range") ? " " + req.get_header_value("Range") : ""));
    authorizations.push_back(req.get_header_value("Authorization"));
  }

  void resolve(const httplib::Request& req, httplib::Response& res, const std::string& repo, const std::string& rev,
               const std::string& file) {
    record(req);
    if (repo == "org/renamed") {  // a renamed repo: relative redirect, as the hub does
      res.status = 307;
      res.set_header("Location", "/org/tiny/resolve/" + rev + "/" + file);
      return;
    }
    bool known = repo == "org/tiny" || repo == "org/private";
    if (!known) {
      res.status = 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_header("X-Error-Message", "Repository not found");
      return;
    }
    if (repo == "org/private" && req.get_header_value("Authorization") != "Bearer " + token) {
      res.status = 401;
      res.set_content("Invalid credentials", "text/plain");
      return;
    }
    if (rev != "main" && rev != commit) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      return;
    }
    auto it = files.find(file);
    if (it == files.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "EntryNotFound");
      res.set_header("X-Repo-Commit", commit);
      return;
    }
    const RepoFile& f = it->second;
    res.set_header("X-Repo-Commit", commit);
    if (f.lfs) {
      res.status = 302;
      res.set_header("X-Linked-Etag", "\"" + etag_of(f) + "\"");
      res.set_header("X-Linked-Size", std::to_string(f.body.size()));
      res.set_header("ETag", "\"not-the-sha\"");
      std::string cdn_base = external_cdn ? "http://127.0.0.1:" + std::to_string(cdn_port_) : "";
      res.set_header("Location", cdn_base + "/cdn/" + etag_of(f));
      res.set_content("Found. Redirecting", "text/plain");
      return;
    }
    res.set_header("ETag", "\"" + etag_of(f) + "\"");
    res.set_content(f.body, "application/octet-stream");
  }

  void cdn(const httplib::Request& req, httplib::Response& res) {
    record(req);
    const std::string& body = files.at("model.safetensors").body;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++cdn_gets;
      cdn_ranges.push_back(req.get_header_value("Range"));
    }
    if (drop_next_cdn_get.exchange(false)) {
      // Announce the full length, send half, then drop the connection.
      size_t half = body.size() / 2;
      res.set_content_provider(body.size(), "application/octet-stream",
                               [this, &body, half](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset >= half) return false;
                                 size_t n = std::min<size_t>(half - offset, 16384);
                                 sink.write(body.data() + offset, n);
                                 std::lock_guard<std::mutex> lock(mu);
                                 cdn_bytes_sent += n;
                                 return true;
                               });
      return;
    }
    std::string out = body;
    if (corrupt_cdn) out[out.size() / 3] ^= 0x5a;
    size_t sent = out.size();
    if (req.has_header("Range")) {
      // "bytes=N-": httplib slices the body and answers 206; count what goes out.
      size_t from = std::strtoull(req.get_header_value("Range").c_str() + 6, nullptr, 10);
      sent = from < out.size() ? out.size() - from : 0;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      cdn_bytes_sent += sent;
    }
    res.set_content(out, "application/octet-stream");
  }

  httplib::Server svr_, cdn_svr_;
  int port_ = 0, cdn_port_ = 0;
  std::thread thread_, cdn_thread_;
};

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("hub_test_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    opts_.endpoint = hub_.endpoint();
    opts_.cache_dir = root_ / "hub";
    opts_.offline = false;
    opts_.max_retries = 0;
    opts_.connect_timeout_s = 5;
    opts_.stall_timeout_s = 10;
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path repo_dir(const std::string& repo = "org/tiny") { return repo_cache_folder(opts_.cache_dir, repo); }

  FakeHub hub_;
  fs::path root_;
  HubOptions opts_;
};

TEST(HubIds, ParsesAndRejects) {
  EXPECT_EQ(parse_repo_ref("distilbert-base-cased").repo_id, "distilbert-base-cased");
  auto r = parse_repo_ref("cardiffnlp/twitter-roberta-base-emotion@v1.0");
  EXPECT_EQ(r.repo_id, "cardiffnlp/twitter-roberta-base-emotion");
  EXPECT_EQ(r.revision, "v1.0");
  for (const char* bad : {"", "a/b/c", "org/", "/name", "a b", "org/na$me", "x@", "../x", "org--x/y"})
    EXPECT_FALSE(is_valid_repo_ref(bad)) << bad;
  EXPECT_THROW(parse_repo_ref("a/b/c"), InvalidArgument);
  EXPECT_EQ(repo_cache_folder("/c", "org/name"), fs::path("/c/models--org--name"));
  EXPECT_EQ(repo_cache_folder("/c", "distilbert-base-cased"), fs::path("/c/models--distilbert-base-cased"));
}

TEST(HubIds, EnvironmentDefaults) {
  ::setenv("HF_HOME", "/tmp/hf-home-x", 1);
  ::setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  ::setenv("HF_TOKEN", "tok", 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  HubOptions o = hub_options_from_env();
  EXPECT_EQ(o.cache_dir, fs::path("/tmp/hf-home-x/hub"));
  EXPECT_EQ(o.endpoint, "http://mirror.example");
  EXPECT_EQ(o.token, "tok");
  EXPECT_TRUE(*o.offline);
  ::setenv("HF_HUB_CACHE", "/tmp/hub-cache-y", 1);
  ::setenv("HF_HUB_OFFLINE", "0", 1);
  o = hub_options_from_env();
  EXPECT_EQ(o.cache_dir, fs::path("/tmp/hub-cache-y"));
  EXPECT_FALSE(*o.offline);
  HubOptions explicit_opts;
  explicit_opts.cache_dir = "/elsewhere";
  explicit_opts.offline = true;
  EXPECT_EQ(hub_options_from_env(explicit_opts).cache_dir, fs::path("/elsewhere"));
  EXPECT_TRUE(*hub_options_from_env(explicit_opts).offline);
  for (const char* v : {"HF_HOME", "HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE"}) ::unsetenv(v);
}

TEST_F(HubTest, DownloadsIntoTheHuggingFaceCacheLayout) {
  fs::path snap = resolve_model_path("org/tiny", opts_);
  EXPECT_EQ(snap, repo_dir() / "snapshots" / hub_.commit);
  EXPECT_EQ(slurp(repo_dir() / "refs" / "main"), hub_.commit);
  for (const auto& [name, f] : hub_.files) {
    fs::path link = snap / name;
    ASSERT_TRUE(fs::is_symlink(link)) << name;
    EXPECT_EQ(fs::read_symlink(link), fs::path("../../blobs") / FakeHub::etag_of(f)) << name;
    EXPECT_EQ(slurp(link), f.body) << name;
    EXPECT_TRUE(fs::is_regular_file(repo_dir() / "blobs" / FakeHub::etag_of(f))) << name;
  }
  // The optional file the repo lacks: no link, and huggingface_hub's .no_exist marker.
  EXPECT_FALSE(fs::exists(snap / "special_tokens_map.json"));
  EXPECT_TRUE(fs::exists(repo_dir() / ".no_exist" / hub_.commit / "special_tokens_map.json"));
  // The LFS blob is named by the sha256 from X-Linked-Etag, not by the plain ETag.
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / "not-the-sha"));
  for (const auto& e : fs::directory_iterator(repo_dir() / "blobs"))
    EXPECT_EQ(e.path().extension(), "") << "left over: " << e.path();
  // After the first file, the rest are fetched by commit hash, so one snapshot = one commit.
  int by_commit = 0;
  for (const auto& line : hub_.log)
    if (line.find("/resolve/" + hub_.commit + "/") != std::string::npos) ++by_commit;
  EXPECT_GE(by_commit, 5);

  // A second resolution finds every blob cached: HEADs only, no body is fetched again.
  size_t cdn_before = hub_.cdn_gets;
  EXPECT_EQ(resolve_model_path("org/tiny", opts_), snap);
  EXPECT_EQ(hub_.cdn_gets, cdn_before);
}

TEST_F(HubTest, LocalDirectoryWinsAndPathsAreNotIds) {
  fs::create_directories(root_ / "org" / "tiny");
  fs::path cwd = fs::current_path();
  fs::current_path(root_);
  EXPECT_EQ(resolve_model_path("org/tiny", opts_), fs::path("org/tiny"));
  fs::current_path(cwd);
  EXPECT_TRUE(hub_.log.empty());
  EXPECT_THROW(resolve_model_path((root_ / "no-such-dir").string(), opts_), IoError);
  EXPECT_THROW(resolve_model_path("./runs/none", opts_), IoError);
  EXPECT_TRUE(hub_.log.empty());
}

TEST_F(HubTest, FollowsTheRenamedRepoRedirect) {
  fs::path snap = snapshot_download("org/renamed", opts_, {{"config.json", true}});
  EXPECT_EQ(snap, repo_dir("org/renamed") / "snapshots" / hub_.commit);
  EXPECT_EQ(slurp(snap / "config.json"), hub_.files["config.json"].body);
}

TEST_F(HubTest, ResumesAfterADroppedConnection) {
  const std::string& body = hub_.files["model.safetensors"].body;
  std::string etag = FakeHub::etag_of(hub_.files["model.safetensors"]);
  hub_.drop_next_cdn_get = true;
  try {
    hub_download_file("org/tiny", "model.safetensors", opts_);
    FAIL() << "a dropped transfer must fail when retries are off";
  } catch (const HubError&) {
    FAIL() << "a dropped transfer is a network error, not an HTTP status";
  } catch (const NetworkError& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("resume"), std::string::npos) << e.what();
  }
  fs::path incomplete = repo_dir() / "blobs" / (etag + ".incomplete");
  ASSERT_TRUE(fs::exists(incomplete));
  uint64_t partial = fs::file_size(incomplete);
  EXPECT_EQ(partial, body.size() / 2);
  EXPECT_FALSE(fs::exists(repo_dir() / "snapshots" / hub_.commit / "model.safetensors"));
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / etag));

  size_t sent_before = hub_.cdn_bytes_sent;
  fs::path got = hub_download_file("org/tiny", "model.safetensors", opts_);
  EXPECT_EQ(slurp(got), body);
  ASSERT_EQ(hub_.cdn_ranges.size(), 2u);
  EXPECT_EQ(hub_.cdn_ranges[0], "");
  EXPECT_EQ(hub_.cdn_ranges[1], "bytes=" + std::to_string(partial) + "-");
  EXPECT_EQ(hub_.cdn_bytes_sent - sent_before, body.size() - partial);
  EXPECT_FALSE(fs::exists(incomplete));
}

TEST_F(HubTest, RetriesWithinOneCallWhenAllowed) {
  hub_.drop_next_cdn_get = true;
  opts_.max_retries = 2;
  fs::path snap = snapshot_download("org/tiny", opts_);
  EXPECT_EQ(slurp(snap / "model.safetensors"), hub_.files["model.safetensors"].body);
  ASSERT_EQ(hub_.cdn_gets, 2);
  EXPECT_EQ(hub_.cdn_ranges[1], "bytes=" + std::to_string(hub_.files["model.safetensors"].body.size() / 2) + "-");
}

TEST_F(HubTest, RejectsACorruptBodyAndLeavesNothingInSnapshots) {
  hub_.corrupt_cdn = true;
  try {
    snapshot_download("org/tiny", opts_);
    FAIL() << "corrupt body accepted";
  } catch (const NetworkError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("model.safetensors"), std::string::npos) << what;
    EXPECT_NE(what.find("sha256"), std::string::npos) << what;
  }
  std::string etag = FakeHub::etag_of(hub_.files["model.safetensors"]);
  EXPECT_FALSE(fs::exists(repo_dir() / "snapshots" / hub_.commit / "model.safetensors"));
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / etag));
  EXPECT_FALSE(fs::exists(repo_dir() / "blobs" / (etag + ".incomplete")));
  EXPECT_FALSE(cached_snapshot("org/tiny", opts_).has_value());
  // A good body afterwards downloads from scratch.
  hub_.corrupt_cdn = false;
  fs::path snap = snapshot_download("org/tiny", opts_);
  EXPECT_EQ(slurp(snap / "model.safetensors"), hub_.files["model.safetensors"].body);
  EXPECT_EQ(hub_.cdn_ranges.back(), "");
}

TEST_F(HubTest, OfflineResolvesFromTheCacheWithoutTheServer) {
  fs::path snap = resolve_model_path("org/tiny", opts_);
  hub_.stop();
  size_t requests = hub_.log.size();
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  HubOptions env_offline = opts_;
  env_offline.offline.reset();  // taken from HF_HUB_OFFLINE
  EXPECT_EQ(resolve_model_path("org/tiny", env_offline), snap);
  EXPECT_EQ(resolve_model_path("org/tiny@" + hub_.commit, env_offline), snap);
  ::unsetenv("HF_HUB_OFFLINE");
  EXPECT_EQ(hub_.log.size(), requests);
  // Online but the hub is unreachable: the cached snapshot, with a note.
  std::ostringstream notes;
  opts_.log = &notes;
  EXPECT_EQ(resolve_model_path("org/tiny", opts_), snap);
  EXPECT_NE(notes.str().find("cached snapshot"), std::string::npos) << notes.str();
}

TEST_F(HubTest, OfflineWithoutCacheIsAClearError) {
  opts_.offline = true;
  try {
    resolve_model_path("org/tiny", opts_);
    FAIL() << "offline resolution without a cache must fail";
  } catch (const NetworkError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("HF_HUB_OFFLINE"), std::string::npos) << what;
    EXPECT_NE(what.find("org/tiny"), std::string::npos) << what;
    EXPECT_NE(what.find("bert-emotion download"), std::string::npos) << what;
  }
  EXPECT_TRUE(hub_.log.empty());
  // Unreachable and nothing cached: the network error names the URL.
  hub_.stop();
  opts_.offline = false;
  try {
    resolve_model_path("org/tiny", opts_);
    FAIL();
  } catch (const HubError&) {
    FAIL() << "no HTTP status was received";
  } catch (const NetworkError& e) {
    EXPECT_NE(std::string(e.what()).find(hub_.endpoint() + "/org/tiny/resolve/main/config.json"), std::string::npos)
        << e.what();
  }
}

TEST_F(HubTest, SendsTheTokenAsBearerAndExplainsAuthFailures) {
  try {
    snapshot_download("org/private", opts_);
    FAIL() << "private repo without token";
  } catch (const HubError& e) {
    EXPECT_EQ(e.status, 401);
    EXPECT_NE(std::string(e.what()).find("authentication required"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HF_TOKEN"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(repo_dir("org/private") / "snapshots"));
  ::setenv("HF_TOKEN", hub_.token.c_str(), 1);  // from the environment, as huggingface_hub
  fs::path snap = snapshot_download("org/private", opts_);
  ::unsetenv("HF_TOKEN");
  EXPECT_EQ(slurp(snap / "model.safetensors"), hub_.files["model.safetensors"].body);
  EXPECT_EQ(hub_.authorizations.back(), "Bearer " + hub_.token);
}

TEST_F(HubTest, TheTokenIsNotSentToACdnOnAnotherOrigin) {
  hub_.external_cdn = true;
  opts_.token = hub_.token;
  fs::path snap = snapshot_download("org/private", opts_);
  EXPECT_EQ(slurp(snap / "model.safetensors"), hub_.files["model.safetensors"].body);
  ASSERT_EQ(hub_.log.size(), hub_.authorizations.size());
  int cdn_requests = 0;
  for (size_t i = 0; i < hub_.log.size(); ++i) {
    bool to_cdn = hub_.log[i].find(" /cdn/") != std::string::npos;
    cdn_requests += to_cdn;
    EXPECT_EQ(hub_.authorizations[i], to_cdn ? "" : "Bearer " + hub_.token) << hub_.log[i];
  }
  EXPECT_EQ(cdn_requests, 1);
}

TEST_F(HubTest, MissingRepoFileAndRevisionAre404s) {
  try {
    resolve_model_path("org/nothing", opts_);
    FAIL();
  } catch (const HubError& e) {
    EXPECT_EQ(e.status, 404);
    EXPECT_EQ(e.error_code, "RepoNotFound");
    EXPECT_NE(std::string(e.what()).find("no such model 'org/nothing'"), std::string::npos) << e.what();
  }
  try {
    hub_download_file("org/tiny", "pytorch_model.bin", opts_);
    FAIL();
  } catch (const HubError& e) {
    EXPECT_EQ(e.status, 404);
    EXPECT_NE(std::string(e.what()).find("pytorch_model.bin"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_model_path("org/tiny@v9", opts_), HubError);
  // Names that would escape the cache are refused before any request.
  size_t before = hub_.log.size();
  EXPECT_THROW(resolve_model_path("org/tiny@../../x", opts_), InvalidArgument);
  EXPECT_THROW(hub_download_file("org/tiny", "../config.json", opts_), InvalidArgument);
  EXPECT_THROW(hub_download_file("org/tiny", "/etc/passwd", opts_), InvalidArgument);
  EXPECT_EQ(hub_.log.size(), before);
  // A required file that is missing fails the snapshot.
  EXPECT_THROW(snapshot_download("org/tiny", opts_, {{"config.json", true}, {"weights.bin", true}}), HubError);
}

// Runs a shell command; returns its exit code and stdout.
std::pair<int, std::string> run_command(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  std::string out;
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(HubTest, CommandLineDownload) {
  std::string cmd = std::string("HF_ENDPOINT=") + hub_.endpoint() +
                    " '" BERT_EMOTION_BIN "' download org/tiny --cache-dir '" + opts_.cache_dir.string() + "' 2>'" +
                    (root_ / "err.txt").string() + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::string out;
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(root_ / "err.txt");
  EXPECT_NE(out.find((repo_dir() / "snapshots" / hub_.commit).string()), std::string::npos) << out;
  EXPECT_EQ(slurp(repo_dir() / "snapshots" / hub_.commit / "model.safetensors"), hub_.files["model.safetensors"].body);

  // --local-dir: a plain copy, files not links, and its path on stdout.
  fs::path plain = root_ / "plain";
  auto [rc, copied] = run_command(std::string("HF_ENDPOINT=") + hub_.endpoint() +
                                  " '" BERT_EMOTION_BIN "' download -q org/tiny --cache-dir '" +
                                  opts_.cache_dir.string() + "' --local-dir '" + plain.string() + "'");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(copied, plain.string() + "\n");
  for (const auto& [name, f] : hub_.files) {
    EXPECT_FALSE(fs::is_symlink(plain / name)) << name;
    EXPECT_EQ(slurp(plain / name), f.body) << name;
  }

  // A missing model exits with the network exit code and says why.
  cmd = std::string("HF_ENDPOINT=") + hub_.endpoint() + " '" BERT_EMOTION_BIN "' download org/nothing --cache-dir '" +
        opts_.cache_dir.string() + "' >/dev/null 2>'" + (root_ / "err.txt").string() + "'";
  status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 5);
  EXPECT_NE(slurp(root_ / "err.txt").find("no such model"), std::string::npos) << slurp(root_ / "err.txt");
}

// End to end: a real (random, tiny) model served by the stand-in hub; `predict --model org/tiny`
// must give exactly what the same files give as a local directory.
TEST_F(HubTest, PredictTakesAHubId) {
  fs::path tokenizer = fs::path(SHARED_DIR) / "models" / "distilbert-base-cased";
  if (!fs::exists(tokenizer / "tokenizer.json")) GTEST_SKIP() << "no " << tokenizer;
  fs::path local = root_ / "local-model";
  ModelConfig cfg = preset_config("tiny");
  cfg.vocab_size = 28996;  // distilbert-base-cased's vocabulary
  create_random_model_dir(local, cfg, 7, tokenizer);
  hub_.files.clear();
  for (const auto& e : fs::directory_iterator(local)) {
    std::string name = e.path().filename().string();
    hub_.files[name] = {slurp(e.path()), name == "model.safetensors"};
  }
  ASSERT_TRUE(hub_.files.count("config.json") && hub_.files.count("model.safetensors"));
  std::string texts = " 'what a wonderful day' 'I am so angry right now'";
  auto [local_rc, local_out] = run_command("'" BERT_EMOTION_BIN "' predict --model '" + local.string() + "'" + texts);
  ASSERT_EQ(local_rc, 0) << local_out;
  std::string env = "HF_ENDPOINT=" + hub_.endpoint() + " HF_HUB_CACHE='" + opts_.cache_dir.string() + "' ";
  auto [hub_rc, hub_out] = run_command(env + "'" BERT_EMOTION_BIN "' predict --model org/tiny" + texts);
  ASSERT_EQ(hub_rc, 0) << hub_out;
  EXPECT_EQ(hub_out, local_out);
  EXPECT_FALSE(hub_out.empty());
  EXPECT_TRUE(fs::is_symlink(repo_dir() / "snapshots" / hub_.commit / "model.safetensors"));
  // And offline, from the cache alone.
  hub_.stop();
  auto [off_rc, off_out] =
      run_command("HF_HUB_OFFLINE=1 " + env + "'" BERT_EMOTION_BIN "' predict --model org/tiny" + texts);
  ASSERT_EQ(off_rc, 0) << off_out;
  EXPECT_EQ(off_out, local_out);
}

}  // namespace

// Weights are chosen as transformers' from_pretrained does, and nothing else is fetched.
namespace {
int requests_for(const FakeHub& hub, const std::string& file) {
  int n = 0;
  for (const auto& line : hub.log)
    if (line.size() > file.size() && line.compare(line.size() - file.size() - 1, std::string::npos, "/" + file) == 0)
      ++n;
  return n;
}
}  // namespace

TEST_F(HubTest, SafetensorsWinsOverPytorchModelBin) {
  hub_.files["pytorch_model.bin"] = {"PK-bin", false};
  hub_.files["model.safetensors.index.json"] = {R"({"weight_map": {"a": "model-1.safetensors"}})", false};
  const fs::path snap = resolve_model_path("org/tiny", opts_);
  EXPECT_TRUE(fs::exists(snap / "model.safetensors"));
  EXPECT_EQ(requests_for(hub_, "pytorch_model.bin"), 0);
  EXPECT_EQ(requests_for(hub_, "model.safetensors.index.json"), 0);
  EXPECT_FALSE(fs::exists(snap / "pytorch_model.bin"));
}

TEST_F(HubTest, ASafetensorsIndexBringsItsShardsOnly) {
  hub_.files.erase("model.safetensors");
  hub_.files["model.safetensors.index.json"] = {
      R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}})",
      false};
  hub_.files["model-00001-of-00002.safetensors"] = {"shard one", false};
  hub_.files["model-00002-of-00002.safetensors"] = {"shard two", false};
  hub_.files["model-00003-of-00002.safetensors"] = {"not in the index", false};
  hub_.files["pytorch_model.bin"] = {"PK-bin", false};
  const fs::path snap = resolve_model_path("org/tiny", opts_);
  EXPECT_EQ(slurp(snap / "model-00001-of-00002.safetensors"), "shard one");
  EXPECT_EQ(slurp(snap / "model-00002-of-00002.safetensors"), "shard two");
  EXPECT_GE(requests_for(hub_, "model-00001-of-00002.safetensors"), 1);
  EXPECT_EQ(requests_for(hub_, "model-00003-of-00002.safetensors"), 0);
  EXPECT_EQ(requests_for(hub_, "pytorch_model.bin"), 0);
  // and offline, the cached index with its shards is a complete snapshot
  hub_.stop();
  opts_.offline = true;
  EXPECT_EQ(resolve_model_path("org/tiny", opts_), snap);
}

TEST_F(HubTest, PytorchModelBinWhenThereIsNoSafetensors) {
  hub_.files.erase("model.safetensors");
  hub_.files["pytorch_model.bin"] = {"PK-bin", false};
  hub_.files["pytorch_model.bin.index.json"] = {R"({"weight_map": {"a": "pytorch_model-1.bin"}})", false};
  const fs::path snap = resolve_model_path("org/tiny", opts_);
  EXPECT_EQ(slurp(snap / "pytorch_model.bin"), "PK-bin");
  EXPECT_EQ(requests_for(hub_, "pytorch_model.bin.index.json"), 0);
  // the two safetensors candidates were asked for and are marked absent, as huggingface_hub does
  EXPECT_TRUE(fs::exists(repo_dir() / ".no_exist" / hub_.commit / "model.safetensors"));
  EXPECT_TRUE(fs::exists(repo_dir() / ".no_exist" / hub_.commit / "model.safetensors.index.json"));
}

TEST_F(HubTest, ABinIndexBringsItsShardsAndAnIndexThatEscapesIsRefused) {
  hub_.files.erase("model.safetensors");
  hub_.files["pytorch_model.bin.index.json"] = {R"({"weight_map": {"a": "pytorch_model-00001-of-00001.bin"}})", false};
  hub_.files["pytorch_model-00001-of-00001.bin"] = {"PK-shard", false};
  const fs::path snap = resolve_model_path("org/tiny", opts_);
  EXPECT_EQ(slurp(snap / "pytorch_model-00001-of-00001.bin"), "PK-shard");

  hub_.files["pytorch_model.bin.index.json"] = {R"({"weight_map": {"a": "../../evil.bin"}})", false};
  fs::remove_all(opts_.cache_dir);
  EXPECT_THROW(resolve_model_path("org/tiny", opts_), CheckpointError);
}

TEST_F(HubTest, NoWeightsAtAllIsAClearError) {
  hub_.files.erase("model.safetensors");
  try {
    resolve_model_path("org/tiny", opts_);
    FAIL() << "a repo without weights must fail";
  } catch (const HubError& e) {
    EXPECT_EQ(e.status, 404);
    EXPECT_NE(std::string(e.what()).find("pytorch_model.bin.index.json"), std::string::npos) << e.what();
  }
}

// datasets.cpp — `--data tweet_eval/emotion` to a local TweetEval task folder.
//
// Order: an existing path as given; a local TweetEval checkout ($BERT_EMOTION_DATA_DIR, then
// ../shared/data/tweeteval/datasets next to the source tree or the working directory); the cached
// copy; a download of the task's raw files from the TweetEval repository into the cache.
// `--data go_emotions` likewise: HubOptions::goemotions_dir (a local copy), the cached copy, or a
// download of train/dev/test.tsv and emotions.txt (saved as labels.txt) from google-research.
#include <cstdlib>

#include "hub/http_client.hpp"
#include "hub/hub.hpp"
#include "util/atomic_file.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& task_files() {
  static const std::vector<std::string> files = {"mapping",    "train_text", "train_labels", "val_text",
                                                 "val_labels", "test_text",  "test_labels"};
  return files;
}

bool has_task_files(const fs::path& dir, bool need_mapping) {
  std::error_code ec;
  for (const auto& f : task_files()) {
    if (f == "mapping" && !need_mapping) continue;
    if (!fs::is_regular_file(dir / (f + ".txt"), ec)) return false;
  }
  return true;
}

std::vector<fs::path> default_data_roots() {
  std::vector<fs::path> roots;
  if (const char* d = std::getenv("BERT_EMOTION_DATA_DIR"); d && *d) {
    roots.emplace_back(fs::path(d));
    roots.emplace_back(fs::path(d) / "datasets");
    roots.emplace_back(fs::path(d) / "tweeteval" / "datasets");
  }
  return roots;
}

// Downloads url_base/remote -> dir/local for each pair not yet there (written atomically, so an
// interrupted download leaves no half file).
void download_files(const fs::path& dir, const std::string& url_base,
                    const std::vector<std::pair<std::string, std::string>>& remote_to_local, const HubOptions& opts,
                    const std::string& hint_404) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create directory " + dir.string() + ": " + ec.message());
  for (const auto& [remote, local] : remote_to_local) {
    const fs::path out = dir / local;
    if (fs::is_regular_file(out, ec)) continue;
    HttpRequest req;
    req.url = url_base + "/" + remote;
    req.connect_timeout_s = opts.connect_timeout_s;
    req.stall_timeout_s = opts.stall_timeout_s;
    if (opts.log) *opts.log << "downloading " << req.url << "\n";
    HttpResponse r = http_get_to_string(req, size_t(256) << 20);
    if (r.status != 200)
      throw NetworkError("cannot download dataset file " + req.url + ": HTTP " + std::to_string(r.status) +
                         (r.status == 404 ? hint_404 : ""));
    write_file_atomic(out, r.body);
  }
}

const std::vector<std::string>& goemotions_files() {
  static const std::vector<std::string> files = {"train.tsv", "dev.tsv", "test.tsv", "labels.txt"};
  return files;
}

bool has_goemotions_files(const fs::path& dir) {
  std::error_code ec;
  for (const auto& f : goemotions_files())
    if (!fs::is_regular_file(dir / f, ec)) return false;
  return true;
}

fs::path resolve_goemotions(const std::string& spec, const HubOptions& opts_in) {
  HubOptions opts = hub_options_from_env(opts_in);
  std::error_code ec;
  if (!opts.goemotions_dir.empty() && fs::is_directory(opts.goemotions_dir, ec)) {
    if (has_goemotions_files(opts.goemotions_dir)) return opts.goemotions_dir;
    throw IoError(opts.goemotions_dir.string() +
                  ": not a GoEmotions copy: expected train.tsv, dev.tsv, test.tsv and labels.txt");
  }
  fs::path cached = opts.data_cache_dir / "go_emotions";
  if (has_goemotions_files(cached)) return cached;
  if (*opts.offline)
    throw NetworkError("dataset " + spec + " is neither in a local copy (" +
                       (opts.goemotions_dir.empty() ? std::string("none given") : opts.goemotions_dir.string()) +
                       ") nor in the cache " + cached.string() +
                       ", and HF_HUB_OFFLINE is set: set BERT_EMOTION_GOEMOTIONS_DIR to a folder of "
                       "train.tsv, dev.tsv, test.tsv and labels.txt");
  download_files(
      cached, opts.goemotions_url,
      {{"train.tsv", "train.tsv"}, {"dev.tsv", "dev.tsv"}, {"test.tsv", "test.tsv"}, {"emotions.txt", "labels.txt"}},
      opts, " (set BERT_EMOTION_GOEMOTIONS_URL or BERT_EMOTION_GOEMOTIONS_DIR)");
  return cached;
}

}  // namespace

bool is_goemotions_spec(const std::string& spec) {
  std::string s = spec;
  while (!s.empty() && s.back() == '/') s.pop_back();
  for (const char* name : {"go_emotions", "go_emotions/simplified", "go_emotions:simplified", "goemotions",
                           "google-research-datasets/go_emotions", "google-research-datasets/go_emotions/simplified",
                           "google-research-datasets/go_emotions:simplified"})
    if (s == name) return true;
  return false;
}

const std::vector<std::string>& tweeteval_tasks() {
  static const std::vector<std::string> tasks = {
      "emoji",           "emotion",        "hate",           "irony",           "offensive",      "sentiment",
      "stance/abortion", "stance/atheism", "stance/climate", "stance/feminist", "stance/hillary",
  };
  return tasks;
}

std::optional<std::string> tweeteval_task(const std::string& spec) {
  static const char* kPrefixes[] = {
      "cardiffnlp/tweet_eval/", "cardiffnlp/tweet_eval:", "tweet_eval/", "tweet_eval:", "tweeteval/", "tweeteval:"};
  for (const char* prefix : kPrefixes) {
    std::string p(prefix);
    if (spec.rfind(p, 0) != 0) continue;
    std::string task = spec.substr(p.size());
    while (!task.empty() && task.back() == '/') task.pop_back();
    if (task.rfind("stance_", 0) == 0) task = "stance/" + task.substr(7);
    for (const auto& t : tweeteval_tasks())
      if (t == task) return task;
    return std::nullopt;
  }
  return std::nullopt;
}

fs::path resolve_dataset_path(const std::string& spec, const HubOptions& opts_in) {
  std::error_code ec;
  if (!spec.empty() && fs::exists(spec, ec)) return fs::path(spec);
  if (is_goemotions_spec(spec)) return resolve_goemotions(spec, opts_in);
  auto task = tweeteval_task(spec);
  if (!task) return fs::path(spec);
  bool stance = task->rfind("stance/", 0) == 0;

  // Stance sub-task folders hold no mapping.txt: it sits one level up, shared by the five targets.
  std::vector<fs::path> roots = opts_in.data_search_dirs.empty() ? default_data_roots() : opts_in.data_search_dirs;
  for (const auto& root : roots) {
    fs::path dir = root / *task;
    if (has_task_files(dir, !stance)) return dir.lexically_normal();
  }

  HubOptions opts = hub_options_from_env(opts_in);
  fs::path cached = opts.data_cache_dir / "tweet_eval" / *task;
  if (has_task_files(cached, true)) return cached;
  if (*opts.offline)
    throw NetworkError("dataset " + spec + " is neither in a local TweetEval checkout nor in the cache " +
                       cached.string() +
                       ", and HF_HUB_OFFLINE is set: set BERT_EMOTION_DATA_DIR to a tweeteval/datasets folder");

  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& f : task_files())
    files.emplace_back((f == "mapping" && stance) ? "stance/mapping.txt" : *task + "/" + f + ".txt", f + ".txt");
  download_files(cached, opts.tweeteval_url, files, opts, " (no such file: is the TweetEval task name right?)");
  return cached;
}

}  // namespace bert_emotion

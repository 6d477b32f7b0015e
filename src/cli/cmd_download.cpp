// cmd_download.cpp — `bert-emotion download MODEL_ID [--revision main] [--cache-dir DIR]`.
//
// Fetches config.json, the tokenizer files and model.safetensors of a hub model into the Hugging
// Face cache (shared with Python) and prints the snapshot directory on stdout, so that
//   MODEL=$(bert-emotion download distilbert-base-cased)
// works in scripts. `--local-dir DIR` also copies the files into a plain directory (and prints
// that). `--data tweet_eval/emotion` (or `--data go_emotions`) resolves, downloading if needed, a
// TweetEval task (GoEmotions) and prints its folder.
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "hub/hub.hpp"
#include "util/atomic_file.hpp"

namespace bert_emotion::cli {
namespace {

struct DownloadOptions {
  std::vector<std::string> models;
  std::vector<std::string> data;
  std::string revision;
  std::string cache_dir;
  std::string endpoint;
  std::string token;
  std::vector<std::string> files;
  std::string local_dir;
  bool quiet = false;
};

// Copies a snapshot's files (links followed) into a plain directory, each file atomically.
void copy_snapshot(const std::filesystem::path& snapshot, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create directory " + dir.string() + ": " + ec.message());
  for (auto it = fs::recursive_directory_iterator(snapshot); it != fs::recursive_directory_iterator(); ++it) {
    if (!fs::is_regular_file(it->path())) continue;  // follows the snapshot's symlinks
    fs::path rel = it->path().lexically_relative(snapshot);
    fs::create_directories((dir / rel).parent_path(), ec);
    write_file_atomic(dir / rel, read_file(it->path()));
  }
}

int run_download(const DownloadOptions& o) {
  if (o.models.empty() && o.data.empty())
    throw InvalidArgument("download: give a MODEL_ID (e.g. distilbert-base-cased) and/or --data tweet_eval/emotion");
  HubOptions opts;
  opts.revision = o.revision;
  opts.cache_dir = o.cache_dir;
  opts.endpoint = o.endpoint;
  opts.token = o.token;
  opts.progress = !o.quiet;
  opts.log = o.quiet ? nullptr : &std::cerr;
  std::vector<HubFile> files;
  for (const auto& f : o.files) files.push_back({f, true});
  if (!o.local_dir.empty() && o.models.size() != 1)
    throw InvalidArgument("download --local-dir: give exactly one MODEL_ID");
  for (const auto& model : o.models) {
    auto snapshot = snapshot_download(model, opts, files);
    if (!o.local_dir.empty()) {
      copy_snapshot(snapshot, o.local_dir);
      std::cout << o.local_dir << std::endl;
    } else {
      std::cout << snapshot.string() << std::endl;
    }
  }
  for (const auto& spec : o.data) {
    if (!tweeteval_task(spec) && !is_goemotions_spec(spec))
      throw InvalidArgument("download --data: '" + spec +
                            "' is neither a TweetEval task (e.g. tweet_eval/emotion) "
                            "nor go_emotions");
    std::cout << resolve_dataset_path(spec, opts).string() << std::endl;
  }
  return kExitOk;
}

Registrar reg("download", [](CLI::App& app) {
  auto* sub = app.add_subcommand("download", "Download a model from the Hugging Face hub into the shared cache");
  auto o = std::make_shared<DownloadOptions>();
  sub->add_option("model", o->models, "Hub model id: name, org/name or org/name@revision");
  sub->add_option("--data", o->data, "Dataset to fetch too: a TweetEval task (tweet_eval/emotion) or go_emotions")
      ->allow_extra_args(false);
  sub->add_option("--revision", o->revision, "Branch, tag or commit (default: main, or @rev in the id)");
  sub->add_option("--cache-dir", o->cache_dir,
                  "Cache root (default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)");
  sub->add_option("--endpoint", o->endpoint, "Hub URL (default: $HF_ENDPOINT or https://huggingface.co)");
  sub->add_option("--token", o->token, "Access token (default: $HF_TOKEN)");
  sub->add_option("--file", o->files, "Fetch only these files (repeatable; default: config, tokenizer, weights)")
      ->allow_extra_args(false);
  sub->add_option("--local-dir", o->local_dir, "Also copy the files into this plain directory (printed instead)");
  sub->add_flag("-q,--quiet", o->quiet, "No progress bar or notes on stderr");
  return std::function<int()>([o] { return run_download(*o); });
});

}  // namespace
}  // namespace bert_emotion::cli

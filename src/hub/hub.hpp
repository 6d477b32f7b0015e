// hub.hpp — models and datasets by name: Hugging Face hub download + cache, TweetEval resolution.
//
// Everywhere a model directory is accepted, a hub id works too. resolve_model_path() returns a
// local directory: an existing directory wins; otherwise `distilbert-base-cased`, `org/name` or
// `org/name@revision` is fetched (config.json, tokenizer files, and the weights transformers would
// pick: model.safetensors, else model.safetensors.index.json + its shards, else pytorch_model.bin,
// else pytorch_model.bin.index.json + its shards; nothing else) from
// {endpoint}/{repo}/resolve/{revision}/{file} into the Hugging Face cache layout, shared with
// Python users:
//   {cache}/models--{org}--{name}/blobs/{etag}                  the bytes (sha256 for LFS files)
//   {cache}/models--{org}--{name}/snapshots/{commit}/{file}     -> ../../blobs/{etag} (relative link)
//   {cache}/models--{org}--{name}/refs/{revision}               the commit hash
// Downloads resume from blobs/{etag}.incomplete with a Range request; a blob is checked (size, and
// the SHA-256 of LFS files) before its snapshot link exists, so a failed or corrupt download leaves
// nothing in snapshots/. Environment, as huggingface_hub: HF_ENDPOINT, HF_HUB_CACHE / HF_HOME,
// HF_TOKEN, HF_HUB_OFFLINE=1 (cache only).
//
//   auto dir  = bert_emotion::resolve_model_path("distilbert-base-cased");   // or "runs/emotion"
//   auto data = bert_emotion::resolve_dataset_path("tweet_eval/emotion");     // a TweetEval folder
//   auto snap = bert_emotion::snapshot_download("org/name", {.revision = "v1", .progress = true});
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace bert_emotion {

// Every field left empty / unset takes its value from the environment, then from the default.
struct HubOptions {
  std::string endpoint;             // $HF_ENDPOINT, else https://huggingface.co
  std::filesystem::path cache_dir;  // $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
  std::string token;                // $HF_TOKEN; sent as "Authorization: Bearer <token>"
  std::string revision;             // overrides "@rev" in the id; else "main"
  std::optional<bool> offline;      // $HF_HUB_OFFLINE (1/true/yes/on): never touch the network
  bool progress = false;            // progress bar on stderr (only when stderr is a terminal;
                                    // HF_HUB_DISABLE_PROGRESS_BARS=1 turns it off)
  std::ostream* log = nullptr;      // one-line notes (cache fallbacks, downloads); null = silent
  int max_retries = 3;              // extra attempts (resumed with Range) after a dropped transfer
  long connect_timeout_s = 15;
  long stall_timeout_s = 60;  // abort a transfer that moves no byte for this long
  // Datasets: where downloaded TweetEval copies are kept ($BERT_EMOTION_CACHE/datasets, else
  // ${XDG_CACHE_HOME:-~/.cache}/bert-emotion/datasets) and where the raw files come from
  // ($BERT_EMOTION_TWEETEVAL_URL, else https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets).
  std::filesystem::path data_cache_dir;
  std::string tweeteval_url;
  // Local TweetEval `datasets/` folders searched first; empty = $BERT_EMOTION_DATA_DIR (and its
  // datasets/, tweeteval/datasets/), {source tree}/../shared/data/tweeteval/datasets, ../shared/...,
  // ./shared/...
  std::vector<std::filesystem::path> data_search_dirs;
  // GoEmotions (`--data go_emotions`): a local copy of {train,dev,test}.tsv + labels.txt
  // ($BERT_EMOTION_GOEMOTIONS_DIR, else $BERT_EMOTION_DATA_DIR/goemotions), else the cached copy,
  // else downloaded from goemotions_url ($BERT_EMOTION_GOEMOTIONS_URL, else
  // https://raw.githubusercontent.com/google-research/google-research/master/goemotions/data).
  std::filesystem::path goemotions_dir;
  std::string goemotions_url;
};

// The options with every unset field filled from the environment / defaults.
HubOptions hub_options_from_env(HubOptions opts = {});

// For CLI commands: hub_options_from_env() plus a progress bar and one-line notes (downloads,
// resumes, cache fallbacks) on stderr.
HubOptions cli_hub_options();

// An HTTP error from the hub (401/403/404/5xx), with the status and the hub's X-Error-Code
// ("RepoNotFound", "EntryNotFound", "GatedRepo", "RevisionNotFound") when it sent one.
class HubError : public NetworkError {
 public:
  HubError(const std::string& what, long status, std::string error_code)
      : NetworkError(what), status(status), error_code(std::move(error_code)) {}
  long status;
  std::string error_code;
};

// "org/name@rev" -> {repo_id "org/name", revision "rev"}. Throws InvalidArgument for anything that
// is not a valid hub id (empty parts, more than one '/', characters outside [A-Za-z0-9._-]).
struct HubRepoRef {
  std::string repo_id;
  std::string revision;  // "" when the id carried none
};
HubRepoRef parse_repo_ref(const std::string& id);
bool is_valid_repo_ref(const std::string& id);

// {cache}/models--org--name
std::filesystem::path repo_cache_folder(const std::filesystem::path& cache_dir, const std::string& repo_id);

// The files fetched for a model besides its weights (chosen as above): required ones fail the
// download when absent, optional ones (the tokenizer files) may be missing from the repo.
struct HubFile {
  std::string name;
  bool required;
};
const std::vector<HubFile>& default_model_files();

// Downloads one file into the cache (or finds it there) and returns its snapshot path. Throws
// HubError (404 for a missing file; 401/403 "authentication required, set HF_TOKEN"),
// NetworkError naming the URL on transport failures or a corrupt body.
std::filesystem::path hub_download_file(const std::string& repo_id, const std::string& filename,
                                        const HubOptions& opts = {});

// Downloads `files` (default_model_files() and the weights when empty) of `repo_ref` and returns the snapshot
// directory snapshots/{commit}. Offline: the cached snapshot of refs/{revision}, or a clear error.
std::filesystem::path snapshot_download(const std::string& repo_ref, const HubOptions& opts = {},
                                        const std::vector<HubFile>& files = {});

// The cached snapshot directory for `repo_ref` (refs/{revision}, or a commit hash given as the
// revision) if it holds config.json and complete weights; nothing otherwise. Never touches the network.
std::optional<std::filesystem::path> cached_snapshot(const std::string& repo_ref, const HubOptions& opts = {});

// A local directory as given when it exists; else a hub id resolved through the cache, downloading
// unless offline (falling back to the cached snapshot, with a note on `log`, when the hub is
// unreachable). Throws IoError for a path-like argument that does not exist, InvalidArgument for
// something that is neither, NetworkError/HubError when the model cannot be obtained.
std::filesystem::path resolve_model_path(const std::string& id_or_dir, const HubOptions& opts = {});

// The TweetEval task named by `spec`, or nothing: "tweet_eval/emotion", "tweeteval/emotion",
// "cardiffnlp/tweet_eval/emotion", "tweet_eval:emotion"; stance as "stance_abortion" or
// "stance/abortion". Returns the folder path inside datasets/ ("emotion", "stance/abortion").
std::optional<std::string> tweeteval_task(const std::string& spec);
const std::vector<std::string>& tweeteval_tasks();

// Whether `spec` names GoEmotions: "go_emotions", "google-research-datasets/go_emotions",
// "go_emotions/simplified" (the same 43,410 / 5,426 / 5,427 split).
bool is_goemotions_spec(const std::string& spec);

// A dataset spec as a local path: an existing path as given; a TweetEval task from the first of
// $BERT_EMOTION_DATA_DIR, {source tree}/../shared/data/tweeteval/datasets, ./../shared/... and
// ./shared/... that holds it, else the cached copy (downloaded unless offline: mapping, train/val/test
// text and labels); GoEmotions as HubOptions::goemotions_dir says; anything else is returned as
// given for the dataset loader to judge.
std::filesystem::path resolve_dataset_path(const std::string& spec, const HubOptions& opts = {});

}  // namespace bert_emotion

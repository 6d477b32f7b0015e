// hub_datasets_test.cpp — `--data tweet_eval/<task>` resolution: the local TweetEval checkout,
// $BERT_EMOTION_DATA_DIR, and a download of the raw task files from a loopback stand-in for the
// TweetEval repository into the cache (then offline from the cache).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "hub/hub.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace bert_emotion;
using bert_emotion::testing_support::slurp;
using bert_emotion::testing_support::unset_before_tests;

namespace {

[[maybe_unused]] const auto* const kCleanEnv =
    unset_before_tests({"HF_HUB_OFFLINE", "HF_HOME", "BERT_EMOTION_DATA_DIR", "BERT_EMOTION_CACHE",
                        "BERT_EMOTION_TWEETEVAL_URL", "XDG_CACHE_HOME"});

TEST(HubDatasets, TaskNames) {
  EXPECT_EQ(tweeteval_task("tweet_eval/emotion").value(), "emotion");
  EXPECT_EQ(tweeteval_task("cardiffnlp/tweet_eval/irony").value(), "irony");
  EXPECT_EQ(tweeteval_task("tweet_eval:sentiment").value(), "sentiment");
  EXPECT_EQ(tweeteval_task("tweeteval/stance_abortion").value(), "stance/abortion");
  EXPECT_EQ(tweeteval_task("tweet_eval/stance/climate").value(), "stance/climate");
  EXPECT_FALSE(tweeteval_task("tweet_eval/nonsense").has_value());
  EXPECT_FALSE(tweeteval_task("data/emotion").has_value());
}

TEST(HubDatasets, FindsTheSharedLocalCopy) {
  fs::path shared = fs::path(SHARED_DIR) / "data" / "tweeteval" / "datasets" / "emotion";
  if (!fs::exists(shared / "train_text.txt")) GTEST_SKIP() << "no " << shared;
  HubOptions o;
  o.offline = true;  // must not need the network
  o.data_cache_dir = fs::temp_directory_path() / "hub_test_never_used";
  // The binary knows no local folder of its own: without BERT_EMOTION_DATA_DIR, offline and with
  // an empty cache, the task is not found (never silently read from a folder beside the sources).
  EXPECT_THROW(resolve_dataset_path("tweet_eval/emotion", o), NetworkError);
  // BERT_EMOTION_DATA_DIR may name the datasets folder itself or a folder above it.
  ::setenv("BERT_EMOTION_DATA_DIR", (fs::path(SHARED_DIR) / "data").c_str(), 1);
  fs::path got = resolve_dataset_path("tweet_eval/emotion", o);
  EXPECT_TRUE(fs::equivalent(got, shared)) << got;
  EXPECT_FALSE(fs::exists(o.data_cache_dir));
  ::setenv("BERT_EMOTION_DATA_DIR", (fs::path(SHARED_DIR) / "data" / "tweeteval" / "datasets").c_str(), 1);
  EXPECT_TRUE(fs::equivalent(resolve_dataset_path("tweet_eval/emotion", o), shared));
  ::unsetenv("BERT_EMOTION_DATA_DIR");
  // A path that exists is returned as given; anything unknown too, for the loader to judge.
  EXPECT_EQ(resolve_dataset_path(shared.string(), o), shared);
  EXPECT_EQ(resolve_dataset_path("my/data.csv", o), fs::path("my/data.csv"));
}

TEST(HubDatasets, DownloadsRawFilesIntoTheCacheOnce) {
  fs::path root = fs::temp_directory_path() / ("hub_test_data_" + std::to_string(::getpid()));
  fs::remove_all(root);
  std::map<std::string, std::string> served;
  for (const char* f : {"mapping", "train_text", "train_labels", "val_text", "val_labels", "test_text", "test_labels"})
    served[std::string("/datasets/sentiment/") + f + ".txt"] = std::string("content of ") + f + "\nline 2\n";
  served["/datasets/stance/mapping.txt"] = "0\tnone\n1\tagainst\n2\tfavor\n";
  for (const char* f : {"train_text", "train_labels", "val_text", "val_labels", "test_text", "test_labels"})
    served[std::string("/datasets/stance/hillary/") + f + ".txt"] = f;
  std::atomic<int> gets{0};
  httplib::Server svr;
  svr.Get(R"(/datasets/.*)", [&](const httplib::Request& req, httplib::Response& res) {
    ++gets;
    auto it = served.find(req.path);
    if (it == served.end()) {
      res.status = 404;
      return;
    }
    res.set_content(it->second, "text/plain");
  });
  int port = svr.bind_to_any_port("127.0.0.1");
  std::thread t([&] { svr.listen_after_bind(); });
  while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  HubOptions o;
  o.offline = false;
  o.data_cache_dir = root / "datasets";
  o.data_search_dirs = {root / "no-local-checkout"};
  o.tweeteval_url = "http://127.0.0.1:" + std::to_string(port) + "/datasets";
  fs::path got = resolve_dataset_path("tweet_eval/sentiment", o);
  EXPECT_EQ(got, root / "datasets" / "tweet_eval" / "sentiment");
  EXPECT_EQ(gets, 7);
  for (const auto& [path, body] : served) {
    if (path.rfind("/datasets/sentiment/", 0) == 0) {
      EXPECT_EQ(slurp(got / fs::path(path).filename()), body) << path;
    }
  }
  // Stance targets take the mapping shared one level up.
  fs::path stance = resolve_dataset_path("tweet_eval/stance_hillary", o);
  EXPECT_EQ(slurp(stance / "mapping.txt"), served["/datasets/stance/mapping.txt"]);
  EXPECT_EQ(slurp(stance / "val_labels.txt"), "val_labels");
  // A task the server lacks: the error names the URL.
  try {
    resolve_dataset_path("tweet_eval/irony", o);
    FAIL();
  } catch (const NetworkError& e) {
    EXPECT_NE(std::string(e.what()).find(o.tweeteval_url + "/irony/mapping.txt"), std::string::npos) << e.what();
  }
  svr.stop();
  t.join();
  // Cached: resolves with the server gone, even offline.
  o.offline = true;
  EXPECT_EQ(resolve_dataset_path("tweet_eval/sentiment", o), got);
  try {
    resolve_dataset_path("tweet_eval/irony", o);
    FAIL();
  } catch (const NetworkError& e) {
    EXPECT_NE(std::string(e.what()).find("HF_HUB_OFFLINE"), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

}  // namespace

// multilabel_data_test.cpp — multi-label datasets: GoEmotions TSV folders, "2,7" label fields
// (CSV/TSV/TweetEval), JSONL label lists, LabelMode, and `--data go_emotions` resolution (a local
// copy, the cache, and a download from a loopback stand-in for the google-research repository).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <map>
#include <thread>

#include "data/dataset.hpp"
#include "data/goemotions.hpp"
#include "hub/hub.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using namespace bert_emotion;
using namespace bert_emotion::testing_support;
using ::testing::HasSubstr;

namespace {

[[maybe_unused]] const auto* const kCleanEnv =
    unset_before_tests({"HF_HUB_OFFLINE", "BERT_EMOTION_DATA_DIR", "BERT_EMOTION_CACHE", "BERT_EMOTION_GOEMOTIONS_DIR",
                        "BERT_EMOTION_GOEMOTIONS_URL", "XDG_CACHE_HOME"});

const fs::path kGoEmotions = fs::path(SHARED_DIR) / "data" / "goemotions";

void write_goemotions(const fs::path& dir) {
  fs::create_directories(dir);
  spit(dir / "labels.txt", "anger\njoy\nsadness\nneutral");
  spit(dir / "train.tsv", "so happy\t1\tid1\nangry \"and\" sad\t0,2\tid2\nmeh\t3\tid3\n");
  spit(dir / "dev.tsv", "ok\t3\tid4\n");
  spit(dir / "test.tsv", "yay, fine\t1,3\tid5\n");
}

TEST(MultiLabelData, GoEmotionsFolderAndFile) {
  TempDir t;
  write_goemotions(t.path);
  Dataset d = load_dataset(t.path, "train");
  EXPECT_TRUE(d.multi_label);
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"anger", "joy", "sadness", "neutral"}));
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[1].text, "angry \"and\" sad");  // quotes are text: fields split on the tab only
  EXPECT_EQ(d.rows[1].labels, (std::vector<int>{0, 2}));
  EXPECT_EQ(d.rows[1].label, -1);
  EXPECT_EQ(load_dataset(t.path, "validation").rows.at(0).text, "ok");  // val = dev.tsv
  EXPECT_EQ(load_dataset(t.path / "test.tsv", "").rows.at(0).labels, (std::vector<int>{1, 3}));
  auto hot = multi_hot(d);
  EXPECT_EQ(hot[1], (std::vector<float>{1, 0, 1, 0}));
}

TEST(MultiLabelData, GoEmotionsErrors) {
  TempDir t;
  write_goemotions(t.path);
  spit(t.path / "dev.tsv", "fine\t1\tid\nbad\t4\tid\n");
  EXPECT_THAT(error_of<FormatError>([&] { load_dataset(t.path, "val"); }),
              HasSubstr("dev.tsv:2: label 4 out of range: expected an id in [0, 4)"));
  DatasetOptions single;
  single.label_mode = LabelMode::Single;
  EXPECT_THAT(error_of<FormatError>([&] { load_dataset(t.path, "train", single); }), HasSubstr("multi-label"));
  DatasetOptions other;
  other.label_names = {"a", "b", "c", "d"};
  EXPECT_THAT(error_of<FormatError>([&] { load_dataset(t.path, "train", other); }),
              HasSubstr("differ from the model's id2label"));
  other.label_names = {"LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"};
  EXPECT_EQ(load_dataset(t.path, "train", other).label_names[3], "neutral");
}

TEST(MultiLabelData, SharedGoEmotionsCopy) {
  if (!fs::exists(kGoEmotions / "labels.txt")) GTEST_SKIP() << "no " << kGoEmotions;
  Dataset train = load_dataset(kGoEmotions, "train");
  EXPECT_EQ(train.rows.size(), 43410u);
  EXPECT_EQ(train.label_names.size(), 28u);
  EXPECT_EQ(train.label_names[27], "neutral");
  EXPECT_EQ(load_dataset(kGoEmotions, "val").rows.size(), 5426u);
  EXPECT_EQ(load_dataset(kGoEmotions, "test").rows.size(), 5427u);
}

TEST(MultiLabelData, CsvListsMakeAMultiLabelDataset) {
  TempDir t;
  spit(t.path / "d.csv", "text,label\nhi,\"2,0\"\nho,1\nhu,\" 2 , 2 \"\n");
  Dataset d = load_dataset(t.path / "d.csv", "");
  EXPECT_TRUE(d.multi_label);
  EXPECT_EQ(d.label_names.size(), 3u);  // LABEL_0..LABEL_2 over every member
  EXPECT_EQ(d.rows[0].labels, (std::vector<int>{0, 2}));
  EXPECT_EQ(d.rows[1].labels, (std::vector<int>{1}));
  EXPECT_EQ(d.rows[2].labels, (std::vector<int>{2}));
  DatasetOptions single;
  single.label_mode = LabelMode::Single;
  EXPECT_THAT(error_of<FormatError>([&] { load_dataset(t.path / "d.csv", "", single); }),
              HasSubstr("d.csv:2: label '2,0' holds several labels: this is multi-label data"));
  // Single-label rows stay single-label unless asked.
  spit(t.path / "s.tsv", "text\tlabel\na\t1\nb\t0\n");
  EXPECT_FALSE(load_dataset(t.path / "s.tsv", "").multi_label);
  DatasetOptions multi;
  multi.label_mode = LabelMode::Multi;
  Dataset m = load_dataset(t.path / "s.tsv", "", multi);
  EXPECT_TRUE(m.multi_label);
  EXPECT_EQ(m.rows[0].labels, (std::vector<int>{1}));
}

TEST(MultiLabelData, JsonlListsOfIdsOrNames) {
  TempDir t;
  spit(t.path / "n.jsonl",
       "{\"text\": \"a\", \"label\": [\"joy\", \"anger\"]}\n{\"text\": \"b\", \"label\": []}\n"
       "{\"text\": \"c\", \"label\": \"joy\"}\n");
  Dataset d = load_dataset(t.path / "n.jsonl", "");
  EXPECT_TRUE(d.multi_label);
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"anger", "joy"}));
  EXPECT_EQ(d.rows[0].labels, (std::vector<int>{0, 1}));
  EXPECT_TRUE(d.rows[1].labels.empty());
  EXPECT_EQ(d.rows[2].labels, (std::vector<int>{1}));
  spit(t.path / "i.jsonl", "{\"text\": \"a\", \"label\": [2, 7]}\n");
  DatasetOptions o;
  o.label_names = {"a", "b", "c"};
  EXPECT_THAT(error_of<FormatError>([&] { load_dataset(t.path / "i.jsonl", "", o); }),
              HasSubstr("i.jsonl:1: label 7 out of range: expected an id in [0, 3)"));
  spit(t.path / "x.jsonl", "{\"text\": \"a\", \"label\": [2, 1.5]}\n");
  EXPECT_THAT(error_of<FormatError>([&] { load_dataset(t.path / "x.jsonl", ""); }),
              HasSubstr("every member of a label list must be an integer id or a label name, got 1.5"));
}

TEST(MultiLabelData, TweetEvalStyleLabelLines) {
  TempDir t;
  spit(t.path / "train_text.txt", "a\nb\n");
  spit(t.path / "train_labels.txt", "0,1\n1\n");
  spit(t.path / "mapping.txt", "0\tx\n1\ty\n");
  Dataset d = load_dataset(t.path, "train");
  EXPECT_TRUE(d.multi_label);
  EXPECT_EQ(d.rows[0].labels, (std::vector<int>{0, 1}));
}

TEST(MultiLabelData, GoEmotionsSpecs) {
  for (const char* s : {"go_emotions", "google-research-datasets/go_emotions", "go_emotions/simplified"})
    EXPECT_TRUE(is_goemotions_spec(s)) << s;
  EXPECT_FALSE(is_goemotions_spec("go_emotions/raw"));
  EXPECT_FALSE(is_goemotions_spec("tweet_eval/emotion"));
}

TEST(MultiLabelData, ResolvesALocalCopy) {
  TempDir t;
  write_goemotions(t.path / "copy");
  HubOptions o;
  o.offline = true;
  o.data_cache_dir = t.path / "cache";
  o.goemotions_dir = t.path / "copy";
  EXPECT_EQ(resolve_dataset_path("go_emotions", o), t.path / "copy");
  fs::create_directories(t.path / "half");
  spit(t.path / "half" / "train.tsv", "x\t1\ty\n");
  o.goemotions_dir = t.path / "half";
  EXPECT_THAT(error_of<IoError>([&] { resolve_dataset_path("go_emotions", o); }), HasSubstr("not a GoEmotions copy"));
  o.goemotions_dir.clear();
  EXPECT_THAT(error_of<NetworkError>([&] { resolve_dataset_path("go_emotions", o); }), HasSubstr("HF_HUB_OFFLINE"));
}

TEST(MultiLabelData, DownloadsTheFourFilesIntoTheCacheOnce) {
  TempDir t;
  std::map<std::string, std::string> served = {{"/data/train.tsv", "so happy\t1\tid1\nsad\t0,1\tid2\n"},
                                               {"/data/dev.tsv", "ok\t1\tid3\n"},
                                               {"/data/test.tsv", "fine\t0\tid4\n"},
                                               {"/data/emotions.txt", "admiration\namusement\n"}};
  std::atomic<int> gets{0};
  httplib::Server svr;
  svr.Get(R"(/data/.*)", [&](const httplib::Request& req, httplib::Response& res) {
    ++gets;
    auto it = served.find(req.path);
    if (it == served.end()) {
      res.status = 404;
      return;
    }
    res.set_content(it->second, "text/plain");
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  std::thread th([&] { svr.listen_after_bind(); });
  while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  HubOptions o;
  o.offline = false;
  o.data_cache_dir = t.path / "cache";
  o.goemotions_url = "http://127.0.0.1:" + std::to_string(port) + "/data";
  const fs::path got = resolve_dataset_path("google-research-datasets/go_emotions", o);
  EXPECT_EQ(got, t.path / "cache" / "go_emotions");
  EXPECT_EQ(gets, 4);
  EXPECT_EQ(slurp(got / "labels.txt"), served["/data/emotions.txt"]);
  Dataset d = load_dataset(got, "train");
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"admiration", "amusement"}));
  EXPECT_EQ(d.rows[1].labels, (std::vector<int>{0, 1}));
  svr.stop();
  th.join();
  o.offline = true;  // cached: no server needed
  EXPECT_EQ(resolve_dataset_path("go_emotions", o), got);
  EXPECT_EQ(gets, 4);
}

}  // namespace

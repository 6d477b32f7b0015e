// Data-parallel training and sharded inference under `mpirun` on loopback (2 and 3 ranks,
// oversubscribed on this machine): N ranks x batch b train like one process with batch N*b (loss
// and weights to 1e-5 over 30 steps that cross epochs and end epochs with uneven batches);
// predict's output and eval's metrics equal one process's; a killed rank ends the job with an
// error, without hanging, and the last checkpoint resumes on another number of ranks. The mpirun
// cases skip (saying why) when the binary was built without MPI. Plus the shard arithmetic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_harness.hpp"
#include "dist/communicator.hpp"
#include "model/config.hpp"
#include "model/init.hpp"
#include "model/model_dir.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;

namespace {

bool mpi_available() { return dist::Communicator::mpi_built() && std::string(MPIEXEC) != ""; }

#define SKIP_WITHOUT_MPI() \
  if (!mpi_available()) GTEST_SKIP() << "MPI is not built into bert-emotion (install libopenmpi-dev and reconfigure)"

// Runs `mpirun -np N bert-emotion ARGS` (or the plain CLI when np == 0) with stdout/stderr in files.
pid_t spawn(int np, const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  std::vector<std::string> argv;
  if (np > 0)
    argv = {MPIEXEC, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", std::to_string(np)};
  argv.push_back(BERT_EMOTION_BIN);
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fi = ::open("/dev/null", O_RDONLY);
    if (fo < 0 || fe < 0 || fi < 0) ::_exit(126);
    ::dup2(fi, 0);
    ::dup2(fo, 1);
    ::dup2(fe, 2);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  return pid;
}

CliResult run(int np, const std::vector<std::string>& args, const fs::path& dir, double timeout_s = 240) {
  static int n = 0;
  const fs::path out = dir / ("run" + std::to_string(n) + ".out"), err = dir / ("run" + std::to_string(n++) + ".err");
  CliResult r;
  wait_cli(spawn(np, args, out, err), timeout_s, r);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(slurp(p));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

std::vector<float> weights_of(const fs::path& dir) {
  LoadOptions lo;
  lo.owned_arena = true;
  return load_model_dir(dir, lo).arena;
}

// A tiny model and 23 / 7 / 9 examples: with 2 x 2 and 3 x 2 per global batch, every epoch ends
// with a short batch (23 = 5 x 4 + 3 = 3 x 6 + 5).
class Mpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    const fs::path root = root_->path;
    ModelConfig cfg = preset_config("tiny");
    cfg.max_position_embeddings = 64;
    set_labels(cfg, {"anger", "joy", "optimism"});
    create_random_model_dir(root / "tiny", cfg, 7, fs::path(SHARED_DIR) / "models" / "distilbert-base-cased");
    const std::vector<std::string> words = {"love",  "hate",  "happy", "sad",       "angry",   "hope",
                                            "great", "awful", "day",   "wonderful", "furious", "calm"};
    const std::vector<std::string> labels = {"anger", "joy", "optimism"};
    fs::create_directories(root / "data");
    uint64_t s = 12345;
    auto next = [&s](uint64_t m) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      return (s >> 33) % m;
    };
    std::string texts;
    for (auto [split, n] : {std::pair{"train", 23}, {"val", 7}, {"test", 9}}) {
      std::string csv = "text,label\n";
      for (int i = 0; i < n; ++i) {
        std::string t;
        for (uint64_t w = 0, len = 2 + next(10); w < len; ++w) t += (w ? " " : "") + words[next(words.size())];
        csv += t + "," + labels[next(3)] + "\n";
        texts += t + "\n";
      }
      spit(root / "data" / (std::string(split) + ".csv"), csv);
    }
    spit(root / "texts.txt", texts);
  }
  static void TearDownTestSuite() { delete root_; }

  static std::vector<std::string> train_args(const fs::path& out, int per_device_batch) {
    const fs::path root = root_->path;
    return {"train",
            "--model",
            (root / "tiny").string(),
            "--data",
            (root / "data").string(),
            "--output-dir",
            out.string(),
            "--per-device-train-batch-size",
            std::to_string(per_device_batch),
            "--max-steps",
            "30",
            "--dropout",
            "off",
            "--no-shuffle",
            "--learning-rate",
            "1e-3",
            "--logging-steps",
            "5",
            "--save-strategy",
            "no",
            "--threads",
            "1",
            "--quiet"};
  }

  // N ranks x batch 2 against one process x batch 2N.
  static void expect_equal_training(int np) {
    const fs::path root = root_->path;
    const fs::path one = root / ("one" + std::to_string(np)), many = root / ("ranks" + std::to_string(np));
    const CliResult a = run(0, train_args(one, 2 * np), root);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    const CliResult b = run(np, train_args(many, 2), root);
    ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
    const auto la = read_jsonl(one / "train_log.jsonl"), lb = read_jsonl(many / "train_log.jsonl");
    ASSERT_EQ(la.size(), 30u);
    ASSERT_EQ(lb.size(), 30u);
    int short_batches = 0;
    for (size_t i = 0; i < la.size(); ++i) {
      const double x = la[i]["loss"], y = lb[i]["loss"];
      EXPECT_NEAR(y, x, 1e-5 * std::abs(x)) << "step " << i + 1;
      EXPECT_EQ(lb[i]["batch_size"], la[i]["batch_size"]) << "step " << i + 1;
      EXPECT_EQ(lb[i]["seq_len"], la[i]["seq_len"]) << "step " << i + 1;
      short_batches += la[i]["batch_size"].get<int>() < 2 * np;
    }
    EXPECT_GE(short_batches, 4);  // the uneven last batches were exercised
    const std::vector<float> wa = weights_of(one), wb = weights_of(many);
    ASSERT_EQ(wa.size(), wb.size());
    float max_diff = 0;
    for (size_t i = 0; i < wa.size(); ++i) max_diff = std::max(max_diff, std::abs(wa[i] - wb[i]));
    EXPECT_LE(max_diff, 1e-5f);
    EXPECT_GT(std::abs(wa[0] - weights_of(root / "tiny")[0]) + max_diff, 0.f);  // the run did train
    EXPECT_TRUE(fs::exists(many / "trainer_state.json"));
    const auto ea = nlohmann::json::parse(slurp(one / "eval_results.json"));
    const auto eb = nlohmann::json::parse(slurp(many / "eval_results.json"));
    EXPECT_NEAR(eb["eval_loss"].get<double>(), ea["eval_loss"].get<double>(), 1e-5);
    EXPECT_EQ(eb["eval_samples"], ea["eval_samples"]);
  }

  static TempDir* root_;
};
TempDir* Mpi::root_ = nullptr;

}  // namespace

TEST(DistShares, EvenContiguousCoverAll) {
  for (size_t n : {0u, 1u, 5u, 6u, 23u})
    for (int parts : {1, 2, 3, 4}) {
      size_t next = 0, lo = n, hi = 0;
      for (int i = 0; i < parts; ++i) {
        const dist::Range r = dist::even_share(n, parts, i);
        EXPECT_EQ(r.first, next);
        next = r.last;
        lo = std::min(lo, r.size());
        hi = std::max(hi, r.size());
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(hi - lo, 1u);
    }
}

TEST(DistSolo, CollectivesAreIdentities) {
  dist::Communicator& c = dist::Communicator::solo();
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  std::vector<float> v = {1.5f, -2.f};
  c.allreduce_sum(v.data(), v.size());
  EXPECT_EQ(v, (std::vector<float>{1.5f, -2.f}));
  EXPECT_EQ(c.allgather(v), v);
  EXPECT_TRUE(c.same_on_all_ranks(42));
  // Without mpirun this process is solo.
  EXPECT_EQ(&dist::world(), &c);
}

TEST(DistChecksum, SeesOneFlippedBitAndTheOrder) {
  std::vector<float> a(1000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.001f * static_cast<float>(i);
  std::vector<float> b = a;
  EXPECT_EQ(dist::arena_checksum(a.data(), a.size()), dist::arena_checksum(b.data(), b.size()));
  b[617] = std::nextafter(b[617], 1.f);
  EXPECT_NE(dist::arena_checksum(a.data(), a.size()), dist::arena_checksum(b.data(), b.size()));
  b = a;
  std::swap(b[1], b[617]);
  EXPECT_NE(dist::arena_checksum(a.data(), a.size()), dist::arena_checksum(b.data(), b.size()));
}

TEST_F(Mpi, TwoRanksTrainLikeOneProcessWithTheGlobalBatch) {
  SKIP_WITHOUT_MPI();
  expect_equal_training(2);
}

TEST_F(Mpi, ThreeRanksTrainLikeOneProcessWithTheGlobalBatch) {
  SKIP_WITHOUT_MPI();
  expect_equal_training(3);
}

TEST_F(Mpi, PredictAndEvalShardedEqualOneProcess) {
  SKIP_WITHOUT_MPI();
  const fs::path root = root_->path;
  const std::string model = (root / "tiny").string();
  const std::vector<std::string> predict = {
      "predict",      "--model", model,      "--input",   (root / "texts.txt").string(),
      "--batch-size", "4",       "--logits", "--threads", "1"};
  const CliResult p1 = run(0, predict, root);
  ASSERT_EQ(p1.exit_code, 0) << p1.err;
  EXPECT_EQ(std::count(p1.out.begin(), p1.out.end(), '\n'), 39);
  for (int np : {2, 3}) {
    const CliResult pn = run(np, predict, root);
    ASSERT_EQ(pn.exit_code, 0) << pn.err;
    EXPECT_EQ(pn.out, p1.out) << np << " ranks";
  }
  auto eval = [&](const std::string& out) {
    return std::vector<std::string>{
        "eval",      "--model", model,      "--data", (root / "data").string(), "--split", "train", "--batch-size", "3",
        "--threads", "1",       "--output", out};
  };
  ASSERT_EQ(run(0, eval((root / "e1.json").string()), root).exit_code, 0);
  auto strip = [](nlohmann::json j) {
    for (const char* k : {"eval_runtime", "eval_samples_per_second", "eval_steps_per_second"}) j.erase(k);
    return j;
  };
  const auto e1 = strip(nlohmann::json::parse(slurp(root / "e1.json")));
  for (int np : {2, 3}) {
    const fs::path f = root / ("e" + std::to_string(np) + ".json");
    const CliResult en = run(np, eval(f.string()), root);
    ASSERT_EQ(en.exit_code, 0) << en.err;
    EXPECT_EQ(strip(nlohmann::json::parse(slurp(f))), e1) << np << " ranks";
    EXPECT_NE(en.out.find("macro avg"), std::string::npos);  // rank 0's report, once
    EXPECT_EQ(en.out.find("macro avg"), en.out.rfind("macro avg")) << en.out;
  }
}

// Ranks of the job started as `mpirun` (its children whose environment names their rank).
std::map<int, pid_t> ranks_of(pid_t mpirun) {
  std::map<int, pid_t> ranks;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = slurp(e.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    char state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid != mpirun) continue;
    std::string env = slurp(e.path() / "environ");
    std::replace(env.begin(), env.end(), '\0', '\n');
    const size_t at = env.find("\nOMPI_COMM_WORLD_RANK=");
    if (at != std::string::npos) ranks[std::stoi(env.substr(at + 22))] = std::stoi(name);
  }
  return ranks;
}

TEST_F(Mpi, KilledRankEndsTheJobAndTheCheckpointResumesOnOtherRanks) {
  SKIP_WITHOUT_MPI();
  const fs::path root = root_->path, out = root / "killed";
  // 460 examples: 77 steps per epoch of 2 x 3; a checkpoint at each epoch end.
  fs::create_directories(root / "big");
  std::string csv = slurp(root / "data" / "train.csv"), rows = csv.substr(csv.find('\n') + 1);
  for (int i = 1; i < 20; ++i) csv += rows;
  spit(root / "big" / "train.csv", csv);
  auto args = [&](int per_device_batch) {
    std::vector<std::string> a = train_args(out, per_device_batch);
    *(std::find(a.begin(), a.end(), "--max-steps") + 1) = "300";
    *(std::find(a.begin(), a.end(), "--save-strategy") + 1) = "epoch";
    *(std::find(a.begin(), a.end(), "--data") + 1) = (root / "big").string();
    a.insert(a.end(), {"--eval-split", "none", "--test-split", "none", "--save-total-limit", "2"});
    return a;
  };
  const pid_t mpirun = spawn(2, args(3), root / "killed.out", root / "killed.err");
  // At the first checkpoint, freeze both ranks (so the run cannot finish first), SIGKILL rank 1 and
  // let rank 0 go on: it waits for rank 1 in the next allreduce until mpirun ends the job.
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [](auto t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };
  while (!fs::exists(out / "checkpoint-77") && since(t0) < 120)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto ranks = ranks_of(mpirun);
  ASSERT_EQ(ranks.size(), 2u) << slurp(root / "killed.err");
  for (auto [rank, pid] : ranks) ::kill(pid, SIGSTOP);
  ASSERT_TRUE(fs::exists(out / "checkpoint-77")) << slurp(root / "killed.err");
  ASSERT_EQ(::kill(ranks.at(1), SIGKILL), 0);
  ::kill(ranks.at(0), SIGCONT);
  const auto t_kill = std::chrono::steady_clock::now();
  CliResult r;
  wait_cli(mpirun, 60, r);
  EXPECT_FALSE(r.timed_out) << "the job hung after a rank died";
  EXPECT_LT(since(t_kill), 30);
  EXPECT_NE(r.exit_code, 0);
  const std::string err = slurp(root / "killed.err");
  EXPECT_NE(err.find("signal 9"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out / "trainer_state.json"));  // the run did not finish

  // Another global batch cannot continue this schedule: a clear error naming both.
  std::vector<std::string> resume = args(2);
  resume.insert(resume.end(), {"--resume-from-checkpoint", "latest"});
  const CliResult bad = run(0, resume, root);
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("global train batch size (per-device batch x ranks) is 3 x 2 but this run's is 2 x 1"),
            std::string::npos)
      << bad.err;
  // The same global batch on 3 ranks (3 x 2 = 2 x 3) resumes and finishes the run.
  const CliResult good = run(3, resume, root);
  ASSERT_EQ(good.exit_code, 0) << good.out << good.err;
  const auto log = read_jsonl(out / "train_log.jsonl");
  ASSERT_EQ(log.size(), 300u);
  for (size_t i = 0; i < log.size(); ++i) ASSERT_EQ(log[i]["step"], static_cast<int>(i) + 1);
  const auto state = nlohmann::json::parse(slurp(out / "trainer_state.json"));
  EXPECT_EQ(state["global_step"], 300);
}

// Trainer-compatible output files: trainer_state.json fields, *_results.json merging, the model
// card's sections, well-formed SVG, Python float formatting and the progress line.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "train/outputs.hpp"
#include "train/plots.hpp"
#include "train/progress.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("train_outputs_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Minimal XML well-formedness check: balanced, properly nested tags, quoted attributes, only the
// five predefined entities. Returns "" if fine, else what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  int roots = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      if (semi == std::string::npos) return "unterminated entity";
      const std::string ent = s.substr(i, semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
        return "unknown entity " + ent;
      i = semi + 1;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    const size_t end = s.find('>', i);
    if (end == std::string::npos) return "unterminated tag";
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '?' || tag[0] == '!') continue;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return "unbalanced quotes in <" + tag + ">";
    if (tag.find('<') != std::string::npos) return "'<' inside a tag";
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (stack.empty()) ++roots;
    if (!self_closing) stack.push_back(name);
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element, got " + std::to_string(roots);
  return "";
}

}  // namespace

TEST(TrainerState, HasEveryTrainerStateFieldAndRoundTrips) {
  TrainerState st;
  st.epoch = 3.0;
  st.global_step = 2445;
  st.max_steps = 2445;
  st.train_batch_size = 4;
  st.log_history.push_back(
      {{"loss", 0.9123}, {"grad_norm", 3.2}, {"learning_rate", 4.0e-5}, {"epoch", 0.61}, {"step", 500}});
  st.log_history.push_back({{"eval_loss", 0.8}, {"eval_f1", 0.7}, {"epoch", 1.0}, {"step", 815}});
  const nlohmann::json j = trainer_state_json(st);
  for (const char* key : {"epoch",
                          "global_step",
                          "max_steps",
                          "logging_steps",
                          "eval_steps",
                          "save_steps",
                          "train_batch_size",
                          "num_train_epochs",
                          "num_input_tokens_seen",
                          "total_flos",
                          "log_history",
                          "best_metric",
                          "best_global_step",
                          "best_model_checkpoint",
                          "is_local_process_zero",
                          "is_world_process_zero",
                          "is_hyper_param_search",
                          "trial_name",
                          "trial_params",
                          "stateful_callbacks"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["best_metric"].is_null());
  EXPECT_TRUE(j["stateful_callbacks"]["TrainerControl"]["args"]["should_training_stop"].get<bool>());
  // Sorted keys, indent 2, as json.dump(indent=2, sort_keys=True).
  const std::string text = j.dump(2);
  EXPECT_LT(text.find("\"best_global_step\""), text.find("\"epoch\""));
  EXPECT_LT(text.find("\"epoch\""), text.find("\"global_step\""));
  EXPECT_NE(text.find("\n  \"global_step\": 2445"), std::string::npos);

  const TrainerState back = trainer_state_from_json(j, "trainer_state.json");
  EXPECT_EQ(back.global_step, 2445);
  EXPECT_EQ(back.log_history, st.log_history);
  nlohmann::json broken = j;
  broken.erase("global_step");
  try {
    trainer_state_from_json(broken, "ckpt/trainer_state.json");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("global_step"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("ckpt/trainer_state.json"), std::string::npos);
  }
}

TEST(SaveMetrics, WritesSplitFileAndMergesAllResults) {
  const fs::path dir = temp_dir("metrics");
  save_metrics(dir, "train", {{"train_loss", 0.5}, {"epoch", 3.0}, {"train_samples", 3257}});
  save_metrics(dir, "eval", {{"eval_loss", 0.7}, {"epoch", 3.0}, {"eval_samples", 374}});
  const auto train = nlohmann::json::parse(read_file(dir / "train_results.json"));
  EXPECT_EQ(train["train_samples"], 3257);
  EXPECT_FALSE(train.contains("eval_loss"));
  const std::string all_text = read_file(dir / "all_results.json");
  const auto all = nlohmann::json::parse(all_text);
  EXPECT_EQ(all.size(), 5u);  // epoch shared
  EXPECT_DOUBLE_EQ(all["train_loss"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(all["eval_loss"].get<double>(), 0.7);
  EXPECT_NE(all_text.find("\n    \"epoch\": 3.0"), std::string::npos);  // indent 4
  EXPECT_EQ(all_text.back(), '\n');
  fs::remove_all(dir);
}

TEST(PythonFloatRepr, MatchesPython) {
  // Values and their Python repr() (checked in a Python shell).
  EXPECT_EQ(python_float_repr(5e-5), "5e-05");
  EXPECT_EQ(python_float_repr(1e-8), "1e-08");
  EXPECT_EQ(python_float_repr(0.9), "0.9");
  EXPECT_EQ(python_float_repr(0.999), "0.999");
  EXPECT_EQ(python_float_repr(2e-05), "2e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(3.0), "3.0");
  EXPECT_EQ(python_float_repr(1.5e-7), "1.5e-07");
}

TEST(ModelCard, HasTheTrainerCardSections) {
  ModelCard c;
  c.model_name = "bert-emotion";
  c.base_model = "distilbert-base-cased";
  c.base_model_url = "https://huggingface.co/distilbert-base-cased";
  c.eval_results = ResultsRow{std::nullopt, 3.0, 2445, 1.1164, 0.7231, 0.7197, 0.7205};
  c.hyperparameters = {{"learning_rate", "5e-05"},
                       {"train_batch_size", "4"},
                       {"eval_batch_size", "4"},
                       {"seed", "42"},
                       {"optimizer", "Adam with betas=(0.9,0.999) and epsilon=1e-08"},
                       {"lr_scheduler_type", "linear"},
                       {"num_epochs", "3"}};
  c.results = {{0.8723, 1.0, 815, 0.8939, 0.6835, 0.6761, 0.6764}, {std::nullopt, 2.0, 1630, 0.9, 0.7, 0.7, 0.7}};
  c.framework_versions = framework_versions();
  const std::string md = render_model_card(c);
  for (const char* needle :
       {"---\nlicense: apache-2.0\n",
        "# bert-emotion\n",
        "This model is a fine-tuned version of [distilbert-base-cased](https://huggingface.co/distilbert-base-cased) "
        "on the tweet_eval emotion dataset.",
        "- Loss: 1.1164\n",
        "- Precision: 0.7231\n",
        "- Recall: 0.7197\n",
        "- F1: 0.7205\n",
        "## Model description",
        "## Intended uses & limitations",
        "## Training and evaluation data",
        "## Training procedure",
        "### Training hyperparameters",
        "- learning_rate: 5e-05\n",
        "- optimizer: Adam with betas=(0.9,0.999) and epsilon=1e-08\n",
        "- lr_scheduler_type: linear\n",
        "- num_epochs: 3\n",
        "### Training results",
        "| Training Loss | Epoch | Step | Validation Loss | Precision | Recall | F1     |",
        "| 0.8723        | 1.0   | 815  | 0.8939          | 0.6835    | 0.6761 | 0.6764 |",
        "| No log        | 2.0   | 1630 |",
        "### Framework versions",
        "- bert-emotion ",
        "- oneDNN "})
    EXPECT_NE(md.find(needle), std::string::npos) << needle << "\n---\n" << md;
}

TEST(Plots, SvgIsWellFormedWithAllSeries) {
  std::vector<PlotSeries> s = {{"training loss", "#1f77b4", {{10, 1.38}, {20, 1.2}, {30, 0.95}}},
                               {"validation loss <val & 'x'>", "#d62728", {{15, 1.3}, {30, 1.1}}}};
  const std::string svg = render_line_chart("Loss", "step", "loss", s);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  EXPECT_NE(svg.find("validation loss &lt;val &amp; &apos;x&apos;&gt;"), std::string::npos);
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++polylines;
  EXPECT_EQ(polylines, 2u);
  size_t circles = 0;
  for (size_t p = svg.find("<circle"); p != std::string::npos; p = svg.find("<circle", p + 1)) ++circles;
  EXPECT_EQ(circles, 5u);
  // Degenerate input still renders a well-formed document.
  EXPECT_EQ(xml_problem(render_line_chart("one", "x", "y", {{"a", "red", {{1, 1}}}})), "");
  EXPECT_EQ(xml_problem(render_line_chart("none", "x", "y", {})), "");
  // The checker itself catches breakage.
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg>a & b</svg>"), "");
}

TEST(Progress, BarLineAndDurations) {
  EXPECT_EQ(ProgressReporter::format_duration(65), "01:05");
  EXPECT_EQ(ProgressReporter::format_duration(3723), "1:02:03");
  const std::string line = ProgressReporter::bar_line(50, 100, 1.2345, 5e-5, 2.0, 10);
  EXPECT_NE(line.find(" 50% [#####.....] 50/100"), std::string::npos) << line;
  EXPECT_NE(line.find("loss 1.2345"), std::string::npos);
  EXPECT_NE(line.find("lr 5.000e-05"), std::string::npos);
  EXPECT_NE(line.find("ETA 00:25"), std::string::npos);
}

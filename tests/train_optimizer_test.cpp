// AdamW, gradient clipping and the linear schedule against torch (tests/fixtures/train/adamw.json,
// written by tools/make_train_fixture.sh with torch.optim.AdamW and clip_grad_norm_) and against
// the schedule formula worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "train/optimizer.hpp"
#include "train/schedule.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

namespace {

nlohmann::json load_fixture() {
  std::ifstream in(std::string(FIXTURES_DIR) + "/train/adamw.json");
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

struct ArenaSpec {
  std::vector<ParamInfo> infos;
  size_t size = 0;
};

ArenaSpec layout_from(const nlohmann::json& fx) {
  ArenaSpec s;
  for (const auto& name : fx["order"]) {
    ParamInfo p;
    p.name = name.get<std::string>();
    for (auto d : fx["shapes"][p.name]) p.shape.push_back(d.get<int64_t>());
    p.numel = 1;
    for (auto d : p.shape) p.numel *= static_cast<size_t>(d);
    p.offset = s.size;
    p.no_decay = fx["no_decay"][p.name].get<bool>();
    s.size += p.numel;
    s.infos.push_back(p);
  }
  return s;
}

std::vector<float> gather(const ArenaSpec& s, const nlohmann::json& per_tensor) {
  std::vector<float> out(s.size);
  for (const auto& p : s.infos) {
    const auto& vals = per_tensor[p.name];
    EXPECT_EQ(vals.size(), p.numel);
    for (size_t i = 0; i < p.numel; ++i) out[p.offset + i] = vals[i].get<float>();
  }
  return out;
}

// Elementwise, with the tolerance relative to the vector's largest magnitude: a moment that is a
// difference of near-equal terms may lose relative precision in float32 on both sides.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 0.0;
  for (float w : want) scale = std::max(scale, std::fabs(static_cast<double>(w)));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], rel * scale) << what << " [" << i << "]";
}

}  // namespace

TEST(AdamW, MatchesTorchOverSixStepsWithDecayClippingAndWarmup) {
  const auto fx = load_fixture();
  ArenaSpec s = layout_from(fx);
  std::vector<float> params = gather(s, fx["init"]);
  AdamWOptions o;
  o.beta1 = fx["betas"][0].get<double>();
  o.beta2 = fx["betas"][1].get<double>();
  o.eps = fx["eps"].get<double>();
  o.weight_decay = fx["weight_decay"].get<double>();
  AdamW opt(s.infos, s.size, o);
  LinearSchedule sched{fx["lr"].get<double>(), fx["warmup_steps"].get<int64_t>(), fx["total_steps"].get<int64_t>()};
  const double max_norm = fx["max_grad_norm"].get<double>();
  int clipped_steps = 0;
  for (size_t k = 0; k < fx["steps"].size(); ++k) {
    const auto& st = fx["steps"][k];
    // The learning rate torch used is the schedule's, exactly.
    EXPECT_EQ(sched.lr(static_cast<int64_t>(k)), st["lr"].get<double>()) << "step " << k;
    std::vector<float> grads = gather(s, st["grad"]);
    const float norm = clip_grad_norm(s.infos, grads.data(), max_norm);
    EXPECT_NEAR(norm, st["norm"].get<double>(), 1e-6 * st["norm"].get<double>()) << "step " << k;
    if (norm > max_norm) ++clipped_steps;
    expect_close(grads, gather(s, st["clipped_grad"]), 1e-6, "clipped grad step " + std::to_string(k));
    opt.step(params.data(), grads.data(), sched.lr(static_cast<int64_t>(k)));
    EXPECT_EQ(opt.step_count(), static_cast<int64_t>(k + 1));
    expect_close(opt.exp_avg(), gather(s, st["exp_avg"]), 1e-6, "exp_avg step " + std::to_string(k));
    expect_close(opt.exp_avg_sq(), gather(s, st["exp_avg_sq"]), 1e-6, "exp_avg_sq step " + std::to_string(k));
    expect_close(params, gather(s, st["param"]), 1e-6, "param step " + std::to_string(k));
  }
  // The fixture exercises both branches of the clip.
  EXPECT_GT(clipped_steps, 0);
  EXPECT_LT(clipped_steps, static_cast<int>(fx["steps"].size()));
}

TEST(AdamW, FusedClipStepAndZeroEqualsSeparatePasses) {
  const auto fx = load_fixture();
  ArenaSpec s = layout_from(fx);
  s.infos[1].trainable = false;  // a frozen tensor: untouched, its gradient cleared by the fused step
  std::vector<float> p1 = gather(s, fx["init"]), p2 = p1;
  AdamW a(s.infos, s.size, {.beta1 = 0.9, .beta2 = 0.98, .eps = 1e-6, .weight_decay = 0.05});
  AdamW b(s.infos, s.size, {.beta1 = 0.9, .beta2 = 0.98, .eps = 1e-6, .weight_decay = 0.05});
  for (size_t k = 0; k < fx["steps"].size(); ++k) {
    std::vector<float> g1 = gather(s, fx["steps"][k]["grad"]), g2 = g1;
    const double lr = 0.01 * (k + 1);
    const float norm1 = clip_grad_norm(s.infos, g1.data(), 3.0);
    a.step(p1.data(), g1.data(), lr);
    const float norm2 = global_grad_norm(s.infos, g2.data());
    b.step_and_zero_grads(p2.data(), g2.data(), lr, clip_coefficient(norm2, 3.0));
    EXPECT_EQ(norm1, norm2);
    for (size_t i = 0; i < p1.size(); ++i) ASSERT_EQ(p1[i], p2[i]) << "step " << k << " [" << i << "]";
    for (float g : g2) ASSERT_EQ(g, 0.0f);
    EXPECT_EQ(a.exp_avg_sq(), b.exp_avg_sq());
  }
  EXPECT_EQ(clip_coefficient(5.0f, 0.0), 1.0f);  // clipping off
  EXPECT_EQ(clip_coefficient(5.0f, 10.0), 1.0f);
  EXPECT_EQ(clip_coefficient(5.0f, 1.0), 1.0f / (5.0f + 1e-6f));
}

TEST(AdamW, SingleStepByHand) {
  // One scalar, t = 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2,
  // p1 = p0*(1 - lr*wd) - lr * g / (|g| + eps).
  ParamInfo w;
  w.name = "w";
  w.numel = 2;
  w.shape = {2};
  ParamInfo b;
  b.name = "b";
  b.numel = 1;
  b.offset = 2;
  b.no_decay = true;
  ParamInfo frozen;
  frozen.name = "frozen";
  frozen.numel = 1;
  frozen.offset = 3;
  frozen.trainable = false;
  AdamW opt({w, b, frozen}, 4, {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1});
  std::vector<float> p = {1.0f, -2.0f, 0.5f, 3.0f};
  std::vector<float> g = {0.5f, -0.25f, 2.0f, 7.0f};
  const double lr = 0.01;
  opt.step(p.data(), g.data(), lr);
  EXPECT_NEAR(p[0], 1.0 * (1 - lr * 0.1) - lr * 0.5 / (0.5 + 1e-8), 1e-6);
  EXPECT_NEAR(p[1], -2.0 * (1 - lr * 0.1) + lr, 1e-6);
  EXPECT_NEAR(p[2], 0.5 - lr, 1e-6);  // no_decay: no shrink
  EXPECT_EQ(p[3], 3.0f);              // frozen: untouched
  EXPECT_EQ(opt.exp_avg()[3], 0.0f);
  // Step 2 with a zero gradient: m decays, the parameter still moves (dense update).
  std::vector<float> zero(4, 0.0f);
  const float before = p[2];
  opt.step(p.data(), zero.data(), lr);
  EXPECT_NEAR(opt.exp_avg()[2], 0.9f * 0.2f, 1e-7);
  EXPECT_LT(p[2], before);
}

TEST(ClipGradNorm, NormAndScale) {
  ParamInfo a;
  a.name = "a";
  a.numel = 2;
  ParamInfo c;
  c.name = "c";
  c.numel = 1;
  c.offset = 2;
  ParamInfo frozen;
  frozen.name = "f";
  frozen.numel = 1;
  frozen.offset = 3;
  frozen.trainable = false;
  std::vector<ParamInfo> infos{a, c, frozen};
  std::vector<float> g = {3.0f, 0.0f, 4.0f, 100.0f};  // the frozen gradient is ignored: norm 5
  EXPECT_FLOAT_EQ(global_grad_norm(infos, g.data()), 5.0f);
  EXPECT_FLOAT_EQ(clip_grad_norm(infos, g.data(), 10.0), 5.0f);
  EXPECT_EQ(g[0], 3.0f);  // coef 10/5 > 1: untouched
  EXPECT_FLOAT_EQ(clip_grad_norm(infos, g.data(), 1.0), 5.0f);
  const float coef = 1.0f / (5.0f + 1e-6f);
  EXPECT_FLOAT_EQ(g[0], 3.0f * coef);
  EXPECT_FLOAT_EQ(g[2], 4.0f * coef);
  EXPECT_EQ(g[3], 100.0f);
  std::vector<float> h = {3.0f, 0.0f, 4.0f, 0.0f};
  EXPECT_FLOAT_EQ(clip_grad_norm(infos, h.data(), 0.0), 5.0f);  // disabled: norm only
  EXPECT_EQ(h[0], 3.0f);
}

TEST(LinearSchedule, NoWarmupDecaysToZero) {
  // N = 3 * ceil(3257 / 4) = 2445 updates: lr_k = lr * (N - k) / N.
  LinearSchedule s{5e-5, 0, 2445};
  EXPECT_EQ(s.lr(0), 5e-5);
  EXPECT_EQ(s.lr(1), 5e-5 * (2444.0 / 2445.0));
  EXPECT_EQ(s.lr(2444), 5e-5 * (1.0 / 2445.0));
  EXPECT_EQ(s.lr(2445), 0.0);
  EXPECT_EQ(s.lr(5000), 0.0);  // clamped at 0
}

TEST(LinearSchedule, WarmupThenDecay) {
  // W = 4, N = 10: 0, 1/4, 2/4, 3/4, then (10-k)/6.
  EXPECT_EQ(linear_schedule_factor(0, 4, 10), 0.0);
  EXPECT_EQ(linear_schedule_factor(1, 4, 10), 0.25);
  EXPECT_EQ(linear_schedule_factor(3, 4, 10), 0.75);
  EXPECT_EQ(linear_schedule_factor(4, 4, 10), 1.0);
  EXPECT_EQ(linear_schedule_factor(7, 4, 10), 3.0 / 6.0);
  EXPECT_EQ(linear_schedule_factor(10, 4, 10), 0.0);
  // W >= N: the max(1, N - W) guard.
  EXPECT_EQ(linear_schedule_factor(5, 5, 5), 0.0);
  // Warmup from a ratio: ceil(0.1 * 2445) = 245; explicit steps win.
  EXPECT_EQ(resolve_warmup_steps(0, 0.1, 2445), 245);
  EXPECT_EQ(resolve_warmup_steps(7, 0.1, 2445), 7);
  EXPECT_EQ(resolve_warmup_steps(0, 0.0, 2445), 0);
}

// Every --lr-scheduler-type against transformers' lr lambdas (tools/make_schedule_fixture.py).
TEST(LrSchedule, EveryTypeMatchesTransformers) {
  std::ifstream in(std::filesystem::path(FIXTURES_DIR) / "train" / "schedules.json");
  const auto fx = nlohmann::json::parse(in);
  std::set<std::string> seen;
  for (const auto& c : fx["cases"]) {
    const LrSchedule s{c["type"].get<std::string>(), c["lr"].get<double>(), c["warmup"].get<int64_t>(),
                       c["total"].get<int64_t>()};
    const auto want = c["factors"].get<std::vector<double>>();
    for (size_t k = 0; k < want.size(); ++k)
      EXPECT_NEAR(s.lr(static_cast<int64_t>(k)), s.base_lr * want[k], 1e-15 * s.base_lr) << s.type << " step " << k;
    seen.insert(s.type);
  }
  EXPECT_EQ(seen.size(), lr_scheduler_types().size());
  EXPECT_THROW(schedule_factor("exponential", 0, 0, 10, 1e-3), InvalidArgument);
  EXPECT_THROW(schedule_factor("polynomial", 0, 0, 10, 1e-8), InvalidArgument);
}

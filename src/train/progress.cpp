// progress.cpp — progress bar / log lines; see progress.hpp.
#include "train/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace bert_emotion {

ProgressReporter::ProgressReporter(int64_t total_steps, int64_t first_step, Mode mode, int64_t log_every)
    : total_(total_steps), first_(first_step), mode_(mode), log_every_(log_every < 1 ? 1 : log_every) {
  if (mode_ == Mode::Auto) mode_ = isatty(STDERR_FILENO) ? Mode::Bar : Mode::Lines;
  start_ = std::chrono::steady_clock::now();
}

std::string ProgressReporter::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  char buf[64];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

std::string ProgressReporter::bar_line(int64_t step, int64_t total, double loss, double lr, double steps_per_s,
                                       int width) {
  const double frac = total > 0 ? static_cast<double>(step) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(static_cast<size_t>(width), '.');
  const double eta = steps_per_s > 0 ? static_cast<double>(total - step) / steps_per_s : NAN;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%3d%% [%s] %lld/%lld loss %.4f lr %.3e %.2f it/s ETA %s",
                static_cast<int>(frac * 100), bar.c_str(), static_cast<long long>(step), static_cast<long long>(total),
                loss, lr, steps_per_s, format_duration(eta).c_str());
  return buf;
}

void ProgressReporter::update(int64_t step, double loss, double lr) {
  if (mode_ == Mode::Quiet) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(step - first_) / elapsed : 0.0;
  if (mode_ == Mode::Bar) {
    std::fprintf(stderr, "\r%s\033[K", bar_line(step, total_, loss, lr, rate, 30).c_str());
    std::fflush(stderr);
    bar_drawn_ = true;
  } else if (step % log_every_ == 0 || step == total_) {
    const double eta = rate > 0 ? static_cast<double>(total_ - step) / rate : NAN;
    std::fprintf(stderr, "step %lld/%lld loss %.4f lr %.3e %.2f it/s ETA %s\n", static_cast<long long>(step),
                 static_cast<long long>(total_), loss, lr, rate, format_duration(eta).c_str());
  }
}

void ProgressReporter::message(const std::string& text) {
  if (mode_ == Mode::Quiet) return;
  if (bar_drawn_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", text.c_str());
  bar_drawn_ = false;
}

void ProgressReporter::finish() {
  if (mode_ == Mode::Bar && bar_drawn_) std::fprintf(stderr, "\n");
  bar_drawn_ = false;
}

}  // namespace bert_emotion

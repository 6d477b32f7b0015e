// progress.hpp — training progress on stderr: a live bar on a terminal, plain lines otherwise.
//
// On a terminal (isatty(stderr)) one line is redrawn in place with the step count, a bar, the last
// loss, the learning rate, steps/s and the ETA; elsewhere (CI logs, files) a plain line is printed
// every `log_every` steps and at the end, so logs stay readable. Quiet mode prints nothing.
//
//   ProgressReporter bar(total_steps, /*first_step=*/0, ProgressReporter::Mode::Auto);
//   for (...) bar.update(step, loss, lr);
//   bar.finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bert_emotion {

class ProgressReporter {
 public:
  enum class Mode { Auto, Bar, Lines, Quiet };
  ProgressReporter(int64_t total_steps, int64_t first_step, Mode mode, int64_t log_every = 50);
  // `step` is the number of completed optimizer steps.
  void update(int64_t step, double loss, double lr);
  // Prints a message on its own line without breaking the bar.
  void message(const std::string& text);
  void finish();

  // "1:02:03" / "02:03" for the ETA field.
  static std::string format_duration(double seconds);
  // The bar line for the given state (exposed for tests).
  static std::string bar_line(int64_t step, int64_t total, double loss, double lr, double steps_per_s, int width);

 private:
  int64_t total_, first_;
  Mode mode_;
  int64_t log_every_;
  bool bar_drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace bert_emotion

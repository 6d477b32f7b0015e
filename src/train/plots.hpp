// plots.hpp — hand-written SVG line charts of a training run (no plotting library).
//
// Two charts, each a self-contained SVG 1.1 document (well-formed XML, no scripts, no external
// references): the loss curve — training loss at every logging step and validation loss at every
// evaluation, against the optimizer step — and the per-evaluation macro precision, recall and F1
// against the epoch. Axes get "nice" ticks (1, 2, 5 x 10^k); a single point or a flat series still
// renders (the range is padded).
//
//   std::vector<PlotSeries> s = {{"training loss", "#1f77b4", {{500, 0.91}, {1000, 0.74}}},
//                                {"validation loss", "#d62728", {{816, 0.81}}}};
//   write_file_atomic("out/loss.svg", render_line_chart("Loss", "step", "loss", s));
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace bert_emotion {

struct PlotSeries {
  std::string label;
  std::string color;                              // any SVG color
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in the given order
};

std::string render_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                              const std::vector<PlotSeries>& series, int width = 720, int height = 420);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string xml_escape(const std::string& s);

}  // namespace bert_emotion

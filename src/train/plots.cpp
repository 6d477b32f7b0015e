// plots.cpp — SVG line charts; see plots.hpp.
#include "train/plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace bert_emotion {

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// 1, 2 or 5 times a power of ten, close to range / target_ticks.
double nice_step(double range, int target_ticks) {
  const double raw = range / std::max(1, target_ticks);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double nice = norm < 1.5 ? 1.0 : norm < 3.5 ? 2.0 : norm < 7.5 ? 5.0 : 10.0;
  return nice * mag;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string tick_label(double v, double step) {
  char buf[64];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 6), v);
  return buf;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void finish() {
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) {
      const double pad = std::max(std::fabs(lo) * 0.05, 0.5);
      lo -= pad;
      hi += pad;
    }
  }
};

}  // namespace

std::string render_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                              const std::vector<PlotSeries>& series, int width, int height) {
  const double left = 70, right = 170, top = 40, bottom = 55;
  const double pw = width - left - right, ph = height - top - bottom;
  Range xr, yr;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) xr.add(x), yr.add(y);
  xr.finish();
  yr.finish();
  const double xs = nice_step(xr.hi - xr.lo, 6), ys = nice_step(yr.hi - yr.lo, 5);
  const double x0 = std::floor(xr.lo / xs) * xs, x1 = std::ceil(xr.hi / xs) * xs;
  const double y0 = std::floor(yr.lo / ys) * ys, y1 = std::ceil(yr.hi / ys) * ys;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "  <title>" << xml_escape(title) << "</title>\n";
  o << "  <rect x=\"0\" y=\"0\" width=\"" << width << "\" height=\"" << height << "\" fill=\"white\"/>\n";
  o << "  <text x=\"" << num(left + pw / 2) << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">"
    << xml_escape(title) << "</text>\n";
  // Grid and ticks.
  o << "  <g stroke=\"#dddddd\" stroke-width=\"1\">\n";
  for (double y = y0; y <= y1 + ys * 1e-6; y += ys)
    o << "    <line x1=\"" << num(left) << "\" y1=\"" << num(py(y)) << "\" x2=\"" << num(left + pw) << "\" y2=\""
      << num(py(y)) << "\"/>\n";
  for (double x = x0; x <= x1 + xs * 1e-6; x += xs)
    o << "    <line x1=\"" << num(px(x)) << "\" y1=\"" << num(top) << "\" x2=\"" << num(px(x)) << "\" y2=\""
      << num(top + ph) << "\"/>\n";
  o << "  </g>\n";
  o << "  <g fill=\"#333333\">\n";
  for (double y = y0; y <= y1 + ys * 1e-6; y += ys)
    o << "    <text x=\"" << num(left - 6) << "\" y=\"" << num(py(y) + 4) << "\" text-anchor=\"end\">"
      << tick_label(y, ys) << "</text>\n";
  for (double x = x0; x <= x1 + xs * 1e-6; x += xs)
    o << "    <text x=\"" << num(px(x)) << "\" y=\"" << num(top + ph + 18) << "\" text-anchor=\"middle\">"
      << tick_label(x, xs) << "</text>\n";
  o << "  </g>\n";
  o << "  <rect x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\"" << num(pw) << "\" height=\"" << num(ph)
    << "\" fill=\"none\" stroke=\"#333333\"/>\n";
  o << "  <text x=\"" << num(left + pw / 2) << "\" y=\"" << num(height - 12.0) << "\" text-anchor=\"middle\">"
    << xml_escape(x_label) << "</text>\n";
  o << "  <text x=\"16\" y=\"" << num(top + ph / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
    << num(top + ph / 2) << ")\">" << xml_escape(y_label) << "</text>\n";
  // Series: a polyline plus a dot per point (a one-point series shows as a dot).
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    o << "  <g stroke=\"" << xml_escape(s.color) << "\" fill=\"" << xml_escape(s.color) << "\">\n";
    if (s.points.size() > 1) {
      o << "    <polyline fill=\"none\" stroke-width=\"2\" points=\"";
      for (size_t k = 0; k < s.points.size(); ++k)
        o << (k ? " " : "") << num(px(s.points[k].first)) << "," << num(py(s.points[k].second));
      o << "\"/>\n";
    }
    for (const auto& [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y))
        o << "    <circle cx=\"" << num(px(x)) << "\" cy=\"" << num(py(y)) << "\" r=\"3\"/>\n";
    o << "  </g>\n";
    const double ly = top + 10 + 20.0 * static_cast<double>(i);
    o << "  <line x1=\"" << num(left + pw + 15) << "\" y1=\"" << num(ly) << "\" x2=\"" << num(left + pw + 35)
      << "\" y2=\"" << num(ly) << "\" stroke=\"" << xml_escape(s.color) << "\" stroke-width=\"2\"/>\n";
    o << "  <text x=\"" << num(left + pw + 40) << "\" y=\"" << num(ly + 4) << "\">" << xml_escape(s.label)
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace bert_emotion

#include "report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "report/html.h"

namespace condenser {
namespace {

std::string num(double v) { return fmt_num(v, 1); }

std::string text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" " + attrs + ">" + html_escape(s) +
         "</text>";
}

std::string tick_label(double v, bool percent, double step) {
  if (percent) return fmt_num(100.0 * v, step * 100 < 1 ? 1 : 0) + "%";
  if (std::fabs(v) >= 10000) return fmt_count(static_cast<int64_t>(std::llround(v)));
  int decimals = 0;
  while (decimals < 4 && step * std::pow(10.0, decimals) < 0.999) ++decimals;
  return fmt_num(v, decimals);
}

std::string svg_open(const std::string& id, int w, int h, const std::string& title) {
  return "<svg id=\"" + html_escape(id) + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
         std::to_string(w) + "\" height=\"" + std::to_string(h) + "\" viewBox=\"0 0 " +
         std::to_string(w) + " " + std::to_string(h) + "\" role=\"img\" aria-label=\"" +
         html_escape(title) + "\"><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>" +
         text(10, 18, title, "font-size=\"14\" font-weight=\"600\" fill=\"#1d2733\"");
}

}  // namespace

std::string palette(size_t i) {
  static const char* const kColors[] = {"#2e7dd7", "#e8623a", "#2aa876", "#8e5bd6",
                                        "#d4a017", "#d6418f", "#4a5a6a"};
  return kColors[i % 7];
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) hi = lo + 1.0;
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  // Outer ticks: the first at or below lo, the last at or above hi, so
  // every point lies inside the frame.
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (double t = first; t < hi + step * (1 - 1e-9); t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  if (ticks.size() < 2) ticks.push_back(first + step);
  return ticks;
}

namespace {

// Where the data go: the plot rectangle and the data range it shows.
struct PlotArea {
  double left, top, width, height, x0, x1, y0, y1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * width; }
  double py(double y) const { return top + (1.0 - (y - y0) / (y1 - y0)) * height; }
};

// One series: its line (non-finite points skipped), its points with their
// labels, and its legend entry at `legend`.
std::string series_svg(const Series& ser, const PlotArea& area, std::pair<double, double> legend) {
  std::string s, path;
  for (const auto& [x, y] : ser.xy) {
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    path += (path.empty() ? "" : " ") + num(area.px(x)) + "," + num(area.py(y));
  }
  if (!path.empty()) {
    s += "<polyline fill=\"none\" stroke=\"" + ser.color + "\" stroke-width=\"2\"" +
         (ser.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + path + "\"/>";
  }
  for (size_t i = 0; ser.points && i < ser.xy.size(); ++i) {
    const double x = area.px(ser.xy[i].first), y = area.py(ser.xy[i].second);
    s += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + (ser.dashed ? "2.5" : "4") +
         "\" fill=\"" + ser.color + "\"/>";
    if (i < ser.point_labels.size()) {
      s += text(x + 6, y - 6, ser.point_labels[i], "font-size=\"11\" fill=\"#1d2733\"");
    }
  }
  const auto [lgx, lgy] = legend;
  s += "<rect x=\"" + num(lgx) + "\" y=\"" + num(lgy - 6) + "\" width=\"14\" height=\"4\" fill=\"" +
       ser.color + "\"/>";
  return s + text(lgx + 18, lgy, ser.name, "font-size=\"11\" fill=\"#1d2733\"");
}

}  // namespace

std::string line_chart_svg(const LineChart& c) {
  const double left = 62, right = 26, bottom = 44;  // room for the last x tick label
  // Legend entries flow left to right and wrap; the plot starts below them.
  std::vector<std::pair<double, double>> legend_at;
  double lx = left, ly = 34;
  for (const Series& ser : c.series) {
    const double w = 30 + 6.5 * double(ser.name.size());
    if (lx + w > c.width - right && lx > left) lx = left, ly += 16;
    legend_at.emplace_back(lx, ly);
    lx += w;
  }
  const double top = ly + 14;
  const double pw = c.width - left - right, ph = c.height - top - bottom;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : c.series) {
    for (const auto& [x, y] : s.xy) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  for (const Marker& m : c.markers) x0 = std::min(x0, m.x), x1 = std::max(x1, m.x);
  const bool empty = !std::isfinite(y0);
  if (empty) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (c.x_hi > c.x_lo) x0 = c.x_lo, x1 = c.x_hi;
  if (c.y_from_zero) y0 = std::min(0.0, y0);
  if (y1 - y0 < 1e-9) {  // one value: a band around it
    const double pad = c.y_percent ? 0.05 : std::max(0.5, 0.1 * std::fabs(y0));
    y0 -= pad, y1 += pad;
  }
  if (x1 - x0 < 1e-9) x0 -= 0.5, x1 += 0.5;
  std::vector<double> yt = nice_ticks(y0, y1, 5);
  const std::vector<double> xt = nice_ticks(x0, x1, 6);
  if (c.y_percent) {  // a share never leaves 0..100 %
    yt.erase(
        std::remove_if(yt.begin(), yt.end(), [](double t) { return t < -1e-9 || t > 1 + 1e-9; }),
        yt.end());
    if (yt.empty()) yt = {0.0, 1.0};
  }
  y0 = std::min(y0, yt.front()), y1 = std::max(y1, yt.back());
  if (!(c.x_hi > c.x_lo)) x0 = std::min(x0, xt.front()), x1 = std::max(x1, xt.back());
  const PlotArea area{left, top, pw, ph, x0, x1, y0, y1};

  std::string s = svg_open(c.id, c.width, c.height, c.title);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1.0,
               xstep = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  for (double t : yt) {
    s += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + num(area.py(t)) +
         "\" y2=\"" + num(area.py(t)) + "\" stroke=\"#e1e6ec\"/>";
    s += text(left - 6, area.py(t) + 4, tick_label(t, c.y_percent, ystep),
              "font-size=\"11\" text-anchor=\"end\" fill=\"#5b6b7b\"");
  }
  for (double t : xt) {
    if (t < x0 - 1e-9 || t > x1 + 1e-9) continue;
    s += text(area.px(t), top + ph + 16, tick_label(t, c.x_percent, xstep),
              "font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6b7b\"");
  }
  s += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" +
       num(ph) + "\" fill=\"none\" stroke=\"#9aa7b4\"/>";
  s += text(left + pw / 2, c.height - 6, c.x_label,
            "font-size=\"12\" text-anchor=\"middle\" fill=\"#1d2733\"");
  s += "<text font-size=\"12\" text-anchor=\"middle\" fill=\"#1d2733\" transform=\"translate(14 " +
       num(top + ph / 2) + ") rotate(-90)\">" + html_escape(c.y_label) + "</text>";
  // Stage boundaries: dashed verticals, labels alternating in height so
  // neighbours do not overlap.
  for (size_t i = 0; i < c.markers.size(); ++i) {
    const double x = area.px(c.markers[i].x);
    s += "<line class=\"marker\" x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(top) +
         "\" y2=\"" + num(top + ph) + "\" stroke=\"#7a8793\" stroke-dasharray=\"4 3\"/>";
    s += text(x + 3, top + 12 + 12 * double(i % 2), c.markers[i].label,
              "font-size=\"11\" fill=\"#4a5a6a\"");
  }
  if (empty) {
    s += text(left + pw / 2, top + ph / 2, "no data yet",
              "font-size=\"13\" text-anchor=\"middle\" fill=\"#9aa7b4\"");
  }
  for (size_t si = 0; si < c.series.size(); ++si) {
    s += series_svg(c.series[si], area, legend_at[si]);
  }
  return s + "</svg>";
}

std::string bar_chart_svg(const BarChart& c) {
  const double row = 22, top = 30, label_w = 190, value_w = 150;
  const int height = static_cast<int>(top + row * double(std::max<size_t>(1, c.bars.size())) + 10);
  double max = c.max_value;
  for (const Bar& b : c.bars) max = c.max_value > 0 ? max : std::max(max, b.value);
  if (max <= 0) max = 1.0;
  const double bw = c.width - label_w - value_w - 10;
  std::string s = svg_open(c.id, c.width, height, c.title);
  if (c.bars.empty()) s += text(label_w, top + 14, "no data", "font-size=\"12\" fill=\"#9aa7b4\"");
  for (size_t i = 0; i < c.bars.size(); ++i) {
    const Bar& b = c.bars[i];
    const double y = top + row * double(i);
    const double w = std::max(0.0, std::min(1.0, b.value / max)) * bw;
    s +=
        text(label_w - 6, y + 14, b.label, "font-size=\"11\" text-anchor=\"end\" fill=\"#1d2733\"");
    s += "<rect x=\"" + num(label_w) + "\" y=\"" + num(y + 3) + "\" width=\"" + num(bw) +
         "\" height=\"15\" fill=\"#eef2f6\"/>";
    s += "<rect class=\"hbar\" x=\"" + num(label_w) + "\" y=\"" + num(y + 3) + "\" width=\"" +
         num(w) + "\" height=\"15\" fill=\"" + (b.color.empty() ? palette(0) : b.color) + "\"/>";
    const std::string value = c.percent ? fmt_pct(b.value, 1) : fmt_num(b.value, 2) + c.unit;
    s += text(label_w + bw + 6, y + 14, value + (b.note.empty() ? "" : "  " + b.note),
              "font-size=\"11\" fill=\"#1d2733\"");
  }
  return s + "</svg>";
}

std::string stacked_bar_svg(const StackedBar& c) {
  const double left = 10, top = 34, bar_h = 30;
  const int height = static_cast<int>(top + bar_h + 20 + 18 * double(c.segments.size()));
  double total = 0;
  for (const Bar& b : c.segments) total += std::max(0.0, b.value);
  const double bw = c.width - 2 * left;
  std::string s = svg_open(c.id, c.width, height, c.title);
  double x = left;
  for (size_t i = 0; i < c.segments.size(); ++i) {
    const Bar& b = c.segments[i];
    const std::string color = b.color.empty() ? palette(i) : b.color;
    const double w = total > 0 ? std::max(0.0, b.value) / total * bw : 0.0;
    s += "<rect class=\"segment\" x=\"" + num(x) + "\" y=\"" + num(top) + "\" width=\"" + num(w) +
         "\" height=\"" + num(bar_h) + "\" fill=\"" + color + "\"/>";
    x += w;
    const double ly = top + bar_h + 20 + 18 * double(i);
    s += "<rect x=\"" + num(left) + "\" y=\"" + num(ly - 10) +
         "\" width=\"12\" height=\"12\" fill=\"" + color + "\"/>";
    const std::string share =
        total > 0 ? " (" + fmt_pct(std::max(0.0, b.value) / total, 1) + ")" : "";
    s += text(left + 18, ly,
              b.label + ": " + fmt_num(b.value, 2) + c.unit + share +
                  (b.note.empty() ? "" : " — " + b.note),
              "font-size=\"12\" fill=\"#1d2733\"");
  }
  return s + "</svg>";
}

}  // namespace condenser

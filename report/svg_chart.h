#pragma once
// Inline SVG charts for report.html and the dashboard: plain strings, no
// script, no external assets, so a page stays one self-contained file. Every
// chart is an <svg id="..."> so tests can find it.
#include <string>
#include <utility>
#include <vector>

namespace condenser {

struct Series {
  std::string name;
  std::string color;                          // CSS colour
  std::vector<std::pair<double, double>> xy;  // in data units, any order of x
  bool dashed = false;
  bool points = false;                    // draw a dot at every point
  std::vector<std::string> point_labels;  // optional, one per point
};

// A vertical line at x with a label at its top (stage boundaries).
struct Marker {
  double x = 0.0;
  std::string label;
};

struct LineChart {
  std::string id, title, x_label, y_label;
  std::vector<Series> series;
  std::vector<Marker> markers;
  bool y_percent = false;  // tick labels as percentages of 1.0
  bool y_from_zero = false;
  bool x_percent = false;         // x tick labels as percentages of 1.0
  double x_lo = 0.0, x_hi = 0.0;  // a fixed x range when x_hi > x_lo
  int width = 640, height = 300;
};

// Axes with "nice" ticks, one polyline per series, a legend, the markers.
// A chart without any point still renders (axes and "no data yet").
std::string line_chart_svg(const LineChart& chart);

struct Bar {
  std::string label;
  double value = 0.0;
  std::string color;  // empty: the default blue
  std::string note;   // printed after the value
};

// Horizontal bars, one row each, scaled to max_value (<= 0: the largest bar).
struct BarChart {
  std::string id, title;
  std::vector<Bar> bars;
  double max_value = 0.0;
  bool percent = false;
  std::string unit;  // appended to values when not percent
  int width = 640;
};
std::string bar_chart_svg(const BarChart& chart);

// One horizontal bar split into segments (a cost breakdown), with a legend
// giving each segment's value and share.
struct StackedBar {
  std::string id, title, unit;
  std::vector<Bar> segments;
  int width = 640;
};
std::string stacked_bar_svg(const StackedBar& chart);

// Round tick values covering [lo, hi], about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count);

// A fixed palette, cycled by index.
std::string palette(size_t i);

}  // namespace condenser

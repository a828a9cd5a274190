#pragma once
// A Prometheus histogram of latencies in seconds: cumulative buckets
// (`_bucket{le="..."}`, `le="+Inf"` last), `_sum` and `_count`. Fixed
// bounds from 100 µs to 10 s, so observing is a short scan, no allocation.
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

namespace condenser {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                     1.0,    2.5,     5.0,    10.0};

  void observe(double seconds) {
    size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++counts_[i];  // counts_[kBounds.size()]: above the last bound
    sum_ += seconds;
    ++count_;
  }
  int64_t count() const { return count_; }
  double sum() const { return sum_; }

  // The exposition text: HELP, TYPE and every line of `name`.
  std::string text(const std::string& name, const std::string& help) const {
    std::string out = "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
    int64_t cumulative = 0;
    for (size_t i = 0; i <= kBounds.size(); ++i) {
      cumulative += counts_[i];
      const std::string le = i < kBounds.size() ? format(kBounds[i]) : "+Inf";
      out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += name + "_sum " + format(sum_) + "\n";
    out += name + "_count " + std::to_string(count_) + "\n";
    return out;
  }

 private:
  static std::string format(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.9g", v);
    return b;
  }
  std::array<int64_t, kBounds.size() + 1> counts_{};
  double sum_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace condenser

#include "export/timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace condenser {
namespace {

Timing summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Timing t;
  t.min = v.front();
  t.max = v.back();
  const size_t n = v.size();
  t.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return t;
}

double seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::pair<Timing, Timing> time_alternating(const std::function<void()>& ours,
                                           const std::function<void()>& baseline, int repeats,
                                           int warmup) {
  for (int i = 0; i < warmup; ++i) {
    ours();
    baseline();
  }
  std::vector<double> a, b;
  for (int i = 0; i < repeats; ++i) {
    if (i % 2 == 0) {
      a.push_back(seconds_of(ours));
      b.push_back(seconds_of(baseline));
    } else {
      b.push_back(seconds_of(baseline));
      a.push_back(seconds_of(ours));
    }
  }
  return {summarise(a), summarise(b)};
}

}  // namespace condenser

#pragma once
// Side-by-side timing: two pieces of work timed in alternating rounds in one
// process, so load and warm caches hit both alike. Used by the export's
// latency table and by every benchmark (bench/bench_report.h). No LibTorch.
#include <functional>
#include <utility>

namespace condenser {

struct Timing {
  double median = 0.0, min = 0.0, max = 0.0;  // seconds
};

// Runs `warmup` untimed rounds, then `repeats` timed rounds; each round runs
// `ours` and `baseline`, alternating which goes first. Returns {ours, baseline}.
std::pair<Timing, Timing> time_alternating(const std::function<void()>& ours,
                                           const std::function<void()>& baseline, int repeats,
                                           int warmup = 1);

}  // namespace condenser

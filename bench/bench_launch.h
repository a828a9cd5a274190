#pragma once
// Benchmarks that need several ranks relaunch this binary under mpirun; the
// ranks run them and rank 0 prints and writes bench/results/NAME.json.
#include <string>

#include "bench/benches.h"

namespace condenser {

// How many ranks the benchmark needs (1 or 2).
int bench_ranks(const std::string& name);

// Runs `mpirun -n RANKS <this binary> bench NAME --repeats R [--quick] --out
// DIR` and waits; RuntimeFailure when it fails. For `train` it first times
// world 1 in this process and hands the result to the ranks.
void relaunch_under_mpirun(const std::string& name, const BenchOptions& options);

}  // namespace condenser

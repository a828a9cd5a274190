#pragma once
// The benchmarks behind `condenser bench NAME` and `make bench`.
#include <string>
#include <vector>

#include "bench/bench_report.h"

namespace condenser {

struct BenchOptions {
  int repeats = 5;                                // timed rounds per case (after one warm-up)
  bool quick = false;                             // smaller payloads (tests)
  std::string scratch_dir = "bench/scratch";      // files written while measuring
  std::string out_dir = "bench/results";          // where NAME.json goes
};

BenchReport bench_shards(const BenchOptions& options);
BenchReport bench_structured(const BenchOptions& options);
BenchReport bench_teacher(const BenchOptions& options);  // coordinator + worker vs bare loop
BenchReport bench_distill(const BenchOptions& options);
// Multi-rank (under mpirun; see bench_launch.h).
BenchReport bench_allreduce(const BenchOptions& options);
BenchReport bench_train(const BenchOptions& options);
// CUDA: teacher labelling and student steps vs bare LibTorch loops (bench_gpu.cpp).
BenchReport bench_gpu(const BenchOptions& options);

std::vector<std::string> bench_names();
// Runs the named benchmark; UsageError listing the names for an unknown one.
BenchReport run_bench(const std::string& name, const BenchOptions& options);

}  // namespace condenser

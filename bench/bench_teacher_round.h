#pragma once
// One timed labelling round through a coordinator and one `condenser worker`
// process (bench_teacher.cpp), shared by `bench teacher` (CPU) and
// `bench gpu` (the worker on CUDA).
#include <string>
#include <vector>

#include "coordinator/task_table.h"
#include "worker/label_spec.h"

namespace condenser {

// Seconds from the lease of task 1 to the last commit (tasks 1..N-1; task 0
// warms the worker up) with one worker on `device` ("cpu", "cuda", "cuda:N")
// using `threads` intra-op threads. Removes the committed shards afterwards.
double coordinator_round(const LabelSpec& spec, const std::vector<TableTask>& tasks,
                         const std::string& token_file, const std::string& token, int threads,
                         const std::string& device);

}  // namespace condenser

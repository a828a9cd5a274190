#pragma once
// One timed labelling round through a coordinator and one `condenser worker`
// process (bench_teacher.cpp), shared by `bench teacher` (CPU) and
// `bench gpu` (the worker on CUDA).
#include <string>
#include <vector>

#include "data/dataset.h"
#include "protocol/label_spec.h"
#include "protocol/label_task.h"

namespace condenser {

// The labelling job both benches time: the teacher at `teacher_path`, the
// first task_rows * (timed_tasks + 1) training samples of `data` in tasks of
// task_rows (task 0 warms the worker up), shards and the token file in `dir`.
struct TeacherRound {
  LabelSpec spec;
  std::vector<LabelTask> tasks;
  std::vector<int64_t> samples;  // the labelled sample indices, in task order
  std::string token;  // read back from token_file, made as a job makes it
  std::string token_file;
};
TeacherRound make_teacher_round(const std::string& teacher_path, const ImageDataset& data,
                                const std::string& data_dir, const std::string& dir,
                                int64_t task_rows, int timed_tasks, int64_t batch_size);

// Fills r.tasks (timed_tasks + 1 tasks of task_rows, shard files named in
// order) and a fresh job token in `dir`, as a job makes them: the part of a
// round every labelling bench shares (images here, token windows in bench_lm).
void add_round_tasks(TeacherRound& r, const std::string& dir, int64_t task_rows,
                     int timed_tasks);

// Seconds from the lease of task 1 to the last commit (tasks 1..N-1; task 0
// warms the worker up) with one worker on `device` ("cpu", "cuda", "cuda:N")
// using `threads` intra-op threads. Removes the committed shards afterwards.
double coordinator_round(const LabelSpec& spec, const std::vector<LabelTask>& tasks,
                         const std::string& token_file, const std::string& token, int threads,
                         const std::string& device);

}  // namespace condenser

#pragma once
// Plans the teacher-labelling tasks of a job and commits their shards to the
// manifest, one task at a time: a shard is listed only after it was renamed
// into place, and the manifest is replaced atomically after each commit.
// Tasks are protocol/label_task.h's; through workers, see
// coordinator/control/label_service.h.
#include <torch/script.h>

#include <string>
#include <vector>

#include "coordinator/control/label_service.h"  // LabellingResult
#include "data/shards/manifest.h"
#include "protocol/label_task.h"
#include "worker/teacher_labeller.h"

namespace condenser {

// Contiguous tasks of at most `shard_rows` positions over [0, num_samples),
// named shard-000000.h5, shard-000001.h5, ...
std::vector<LabelTask> plan_label_tasks(int64_t num_samples, int64_t shard_rows);

// Labels every task with the teacher and commits each to `manifest_path`.
// `manifest` carries the provenance and layout fields and any shards already
// labelled (kept); new shards are appended. total_rows, when 0, is set from
// the tasks.
LabellingResult label_all(torch::jit::Module& teacher, const LabellerSetup& setup,
                          const std::vector<LabelTask>& tasks, Manifest manifest,
                          const std::string& manifest_path);

}  // namespace condenser

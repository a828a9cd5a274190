#pragma once
// The labelling stage: the teacher runs once per (sample, view) into HDF5
// shards (reusing verified shards of an earlier run in the same directory),
// then the student stages get the soft labels back from those shards.
#include <torch/script.h>

#include <memory>

#include "cluster/communicator.h"
#include "coordinator/stages/job_context.h"
#include "coordinator/stages/shard_pipeline.h"
#include "data/shards/shard_stream.h"
#include "data/shards/soft_label_table.h"

namespace condenser {

// What the student stages distill from: a verified in-memory table, or a
// stream over the shards (soft_labels.reader).
struct SoftLabels {
  SoftTargets table;
  std::unique_ptr<ShardStream> stream;
  // Pipelined mode (roles.teacher_ranks > 0). On a student rank: the student
  // ranks' communicator (the job's ranks from here on) and the pipeline
  // filling `table` as shards are committed. On a teacher rank: labeller_only,
  // the rank has labelled and trains nothing.
  std::unique_ptr<Communicator> students;
  std::unique_ptr<ShardPipeline> pipeline;  // after students: destroyed first
  bool labeller_only = false;
};

// Under mpirun, phased (roles.teacher_ranks 0): rank 0 hosts the coordinator
// (and its --local-workers children) and broadcasts its control address and
// the job token; every other rank labels as an in-process worker until there
// is no more work; then all ranks read the verified shards. Pipelined: the
// last k ranks label while the others return at once with a pipeline (see
// coordinator/stages/shard_pipeline.h). Each rank writes RUN_DIR/timeline/rank-R.json.
SoftLabels label_stage(JobContext& job, torch::jit::Module& teacher, bool teacher_trained_here);

// UsageError unless roles.teacher_ranks leaves a rank of `ranks` to train the
// student (and, pipelined, soft_labels.reader is memory). Checked at the
// job's start, before anything is trained.
void check_rank_roles(const Config& config, int ranks);

}  // namespace condenser

#include "coordinator/prune_stage.h"

#include <torch/torch.h>

#include "cluster/communicator.h"
#include "cluster/gradient_reducer.h"
#include "core/log.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "trainers/nm_pruning.h"
#include "trainers/pruning.h"
#include "trainers/structured_pruning.h"

namespace condenser {
namespace {

// Every rank computed masks from the same weights; rank 0's are the ones
// used, so a last-bit difference in a threshold can never split the ranks.
void sync_masks(JobContext& job, PruneMasks& masks) {
  if (job.options.comm == nullptr || job.options.comm->size() <= 1) return;
  std::vector<at::Tensor> tensors;
  for (const auto& entry : masks.masks()) tensors.push_back(entry.second);
  broadcast_from_rank0(*job.options.comm, tensors);
}

}  // namespace

torch::jit::Module prune_stage(JobContext& job, torch::jit::Module student, const SoftLabels& soft_logits,
                               JobCheckpoints& checkpoints) {
  const auto start = Clock::now();
  const PruneConfig& p = job.config.prune;
  const ModelSpec spec = zoo_spec(job.config.student.model);
  StructuredPlan plan;
  PruneMasks masks;
  // Structured: planned again from the checkpoint's weights on resume;
  // the pruned channels are exactly zero there, so the plan is the same.
  if (p.method == "structured") plan = plan_structured(student, spec, p.sparsity, p.structured_norm);
  const bool resumed = checkpoints.from() != nullptr && checkpoints.from()->stage == "prune";
  if (resumed) {
    masks = checkpoints.from()->masks;
  } else if (p.method == "structured") {
    masks = structured_masks(student, spec, plan);
  } else if (p.method == "nm") {
    masks = nm_masks(student, p.nm_n, p.nm_m);
  } else {
    masks = global_magnitude_masks(student, p.sparsity);
  }
  sync_masks(job, masks);
  masks.apply_to_weights(student);
  int64_t steps = 0;
  if (!checkpoints.finished("prune")) {
    log_info("prune: ", p.method,
             p.method == "nm" ? " " + std::to_string(p.nm_n) + ":" + std::to_string(p.nm_m)
                              : " " + percent(p.sparsity),
             ", then fine-tune ", p.finetune.epochs, " epochs");
    StageOptions o = distill_options(job, "prune", p.finetune, soft_logits, checkpoints);
    o.on_step = checkpoints.hook("prune", student, &masks);
    const StageResult tuned =
        train_stage(student, job.train, job.validation, o, &masks, job.sink());
    stop_if_interrupted(tuned);
    steps = tuned.steps;
    // Before compaction: a resumed job rebuilds the same model from it.
    checkpoints.stage_end("prune", student, &masks, steps);
  } else {
    steps = checkpoints.from()->resume.cursor.steps;
  }
  if (p.method == "structured") {
    // The removed channels are exactly zero: drop them for a smaller, faster model.
    CompactModel small = compact(student, spec, plan);
    student = small.module;
    student.to(job.device);
    log_info("prune: compacted to ", measure_sparsity(student).parameters, " parameters");
  }
  job.record("prune", since(start), steps, &student);
  return student;
}

}  // namespace condenser

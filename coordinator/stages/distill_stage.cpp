#include "coordinator/stages/distill_stage.h"

#include "data/sampling.h"
#include "trainers/model_choice.h"
#include "trainers/model_io.h"

namespace condenser {

torch::jit::Module fresh_student(const JobContext& job) {
  torch::jit::Module student = fresh_student(job.config, job.dataset);
  student.to(job.device);
  return student;
}

MixOptions mix_options(const Config& config) {
  return {config.student.mix, config.student.mix_alpha};
}

StageOptions distill_options(JobContext& job, const std::string& stage, const OptimConfig& optim,
                             const SoftLabels& soft, JobCheckpoints& checkpoints) {
  StageOptions o = job.stage_options(stage, optim);
  o.checkpoint.resume = checkpoints.inside(stage);
  o.distill.soft = soft.table;
  o.distill.views_per_sample = soft.stream ? soft.stream->views() : soft.table.views;
  o.distill.augment_seed = augment_seed(job.config);
  o.distill.flip = job.config.soft_labels.flip;
  o.distill.temperature = job.config.soft_labels.temperature;
  o.distill.alpha = job.config.student.alpha;
  // Mixing is part of the student's recipe, not of the prune fine-tunes.
  if (stage == "distill") o.distill.mix = mix_options(job.config);
  o.data.stream = soft.stream.get();
  const StageResume* resume = o.checkpoint.resume;
  if (soft.pipeline) {
    // Pipelined: the first distill epoch follows the shards' commit order;
    // anything else trains on the complete table.
    if (stage == "distill" && !(resume && resume->cursor.epoch > 0)) {
      o.data.order_source = soft.pipeline.get();
    } else {
      soft.pipeline->finish();
    }
  }
  // A resumed stage's reads were counted before its checkpoint.
  if (!resume) {
    job.report.soft_label_reads += static_cast<int64_t>(job.train.indices.size()) * optim.epochs;
  }
  return o;
}

torch::jit::Module distill_stage(JobContext& job, const SoftLabels& soft,
                                 JobCheckpoints& checkpoints) {
  const auto start = Clock::now();
  const Config& config = job.config;
  torch::jit::Module student = fresh_student(job);
  if (checkpoints.from() != nullptr && checkpoints.finished("distill")) {
    // Skipped: the checkpoint holds this stage's weights (distill) or later ones (prune).
    load_module_state(student, checkpoints.from()->weights);
    return student;
  }
  StageOptions o = distill_options(job, "distill", config.student.train, soft, checkpoints);
  if (o.checkpoint.resume) load_module_state(student, checkpoints.from()->weights);
  o.checkpoint.on_step = checkpoints.hook("distill", student, nullptr);
  const StageResult distilled =
      train_stage(student, job.train, job.validation, o, nullptr, job.sink());
  stop_if_interrupted(distilled);
  if (job.is_root()) save_module(student, job.paths.models + "/student_distilled.pt");
  job.record("distill", since(start), distilled.steps, &student);
  job.report.student_dense = job.report.stages.back().model;
  checkpoints.stage_end("distill", student, nullptr, distilled.steps);
  return student;
}

}  // namespace condenser

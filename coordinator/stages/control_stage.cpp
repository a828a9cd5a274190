#include "coordinator/stages/control_stage.h"

#include "coordinator/stages/distill_stage.h"
#include "core/log.h"
#include "trainers/model_io.h"

namespace condenser {

void control_stage(JobContext& job, JobCheckpoints& checkpoints) {
  if (checkpoints.finished("control")) return;  // its record came with the checkpoint
  const auto start = Clock::now();
  const Config& config = job.config;
  torch::jit::Module control = fresh_student(job);
  StageOptions o = job.stage_options("control", config.student.train);
  o.order_of = "distill";
  o.distill.views_per_sample = config.soft_labels.views_per_sample;
  o.distill.augment_seed = augment_seed(config);
  o.distill.flip = config.soft_labels.flip;
  o.distill.mix = mix_options(config);
  o.checkpoint.resume = checkpoints.inside("control");
  if (o.checkpoint.resume) load_module_state(control, checkpoints.from()->weights);
  o.checkpoint.on_step = checkpoints.hook("control", control, nullptr);
  log_info("control: ", job.report.student_model, " without the teacher (cross-entropy only) for ",
           config.student.train.epochs, " epochs on the distill stage's batches");
  const StageResult r = train_stage(control, job.train, job.validation, o, nullptr, job.sink());
  stop_if_interrupted(r);
  if (job.is_root()) save_module(control, job.paths.models + "/student_control.pt");
  job.record("control", since(start), r.steps, &control);
  job.report.student_control = job.report.stages.back().model;
  job.report.has_control = true;
  checkpoints.stage_end("control", control, nullptr, r.steps);
}

}  // namespace condenser

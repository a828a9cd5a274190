#include "coordinator/stages/teacher_stage.h"

#include "core/log.h"
#include "data/sampling.h"
#include "trainers/model_io.h"
#include "trainers/model_choice.h"

namespace condenser {

torch::jit::Module teacher_stage(JobContext& job, JobCheckpoints& checkpoints) {
  const TeacherConfig& t = job.config.teacher;
  const auto start = Clock::now();
  const std::string saved = job.paths.models + "/teacher.pt";
  torch::jit::Module teacher;
  int64_t steps = 0;
  if (!t.path.empty()) {
    teacher = load_module(t.path, "teacher");
    job.report.teacher_sha256 = module_identity(teacher);  // what the workers will load
    teacher.to(job.device);  // preflight has probed it on this job's images
    job.report.teacher_source = t.path;
    log_info("teacher: loaded ", t.path, " (identity ", job.report.teacher_sha256.substr(0, 12),
             ": its parameters, buffers and code)");
    if (checkpoints.finished("teacher")) return teacher;
  } else if (checkpoints.finished("teacher")) {
    teacher = load_module(saved, "teacher");  // written before the stage's checkpoint
    teacher.to(job.device);
    log_info("teacher: trained before the checkpoint; loaded ", saved);
    return teacher;
  } else {
    const ModelSpec spec = *teacher_spec(job.config, job.dataset);
    teacher = build_model(spec, mix_seed(job.config.seed, 1));
    teacher.to(job.device);
    StageOptions o = job.stage_options("teacher", t.train);
    if (t.augment) {  // the views it will label (data/augment.h), cross-entropy on the labels
      o.distill.views_per_sample = job.config.soft_labels.views_per_sample;
      o.distill.augment_seed = augment_seed(job.config);
      o.distill.flip = job.config.soft_labels.flip;
    }
    o.checkpoint.resume = checkpoints.inside("teacher");
    if (o.checkpoint.resume) load_module_state(teacher, checkpoints.from()->weights);
    o.checkpoint.on_step = checkpoints.hook("teacher", teacher, nullptr);
    const std::string what =
        "built-in " + (spec.name == "teacher" ? std::string("declared (teacher.layers)") : t.model);
    log_info("teacher: training ", what, " for ", t.train.epochs, " epochs");
    const StageResult r = train_stage(teacher, job.train, job.validation, o, nullptr, job.sink());
    stop_if_interrupted(r);
    steps = r.steps;
    if (job.is_root()) save_module(teacher, saved);
    job.barrier();  // the other ranks hash the file rank 0 wrote
    job.report.teacher_source = what + " (trained by this job)";
    job.report.teacher_sha256 = module_identity(load_module(saved, "teacher"));
  }
  job.record("teacher", since(start), steps, &teacher);
  job.report.teacher = job.report.stages.back().model;
  if (t.path.empty()) checkpoints.stage_end("teacher", teacher, nullptr, steps);
  return teacher;
}

}  // namespace condenser

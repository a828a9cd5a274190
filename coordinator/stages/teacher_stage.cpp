#include "coordinator/stages/teacher_stage.h"

#include "core/errors.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/sampling.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"

namespace condenser {
namespace {

// A user's teacher must take this job's batches and return [N, classes]
// logits; find out now, with one clear message, not deep inside labelling.
void check_teacher_runs(JobContext& job, torch::jit::Module& teacher, const std::string& path) {
  const std::vector<int64_t> probe(job.train.indices.begin(), job.train.indices.begin() + 2);
  at::Tensor out;
  try {
    out = predict(teacher, job.train_data.images, probe, 2);
  } catch (const c10::Error& e) {
    throw UsageError("teacher '" + path + "' cannot run on this dataset's batches (float32 [N, " +
                     "1, 28, 28], pixels in [0, 1]): " + e.what_without_backtrace());
  }
  if (out.dim() != 2 || out.size(0) != 2 || out.size(1) != job.train_data.num_classes) {
    throw UsageError("teacher '" + path + "' returns shape " + c10::str(out.sizes()) +
                     "; expected [N, " + std::to_string(job.train_data.num_classes) + "] logits");
  }
}

}  // namespace

torch::jit::Module teacher_stage(JobContext& job, JobCheckpoints& checkpoints) {
  const TeacherConfig& t = job.config.teacher;
  const auto start = Clock::now();
  const std::string saved = job.paths.models + "/teacher.pt";
  torch::jit::Module teacher;
  int64_t steps = 0;
  if (!t.path.empty()) {
    teacher = load_module(t.path, "teacher");
    teacher.to(job.device);
    check_teacher_runs(job, teacher, t.path);
    job.report.teacher_source = t.path;
    job.report.teacher_sha256 = sha256_file(t.path);
    log_info("teacher: loaded ", t.path, " (sha256 ", job.report.teacher_sha256.substr(0, 12), ")");
    if (checkpoints.finished("teacher")) return teacher;
  } else if (checkpoints.finished("teacher")) {
    teacher = load_module(saved, "teacher");  // written before the stage's checkpoint
    teacher.to(job.device);
    log_info("teacher: trained before the checkpoint; loaded ", saved);
    return teacher;
  } else {
    teacher = build_model(zoo_spec(t.model), mix_seed(job.config.seed, 1));
    teacher.to(job.device);
    StageOptions o = job.stage_options("teacher", t.train);
    o.checkpoint.resume = checkpoints.inside("teacher");
    if (o.checkpoint.resume) load_module_state(teacher, checkpoints.from()->weights);
    o.checkpoint.on_step = checkpoints.hook("teacher", teacher, nullptr);
    log_info("teacher: training built-in '", t.model, "' for ", t.train.epochs, " epochs");
    const StageResult r = train_stage(teacher, job.train, job.validation, o, nullptr, job.sink());
    stop_if_interrupted(r);
    steps = r.steps;
    if (job.is_root()) save_module(teacher, saved);
    job.barrier();  // the other ranks hash the file rank 0 wrote
    job.report.teacher_source = "built-in " + t.model + " (trained by this job)";
    job.report.teacher_sha256 = sha256_file(saved);
  }
  job.record("teacher", since(start), steps, &teacher);
  job.report.teacher = job.report.stages.back().model;
  if (t.path.empty()) checkpoints.stage_end("teacher", teacher, nullptr, steps);
  return teacher;
}

}  // namespace condenser

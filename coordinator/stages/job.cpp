#include "coordinator/stages/job.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "cluster/communicator.h"
#include "cluster/rank_env.h"
#include "export/export.h"
#include "coordinator/stages/job_checkpoints.h"
#include "coordinator/stages/job_context.h"
#include "coordinator/stages/label_stage.h"
#include "coordinator/stages/metrics_log.h"
#include "coordinator/stages/progress.h"
#include "coordinator/stages/prune_stage.h"
#include "config/run_dir.h"
#include "coordinator/checkpoints/checkpoint.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "config/prune_plan.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "trainers/training.h"

namespace condenser {
namespace {

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

void load_data(JobContext& job) {
  const DataConfig& d = job.config.data;
  job.train_data = load_fashion_mnist(d.path, /*train=*/true);
  job.test_data = load_fashion_mnist(d.path, /*train=*/false);
  const TrainValSplit split = make_train_val_split(job.train_data.size(), d.validation_size,
                                                   d.train_subset, job.config.seed);
  job.train = {job.train_data.images, job.train_data.labels, split.train};
  job.validation = {job.train_data.images, job.train_data.labels, split.validation};
  int64_t test_n = job.test_data.size();
  if (d.test_subset > 0) test_n = std::min<int64_t>(test_n, d.test_subset);
  job.test = {job.test_data.images, job.test_data.labels, range(test_n)};
  job.report.dataset_fingerprint = job.train_data.fingerprint;
  log_info("data: ", split.train.size(), " train, ", split.validation.size(), " validation, ",
           test_n, " test samples from ", d.path);
}

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
    o.resume = checkpoints.inside("teacher");
    if (o.resume) load_module_state(teacher, checkpoints.from()->weights);
    o.on_step = checkpoints.hook("teacher", teacher, nullptr);
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

bool previous_run_finished(const RunPaths& paths) {
  if (!path_exists(paths.summary)) return false;
  try {
    return nlohmann::json::parse(read_file(paths.summary)).value("finished", false);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

int apply_thread_count(const Config& config) {
  int threads = config.runtime.threads;
  if (threads == 0) {
    threads = default_thread_count(discover_rank_env(), std::thread::hardware_concurrency());
  }
  at::set_num_threads(threads);
  return threads;
}

JobReport run_job(const Config& config, const JobOptions& options) {
  const auto job_start = Clock::now();
  const bool root = options.comm == nullptr || options.comm->rank() == 0;
  // Rank 0 prepares the run directory before any other rank looks into it.
  RunPaths paths = root ? prepare_run_dir(options.run_dir, config) : RunPaths::at(options.run_dir);
  // A finished run in this directory is run again from the start (its soft
  // labels are reused); an unfinished one carries on from its checkpoint.
  const std::string checkpoints_dir = paths.root + "/checkpoints";
  std::optional<Checkpoint> from;
  if (options.resume == "auto" && !previous_run_finished(paths)) {
    from = load_latest_checkpoint(checkpoints_dir);
  } else if (options.resume != "auto" && options.resume != "none") {
    if (!path_exists(options.resume + "/state.json")) {
      throw UsageError("--resume " + options.resume + ": not a checkpoint directory (no state.json)");
    }
    from = load_checkpoint(options.resume);
  }
  if (!from && root) remove_tree(checkpoints_dir);  // a fresh start keeps none of the old ones
  if (from && root) trim_metrics_after(paths.metrics, *from);
  JobOptions ranks = options;  // pipelined labelling narrows comm to the student ranks
  JobContext job{config, ranks, resolve_device(config.runtime.device, discover_rank_env().local_rank), paths,
                 MetricsLog(root ? paths.metrics : "", /*truncate=*/!from)};
  job.barrier();
  job.report.job_name = config.name;
  job.report.student_model = config.student.model;
  // Weight sparsity the prune schedule aims at: structured pruning removes
  // channels (the compacted model is dense), N:M zeroes m - n of every m.
  const PruneConfig& pc = config.prune;
  job.report.target_sparsity = !pc.enabled || pc.method == "structured"
                                   ? 0.0
                                   : prune_steps(pc).back().sparsity;
  const int world = options.comm ? options.comm->size() : 1;
  check_rank_roles(config, world);  // before anything is trained
  check_prune_targets(config);
  log_info("job '", config.name, "' in ", options.run_dir, " on ", job.device.str(), " with ",
           at::get_num_threads(), " threads",
           world > 1 ? ", data-parallel over " + std::to_string(world) + " ranks (" +
                           options.comm->backend() + ")"
                     : std::string());
  load_data(job);
  const std::unique_ptr<ProgressReporter> progress =
      make_job_progress(config, options.run_dir, static_cast<int64_t>(job.train.indices.size()));
  job.progress = progress.get();

  if (from) job.report = report_from_json(from->report, from->path + "/state.json");
  JobCheckpoints checkpoints(job, std::move(from));

  torch::jit::Module teacher = teacher_stage(job, checkpoints);
  const SoftLabels soft_logits = label_stage(job, teacher, config.teacher.path.empty());
  if (soft_logits.labeller_only) return job.report;  // a pipelined teacher rank: labelling was all
  if (soft_logits.students) ranks.comm = soft_logits.students.get();

  auto start = Clock::now();
  torch::jit::Module student =
      build_model(zoo_spec(config.student.model), mix_seed(config.seed, 2));
  student.to(job.device);
  if (checkpoints.from() != nullptr && checkpoints.finished("distill")) {
    // Skipped: the checkpoint holds this stage's weights (distill) or later ones (prune).
    load_module_state(student, checkpoints.from()->weights);
  } else {
    StageOptions o = distill_options(job, "distill", config.student.train, soft_logits, checkpoints);
    if (o.resume) load_module_state(student, checkpoints.from()->weights);
    o.on_step = checkpoints.hook("distill", student, nullptr);
    const StageResult distilled =
        train_stage(student, job.train, job.validation, o, nullptr, job.sink());
    stop_if_interrupted(distilled);
    if (job.is_root()) save_module(student, job.paths.models + "/student_distilled.pt");
    job.record("distill", since(start), distilled.steps, &student);
    job.report.student_dense = job.report.stages.back().model;
    checkpoints.stage_end("distill", student, nullptr, distilled.steps);
  }

  if (soft_logits.pipeline) soft_logits.pipeline->finish();  // every shard in; labelling over
  if (config.prune.enabled) student = prune_stage(job, std::move(student), soft_logits, checkpoints);
  if (soft_logits.stream) {
    log_info("soft labels streamed from shards: training waited ",
             fixed(soft_logits.stream->wait_seconds(), 2), " s in all on HDF5 reads");
  }
  if (!config.prune.enabled) job.report.student_final = job.report.stages.back().model;
  if (!job.is_root()) {
    job.barrier();  // rank 0 writes the final model and exports
    return job.report;
  }
  save_module(student, job.paths.models + "/student_final.pt");

  start = Clock::now();
  job.report.total_seconds = since(job_start);
  job.report.finished = true;
  job.save_report();
  export_run(options.run_dir, "");
  job.record("export", since(start), 0, nullptr);
  if (progress) progress->finish();
  job.report.total_seconds = since(job_start);
  job.save_report();
  job.barrier();
  return job.report;
}

}  // namespace condenser

#include "coordinator/job.h"

#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "cluster/communicator.h"
#include "cluster/rank_env.h"
#include "coordinator/export.h"
#include "coordinator/job_context.h"
#include "coordinator/label_stage.h"
#include "coordinator/metrics_log.h"
#include "coordinator/progress.h"
#include "coordinator/run_dir.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "cluster/gradient_reducer.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "trainers/nm_pruning.h"
#include "trainers/pruning.h"
#include "trainers/structured_pruning.h"
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

torch::jit::Module teacher_stage(JobContext& job) {
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
  } else {
    teacher = build_model(zoo_spec(t.model), mix_seed(job.config.seed, 1));
    teacher.to(job.device);
    log_info("teacher: training built-in '", t.model, "' for ", t.train.epochs, " epochs");
    steps = train_stage(teacher, job.train, job.validation, job.stage_options("teacher", t.train),
                        nullptr, job.sink())
                .steps;
    if (job.is_root()) save_module(teacher, saved);
    job.barrier();  // the other ranks hash the file rank 0 wrote
    job.report.teacher_source = "built-in " + t.model + " (trained by this job)";
    job.report.teacher_sha256 = sha256_file(saved);
  }
  job.record("teacher", since(start), steps, &teacher);
  job.report.teacher = job.report.stages.back().model;
  return teacher;
}

StageOptions distill_options(JobContext& job, const std::string& stage, const OptimConfig& optim,
                             const SoftLabels& soft) {
  StageOptions o = job.stage_options(stage, optim);
  o.soft = soft.table;
  o.stream = soft.stream.get();
  o.views_per_sample = soft.stream ? soft.stream->views() : soft.table.views;
  o.augment_seed = augment_seed(job.config);
  o.temperature = job.config.soft_labels.temperature;
  o.alpha = job.config.student.alpha;
  job.report.soft_label_reads += static_cast<int64_t>(job.train.indices.size()) * optim.epochs;
  return o;
}

// Every rank computed masks from the same weights; rank 0's are the ones
// used, so a last-bit difference in a threshold can never split the ranks.
void sync_masks(JobContext& job, PruneMasks& masks) {
  if (job.options.comm == nullptr || job.options.comm->size() <= 1) return;
  std::vector<at::Tensor> tensors;
  for (const auto& entry : masks.masks()) tensors.push_back(entry.second);
  broadcast_from_rank0(*job.options.comm, tensors);
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
  JobContext job{config, options, resolve_device(config.runtime.device, discover_rank_env().local_rank), paths,
                 MetricsLog(root ? paths.metrics : "", /*truncate=*/true)};
  job.barrier();
  job.report.job_name = config.name;
  job.report.student_model = config.student.model;
  // Weight sparsity the prune stage aims at: structured pruning removes
  // channels (the compacted model is dense), N:M zeroes m - n of every m.
  const PruneConfig& pc = config.prune;
  job.report.target_sparsity = !pc.enabled                  ? 0.0
                               : pc.method == "structured" ? 0.0
                               : pc.method == "nm"         ? 1.0 - double(pc.nm_n) / pc.nm_m
                                                           : pc.sparsity;
  const int world = options.comm ? options.comm->size() : 1;
  log_info("job '", config.name, "' in ", options.run_dir, " on ", job.device.str(), " with ",
           at::get_num_threads(), " threads",
           world > 1 ? ", data-parallel over " + std::to_string(world) + " ranks (" +
                           options.comm->backend() + ")"
                     : std::string());
  load_data(job);
  const std::unique_ptr<ProgressReporter> progress =
      make_job_progress(config, options.run_dir, static_cast<int64_t>(job.train.indices.size()));
  job.progress = progress.get();

  torch::jit::Module teacher = teacher_stage(job);
  const SoftLabels soft_logits = label_stage(job, teacher, config.teacher.path.empty());

  auto start = Clock::now();
  torch::jit::Module student =
      build_model(zoo_spec(config.student.model), mix_seed(config.seed, 2));
  student.to(job.device);
  const StageResult distilled = train_stage(
      student, job.train, job.validation,
      distill_options(job, "distill", config.student.train, soft_logits), nullptr, job.sink());
  if (job.is_root()) save_module(student, job.paths.models + "/student_distilled.pt");
  job.record("distill", since(start), distilled.steps, &student);
  job.report.student_dense = job.report.stages.back().model;

  if (config.prune.enabled) {
    start = Clock::now();
    const PruneConfig& p = config.prune;
    const ModelSpec spec = zoo_spec(config.student.model);
    StructuredPlan plan;
    PruneMasks masks;
    if (p.method == "structured") {
      plan = plan_structured(student, spec, p.sparsity, p.structured_norm);
      masks = structured_masks(student, spec, plan);
    } else if (p.method == "nm") {
      masks = nm_masks(student, p.nm_n, p.nm_m);
    } else {
      masks = global_magnitude_masks(student, p.sparsity);
    }
    sync_masks(job, masks);
    masks.apply_to_weights(student);
    log_info("prune: ", p.method,
             p.method == "nm" ? " " + std::to_string(p.nm_n) + ":" + std::to_string(p.nm_m)
                              : " " + percent(p.sparsity),
             ", then fine-tune ", p.finetune.epochs, " epochs");
    const StageResult tuned =
        train_stage(student, job.train, job.validation,
                    distill_options(job, "prune", p.finetune, soft_logits), &masks, job.sink());
    if (p.method == "structured") {
      // The removed channels are exactly zero: drop them for a smaller, faster model.
      CompactModel small = compact(student, spec, plan);
      student = small.module;
      student.to(job.device);
      log_info("prune: compacted to ", measure_sparsity(student).parameters, " parameters");
    }
    job.record("prune", since(start), tuned.steps, &student);
  }
  if (soft_logits.stream) {
    log_info("soft labels streamed from shards: training waited ",
             fixed(soft_logits.stream->wait_seconds(), 2), " s in all on HDF5 reads");
  }
  job.report.student_final = job.report.stages.back().model;
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

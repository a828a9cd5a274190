#include "coordinator/job.h"

#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "cluster/rank_env.h"
#include "coordinator/export.h"
#include "coordinator/labelling.h"
#include "coordinator/metrics_log.h"
#include "coordinator/run_dir.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "data/shard_quarantine.h"
#include "data/shard_stream.h"
#include "data/sampling.h"
#include "data/soft_label_table.h"
#include "trainers/device.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "trainers/pruning.h"
#include "trainers/training.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Augmented views depend on (this seed, sample, view) only.
uint64_t augment_seed(const Config& config) { return mix_seed(config.seed, 3); }

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

// Everything the stages share.
struct JobContext {
  const Config& config;
  const JobOptions& options;
  c10::Device device;
  RunPaths paths;
  MetricsLog metrics;
  JobReport report;
  ImageDataset train_data, test_data;
  LabelledSet train, validation, test;

  void save_report() { atomic_write_file(paths.summary, to_json(report).dump(2) + "\n"); }

  ModelStats measure(torch::jit::Module& module) {
    const SparsityReport sparsity = measure_sparsity(module);
    ModelStats s;
    s.parameters = sparsity.parameters;
    s.nonzeros = sparsity.nonzeros;
    s.sparsity = sparsity.prunable_sparsity;
    s.val_accuracy = accuracy(module, validation);
    s.test_accuracy = accuracy(module, test);
    return s;
  }

  void record(const std::string& stage, double seconds, int64_t steps, torch::jit::Module* model) {
    StageRecord rec{stage, seconds, steps, model != nullptr, {}};
    if (model) rec.model = measure(*model);
    report.stages.push_back(rec);
    save_report();
    if (model) {
      log_info(stage, ": done in ", fixed(seconds, 1), " s, val ", percent(rec.model.val_accuracy),
               ", test ", percent(rec.model.test_accuracy), ", ", rec.model.nonzeros, " nonzeros");
    } else {
      log_info(stage, ": done in ", fixed(seconds, 1), " s");
    }
  }

  MetricSink sink() {
    return [this](const nlohmann::json& rec) {
      metrics.write(rec);
      if (rec.contains("val_accuracy")) {
        log_info(rec["stage"].get<std::string>(), " epoch ", rec["epoch"].get<int64_t>(), ": loss ",
                 fixed(rec["train_loss"].get<double>(), 4), ", train ",
                 percent(rec["train_accuracy"].get<double>()), ", val ",
                 percent(rec["val_accuracy"].get<double>()), " (",
                 fixed(rec["seconds"].get<double>(), 1), " s)");
      }
    };
  }

  StageOptions stage_options(const std::string& stage, const OptimConfig& optim) const {
    StageOptions o;
    o.stage = stage;
    o.optim = optim;
    o.seed = static_cast<uint64_t>(config.seed);
    o.log_every = config.logging.every_steps;
    return o;
  }
};

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
                     "; expected [N, " + std::to_string(job.train_data.num_classes) +
                     "] logits");
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
    save_module(teacher, saved);
    job.report.teacher_source = "built-in " + t.model + " (trained by this job)";
    job.report.teacher_sha256 = sha256_file(saved);
  }
  job.record("teacher", since(start), steps, &teacher);
  job.report.teacher = job.report.stages.back().model;
  return teacher;
}

// Which labelling tasks still need the teacher. Shards of an earlier run in
// this directory are reused when they carry the same provenance and layout
// (and pass their checksums: bad ones go to quarantine/ and are relabelled).
// Labels from another teacher or dataset are refused unless --relabel, or
// unless this job trained its teacher itself (then they are stale by design).
std::vector<LabelTask> tasks_to_label(JobContext& job, const std::vector<LabelTask>& tasks,
                                      Manifest& manifest, bool teacher_trained_here) {
  if (job.options.relabel || !path_exists(job.paths.manifest)) return tasks;
  Manifest old = load_manifest(job.paths.manifest);
  const bool same_labels = old.teacher_sha256 == manifest.teacher_sha256 &&
                           old.dataset_fingerprint == manifest.dataset_fingerprint;
  if (!same_labels) {
    if (teacher_trained_here) {
      log_info("label: earlier soft labels came from teacher ", old.teacher_sha256.substr(0, 12),
               "; relabelling with this job's teacher");
      return tasks;
    }
    throw UsageError("soft labels in '" + job.paths.root + "' were made by teacher " +
                     old.teacher_sha256 + " on dataset " + old.dataset_fingerprint +
                     ", but this job's teacher is " + manifest.teacher_sha256 + " on dataset " +
                     manifest.dataset_fingerprint + "; run with --relabel to label again");
  }
  const bool same_layout = old.format == manifest.format && old.top_k == manifest.top_k &&
                           old.views == manifest.views && old.dtype == manifest.dtype &&
                           old.temperature == manifest.temperature &&
                           old.num_classes == manifest.num_classes &&
                           old.total_rows == manifest.total_rows;
  if (!same_layout) {
    log_info("label: the soft-label layout changed (format, k, views, dtype, T or rows); "
             "relabelling");
    return tasks;
  }
  const std::vector<ManifestEntry> bad = verify_or_quarantine(job.paths.soft_labels, old);
  if (!bad.empty()) log_warn("label: ", bad.size(), " shard(s) quarantined; relabelling them");
  std::vector<LabelTask> todo;
  for (const LabelTask& task : tasks) {
    bool done = false;
    for (const ManifestEntry& e : old.shards) {
      if (e.file == task.file && e.task_begin == task.begin && e.task_end == task.end) {
        manifest.shards.push_back(e);
        done = true;
      }
    }
    if (!done) todo.push_back(task);
  }
  log_info("label: reusing ", manifest.shards.size(), " verified shard(s), labelling ",
           todo.size());
  return todo;
}

// What the student stages distill from: a verified in-memory table, or a
// stream over the shards (soft_labels.reader).
struct SoftLabels {
  SoftTargets table;
  std::unique_ptr<ShardStream> stream;
};

SoftLabels label_stage(JobContext& job, torch::jit::Module& teacher, bool teacher_trained_here) {
  const SoftLabelConfig& s = job.config.soft_labels;
  const auto start = Clock::now();
  LabellerSetup setup;
  setup.images = job.train_data.images;
  setup.samples = job.train.indices;
  setup.meta.teacher_sha256 = job.report.teacher_sha256;
  setup.meta.dataset_fingerprint = job.report.dataset_fingerprint;
  setup.meta.temperature = s.temperature;
  setup.meta.num_classes = job.train_data.num_classes;
  setup.meta.producer = "condenser";
  if (!parse_logit_dtype(s.dtype, &setup.dtype)) {
    throw UsageError("soft_labels.dtype: unknown dtype '" + s.dtype + "'; use float32 or float16");
  }
  if (s.format == "topk") {
    if (s.top_k > setup.meta.num_classes) {
      throw UsageError("soft_labels.top_k = " + std::to_string(s.top_k) + " exceeds the " +
                       std::to_string(setup.meta.num_classes) + " classes of the dataset");
    }
    setup.top_k = s.top_k;
    setup.meta.top_k = s.top_k;
  }
  setup.views = s.views_per_sample;
  setup.augment_seed = augment_seed(job.config);
  setup.batch_size = s.batch_size;
  setup.soft_label_dir = job.paths.soft_labels;
  Manifest manifest;
  manifest.teacher_sha256 = setup.meta.teacher_sha256;
  manifest.dataset_fingerprint = setup.meta.dataset_fingerprint;
  manifest.num_classes = setup.meta.num_classes;
  manifest.temperature = s.temperature;
  manifest.dtype = setup.top_k > 0 ? "float16" : s.dtype;
  manifest.format = s.format;
  manifest.top_k = setup.top_k;
  manifest.views = setup.views;
  manifest.total_rows = static_cast<int64_t>(setup.samples.size()) * setup.views;
  const auto tasks = plan_label_tasks(static_cast<int64_t>(setup.samples.size()), s.shard_rows);
  const auto todo = tasks_to_label(job, tasks, manifest, teacher_trained_here);
  const LabellingResult labelled = label_all(teacher, setup, todo, manifest, job.paths.manifest);
  job.report.teacher_forward_samples = labelled.teacher_forward_samples;
  job.record("label", since(start), static_cast<int64_t>(todo.size()), nullptr);

  // Training reads the soft labels back from the shards (verified), not from
  // the labeller's memory: as one table, or streamed shard by shard.
  const SoftLabelSource source{job.paths.soft_labels, job.report.teacher_sha256,
                               job.report.dataset_fingerprint};
  SoftLabels labels;
  if (s.reader == "stream") {
    labels.stream = std::make_unique<ShardStream>(source, load_manifest(job.paths.manifest),
                                                  s.prefetch_depth, mix_seed(job.config.seed, 4));
  } else {
    labels.table = load_soft_labels(source, load_manifest(job.paths.manifest),
                                    job.train_data.size(), job.train.indices, s.prefetch_depth);
  }
  return labels;
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
  JobContext job{config, options, resolve_device(config.runtime.device), prepare_run_dir(options.run_dir, config),
                 MetricsLog(RunPaths::at(options.run_dir).metrics, /*truncate=*/true)};
  job.report.job_name = config.name;
  job.report.student_model = config.student.model;
  job.report.target_sparsity = config.prune.enabled ? config.prune.sparsity : 0.0;
  log_info("job '", config.name, "' in ", options.run_dir, " on ", job.device.str(), " with ",
           at::get_num_threads(), " threads");
  load_data(job);

  torch::jit::Module teacher = teacher_stage(job);
  const SoftLabels soft_logits = label_stage(job, teacher, config.teacher.path.empty());

  auto start = Clock::now();
  torch::jit::Module student =
      build_model(zoo_spec(config.student.model), mix_seed(config.seed, 2));
  student.to(job.device);
  const StageResult distilled =
      train_stage(student, job.train, job.validation,
                  distill_options(job, "distill", config.student.train, soft_logits), nullptr,
                  job.sink());
  save_module(student, job.paths.models + "/student_distilled.pt");
  job.record("distill", since(start), distilled.steps, &student);
  job.report.student_dense = job.report.stages.back().model;

  if (config.prune.enabled) {
    start = Clock::now();
    const PruneMasks masks = global_magnitude_masks(student, config.prune.sparsity);
    masks.apply_to_weights(student);
    log_info("prune: ", config.prune.method, " to ", percent(config.prune.sparsity),
             " sparsity, then fine-tune ", config.prune.finetune.epochs, " epochs");
    const StageResult tuned =
        train_stage(student, job.train, job.validation,
                    distill_options(job, "prune", config.prune.finetune, soft_logits), &masks,
                    job.sink());
    job.record("prune", since(start), tuned.steps, &student);
  }
  if (soft_logits.stream) {
    log_info("soft labels streamed from shards: training waited ",
             fixed(soft_logits.stream->wait_seconds(), 2), " s in all on HDF5 reads");
  }
  save_module(student, job.paths.models + "/student_final.pt");
  job.report.student_final = job.report.stages.back().model;

  start = Clock::now();
  job.report.total_seconds = since(job_start);
  job.report.finished = true;
  job.save_report();
  export_run(options.run_dir, "");
  job.record("export", since(start), 0, nullptr);
  job.report.total_seconds = since(job_start);
  job.save_report();
  return job.report;
}

}  // namespace condenser

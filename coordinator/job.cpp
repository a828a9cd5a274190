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

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

// Everything the stages share.
struct JobContext {
  const Config& config;
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

at::Tensor label_stage(JobContext& job, torch::jit::Module& teacher) {
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
  setup.batch_size = s.batch_size;
  setup.soft_label_dir = job.paths.soft_labels;
  Manifest manifest;
  manifest.teacher_sha256 = setup.meta.teacher_sha256;
  manifest.dataset_fingerprint = setup.meta.dataset_fingerprint;
  manifest.num_classes = setup.meta.num_classes;
  manifest.temperature = s.temperature;
  manifest.dtype = s.dtype;
  const auto tasks = plan_label_tasks(static_cast<int64_t>(setup.samples.size()), s.shard_rows);
  const LabellingResult labelled = label_all(teacher, setup, tasks, manifest, job.paths.manifest);
  job.report.teacher_forward_samples = labelled.teacher_forward_samples;
  job.record("label", since(start), static_cast<int64_t>(tasks.size()), nullptr);

  // Training reads the soft labels back from the shards (verified), not from memory.
  const SoftLabelSource source{job.paths.soft_labels, job.report.teacher_sha256,
                               job.report.dataset_fingerprint};
  return load_soft_labels(source, load_manifest(job.paths.manifest), job.train_data.size(),
                          job.train.indices);
}

StageOptions distill_options(JobContext& job, const std::string& stage, const OptimConfig& optim,
                             const at::Tensor& soft_logits) {
  StageOptions o = job.stage_options(stage, optim);
  o.soft_logits = soft_logits;
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
  JobContext job{config, resolve_device(config.runtime.device), prepare_run_dir(options.run_dir, config),
                 MetricsLog(RunPaths::at(options.run_dir).metrics, /*truncate=*/true)};
  job.report.job_name = config.name;
  job.report.student_model = config.student.model;
  job.report.target_sparsity = config.prune.enabled ? config.prune.sparsity : 0.0;
  log_info("job '", config.name, "' in ", options.run_dir, " on ", job.device.str(), " with ",
           at::get_num_threads(), " threads");
  load_data(job);

  torch::jit::Module teacher = teacher_stage(job);
  const at::Tensor soft_logits = label_stage(job, teacher);

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

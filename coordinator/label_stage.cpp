#include "coordinator/label_stage.h"

#include "coordinator/job_checkpoints.h"
#include "coordinator/label_service.h"
#include "coordinator/labelling.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "data/sampling.h"
#include "data/shard_quarantine.h"

namespace condenser {
namespace {

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
  const bool same_layout =
      old.format == manifest.format && old.top_k == manifest.top_k && old.views == manifest.views &&
      old.dtype == manifest.dtype && old.temperature == manifest.temperature &&
      old.num_classes == manifest.num_classes && old.total_rows == manifest.total_rows;
  if (!same_layout) {
    log_info(
        "label: the soft-label layout changed (format, k, views, dtype, T or rows); "
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

}  // namespace

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
  // Rank 0 labels; the other ranks of a data-parallel job wait for its
  // manifest and then read the same shards.
  int64_t labelled_tasks = 0;
  if (job.is_root()) {
    const auto tasks = plan_label_tasks(static_cast<int64_t>(setup.samples.size()), s.shard_rows);
    const auto todo = tasks_to_label(job, tasks, manifest, teacher_trained_here);
    const LabellingResult labelled = label_with_workers(job, setup, tasks, todo, manifest);
    job.report.teacher_forward_samples = labelled.teacher_forward_samples;
    labelled_tasks = static_cast<int64_t>(todo.size());
  }
  job.barrier();
  job.record("label", since(start), labelled_tasks, nullptr);

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
                             const SoftLabels& soft, JobCheckpoints& checkpoints) {
  StageOptions o = job.stage_options(stage, optim);
  o.resume = checkpoints.inside(stage);
  o.soft = soft.table;
  o.stream = soft.stream.get();
  o.views_per_sample = soft.stream ? soft.stream->views() : soft.table.views;
  o.augment_seed = augment_seed(job.config);
  o.temperature = job.config.soft_labels.temperature;
  o.alpha = job.config.student.alpha;
  // A resumed stage's reads were counted before its checkpoint.
  if (!o.resume) {
    job.report.soft_label_reads += static_cast<int64_t>(job.train.indices.size()) * optim.epochs;
  }
  return o;
}

}  // namespace condenser

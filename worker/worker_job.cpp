#include "worker/worker_job.h"

#include "core/errors.h"
#include "data/datasets.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/model_io.h"

namespace condenser {

LabellerSetup labeller_setup(const LabelSpec& spec, const std::string& worker_name) {
  LabellerSetup s;
  s.meta.teacher_sha256 = spec.teacher_sha256;
  s.meta.dataset_fingerprint = spec.dataset_fingerprint;
  s.meta.temperature = spec.temperature;
  s.meta.num_classes = spec.num_classes;
  s.meta.top_k = spec.top_k;
  // Each shard names the worker that labelled it (h5py: attrs["producer"]).
  s.meta.producer = "condenser worker " + worker_name;
  if (!parse_logit_dtype(spec.dtype, &s.dtype)) throw RuntimeFailure("worker: dtype " + spec.dtype);
  if (!parse_value_format(spec.topk_dtype, &s.meta.value_format)) {
    throw RuntimeFailure("worker: topk_dtype " + spec.topk_dtype);
  }
  s.top_k = spec.top_k;
  // Token windows: the teacher gives one distribution per position.
  s.positions = s.meta.positions = static_cast<int>(spec.seq_len);
  s.views = spec.views;
  s.augment_seed = spec.augment_seed;
  s.flip = spec.flip;
  s.batch_size = spec.batch_size;
  s.soft_label_dir = spec.soft_label_dir;
  return s;
}

std::unique_ptr<LoadedJob> load_job(const LabelSpec& spec, const std::string& device,
                                    const std::string& worker_name) {
  auto job = std::make_unique<LoadedJob>();
  job->spec = spec;
  job->setup = labeller_setup(spec, worker_name);
  // The coordinator's own description and split of the same source.
  const DatasetInfo info = describe_dataset(spec.dataset, spec.data_dir, spec.seq_len);
  const ImageDataset data = load_split(info, "train");
  if (data.fingerprint != spec.dataset_fingerprint) {
    throw UsageError("worker: the data in '" + spec.data_dir + "' (" + data.fingerprint.substr(0, 12) +
                     ") is not the coordinator's (" + spec.dataset_fingerprint.substr(0, 12) + ")");
  }
  const SplitPlan split =
      plan_splits(info, spec.validation_size, spec.train_subset, spec.split_seed);
  if (static_cast<int64_t>(split.train.size()) != spec.num_samples) {
    throw RuntimeFailure("worker: sample list of " + std::to_string(split.train.size()) +
                         " differs from the coordinator's " + std::to_string(spec.num_samples));
  }
  job->teacher = load_module(spec.teacher_path, "teacher");
  const std::string identity = module_identity(job->teacher);
  if (identity != spec.teacher_sha256) {
    throw UsageError("worker: teacher '" + spec.teacher_path + "' has identity " +
                     identity.substr(0, 12) + " (a hash of its parameters, buffers and code), " +
                     "the coordinator's has " + spec.teacher_sha256.substr(0, 12));
  }
  job->teacher.to(resolve_device(device));
  set_teacher_precision(job->teacher, spec.precision);
  job->teacher.eval();
  job->setup.images = data.images;
  job->setup.samples = split.train;
  return job;
}

LabelTask attempt_of(const msg::Task& task) {
  return {task.task.begin, task.task.end, task.attempt_file};
}

}  // namespace condenser

// `condenser bench distill`: one epoch of the default student three ways on
// the same data, same thread count, in one run:
//   (a) plain cross-entropy training (no teacher at all),
//   (b) distillation from cached soft labels (read back from HDF5 shards the
//       teacher wrote once, as condenser does),
//   (c) online distillation: a teacher forward on every step.
// Goals (issue 5): (b) <= 1.15 x (a) and (b) <= 0.5 x (c).
#include <torch/torch.h>

#include "bench/benches.h"
#include "core/files.h"
#include "data/dataset.h"
#include "data/sampling.h"
#include "data/shards/manifest.h"
#include "data/shards/soft_label_table.h"
#include "trainers/losses.h"
#include "trainers/model_spec.h"
#include "trainers/training.h"
#include "worker/teacher_labeller.h"

namespace condenser {
namespace {

constexpr double kTemperature = 4.0;
constexpr double kAlpha = 0.9;

OptimConfig one_epoch() {
  OptimConfig o;
  o.epochs = 1;
  o.batch_size = 128;
  o.lr = 0.003;
  return o;
}

// The teacher runs once over the set into one shard; the student reads it back.
SoftTargets cached_soft_labels(torch::jit::Module& teacher, const ImageDataset& data,
                               const LabelledSet& set, const std::string& dir) {
  ensure_dir(dir);
  LabellerSetup setup;
  setup.images = data.images;
  setup.samples = set.indices;
  setup.meta.teacher_sha256 = "bench-teacher";
  setup.meta.dataset_fingerprint = data.fingerprint;
  setup.meta.temperature = kTemperature;
  setup.meta.num_classes = data.num_classes;
  setup.meta.producer = "condenser bench distill";
  setup.soft_label_dir = dir;
  Manifest manifest;
  manifest.teacher_sha256 = setup.meta.teacher_sha256;
  manifest.dataset_fingerprint = data.fingerprint;
  manifest.num_classes = data.num_classes;
  manifest.temperature = kTemperature;
  manifest.total_rows = static_cast<int64_t>(set.indices.size());
  const LabelTask task{0, manifest.total_rows, "shard-000000.h5"};
  manifest.shards.push_back(label_task(teacher, setup, task));
  return load_soft_labels({dir, manifest.teacher_sha256, data.fingerprint}, manifest, data.size(),
                          set.indices);
}

// (c): the loop train_stage runs, with the teacher's forward in every step.
void online_distillation_epoch(torch::jit::Module& student, torch::jit::Module& teacher,
                               const LabelledSet& set, const OptimConfig& cfg, uint64_t seed) {
  std::vector<at::Tensor> params;
  for (const auto& p : student.parameters()) params.push_back(p);
  torch::optim::Adam optimizer(params, torch::optim::AdamOptions(cfg.lr));
  teacher.eval();
  student.train();
  const auto n = static_cast<int64_t>(set.indices.size());
  const std::vector<int64_t> order = epoch_order(n, seed, 1, 0);
  std::vector<int64_t> samples(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) samples[size_t(i)] = set.indices[size_t(order[size_t(i)])];
  const at::Tensor all = torch::tensor(samples, torch::kLong);
  for (int64_t begin = 0; begin < n; begin += cfg.batch_size) {
    const at::Tensor ids = all.slice(0, begin, std::min(n, begin + cfg.batch_size));
    const at::Tensor x = set.images.index_select(0, ids);
    const at::Tensor y = set.labels.index_select(0, ids);
    at::Tensor teacher_logits;
    {
      torch::InferenceMode no_grad;
      teacher_logits = teacher.forward({x}).toTensor();
    }
    optimizer.zero_grad();
    const at::Tensor logits = student.forward({x}).toTensor();
    kd_loss(logits, teacher_logits.clone(), y, kTemperature, kAlpha).backward();
    optimizer.step();
  }
}

}  // namespace

BenchReport bench_distill(const BenchOptions& options) {
  BenchReport report;
  report.bench = "distill";
  const ImageDataset data = load_fashion_mnist(DataConfig().path, /*train=*/true);
  const int64_t n = options.quick ? 1024 : 12000;
  const TrainValSplit split = make_train_val_split(data.size(), 500, n, 11);
  const LabelledSet train{data.images, data.labels, split.train};
  const LabelledSet none{data.images, data.labels, {}};
  torch::jit::Module teacher = build_model(zoo_spec("cnn"), 1);  // cost, not quality, matters
  const SoftTargets soft = cached_soft_labels(teacher, data, train, options.scratch_dir + "/distill");
  auto fresh_student = [] { return build_model(zoo_spec("small_cnn"), 2); };
  StageOptions plain;
  plain.stage = "bench";
  plain.optim = one_epoch();
  plain.log_every = 0;
  StageOptions cached = plain;
  cached.distill.soft = soft;
  cached.distill.temperature = kTemperature;
  cached.distill.alpha = kAlpha;
  const auto ignore = [](const nlohmann::json&) {};
  auto epoch_with = [&](const StageOptions& o) {
    return [&, o] {
      torch::jit::Module s = fresh_student();
      train_stage(s, train, none, o, nullptr, ignore);
    };
  };
  auto online = [&] {
    torch::jit::Module s = fresh_student();
    online_distillation_epoch(s, teacher, train, one_epoch(), 0);
  };
  const auto [kd_a, ce] = time_alternating(epoch_with(cached), epoch_with(plain), options.repeats);
  const auto [kd_c, on] = time_alternating(epoch_with(cached), online, options.repeats);
  const nlohmann::json extra = {{"samples", n}, {"threads", at::get_num_threads()},
                                {"student", "small_cnn"}, {"teacher", "cnn"}};
  report.cases.push_back({"epoch: KD from cached shards vs plain cross-entropy", kd_a.median,
                          ce.median, "s", extra});
  report.cases.push_back({"epoch: KD from cached shards vs online KD (teacher every step)",
                          kd_c.median, on.median, "s", extra});
  report.ratios.push_back({"cached_kd_over_plain_ce", kd_a.median / ce.median, 1.15, false});
  report.ratios.push_back({"cached_kd_over_online_kd", kd_c.median / on.median, 0.5, false});
  return report;
}

}  // namespace condenser

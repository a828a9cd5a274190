#include "coordinator/stages/preflight.h"

#include <torch/torch.h>

#include <algorithm>
#include <thread>

#include "cluster/rank_env.h"
#include "config/prune_plan.h"
#include "config/run_dir.h"
#include "coordinator/stages/label_stage.h"
#include "coordinator/stages/preflight_teacher.h"
#include "coordinator/stages/prune_stage.h"
#include "core/errors.h"
#include "data/dataset.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/model_spec.h"
#include "trainers/pruning/nm.h"
#include "trainers/pruning/structured.h"
#include "trainers/pruning/targeted.h"

namespace condenser {
namespace {

// Teacher probe: this many training images in one batch, then the first alone.
constexpr int64_t kProbeImages = 4;

std::string count(int64_t n) { return std::to_string(n); }

// More threads than 4 per core only slow LibTorch down; a huge number would
// be created (and exhaust the process) rather than refused.
void check_threads(const Config& config) {
  const unsigned cores = std::thread::hardware_concurrency();
  const int threads = config.runtime.threads;
  const int limit = static_cast<int>(4 * cores);
  if (cores > 0 && threads > limit) {
    throw UsageError("runtime.threads = " + count(threads) + " is more than 4 x the " +
                     count(cores) + " cores of this machine; use 0 (one per core) or at most " +
                     count(limit));
  }
}

// A zoo name, with the key it came from in the message.
void check_model_name(const std::string& key, const std::string& name) {
  try {
    zoo_spec(name);
  } catch (const UsageError& e) {
    throw UsageError(key + ": " + e.what());
  }
}

void check_soft_labels(const Config& config) {
  const SoftLabelConfig& s = config.soft_labels;
  if (s.format == "topk" && s.top_k > kFashionMnistClasses) {
    throw UsageError("soft_labels.top_k = " + count(s.top_k) + " exceeds the " +
                     count(kFashionMnistClasses) + " classes of the dataset; use 1 .. " +
                     count(kFashionMnistClasses) + " (or soft_labels.format: full)");
  }
}

// The cut of every prune method once on a fresh student, at the last
// stage's target: what the prune stage would refuse after hours of training.
void check_prune(const Config& config) {
  const PruneConfig& p = config.prune;
  if (!p.enabled) return;
  if (p.method == "nm" && p.nm_n >= p.nm_m) {
    throw UsageError("prune.nm_n = " + count(p.nm_n) + " must be smaller than prune.nm_m = " +
                     count(p.nm_m) + ": N:M pruning keeps n of every m weights (e.g. nm_n: 2, "
                     "nm_m: 4); set prune.enabled: false to skip pruning");
  }
  check_prune_targets(config);  // exclusions, layer targets, magnitude stages
  const ModelSpec spec = zoo_spec(config.student.model);
  const torch::jit::Module student = build_model(spec, 0);
  const std::vector<std::string> excluded =
      resolve_weight_names(student, prune_exclusions(p), "prune.exclude");
  if (p.method == "nm") nm_masks(student, p.nm_n, p.nm_m, excluded);
  if (p.method == "structured") {
    const double last = prune_steps(p).back().sparsity;
    structured_masks(student, spec, plan_structured(student, spec, last, p.structured_norm));
  }
}

// The images the teacher labels first: the first samples of the training
// split, exactly as the job will draw it.
at::Tensor probe_images(const Config& config, const DataPlan& plan) {
  const DataConfig& d = config.data;
  const TrainValSplit split = make_train_val_split(plan.train_file_samples, d.validation_size,
                                                   d.train_subset, config.seed);
  const int64_t n = std::min<int64_t>(kProbeImages, static_cast<int64_t>(split.train.size()));
  const std::vector<int64_t> first(split.train.begin(), split.train.begin() + n);
  const at::Tensor head = fashion_mnist_first_images(d.path, /*train=*/true, first.back() + 1);
  return head.index_select(0, torch::tensor(first, torch::kInt64));
}

// Full float16 soft labels cannot hold logits past 65504; labelling would
// refuse the first such sample, after the teacher has run on thousands.
void check_half_range(const Config& config, const at::Tensor& logits) {
  const SoftLabelConfig& s = config.soft_labels;
  if (s.format != "full" || s.dtype != "float16") return;
  const double largest = logits.abs().max().item<double>();
  if (largest > 65504.0) {
    throw UsageError("teacher '" + config.teacher.path + "' gives logits up to " +
                     std::to_string(largest) + " on the first training images, beyond "
                     "float16's range (65504); set soft_labels.dtype=float32");
  }
}

}  // namespace

DataPlan check_data_sizes(const Config& config) {
  const DataConfig& d = config.data;
  DataPlan plan;
  plan.train_file_samples = check_fashion_mnist_split(d.path, /*train=*/true);
  plan.test_file_samples = check_fashion_mnist_split(d.path, /*train=*/false);
  const std::string where = " in '" + d.path + "'";
  if (d.validation_size >= plan.train_file_samples) {
    throw UsageError("data.validation_size = " + count(d.validation_size) +
                     " leaves nothing to train on: the training split has " +
                     count(plan.train_file_samples) + " samples" + where + "; use at most " +
                     count(plan.train_file_samples - 1));
  }
  const int64_t left = plan.train_file_samples - d.validation_size;
  if (d.train_subset > left) {
    throw UsageError("data.train_subset = " + count(d.train_subset) + " is larger than the " +
                     count(left) + " training samples left after data.validation_size = " +
                     count(d.validation_size) + " (of " + count(plan.train_file_samples) + where +
                     "); use at most " + count(left) + ", or 0 for all of them");
  }
  if (d.test_subset > plan.test_file_samples) {
    throw UsageError("data.test_subset = " + count(d.test_subset) + " is larger than the " +
                     count(plan.test_file_samples) + " test samples" + where +
                     "; use at most " + count(plan.test_file_samples) + ", or 0 for all of them");
  }
  plan.validation_samples = d.validation_size;
  plan.train_samples = d.train_subset > 0 ? d.train_subset : left;
  plan.test_samples = d.test_subset > 0 ? d.test_subset : plan.test_file_samples;
  return plan;
}

PreflightReport preflight(const Config& config) {
  const RankEnv env = discover_rank_env();
  check_run_name(config.name);
  check_threads(config);
  const c10::Device device = resolve_device(config.runtime.device, env.local_rank);
  check_rank_roles(config, env.world_size);
  if (config.teacher.path.empty()) check_model_name("teacher.model", config.teacher.model);
  check_model_name("student.model", config.student.model);
  check_soft_labels(config);
  check_prune(config);
  PreflightReport report;
  report.data = check_data_sizes(config);
  if (!config.teacher.path.empty()) {
    const at::Tensor logits = probe_teacher(config.teacher.path, probe_images(config, report.data),
                                            kFashionMnistClasses, device);
    check_half_range(config, logits);
    report.teacher_probed = true;
  }
  return report;
}

}  // namespace condenser

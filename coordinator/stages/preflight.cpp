#include "coordinator/stages/preflight.h"

#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <optional>
#include <sstream>
#include <thread>

#include "cluster/rank_env.h"
#include "config/prune_plan.h"
#include "config/run_dir.h"
#include "coordinator/stages/label_stage.h"
#include "coordinator/stages/preflight_teacher.h"
#include "coordinator/stages/prune_stage.h"
#include "core/errors.h"
#include "core/log.h"
#include "data/datasets.h"
#include "data/sampling.h"
#include "data/text/token_cache.h"
#include "data/text/tokenizer.h"
#include "trainers/device.h"
#include "trainers/model_choice.h"
#include "trainers/model_flops.h"
#include "trainers/model_io.h"
#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"
#include "trainers/pruning/lm_prune.h"
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

void check_soft_labels(const Config& config, const DatasetInfo& data) {
  const SoftLabelConfig& s = config.soft_labels;
  const int classes = data.num_classes;
  if (s.format == "topk" && s.top_k > classes) {
    throw UsageError("soft_labels.top_k = " + count(s.top_k) + " exceeds the " + count(classes) +
                     " classes of the dataset; use 1 .. " + count(classes) +
                     " (or soft_labels.format: full)");
  }
  // Crops, flips and CutMix boxes are image operations: on other inputs
  // they would move features or tokens around.
  if (!data.is_image() && s.views_per_sample > 1) {
    throw UsageError("soft_labels.views_per_sample = " + count(s.views_per_sample) +
                     ": augmentation views (random crop and flip) apply to images [C, H, W] only, "
                     "and this dataset's samples are " +
                     data.shape_text() + "; use 1");
  }
  if (data.input_dtype() == "int64" && config.student.mix != "none") {
    throw UsageError("student.mix: " + config.student.mix +
                     " blends inputs, and this dataset's "
                     "inputs are int64 ids (tokens, categories) that cannot be blended; use none");
  }
  if (!data.is_image() && config.student.mix == "cutmix") {
    throw UsageError("student.mix: cutmix pastes image boxes and this dataset's samples are " +
                     data.shape_text() + "; use mixup or none");
  }
}

// Token windows: one distribution over the vocabulary per position, stored
// as its top-k; no views, mixing or pruning of language models (yet).
void check_language_model(const Config& config, const DatasetInfo& data) {
  if (data.kind != "tokens") return;
  const SoftLabelConfig& s = config.soft_labels;
  if (s.format != "topk") {
    throw UsageError("soft_labels.format: full would store " + count(data.num_classes) +
                     " logits for every token of every window (" +
                     count(int64_t(data.num_classes) * 2) + " bytes per token at float16); " +
                     "language models store the top-k: set soft_labels.format: topk (top_k: 32 "
                     "keeps about 130 bytes per token)");
  }
  const PruneConfig& p = config.prune;
  if (p.enabled && p.method != "width" && p.method != "depth") {
    throw UsageError("prune.method: " + p.method +
                     " does not apply to a language model; use "
                     "width (attention heads and MLP neurons) or depth (whole blocks), or "
                     "prune.enabled: false");
  }
  if (p.enabled && p.schedule != "one_shot") {
    throw UsageError("prune.schedule: " + p.schedule +
                     " is for magnitude and structured "
                     "pruning; width and depth cut each stage at once: use one_shot");
  }
}

// width/depth: a declared transformer, a target its axes can reach, no
// per-weight options; budget.metric perplexity only where there is one.
void check_transformer_prune(const Config& config, const DatasetInfo& data,
                             const std::optional<ModelSpec>& spec) {
  const PruneConfig& p = config.prune;
  if (config.budget.metric == "perplexity" && data.kind != "tokens") {
    throw UsageError(
        "budget.metric: perplexity is for language models (token data); use "
        "budget.metric: accuracy");
  }
  if (p.method != "width" && !p.width_targets.empty()) {
    throw UsageError("prune.width_targets is for prune.method: width, not " + p.method +
                     "; leave it unset");
  }
  if (p.method != "depth" && p.block_importance != "cosine") {
    throw UsageError("prune.block_importance ranks the blocks of prune.method: depth, not " +
                     p.method + "; leave it at cosine");
  }
  if (p.method != "width" && p.method != "depth") return;
  if (!spec) {
    throw UsageError("prune.method: " + p.method +
                     " needs a student whose layers condenser "
                     "knows (student.layers) to cut and compact it; a TorchScript student ('" +
                     config.student.path + "') cannot be pruned this way");
  }
  check_lm_prunable(*spec);
  if (!prune_exclusions(p).empty() || !prune_layer_targets(p).empty()) {
    throw UsageError(
        "prune.exclude and prune.layer_sparsity name weights for magnitude "
        "pruning; width and depth cut whole heads, neurons and blocks: leave them "
        "unset");
  }
  const WidthTargets axes = prune_width_targets(p);
  if (p.method == "width" && axes.embedding.value_or(1.0) > 0) check_lm_channel_cut(*spec);
  const bool auto_axis = !axes.heads || !axes.mlp || !axes.embedding;
  const double last = prune_steps(p).back().sparsity, most = lm_max_sparsity(*spec, p.method, axes);
  // With every axis fixed the sparsity only scales the cut of earlier stages.
  if (last > most && (p.method == "depth" || auto_axis)) {
    throw UsageError("prune: " + percent(last) + " of the parameters is more than " + p.method +
                     " pruning can remove from this student (" + percent(most) +
                     (p.method == "width" ? ": the fixed axes of prune.width_targets stay "
                                            "as set, and one head, one MLP neuron and one "
                                            "channel always stay"
                                          : ": one block stays") +
                     "); lower prune.sparsity or the last of prune.stages");
  }
}

// A teacher or student file that carries its tokenizer (an exported
// language model, or one saved with _extra_files={"tokenizer.model": ...})
// must use the data's: the same ids must mean the same pieces.
void check_tokenizer(const std::string& role, const std::string& path, const DatasetInfo& data) {
  if (path.empty() || data.kind != "tokens") return;
  const std::string model = module_extra_file(path, "tokenizer.model", role);
  if (model.empty()) return;  // nothing to compare: its vocabulary size is checked by the probe
  const std::string theirs = tokenizer_sha256(model);
  if (theirs == data.tokenizer_sha256) return;
  throw UsageError(role + " '" + path + "' was trained with the tokenizer " + theirs.substr(0, 12) +
                   " (inside the file), but the data '" + data.path + "' is tokenized with " +
                   data.tokenizer_sha256.substr(0, 12) +
                   ": its ids would mean other pieces; tokenize the corpus with the " + role +
                   "'s tokenizer (data.tokenizer: FILE.model, or condenser prepare-text "
                   "--tokenizer FILE.model)");
}

// The cut of every prune method once on a fresh student, at the last
// stage's target: what the prune stage would refuse after hours of training.
void check_prune(const Config& config, const DatasetInfo& data, const torch::jit::Module& student) {
  const PruneConfig& p = config.prune;
  if (!p.enabled) return;
  if (p.method == "nm" && p.nm_n >= p.nm_m) {
    throw UsageError("prune.nm_n = " + count(p.nm_n) +
                     " must be smaller than prune.nm_m = " + count(p.nm_m) +
                     ": N:M pruning keeps n of every m weights (e.g. nm_n: 2, "
                     "nm_m: 4); set prune.enabled: false to skip pruning");
  }
  check_prune_targets(config, student);  // exclusions, layer targets, magnitude stages
  const std::vector<std::string> excluded =
      resolve_weight_names(student, prune_exclusions(p), "prune.exclude");
  if (p.method == "nm") nm_masks(student, p.nm_n, p.nm_m, excluded);
  const std::optional<ModelSpec> spec = student_spec(config, data);
  check_transformer_prune(config, data, spec);
  if (p.method == "structured" && spec) {
    const double last = prune_steps(p).back().sparsity;
    structured_masks(student, *spec, plan_structured(student, *spec, last, p.structured_norm));
  }
}

// The inputs the teacher labels first: the first samples of the training
// split, exactly as the job will draw it.
at::Tensor probe_inputs(const Config& config, const DatasetInfo& data) {
  const DataConfig& d = config.data;
  const SplitPlan split = plan_splits(data, d.validation_size, d.train_subset, config.seed);
  const int64_t n = std::min<int64_t>(kProbeImages, static_cast<int64_t>(split.train.size()));
  const std::vector<int64_t> first(split.train.begin(), split.train.begin() + n);
  const at::Tensor head = first_train_inputs(data, first.back() + 1);
  return head.index_select(0, torch::tensor(first, torch::kInt64));
}

// "teacher: cnn, 421642 parameters, 5.6 MFLOPs per sample" for validate.
std::string model_line(const std::string& role, const std::string& what, const ModelSpec& spec) {
  const torch::jit::Module m = build_model(spec, 0);
  const ModelFlops counted = model_flops(spec, m);
  const double flops = double(counted.dense);
  const char* per = counted.per_token ? " per token" : " per sample";
  std::ostringstream out;
  out << role << ": " << what << ", " << parameter_count(spec) << " parameters, "
      << std::setprecision(3);
  if (flops >= 1e6) {
    out << flops / 1e6 << " MFLOPs" << per;
  } else {
    out << flops << " FLOPs" << per;
  }
  return out.str();
}

std::vector<std::string> model_lines(const Config& config, const DatasetInfo& data,
                                     const torch::jit::Module& student) {
  std::vector<std::string> lines;
  if (const auto t = teacher_spec(config, data)) {
    lines.push_back(model_line("teacher", t->name == "teacher" ? "declared" : t->name, *t));
  }
  if (const auto s = student_spec(config, data)) {
    lines.push_back(model_line("student", student_description(config), *s));
  } else {
    lines.push_back("student: " + student_description(config) + ", " +
                    std::to_string(measure_sparsity(student).parameters) + " parameters");
  }
  return lines;
}

// Full float16 soft labels cannot hold logits past 65504; labelling would
// refuse the first such sample, after the teacher has run on thousands.
void check_half_range(const Config& config, const at::Tensor& logits) {
  const SoftLabelConfig& s = config.soft_labels;
  if (s.format != "full" || s.dtype != "float16") return;
  const double largest = logits.abs().max().item<double>();
  if (largest > 65504.0) {
    throw UsageError("teacher '" + config.teacher.path + "' gives logits up to " +
                     std::to_string(largest) +
                     " on the first training images, beyond "
                     "float16's range (65504); set soft_labels.dtype=float32");
  }
}

}  // namespace

DatasetInfo describe_job_dataset(const Config& config) {
  const DataConfig& d = config.data;
  if (d.dataset != "text") return describe_dataset(d.dataset, d.path, d.seq_len);
  // Tokenized once into the cache, then read as any token file.
  const std::string tokens = text_token_file({d.path, d.tokenizer, d.vocab_size, 0});
  return describe_dataset("tokens", tokens, d.seq_len);
}

DataPlan check_data_sizes(const Config& config, const DatasetInfo& data) {
  const DataConfig& d = config.data;
  DataPlan plan;
  plan.train_file_samples = data.train_rows;
  const std::string where = " in '" + d.path + "'";
  // A set the source lacks is carved from train (data/datasets.h plan_splits).
  const int64_t carve_test = data.test_rows > 0 ? 0 : d.validation_size;
  const int64_t carve_validation = data.validation_rows > 0 ? 0 : d.validation_size;
  if (carve_test > 0 || data.test_rows > 0) {
    plan.test_file_samples = data.test_rows > 0 ? data.test_rows : carve_test;
  } else {
    throw UsageError("'" + d.path +
                     "' has no test split, and data.validation_size = 0 carves "
                     "none from train; set data.validation_size > 0 or add a test group");
  }
  const int64_t carved = carve_test + carve_validation;
  if (carved >= plan.train_file_samples) {
    throw UsageError("data.validation_size = " + count(d.validation_size) +
                     " leaves nothing to train on: the training split has " +
                     count(plan.train_file_samples) + " samples" + where + " and " + count(carved) +
                     " are carved from it (validation" +
                     (carve_test > 0 ? " and test, which the file lacks" : "") + "); use less");
  }
  const int64_t left = plan.train_file_samples - carved;
  if (d.train_subset > left) {
    throw UsageError("data.train_subset = " + count(d.train_subset) + " is larger than the " +
                     count(left) + " training samples left after data.validation_size = " +
                     count(d.validation_size) + " (of " + count(plan.train_file_samples) + where +
                     "); use at most " + count(left) + ", or 0 for all of them");
  }
  if (d.test_subset > plan.test_file_samples) {
    throw UsageError("data.test_subset = " + count(d.test_subset) + " is larger than the " +
                     count(plan.test_file_samples) + " test samples" + where + "; use at most " +
                     count(plan.test_file_samples) + ", or 0 for all of them");
  }
  plan.validation_samples = data.validation_rows > 0 ? data.validation_rows : d.validation_size;
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
  PreflightReport report;
  report.dataset = describe_job_dataset(config);
  const DatasetInfo& data = report.dataset;
  report.data = check_data_sizes(config, data);
  check_soft_labels(config, data);
  check_language_model(config, data);
  check_tokenizer("teacher", config.teacher.path, data);
  check_tokenizer("student", config.student.path, data);
  const at::Tensor probe = probe_inputs(config, data);
  check_models(config, data, probe);
  const torch::jit::Module student = fresh_student(config, data);  // built or loaded once
  check_prune(config, data, student);
  report.models = model_lines(config, data, student);
  if (!config.teacher.path.empty()) {
    const at::Tensor logits = probe_teacher(config.teacher.path, probe, data.num_classes, device,
                                            data.batch_shape_text() + " " + data.input_dtype() +
                                                " inputs (" + data.normalisation + ")");
    check_half_range(config, logits);
    report.teacher_probed = true;
  }
  return report;
}

}  // namespace condenser

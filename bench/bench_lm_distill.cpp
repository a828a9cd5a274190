// `condenser bench lm_distill`: one training step of the lm_kjv student
// (Adam, batch 32 windows of 128 KJV tokens, alpha 0.5, T 1) four ways, in
// rotating order in one run, through the step train_stage takes
// (trainers/train_step.h optimizer_step on TableBatches' batches):
//   cached:      sparse KD from top-32 soft labels read back from a real
//                token-window shard the teacher wrote first (float16, as a job);
//   online top-k: the lm_kjv teacher's forward on every step, its top-32 and
//                logsumexp, then the same sparse KD loss (the same step);
//   online full: the teacher's forward and KD on its full [B, T, V] logits;
//   ce:          cross-entropy on the next tokens only (no teacher).
// Goal: cached <= 0.5 x online top-k. Models are randomly initialised: speed only.
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "bench/bench_lm.h"
#include "core/files.h"
#include "data/shards/manifest.h"
#include "data/shards/soft_label_table.h"
#include "trainers/batch_source.h"
#include "trainers/model_spec.h"
#include "trainers/train_step.h"
#include "worker/teacher_labeller.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kTemperature = 1.0, kAlpha = 0.5;  // lm_kjv

// The teacher labels `set` (images = the windows, indices 0..n-1) into one
// shard in `dir`; the student reads it back as a job does.
SoftTargets cached_labels(torch::jit::Module& teacher, const LabelledSet& set,
                          const std::string& fingerprint, const std::string& dir) {
  ensure_dir(dir);
  LabellerSetup setup;
  setup.images = set.images;
  setup.samples = set.indices;
  setup.meta.teacher_sha256 = "bench-teacher";
  setup.meta.dataset_fingerprint = fingerprint;
  setup.meta.temperature = kTemperature;
  setup.meta.num_classes = static_cast<int>(kLmVocab);
  setup.meta.top_k = setup.top_k = kLmTopK;
  setup.meta.positions = static_cast<int>(kLmSeqLen);
  setup.positions = kLmSeqLen;
  setup.meta.value_format = TopKValueFormat::kFloat16;
  setup.meta.producer = "condenser bench lm_distill";
  setup.batch_size = kLmLabelBatch;
  setup.soft_label_dir = dir;
  Manifest m;
  m.teacher_sha256 = setup.meta.teacher_sha256;
  m.dataset_fingerprint = fingerprint;
  m.num_classes = setup.meta.num_classes;
  m.temperature = kTemperature;
  m.dtype = "float16";
  m.format = "topk";
  m.top_k = kLmTopK;
  m.positions = setup.meta.positions;
  m.total_rows = static_cast<int64_t>(set.indices.size());
  m.shards.push_back(label_task(teacher, setup, {0, m.total_rows, "shard-000000.h5"}));
  return load_soft_labels({dir, m.teacher_sha256, fingerprint}, m, m.total_rows, set.indices);
}

// The teacher's targets for one batch, computed now (the online ways).
void online_targets(torch::jit::Module& teacher, Batch& batch, bool full) {
  at::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = teacher.forward({batch.images}).toTensor();
  }
  SoftTargets t;
  t.positions = static_cast<int>(kLmSeqLen);
  if (full) {
    t.logits = logits;
  } else {
    auto [values, indices] = logits.topk(kLmTopK, 2);
    t.topk_values = values;
    t.topk_indices = indices;
    t.logsumexp = (logits / kTemperature).logsumexp(2);
  }
  batch.soft = t;
  batch.rows = torch::arange(batch.local_rows, torch::kInt64);
}

// A student, its optimizer and a batch source, stepped a whole epoch per round.
struct StepRig {
  torch::jit::Module student;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  StepSetup setup;
  TableBatches batches;
  std::function<void(Batch&)> targets;  // online ways: fills batch.soft
  int64_t epoch = 0, step = 0;

  StepRig(const ModelSpec& spec, const LabelledSet& set, SoftTargets soft, const OptimConfig& o)
      : student(build_model(spec, 2)),
        batches(set, std::move(soft), SampleViews{}, 3, 0,
                BatchShare{0, 1, static_cast<size_t>(o.batch_size)}) {
    std::vector<at::Tensor> params;
    for (const auto& p : student.parameters()) params.push_back(p);
    optimizer = make_optimizer(o, params);
    setup.module = &student;
    setup.optimizer = optimizer.get();
    setup.optim = o;
    setup.total_steps = 1 << 20;
    setup.temperature = kTemperature;
    setup.alpha = kAlpha;
    student.train();
  }
  void epoch_of_steps() {
    batches.start_epoch(epoch++);
    while (std::optional<Batch> b = batches.next()) {
      if (targets) targets(*b);
      optimizer_step(setup, *b, step++);
    }
  }
};

// Each way once per round, the order rotating; round 0 is a warm-up.
std::vector<Timing> time_rotating(const std::vector<std::function<void()>>& ways, int repeats) {
  std::vector<std::vector<double>> t(ways.size());
  for (int r = 0; r <= repeats; ++r) {
    for (size_t j = 0; j < ways.size(); ++j) {
      const size_t i = (j + static_cast<size_t>(r)) % ways.size();
      const auto start = Clock::now();
      ways[i]();
      if (r > 0) t[i].push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
  }
  std::vector<Timing> out;
  for (auto& v : t) {
    std::sort(v.begin(), v.end());
    out.push_back({v[v.size() / 2], v.front(), v.back()});
  }
  return out;
}

}  // namespace

BenchReport bench_lm_distill(const BenchOptions& options) {
  BenchReport report;
  report.bench = "lm_distill";
  OptimConfig o;  // lm_kjv student.train
  o.batch_size = options.quick ? 8 : 32;
  o.lr = 0.002;
  const int64_t steps = options.quick ? 2 : 3;  // per round
  const LmWindows w = lm_windows(options, o.batch_size * steps);
  const at::Tensor ids = torch::tensor(w.samples, torch::kInt64);
  LabelledSet set{w.train.images.index_select(0, ids), w.train.labels.index_select(0, ids), {}};
  set.indices.resize(w.samples.size());
  std::iota(set.indices.begin(), set.indices.end(), int64_t{0});

  torch::jit::Module teacher = build_model(lm_teacher_spec(options.quick), 1);
  teacher.eval();
  const std::string dir = options.scratch_dir + "/lm_distill";
  const SoftTargets soft = cached_labels(teacher, set, w.train.fingerprint, dir);
  const ModelSpec student = lm_student_spec(options.quick);
  StepRig cached(student, set, soft, o), online(student, set, {}, o), full(student, set, {}, o),
      ce(student, set, {}, o);
  online.targets = [&](Batch& b) { online_targets(teacher, b, false); };
  full.targets = [&](Batch& b) { online_targets(teacher, b, true); };
  const std::vector<Timing> t =
      time_rotating({[&] { cached.epoch_of_steps(); }, [&] { online.epoch_of_steps(); },
                     [&] { full.epoch_of_steps(); }, [&] { ce.epoch_of_steps(); }},
                    options.repeats);
  remove_tree(dir);

  const double tokens = double(o.batch_size * steps * kLmSeqLen);
  const nlohmann::json extra = {
      {"steps_per_round", steps},
      {"batch_windows", o.batch_size},
      {"seq_len", kLmSeqLen},
      {"vocab", kLmVocab},
      {"top_k", kLmTopK},
      {"threads", at::get_num_threads()},
      {"student_parameters", parameter_count(student)},
      {"teacher_parameters", parameter_count(lm_teacher_spec(options.quick))},
      {"models", options.quick ? "lm_tiny" : "lm_kjv"}};
  auto add = [&](const std::string& what, const Timing& ours, const Timing& base) {
    nlohmann::json e = extra;
    e["ours_ms_per_step"] = 1e3 * ours.median / double(steps);
    e["baseline_ms_per_step"] = 1e3 * base.median / double(steps);
    e["ours_min_max_s"] = {ours.min, ours.max};
    e["baseline_min_max_s"] = {base.min, base.max};
    report.cases.push_back({what, tokens / ours.median, tokens / base.median, "tokens/s", e});
  };
  add("step: KD from cached top-32 shards vs online teacher + top-32 KD", t[0], t[1]);
  add("step: KD from cached top-32 shards vs online teacher + full-logit KD", t[0], t[2]);
  add("step: KD from cached top-32 shards vs cross-entropy only", t[0], t[3]);
  report.ratios.push_back({"cached_over_online_topk", t[0].median / t[1].median, 0.5, false});
  report.ratios.push_back({"cached_over_online_full", t[0].median / t[2].median, 0.5, false});
  report.ratios.push_back({"cached_over_ce_only", t[0].median / t[3].median, 1.15, false});
  return report;
}

}  // namespace condenser

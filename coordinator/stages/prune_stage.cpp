#include "coordinator/stages/prune_stage.h"

#include <torch/torch.h>

#include <optional>
#include <utility>

#include "cluster/communicator.h"
#include "cluster/gradient_reducer.h"
#include "config/prune_plan.h"
#include "coordinator/checkpoints/checkpoint.h"
#include "coordinator/stages/budget_schedule.h"
#include "coordinator/stages/distill_stage.h"
#include "coordinator/stages/lm_prune_report.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"
#include "data/sampling.h"
#include "data/shards/shard_stream.h"
#include "trainers/model_choice.h"
#include "trainers/model_flops.h"
#include "trainers/model_spec.h"
#include "trainers/prune_masks.h"
#include "trainers/pruning/gradual.h"
#include "trainers/pruning/lm_prune.h"
#include "trainers/pruning/nm.h"
#include "trainers/pruning/structured.h"
#include "trainers/pruning/targeted.h"

namespace condenser {
namespace {

// Every rank computed masks from the same weights; rank 0's are the ones
// used, so a last-bit difference in a threshold can never split the ranks.
void sync_masks(JobContext& job, PruneMasks& masks) {
  if (job.options.comm == nullptr || job.options.comm->size() <= 1) return;
  std::vector<at::Tensor> tensors;
  for (const auto& entry : masks.masks()) tensors.push_back(entry.second);
  broadcast_from_rank0(*job.options.comm, tensors);
}

// What one cut needs besides the weights.
struct Cutter {
  JobContext& job;
  std::optional<ModelSpec> spec;  // none for a TorchScript student (no structured cuts)
  PruneTargets targets;
  double final_sparsity = 0;  // of the schedule's last stage: own layer targets scale by it
  WidthTargets axes;          // width: the per-axis cuts at final_sparsity

  // Channels to keep at `fraction`; excluded layers keep all of theirs.
  StructuredPlan plan(const torch::jit::Module& student, double fraction) const {
    StructuredPlan plan =
        plan_structured(student, *spec, fraction, job.config.prune.structured_norm);
    for (const std::string& name :
         resolve_weight_names(student, targets.exclude, "prune.exclude")) {
      exclude_from_plan(plan, name);
    }
    return plan;
  }

  bool transformer() const {
    return job.config.prune.method == "width" || job.config.prune.method == "depth";
  }

  // width/depth: ranks heads, neurons and blocks on the calibration windows
  // (and writes the scores to RUN_DIR/prune_importance/ATTEMPT.json).
  PruneMasks transformer_cut(torch::jit::Module& student, double sparsity,
                             const std::string& attempt) const {
    const LabelledSet windows = calibration_windows();
    LmImportance importance = lm_importance(student, *spec, windows.images);
    const bool width = job.config.prune.method == "width";
    if (!width && job.config.prune.block_importance == "perplexity") {
      add_skip_perplexity(student, windows, &importance);
    }
    if (job.is_root() && !attempt.empty()) {
      const std::string dir = job.paths.root + "/prune_importance";
      ensure_dir(dir);
      nlohmann::json j = importance.to_json();
      j["attempt"] = attempt;
      j["sparsity"] = sparsity;
      atomic_write_file(dir + "/" + attempt + ".json", j.dump(1) + "\n");
    }
    return lm_masks(
        student, *spec,
        width ? plan_lm_width(*spec, importance, sparsity, axes.scaled(sparsity / final_sparsity))
              : plan_lm_depth(*spec, importance, sparsity));
  }

  // prune.calibration_samples training windows (and their next tokens),
  // evenly spaced over the split.
  LabelledSet calibration_windows() const {
    const std::vector<int64_t>& all = job.train.indices;
    const int64_t n = std::min<int64_t>(job.config.prune.calibration_samples, int64_t(all.size()));
    std::vector<int64_t> rows, own;
    for (int64_t i = 0; i < n; ++i) {
      rows.push_back(all[size_t(i * int64_t(all.size()) / n)]);
      own.push_back(i);
    }
    const at::Tensor at = torch::tensor(rows, torch::kInt64);
    return {job.train.images.index_select(0, at).to(torch::kInt64),
            job.train.labels.index_select(0, at), own};
  }

  // A transformer's layer norms count the embedding channels `masks` keep.
  void follow(torch::jit::Module& student, const PruneMasks& masks) const {
    if (transformer())
      set_norm_width(student, lm_norm_width(*spec, lm_plan_from_masks(*spec, masks)));
  }

  // Masks `student` to `sparsity` from its current weights (never reviving
  // what `previous` pruned) and zeroes the cut weights. `attempt` names the
  // scores file of a transformer cut.
  PruneMasks cut(torch::jit::Module& student, double sparsity, const PruneMasks& previous,
                 const std::string& attempt = "") const {
    const PruneConfig& p = job.config.prune;
    PruneMasks masks;
    if (transformer()) {
      // A unit cut earlier has zero activation and ranks lowest: the cut only grows.
      masks = transformer_cut(student, sparsity, attempt);
    } else if (p.method == "structured") {
      // Channels cut earlier are all zero, so they rank first again: the cut only grows.
      masks = structured_masks(student, *spec, plan(student, sparsity));
    } else if (p.method == "nm") {
      masks = nm_masks(student, p.nm_n, p.nm_m,
                       resolve_weight_names(student, targets.exclude, "prune.exclude"));
    } else {
      masks =
          targeted_magnitude_masks(student, sparsity, targets,
                                   final_sparsity > 0 ? sparsity / final_sparsity : 1.0, previous);
    }
    sync_masks(job, masks);
    masks.apply_to_weights(student);
    follow(student, masks);
    if (transformer() && !attempt.empty()) note_before_recovery(job, student, attempt);
    return masks;
  }
};

// prune.schedule gradual: after each step t, masks follow Zhu & Gupta's
// cubic from `from` to `to` over the first gradual_fraction of the stage.
// Each update is a metrics.jsonl record {stage, step, prune_sparsity}.
StepHook gradual_hook(const Cutter& cutter, torch::jit::Module& student, PruneMasks& masks,
                      const std::string& stage, double from, double to, int64_t stage_steps) {
  const PruneConfig& p = cutter.job.config.prune;
  const int64_t dt = p.gradual_every_steps;
  const int64_t n = static_cast<int64_t>(p.gradual_fraction * double(stage_steps)) / dt;
  MetricSink sink = cutter.job.sink();
  return [&cutter, &student, &masks, stage, from, to, dt, n, sink](const StepState& s) {
    const int64_t t = s.cursor.steps;
    if (s.epoch_end || t == 0 || !is_prune_step(t, 0, n, dt)) return false;
    const double sparsity = cubic_sparsity(t, from, to, 0, n, dt);
    masks = cutter.cut(student, sparsity, masks);
    sink({{"stage", stage}, {"step", t}, {"prune_sparsity", sparsity}});
    return false;
  };
}

StepHook both(StepHook first, StepHook second) {
  return [first = std::move(first), second = std::move(second)](const StepState& s) {
    const bool stop_first = first(s);
    return second(s) || stop_first;
  };
}

// Steps per epoch of a stage as train_stage counts them (a streamed epoch
// visits the stream's samples).
int64_t stage_epoch_steps(const JobContext& job, const StageOptions& o) {
  const int64_t samples = o.data.stream ? o.data.stream->samples_per_epoch()
                                        : static_cast<int64_t>(job.train.indices.size());
  return steps_per_epoch(samples, o.optim.batch_size,
                         o.parallel.comm ? o.parallel.comm->size() : 1);
}

PruneAttempt describe(const ScheduledAttempt& a, const StageRecord& rec,
                      const std::optional<ModelSpec>& spec, torch::jit::Module& student) {
  PruneAttempt out;
  out.name = a.name;
  out.stage = a.stage;
  out.retry = a.retry;
  out.target = a.sparsity;
  out.model = rec.model;
  out.seconds = rec.seconds;
  out.steps = rec.steps;
  out.flops = out.dense_flops = -1;  // a TorchScript student's layers are unknown
  if (spec) {
    const ModelFlops flops = model_flops(*spec, student);
    out.flops = flops.effective;
    out.dense_flops = flops.dense;
  }
  for (const LayerSparsity& l : measure_sparsity(student).layers) {
    out.layer_sparsity[l.name] = l.sparsity();
  }
  return out;
}

// What budget.metric guards: validation accuracy or perplexity.
double budget_value(const BudgetConfig& b, const ModelStats& m) {
  return b.metric == "perplexity" ? m.val_perplexity : m.val_accuracy;
}

// One line on an attempt the budget rolled back.
void warn_rolled_back(const PruneAttempt& a, double reference, const BudgetConfig& b) {
  if (b.metric == "perplexity") {
    log_warn(a.name, ": validation perplexity ", fixed(a.model.val_perplexity, 2), " is ",
             fixed(a.drop_points, 2), " % above the reference ", fixed(reference, 2),
             " (budget ", fixed(b.max_drop, 2), " %): rolled back");
    return;
  }
  log_warn(a.name, ": validation accuracy ", percent(a.model.val_accuracy), " is ",
           fixed(a.drop_points, 2), " points below the reference ", percent(reference),
           " (budget ", fixed(b.max_drop, 2), "): rolled back");
}

PruneTargets prune_targets(const PruneConfig& p) {
  PruneTargets t;
  t.exclude = prune_exclusions(p);
  t.layer_sparsity = prune_layer_targets(p);
  t.per_layer = p.method == "layer_magnitude";
  return t;
}

// The state a missed attempt rolls back to.
struct RollbackPoint {
  std::map<std::string, at::Tensor> weights;
  PruneMasks masks;
};

// Now, or for a resumed attempt (`inside`) the stage end before it
// (checkpoint retention always keeps that one).
RollbackPoint rollback_point(const JobContext& job, const std::string& attempt,
                             const StageResume* inside, torch::jit::Module& student,
                             const PruneMasks& masks) {
  if (inside == nullptr) return {module_state(student), masks};
  const auto stage_end = load_latest_stage_end(job.paths.root + "/checkpoints");
  if (!stage_end) {
    throw RuntimeFailure("no stage-end checkpoint to roll back to for '" + attempt +
                         "'; run with --resume none");
  }
  return {stage_end->weights, stage_end->masks};
}

// A resumed job: replays the attempts decided before its checkpoint.
void replay_decided(const JobContext& job, BudgetSchedule& schedule) {
  for (const PruneAttempt& done : job.report.prune_attempts) {
    const auto a = schedule.next();
    if (!a || a->name != done.name) {
      throw RuntimeFailure("checkpoint's prune attempts do not follow this schedule (at '" +
                           done.name + "'); run with --resume none");
    }
    schedule.report(done.model.val_accuracy);
  }
}

// The removed channels are exactly zero: drops them for a smaller, faster model.
torch::jit::Module compact_stage(const Cutter& cutter, torch::jit::Module& student,
                                 double kept_sparsity, const PruneMasks& masks) {
  JobContext& job = cutter.job;
  const auto start = Clock::now();
  torch::jit::Module compacted =
      cutter.transformer()
          ? compact_lm(student, *cutter.spec, lm_plan_from_masks(*cutter.spec, masks)).module
          : compact(student, *cutter.spec, cutter.plan(student, kept_sparsity)).module;
  compacted.to(job.device);
  log_info("prune: compacted to ", measure_sparsity(compacted).parameters, " parameters");
  job.record("compact", since(start), 0, &compacted);
  job.report.student_final = job.report.stages.back().model;
  return compacted;
}

}  // namespace

void check_prune_targets(const Config& config, const torch::jit::Module& student) {
  if (!config.prune.enabled) return;
  const PruneTargets targets = prune_targets(config.prune);
  resolve_weight_names(student, targets.exclude, "prune.exclude");
  if (config.prune.method == "global_magnitude" || config.prune.method == "layer_magnitude") {
    const std::vector<PruneStep> steps = prune_steps(config.prune);
    for (const PruneStep& step : steps) {
      targeted_magnitude_masks(student, step.sparsity, targets,
                               step.sparsity / steps.back().sparsity, {});
    }
  }
}

torch::jit::Module prune_stage(JobContext& job, torch::jit::Module student,
                               const SoftLabels& soft_logits, JobCheckpoints& checkpoints) {
  const PruneConfig& p = job.config.prune;
  const std::vector<PruneStep> steps = prune_steps(p);
  Cutter cutter{job, student_spec(job.config, job.dataset), prune_targets(p), steps.back().sparsity,
                prune_width_targets(p)};
  const BudgetConfig& b = job.config.budget;
  const double reference =
      budget_value(b, b.reference == "teacher" ? job.report.teacher : job.report.student_dense);
  job.report.budget_reference_accuracy = reference;
  BudgetSchedule schedule(steps, b, reference);
  replay_decided(job, schedule);
  const Checkpoint* from = checkpoints.from();
  PruneMasks masks;
  if (from != nullptr) masks = from->masks;  // empty at the end of distill
  cutter.follow(student, masks);

  while (const auto a = schedule.next()) {
    const auto start = Clock::now();
    const StageResume* inside = checkpoints.inside(a->name);
    const RollbackPoint before = rollback_point(job, a->name, inside, student, masks);
    const bool gradual = p.schedule == "gradual" && p.method != "nm" && a->epochs > 0;
    if (inside == nullptr && !gradual) masks = cutter.cut(student, a->sparsity, masks, a->name);
    log_info(a->name, ": ", p.method, " ",
             p.method == "nm" ? std::to_string(p.nm_n) + ":" + std::to_string(p.nm_m)
                              : percent(a->sparsity),
             gradual ? " (gradual)" : "",
             a->retry ? " (retry " + std::to_string(a->retry) + ")" : "", ", then fine-tune ",
             a->epochs, " epochs at lr ", a->lr);
    OptimConfig optim = p.finetune;
    optim.epochs = a->epochs;
    optim.lr = a->lr;
    StageOptions o = distill_options(job, a->name, optim, soft_logits, checkpoints);
    o.checkpoint.on_step = checkpoints.hook(a->name, student, &masks);
    if (gradual) {
      o.checkpoint.on_step =
          both(gradual_hook(cutter, student, masks, a->name, schedule.kept_sparsity(), a->sparsity,
                            a->epochs * stage_epoch_steps(job, o)),
               o.checkpoint.on_step);
    }
    const StageResult tuned =
        train_stage(student, job.train, job.validation, o, &masks, job.sink());
    stop_if_interrupted(tuned);
    if (gradual && a->epochs > 0)
      masks = cutter.cut(student, a->sparsity, masks);  // exact at the end

    job.record(a->name, since(start), tuned.steps, &student);
    PruneAttempt attempt = describe(*a, job.report.stages.back(), cutter.spec, student);
    if (cutter.transformer()) add_lm_attempt_report(job, student, *cutter.spec, masks, attempt);
    attempt.drop_points = schedule.drop_points(budget_value(b, attempt.model));
    attempt.passed = schedule.report(budget_value(b, attempt.model));
    job.report.prune_attempts.push_back(attempt);
    if (!attempt.passed) {
      warn_rolled_back(attempt, reference, b);
      load_module_state(student, before.weights);
      masks = before.masks;
      cutter.follow(student, masks);
    }
    job.report.prune_outcome = schedule.outcome();
    job.report.budget_missed = schedule.nothing_met();
    job.save_report();
    // After the verdict: a resumed job carries on from the state kept.
    checkpoints.stage_end(a->name, student, &masks, tuned.steps);
  }
  log_info("prune: ", schedule.outcome());
  // The model kept: the last attempt that met the budget, else the dense student.
  job.report.student_final = job.report.student_dense;
  for (const PruneAttempt& a : job.report.prune_attempts) {
    if (a.passed) job.report.student_final = a.model;
  }

  if ((p.method == "structured" || cutter.transformer()) && schedule.kept_sparsity() > 0) {
    student = compact_stage(cutter, student, schedule.kept_sparsity(), masks);
  }
  return student;
}

}  // namespace condenser

#pragma once
// Training and evaluation loops for TorchScript modules (teacher training,
// distillation, fine-tuning). Deterministic: the batch order comes from
// (seed, stage, epoch) only, and the module's RNG-using ops (dropout) draw
// from a generator seeded the same way.
#include <torch/script.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "data/shards/soft_label_table.h"
#include "trainers/batch_source.h"
#include "trainers/mixing.h"

namespace condenser {

class Communicator;
class PruneMasks;

// Where train_stage is within its stage. With the module's weights, the
// optimizer's state and the RNG states it is all the loop needs to carry on
// exactly where it stopped (the batch order is a function of the epoch).
struct StageCursor {
  int64_t epoch = 0;    // the epoch in progress
  int64_t batch = 0;    // global batches of it already trained
  int64_t steps = 0;    // optimizer steps of the stage so far
  double loss_sum = 0;  // the epoch's sums so far, over every rank
  double correct = 0;
};

// A stopped stage's state, as the step hook saw it (see StepHook).
struct StageResume {
  StageCursor cursor;
  std::string optimizer;  // serialize_optimizer() bytes
  at::Tensor rng_states;  // [world, n] uint8: each rank's CPU generator state
};

// What the step hook sees. capture() is collective (every rank must call it
// when one does): it returns the whole state, sums over ranks included.
struct StepState {
  StageCursor cursor;  // loss_sum/correct: this rank's only
  bool epoch_end = false;  // cursor is the start of the next epoch; val_accuracy is set
  double val_accuracy = 0;
  std::function<StageResume()> capture;
};

// Called on every rank after every optimizer step and after each epoch's
// evaluation. Returns true to stop the stage there (train_stage returns
// with interrupted set). Every rank must return the same answer.
using StepHook = std::function<bool(const StepState&)>;

// Distillation: with soft defined the loss is kd_loss (full) or
// sparse_kd_loss (top-k); otherwise plain cross-entropy on the labels.
struct DistillOptions {
  SoftTargets soft;  // soft.views rows per sample: row sample * views + view
  double temperature = 1.0;
  double alpha = 1.0;
  // With views_per_sample K > 1, epoch e trains sample s on view
  // view_for_epoch(s, e, K), augmented from (augment_seed, s, view).
  int views_per_sample = 1;
  uint64_t augment_seed = 0;
  bool flip = true;  // views may be mirrored (soft_labels.flip)
  // Mixup / CutMix within each batch (trainers/mixing.h), with or without soft targets.
  MixOptions mix;
};

// Where batches come from instead of the table in epoch order
// (trainers/batch_source.h). Not owned.
struct DataOptions {
  // Stream the soft targets from the shards (bounded memory; its own
  // shard-then-row order per epoch, its own views); distill.soft stays empty.
  ShardStream* stream = nullptr;
  // Replaces epoch_order for the epochs it orders (table reader only).
  EpochOrderSource* order_source = nullptr;
};

// Data-parallel over comm's ranks when it has more than one (not owned;
// null = this process alone). optim.batch_size is then the per-rank batch:
// each step takes the next world * batch_size positions of the epoch order
// and every rank trains on its rank_share of them, with gradients summed by
// a GradientReducer (weighted so the step equals one process training the
// whole global batch; trainers/train_step.h). Metrics are reduced over the
// ranks; every rank gets them.
struct ParallelOptions {
  Communicator* comm = nullptr;
  size_t bucket_cap_bytes = size_t(25) << 20;
};

// Checkpoints and stops (not owned; may be empty).
struct CheckpointOptions {
  StepHook on_step;
  const StageResume* resume = nullptr;  // carry on from here instead of step 0
};

struct StageOptions {
  std::string stage;  // names the stage in metrics and salts its batch order
  // Another stage whose batch order, mixing and dropout seed this one
  // repeats exactly (the no-teacher control repeats "distill"); empty: its own.
  std::string order_of;
  uint64_t seed = 0;
  OptimConfig optim;
  DistillOptions distill;
  DataOptions data;
  ParallelOptions parallel;
  CheckpointOptions checkpoint;
  int log_every = 100;  // a step-loss record every this many steps; 0: none
};

struct StageResult {
  int64_t steps = 0;
  double seconds = 0.0;
  double last_epoch_loss = 0.0;
  double val_accuracy = 0.0;  // after the last epoch
  // Data-parallel: seconds steps waited for gradient all-reduces that
  // backward did not hide.
  double allreduce_wait_seconds = 0.0;
  bool interrupted = false;  // on_step asked to stop before the stage's end
};

// One JSON record per logged step and per epoch end (written to metrics.jsonl).
using MetricSink = std::function<void(const nlohmann::json&)>;

// Trains `module` in place for optim.epochs epochs: every epoch walks a batch
// source (the stream, the pipelined order or the table in epoch order) and
// takes one optimizer_step per batch, then evaluates on `validation`. With
// masks, gradients and weights are masked around every optimizer step.
// A NaN or infinite loss stops the stage before that step changes anything:
// UsageError naming the stage, the step and the epoch.
StageResult train_stage(torch::jit::Module& module, const LabelledSet& train,
                        const LabelledSet& validation, const StageOptions& options,
                        const PruneMasks* masks, const MetricSink& sink);

// The device of the module's parameters (CPU for a module without any).
// Training and inference run there; batches are copied to it.
c10::Device module_device(const torch::jit::Module& module);

// Logits for the listed samples (on the CPU), in eval mode, without gradients.
at::Tensor predict(torch::jit::Module& module, const at::Tensor& images,
                   const std::vector<int64_t>& indices, int64_t batch_size);

// Top-1 accuracy in [0, 1] over the listed samples (token windows: over their
// scored tokens, trainers/token_metrics.h). With a communicator of
// several ranks each evaluates its rank_share and the counts are summed.
double accuracy(torch::jit::Module& module, const LabelledSet& set, int64_t batch_size = 1000,
                Communicator* comm = nullptr);

}  // namespace condenser

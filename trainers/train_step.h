#pragma once
// One optimizer step on this rank's part of a global batch (trainers/batch_source.h),
// the step train_stage (trainers/training.h) takes for every batch.
//
// Data-parallel, every rank takes every step, even with an empty share (it
// then contributes zero gradients). Each rank's loss is scaled by
// local_rows / global_rows, so the reducer's plain sum over the ranks is the
// global batch's mean gradient (no division pass; cluster/gradient_reducer.h).
//
// A step: lr from the schedule; optimizer.zero_grad(); reducer.prepare();
//         forward, loss, backward (none for an empty share); reducer.finish();
//         masks on the gradients; optimizer.step(); masks on the weights.
// A non-finite loss ends the step before backward (see StepOutcome).
// The caller applies the masks to the weights once before the first step.
#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.h"
#include "trainers/batch_source.h"

namespace torch::optim {
class Optimizer;
}

namespace condenser {

class GradientReducer;
class PruneMasks;

// adam or sgd over `params` with cfg's lr, momentum and weight decay;
// UsageError for another name.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& cfg,
                                                        const std::vector<at::Tensor>& params);

// The lr of 0-based step `step` of `total_steps`: constant, or cosine to 0.
double scheduled_lr(const OptimConfig& cfg, int64_t step, int64_t total_steps);

// What every step of a stage shares (not owned).
struct StepSetup {
  torch::jit::Module* module = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  GradientReducer* reducer = nullptr;  // data-parallel; null alone
  const PruneMasks* masks = nullptr;   // held around every step; may be null
  c10::Device device = c10::kCPU;      // the module's: batches are copied there
  OptimConfig optim;                   // lr and its schedule
  int64_t total_steps = 0;             // of the stage, for the schedule
  double temperature = 1.0;            // KD, when the batch has soft targets
  double alpha = 1.0;
};

struct StepOutcome {
  // This rank's mean loss over its rows (0 for none). When it is not finite
  // (NaN, inf) the step stopped before backward: the weights are untouched.
  double loss = 0.0;
  // Of this rank's rows, top-1 right; a token window counts the fraction of
  // its tokens that are right.
  double correct = 0;
};

// Step `step` (0-based within the stage: it sets the lr).
StepOutcome optimizer_step(const StepSetup& setup, const Batch& batch, int64_t step);

}  // namespace condenser

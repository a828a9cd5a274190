#include "trainers/train_step.h"

#include <torch/torch.h>

#include <cmath>

#include "cluster/gradient_reducer.h"
#include "core/errors.h"
#include "trainers/device.h"
#include "trainers/losses.h"
#include "trainers/prune_masks.h"
#include "trainers/token_metrics.h"

namespace condenser {
namespace {

// The loss of `logits` against the targets of `rows` of the soft-label
// table (KD) or, without soft targets, against `labels` (cross-entropy).
at::Tensor target_loss(const at::Tensor& logits, const Batch& b, const StepSetup& s,
                       const at::Tensor& labels, const at::Tensor& rows) {
  const SoftTargets& t = b.soft;
  if (!t.defined()) {
    if (logits.dim() == 3) return token_cross_entropy(logits, labels);
    return torch::nll_loss(torch::log_softmax(logits, 1), labels);
  }
  if (t.logits.defined()) {
    return kd_loss(logits, gather_to_device(t.logits, rows, s.device), labels, s.temperature,
                   s.alpha);
  }
  return sparse_kd_loss(logits, gather_to_device(t.topk_values, rows, s.device),
                        gather_to_device(t.topk_indices, rows, s.device),
                        gather_to_device(t.logsumexp, rows, s.device), labels, s.temperature,
                        s.alpha);
}

// A mixed batch's loss mixes the losses of both rows' targets by the same
// weight as the images (trainers/mixing.h).
at::Tensor batch_loss(const at::Tensor& logits, const Batch& b, const StepSetup& s,
                      const at::Tensor& labels) {
  const at::Tensor own = target_loss(logits, b, s, labels, b.rows);
  if (!b.partner.defined() || b.lambda >= 1.0) return own;
  const at::Tensor other =
      target_loss(logits, b, s, labels.index_select(0, b.partner.to(labels.device())),
                  b.rows.index_select(0, b.partner));
  return own * b.lambda + other * (1.0 - b.lambda);
}

// Rows whose top-1 is right; for token windows each row counts the fraction
// of its scored tokens that are right, so the epoch's accuracy is per token.
double correct_rows(const at::Tensor& logits, const at::Tensor& y) {
  if (logits.dim() != 3) return double(logits.argmax(1).eq(y).sum().item<int64_t>());
  const TokenScore s = score_batch(logits, y);
  return s.tokens > 0 ? s.accuracy() * double(y.size(0)) : 0.0;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& cfg,
                                                        const std::vector<at::Tensor>& params) {
  if (cfg.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));
  }
  if (cfg.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).weight_decay(
                    cfg.weight_decay));
  }
  throw UsageError("unknown optimizer '" + cfg.optimizer + "'; use adam or sgd");
}

double scheduled_lr(const OptimConfig& cfg, int64_t step, int64_t total_steps) {
  if (cfg.lr_schedule == "constant" || total_steps <= 1) return cfg.lr;
  const double progress = double(step) / double(total_steps);
  return cfg.lr * 0.5 * (1.0 + std::cos(M_PI * progress));
}

StepOutcome optimizer_step(const StepSetup& s, const Batch& batch, int64_t step) {
  torch::optim::Optimizer& optimizer = *s.optimizer;
  for (auto& group : optimizer.param_groups()) {
    group.options().set_lr(scheduled_lr(s.optim, step, s.total_steps));
  }
  optimizer.zero_grad();
  if (s.reducer) s.reducer->prepare();
  StepOutcome out;
  if (batch.labels.numel() > 0) {
    // To a GPU: pinned staging, asynchronous copies (trainers/device.h).
    const at::Tensor x = to_device(batch.images, s.device);
    const at::Tensor y = to_device(batch.labels, s.device);
    const at::Tensor logits = s.module->forward({x}).toTensor();
    const at::Tensor loss = batch_loss(logits, batch, s, y);
    out.loss = loss.item<double>();
    // A NaN or infinite loss would poison the weights: no step, the caller stops.
    if (!std::isfinite(out.loss)) return out;
    const double scale = double(batch.local_rows) / double(batch.global_rows);
    (scale == 1.0 ? loss : loss * scale).backward();
    out.correct = correct_rows(logits.detach(), y);
  }
  if (s.reducer) s.reducer->finish();
  if (s.masks) s.masks->apply_to_grads(*s.module);
  optimizer.step();
  if (s.masks) s.masks->apply_to_weights(*s.module);
  return out;
}

}  // namespace condenser

#include "trainers/training.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "cluster/communicator.h"
#include "cluster/gradient_reducer.h"
#include "core/errors.h"
#include "data/augment.h"
#include "data/sampling.h"
#include "data/shards/shard_stream.h"
#include "trainers/device.h"
#include "trainers/losses.h"
#include "trainers/prune_masks.h"
#include "trainers/train_state.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<at::Tensor> parameters_of(torch::jit::Module& module) {
  std::vector<at::Tensor> params;
  for (const auto& p : module.parameters(/*recurse=*/true)) params.push_back(p);
  return params;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& cfg,
                                                        std::vector<at::Tensor> params) {
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

// FNV-1a: a fixed hash (std::hash differs between standard libraries), so
// batch orders are the same wherever condenser is built.
uint64_t stage_salt(const std::string& stage) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : stage) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

at::Tensor index_tensor(const std::vector<int64_t>& indices, size_t begin, size_t end) {
  return torch::from_blob(const_cast<int64_t*>(indices.data() + begin),
                          {static_cast<int64_t>(end - begin)}, torch::kInt64)
      .clone();
}

struct Batch {
  at::Tensor images;  // [B, ...], augmented when the stage trains several views
  at::Tensor rows;    // [B] int64 soft-target rows: sample * views + view
};

Batch make_batch(const LabelledSet& set, const std::vector<int64_t>& samples, size_t begin,
                 size_t end, int64_t epoch, const StageOptions& options) {
  const int k = options.views_per_sample;
  const std::vector<int64_t> ids(samples.begin() + static_cast<std::ptrdiff_t>(begin),
                                 samples.begin() + static_cast<std::ptrdiff_t>(end));
  std::vector<int> views(ids.size(), 0);
  std::vector<int64_t> rows(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (k > 1) views[i] = view_for_epoch(ids[i], epoch, k);
    rows[i] = ids[i] * k + views[i];
  }
  Batch b;
  b.images = k > 1 ? augment_batch(set.images, ids, views, options.augment_seed)
                   : set.images.index_select(0, index_tensor(ids, 0, ids.size()));
  b.rows = index_tensor(rows, 0, rows.size());
  return b;
}

at::Tensor distill_loss(const at::Tensor& logits, const SoftTargets& t, const StageOptions& o,
                        const at::Tensor& rows, const at::Tensor& labels, c10::Device device) {
  if (t.logits.defined()) {
    return kd_loss(logits, gather_to_device(t.logits, rows, device), labels, o.temperature,
                   o.alpha);
  }
  return sparse_kd_loss(logits, gather_to_device(t.topk_values, rows, device),
                        gather_to_device(t.topk_indices, rows, device),
                        gather_to_device(t.logsumexp, rows, device), labels, o.temperature,
                        o.alpha);
}

StageResult stopped(StageResult result, Clock::time_point start) {
  result.interrupted = true;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace

c10::Device module_device(const torch::jit::Module& module) {
  for (const auto& p : module.parameters(/*recurse=*/true)) return p.device();
  return c10::Device(c10::kCPU);
}

at::Tensor predict(torch::jit::Module& module, const at::Tensor& images,
                   const std::vector<int64_t>& indices, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = module.is_training();
  module.eval();
  const c10::Device device = module_device(module);
  std::vector<at::Tensor> outputs;
  for (size_t begin = 0; begin < indices.size(); begin += size_t(batch_size)) {
    const size_t end = std::min(indices.size(), begin + size_t(batch_size));
    const at::Tensor x = gather_to_device(images, index_tensor(indices, begin, end), device);
    outputs.push_back(module.forward({x}).toTensor().to(c10::kCPU));
  }
  module.train(was_training);
  return outputs.empty() ? at::Tensor() : torch::cat(outputs);
}

double accuracy(torch::jit::Module& module, const LabelledSet& set, int64_t batch_size,
                Communicator* comm) {
  if (set.indices.empty()) return 0.0;
  const int world = comm ? comm->size() : 1;
  const RankShare share =
      rank_share(static_cast<int64_t>(set.indices.size()), comm ? comm->rank() : 0, world);
  const std::vector<int64_t> mine(set.indices.begin() + share.begin,
                                  set.indices.begin() + share.end);
  at::Tensor correct = torch::zeros({1}, torch::kInt64);
  if (!mine.empty()) {
    const at::Tensor logits = predict(module, set.images, mine, batch_size);
    const at::Tensor y = set.labels.index_select(0, index_tensor(mine, 0, mine.size()));
    correct[0] = logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  if (world > 1) wait_all(comm->allreduce(correct, ReduceOp::kSum));
  return double(correct.item<int64_t>()) / double(set.indices.size());
}

StageResult train_stage(torch::jit::Module& module, const LabelledSet& train,
                        const LabelledSet& validation, const StageOptions& options,
                        const PruneMasks* masks, const MetricSink& sink) {
  const auto start = Clock::now();
  const OptimConfig& cfg = options.optim;
  Communicator* comm = options.comm && options.comm->size() > 1 ? options.comm : nullptr;
  const int world = comm ? comm->size() : 1;
  const int rank = comm ? comm->rank() : 0;
  const std::vector<at::Tensor> params = parameters_of(module);
  auto optimizer = make_optimizer(cfg, params);
  std::unique_ptr<GradientReducer> reducer;
  if (comm) {
    // Every rank starts from rank 0's weights and BatchNorm statistics.
    std::vector<at::Tensor> state = params;
    for (const auto& b : module.buffers(/*recurse=*/true)) state.push_back(b);
    broadcast_from_rank0(*comm, state);
    reducer = std::make_unique<GradientReducer>(params, *comm, options.bucket_cap_bytes,
                                                options.overlap_allreduce);
  }
  // Streaming visits every labelled sample once an epoch, like the table does.
  const size_t n = options.stream ? static_cast<size_t>(options.stream->samples_per_epoch())
                                  : train.indices.size();
  const auto global_batch = static_cast<size_t>(cfg.batch_size) * size_t(world);
  const int64_t epoch_steps = steps_per_epoch(static_cast<int64_t>(n), cfg.batch_size, world);
  const int64_t total_steps = epoch_steps * cfg.epochs;
  const bool distill = options.soft.defined();
  const int views = options.stream ? options.stream->views() : options.views_per_sample;
  if (distill && options.soft.views != views) {
    throw RuntimeFailure("soft targets hold " + std::to_string(options.soft.views) +
                         " views per sample, the stage trains " + std::to_string(views));
  }
  const c10::Device device = module_device(module);
  // Dropout draws from the global generator: seed it per stage (and rank)
  // for determinism.
  torch::manual_seed(mix_seed(options.seed, stage_salt(options.stage)) + uint64_t(rank));

  StageResult result;
  StageCursor from;
  if (options.resume) {
    from = options.resume->cursor;
    restore_optimizer(*optimizer, options.resume->optimizer);
    set_cpu_rng_state(options.resume->rng_states[rank]);
    result.steps = from.steps;
    if (rank != 0) from.loss_sum = from.correct = 0;  // rank 0 carries the sums so far
  }
  // Everything a checkpoint needs; collective.
  auto capture = [&](const StageCursor& cursor) {
    StageResume r;
    r.cursor = cursor;
    r.optimizer = serialize_optimizer(*optimizer);
    const at::Tensor mine = cpu_rng_state();
    r.rng_states = torch::zeros({world, mine.numel()}, mine.options());
    at::Tensor flat = r.rng_states.view({-1});
    if (comm) {
      at::Tensor sums = torch::tensor({cursor.loss_sum, cursor.correct}, torch::kFloat64);
      wait_all(comm->allreduce(sums, ReduceOp::kSum));
      r.cursor.loss_sum = sums[0].item<double>();
      r.cursor.correct = sums[1].item<double>();
      wait_all(comm->allgather(mine, flat));
    } else {
      flat.copy_(mine);
    }
    return r;
  };
  // Asks the hook; true = stop the stage now.
  auto hook = [&](const StageCursor& cursor, bool epoch_end, double val_accuracy) {
    if (!options.on_step) return false;
    StepState state{cursor, epoch_end, val_accuracy, [&, cursor] { return capture(cursor); }};
    return options.on_step(state);
  };
  module.train();
  if (masks) masks->apply_to_weights(module);
  // One optimizer step on this rank's part of a global batch (possibly
  // empty); `scale` = local rows / global rows weights its loss so the
  // reducer's plain sum over ranks is the global batch's mean gradient (no
  // division pass). Returns the local mean loss and adds to `correct`.
  auto step = [&](const at::Tensor& images, const at::Tensor& labels, const SoftTargets* soft,
                  const at::Tensor& rows, double scale, int64_t* correct) {
    for (auto& group : optimizer->param_groups()) {
      group.options().set_lr(scheduled_lr(cfg, result.steps, total_steps));
    }
    optimizer->zero_grad();
    if (reducer) reducer->prepare();
    double loss_value = 0.0;
    if (labels.numel() > 0) {
      // To a GPU: pinned staging, asynchronous copies (trainers/device.h).
      const at::Tensor x = to_device(images, device);
      const at::Tensor y = to_device(labels, device);
      const at::Tensor logits = module.forward({x}).toTensor();
      const at::Tensor loss = soft ? distill_loss(logits, *soft, options, rows, y, device)
                                   : torch::nll_loss(torch::log_softmax(logits, 1), y);
      (scale == 1.0 ? loss : loss * scale).backward();
      *correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      loss_value = loss.item<double>();
    }
    if (reducer) reducer->finish();
    if (masks) masks->apply_to_grads(module);
    optimizer->step();
    if (masks) masks->apply_to_weights(module);
    ++result.steps;
    return loss_value;
  };
  // Sums over the ranks, in place (a no-op alone).
  auto reduce_sum = [&](at::Tensor t) {
    if (comm) wait_all(comm->allreduce(t, ReduceOp::kSum));
    return t;
  };
  for (int64_t epoch = from.epoch; epoch < cfg.epochs; ++epoch) {
    const bool resumed_epoch = options.resume && epoch == from.epoch;
    const int64_t first_batch = resumed_epoch ? from.batch : 0;
    double loss_sum = resumed_epoch ? from.loss_sum : 0.0;
    int64_t correct = resumed_epoch ? static_cast<int64_t>(from.correct) : 0;
    int64_t batch_index = first_batch;
    // After a step: true when the hook stops the stage (never on an
    // epoch's last batch: the epoch-end call covers that point).
    auto stop_after_step = [&] {
      ++batch_index;
      if (batch_index >= epoch_steps) return false;
      return hook({epoch, batch_index, result.steps, loss_sum, double(correct)}, false, 0.0);
    };
    auto after_step = [&](double loss_value, size_t local_rows, size_t global_rows) {
      loss_sum += loss_value * double(local_rows);
      if (options.log_every > 0 && result.steps % options.log_every == 0) {
        const double global_loss =
            reduce_sum(torch::full({1}, loss_value * double(local_rows), torch::kFloat64))
                .item<double>() /
            double(global_rows);
        sink({{"stage", options.stage},
              {"epoch", epoch + 1},
              {"step", result.steps},
              {"loss", global_loss},
              {"lr", scheduled_lr(cfg, result.steps - 1, total_steps)}});
      }
    };
    if (options.stream) {
      options.stream->start_epoch(epoch);
      StreamBatch b;
      for (int64_t skip = 0; skip < first_batch; ++skip) options.stream->next(global_batch, &b);
      while (options.stream->next(global_batch, &b)) {
        const auto global_rows = static_cast<int64_t>(b.samples.size());
        const RankShare share = rank_share(global_rows, rank, world);
        const std::vector<int64_t> ids(b.samples.begin() + share.begin,
                                       b.samples.begin() + share.end);
        const std::vector<int> ids_views(b.views.begin() + share.begin,
                                         b.views.begin() + share.end);
        const at::Tensor images =
            views > 1 ? augment_batch(train.images, ids, ids_views, options.augment_seed)
                      : train.images.index_select(0, index_tensor(ids, 0, ids.size()));
        const at::Tensor rows = torch::arange(share.begin, share.end, torch::kInt64);
        const double scale = double(share.size()) / double(global_rows);
        const double loss_value =
            step(images, train.labels.index_select(0, index_tensor(ids, 0, ids.size())),
                 &b.targets, rows, scale, &correct);
        after_step(loss_value, ids.size(), b.samples.size());
        if (stop_after_step()) return stopped(result, start);
      }
    } else {
      // Pipelined labelling: this epoch's order grows as shards are committed.
      const bool growing = options.order_source && options.order_source->orders(epoch);
      std::vector<int64_t> order =
          growing ? std::vector<int64_t>()
                  : epoch_order(static_cast<int64_t>(n), options.seed, stage_salt(options.stage),
                                epoch);
      std::vector<int64_t> samples(n);
      for (size_t i = 0; i < order.size(); ++i) {
        samples[i] = train.indices[static_cast<size_t>(order[i])];
      }
      for (size_t begin = size_t(first_batch) * global_batch; begin < n; begin += global_batch) {
        const size_t end = std::min(n, begin + global_batch);
        if (growing && order.size() < end) {
          const size_t known = order.size();
          options.order_source->extend(epoch, end, order);
          for (size_t i = known; i < std::min(n, order.size()); ++i) {
            samples[i] = train.indices[static_cast<size_t>(order[i])];
          }
        }
        const RankShare share = rank_share(static_cast<int64_t>(end - begin), rank, world);
        const size_t lo = begin + size_t(share.begin);
        const size_t hi = begin + size_t(share.end);
        const Batch batch_in = make_batch(train, samples, lo, hi, epoch, options);
        const double scale = double(hi - lo) / double(end - begin);
        const double loss_value =
            step(batch_in.images, train.labels.index_select(0, index_tensor(samples, lo, hi)),
                 distill ? &options.soft : nullptr, batch_in.rows, scale, &correct);
        after_step(loss_value, hi - lo, end - begin);
        if (stop_after_step()) return stopped(result, start);
      }
    }
    const at::Tensor totals =
        reduce_sum(torch::tensor({loss_sum, double(correct)}, torch::kFloat64));
    result.last_epoch_loss = totals[0].item<double>() / double(n);
    result.val_accuracy = accuracy(module, validation, 1000, comm);
    module.train();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    sink({{"stage", options.stage},
          {"epoch", epoch + 1},
          {"step", result.steps},
          {"train_loss", result.last_epoch_loss},
          {"train_accuracy", totals[1].item<double>() / double(n)},
          {"val_accuracy", result.val_accuracy},
          {"seconds", elapsed}});
    if (hook({epoch + 1, 0, result.steps, 0.0, 0.0}, true, result.val_accuracy) &&
        epoch + 1 < cfg.epochs) {
      return stopped(result, start);
    }
  }
  if (cfg.epochs == 0) result.val_accuracy = accuracy(module, validation, 1000, comm);
  if (reducer) result.allreduce_wait_seconds = reducer->exposed_wait_seconds();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace condenser

#include "trainers/training.h"

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "cluster/communicator.h"
#include "cluster/gradient_reducer.h"
#include "core/errors.h"
#include "data/sampling.h"
#include "data/shards/shard_stream.h"
#include "trainers/device.h"
#include "trainers/prune_masks.h"
#include "trainers/train_state.h"
#include "trainers/token_metrics.h"
#include "trainers/train_step.h"

namespace condenser {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<at::Tensor> parameters_of(torch::jit::Module& module) {
  std::vector<at::Tensor> params;
  for (const auto& p : module.parameters(/*recurse=*/true)) params.push_back(p);
  return params;
}

// FNV-1a: a fixed hash (std::hash differs between standard libraries), so
// batch orders are the same wherever condenser is built.
uint64_t stage_salt(const std::string& stage) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : stage) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// The stage whose batch order, mixing and dropout seed `o` follows.
uint64_t order_salt(const StageOptions& o) {
  return stage_salt(o.order_of.empty() ? o.stage : o.order_of);
}

// The stream, else the table in the pipelined order, else in epoch order.
std::unique_ptr<BatchSource> make_source(const LabelledSet& train, const StageOptions& o,
                                         BatchShare share) {
  const DistillOptions& d = o.distill;
  if (o.data.stream) {
    return std::make_unique<StreamBatches>(*o.data.stream, train, d.augment_seed, d.flip, share);
  }
  const SampleViews views{d.views_per_sample, d.augment_seed, d.flip};
  const uint64_t salt = order_salt(o);
  if (o.data.order_source) {
    return std::make_unique<PipelinedBatches>(*o.data.order_source, train, d.soft, views, o.seed,
                                              salt, share);
  }
  return std::make_unique<TableBatches>(train, d.soft, views, o.seed, salt, share);
}

// One train_stage call: what its epochs share.
class StageRun {
 public:
  StageRun(torch::jit::Module& module, const LabelledSet& train, const LabelledSet& validation,
           const StageOptions& options, const PruneMasks* masks, const MetricSink& sink);
  StageResult run();

 private:
  bool train_epoch(int64_t epoch);  // false: the hook stopped the stage
  // Epoch totals, validation, the epoch-end record; true: the hook stops the stage.
  bool end_epoch(int64_t epoch, double loss_sum, double correct);
  void log_step(int64_t epoch, double loss, const Batch& batch);
  // UsageError naming the stage and the step whose loss is NaN or infinite.
  [[noreturn]] void stop_non_finite(int64_t epoch, int64_t batch, double loss) const;
  bool ask_hook(const StageCursor& cursor, bool epoch_end, double val_accuracy);
  // The pairing and weight of a batch's mixing: a function of where it is.
  uint64_t mixing_seed(int64_t epoch, int64_t batch) const;
  StageResume capture(const StageCursor& cursor);  // collective
  at::Tensor reduce_sum(at::Tensor t);             // over the ranks, in place
  void resume_from(const StageResume& resume);

  torch::jit::Module& module_;
  const LabelledSet& validation_;
  const StageOptions& options_;
  const MetricSink& sink_;
  const Clock::time_point start_ = Clock::now();
  Communicator* comm_ = nullptr;  // null alone
  int world_ = 1;
  int rank_ = 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<BatchSource> source_;
  int64_t epoch_steps_ = 0;
  StepSetup step_;
  StageCursor from_;
  StageResult result_;
};

StageRun::StageRun(torch::jit::Module& module, const LabelledSet& train,
                   const LabelledSet& validation, const StageOptions& options,
                   const PruneMasks* masks, const MetricSink& sink)
    : module_(module), validation_(validation), options_(options), sink_(sink) {
  const OptimConfig& cfg = options.optim;
  Communicator* comm = options.parallel.comm;
  if (comm && comm->size() > 1) {
    comm_ = comm;
    world_ = comm->size();
    rank_ = comm->rank();
  }
  const std::vector<at::Tensor> params = parameters_of(module);
  optimizer_ = make_optimizer(cfg, params);
  if (comm_) {
    // Every rank starts from rank 0's weights and BatchNorm statistics.
    std::vector<at::Tensor> state = params;
    for (const auto& b : module.buffers(/*recurse=*/true)) state.push_back(b);
    broadcast_from_rank0(*comm_, state);
    reducer_ = std::make_unique<GradientReducer>(params, *comm_, options.parallel.bucket_cap_bytes);
  }
  source_ = make_source(train, options, {rank_, world_, size_t(cfg.batch_size) * size_t(world_)});
  epoch_steps_ = steps_per_epoch(source_->samples_per_epoch(), cfg.batch_size, world_);
  const SoftTargets& soft = options.distill.soft;
  const int views =
      options.data.stream ? options.data.stream->views() : options.distill.views_per_sample;
  if (soft.defined() && soft.views != views) {
    throw RuntimeFailure("soft targets hold " + std::to_string(soft.views) +
                         " views per sample, the stage trains " + std::to_string(views));
  }
  step_.module = &module;
  step_.optimizer = optimizer_.get();
  step_.reducer = reducer_.get();
  step_.masks = masks;
  step_.device = module_device(module);
  step_.optim = cfg;
  step_.total_steps = epoch_steps_ * cfg.epochs;
  step_.temperature = options.distill.temperature;
  step_.alpha = options.distill.alpha;
  // Dropout draws from the global generator: seed it per stage (and rank)
  // for determinism.
  torch::manual_seed(mix_seed(options.seed, order_salt(options)) + uint64_t(rank_));
  if (options.checkpoint.resume) resume_from(*options.checkpoint.resume);
  module.train();
  if (masks) masks->apply_to_weights(module);
}

void StageRun::resume_from(const StageResume& resume) {
  from_ = resume.cursor;
  restore_optimizer(*optimizer_, resume.optimizer);
  set_cpu_rng_state(resume.rng_states[rank_]);
  result_.steps = from_.steps;
  if (rank_ != 0) from_.loss_sum = from_.correct = 0;  // rank 0 carries the sums so far
}

StageResult StageRun::run() {
  // TorchScript's optimizing executor swaps in other graphs (autodiff
  // subgraphs with their own gradient formulas) after a module's first
  // runs; a resumed stage would run its first steps on the plain graph and
  // differ from the uninterrupted run in the last bits. Training always runs
  // the plain graph: the same arithmetic at every step, resumed or not.
  const torch::jit::GraphOptimizerEnabledGuard plain_graphs(false);
  for (int64_t epoch = from_.epoch; epoch < options_.optim.epochs; ++epoch) {
    if (!train_epoch(epoch)) {
      result_.interrupted = true;
      result_.seconds = seconds_since(start_);
      return result_;
    }
  }
  if (options_.optim.epochs == 0) {
    result_.val_accuracy = accuracy(module_, validation_, 1000, comm_);
  }
  if (reducer_) result_.allreduce_wait_seconds = reducer_->exposed_wait_seconds();
  result_.seconds = seconds_since(start_);
  return result_;
}

bool StageRun::train_epoch(int64_t epoch) {
  const bool resumed = options_.checkpoint.resume && epoch == from_.epoch;
  int64_t batch_index = resumed ? from_.batch : 0;
  double loss_sum = resumed ? from_.loss_sum : 0.0;
  double correct = resumed ? from_.correct : 0.0;
  source_->start_epoch(epoch);
  source_->skip(batch_index);
  while (std::optional<Batch> batch = source_->next()) {
    mix_batch(*batch, options_.distill.mix, mixing_seed(epoch, batch_index));
    const StepOutcome step = optimizer_step(step_, *batch, result_.steps);
    if (!std::isfinite(step.loss)) stop_non_finite(epoch, batch_index, step.loss);
    ++result_.steps;
    correct += step.correct;
    loss_sum += step.loss * double(batch->local_rows);
    if (options_.log_every > 0 && result_.steps % options_.log_every == 0) {
      log_step(epoch, step.loss, *batch);
    }
    // Never after an epoch's last batch: the epoch-end call covers that point.
    ++batch_index;
    if (batch_index < epoch_steps_ &&
        ask_hook({epoch, batch_index, result_.steps, loss_sum, correct}, false, 0.0)) {
      return false;
    }
  }
  return !end_epoch(epoch, loss_sum, correct);
}

uint64_t StageRun::mixing_seed(int64_t epoch, int64_t batch) const {
  const uint64_t stage = mix_seed(options_.seed, order_salt(options_) ^ 0x6d6978ull);
  return mix_seed(mix_seed(mix_seed(stage, uint64_t(epoch)), uint64_t(batch)), uint64_t(rank_));
}

void StageRun::stop_non_finite(int64_t epoch, int64_t batch, double loss) const {
  const std::string value = std::isnan(loss) ? "NaN" : loss > 0 ? "infinite" : "-infinite";
  throw UsageError(options_.stage + ": the training loss is " + value +
                   " at step " + std::to_string(result_.steps + 1) + " (epoch " +
                   std::to_string(epoch + 1) + ", batch " + std::to_string(batch + 1) +
                   "); stopped before it reached the weights (earlier checkpoints are kept); " +
                   "lower the learning rate, or check the teacher's outputs and the data");
}

void StageRun::log_step(int64_t epoch, double loss, const Batch& batch) {
  const double global_loss =
      reduce_sum(torch::full({1}, loss * double(batch.local_rows), torch::kFloat64))
          .item<double>() /
      double(batch.global_rows);
  sink_({{"stage", options_.stage},
         {"epoch", epoch + 1},
         {"step", result_.steps},
         {"loss", global_loss},
         {"lr", scheduled_lr(options_.optim, result_.steps - 1, step_.total_steps)}});
}

bool StageRun::end_epoch(int64_t epoch, double loss_sum, double correct) {
  const at::Tensor totals = reduce_sum(torch::tensor({loss_sum, correct}, torch::kFloat64));
  const auto samples = double(source_->samples_per_epoch());
  result_.last_epoch_loss = totals[0].item<double>() / samples;
  result_.val_accuracy = accuracy(module_, validation_, 1000, comm_);
  module_.train();
  sink_({{"stage", options_.stage},
         {"epoch", epoch + 1},
         {"step", result_.steps},
         {"train_loss", result_.last_epoch_loss},
         {"train_accuracy", totals[1].item<double>() / samples},
         {"val_accuracy", result_.val_accuracy},
         {"seconds", seconds_since(start_)}});
  return ask_hook({epoch + 1, 0, result_.steps, 0.0, 0.0}, true, result_.val_accuracy) &&
         epoch + 1 < options_.optim.epochs;
}

bool StageRun::ask_hook(const StageCursor& cursor, bool epoch_end, double val_accuracy) {
  if (!options_.checkpoint.on_step) return false;
  const StepState state{cursor, epoch_end, val_accuracy, [this, cursor] { return capture(cursor); }};
  return options_.checkpoint.on_step(state);
}

StageResume StageRun::capture(const StageCursor& cursor) {
  StageResume r;
  r.cursor = cursor;
  r.optimizer = serialize_optimizer(*optimizer_);
  const at::Tensor mine = cpu_rng_state();
  r.rng_states = torch::zeros({world_, mine.numel()}, mine.options());
  at::Tensor flat = r.rng_states.view({-1});
  if (comm_) {
    at::Tensor sums = torch::tensor({cursor.loss_sum, cursor.correct}, torch::kFloat64);
    wait_all(comm_->allreduce(sums, ReduceOp::kSum));
    r.cursor.loss_sum = sums[0].item<double>();
    r.cursor.correct = sums[1].item<double>();
    wait_all(comm_->allgather(mine, flat));
  } else {
    flat.copy_(mine);
  }
  return r;
}

at::Tensor StageRun::reduce_sum(at::Tensor t) {
  if (comm_) wait_all(comm_->allreduce(t, ReduceOp::kSum));
  return t;
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
  // Token windows: their [B, T, V] logits are scored batch by batch, never kept.
  if (is_sequence_set(set)) return score_tokens(module, set, kSequenceEvalRows, comm).accuracy();
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
  return StageRun(module, train, validation, options, masks, sink).run();
}

}  // namespace condenser

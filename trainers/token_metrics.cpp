#include "trainers/token_metrics.h"

#include <torch/torch.h>

#include <cmath>

#include "cluster/communicator.h"
#include "data/sampling.h"
#include "trainers/device.h"
#include "trainers/training.h"

namespace condenser {

double TokenScore::perplexity() const { return std::exp(mean_nll()); }

double TokenScore::bits_per_token() const { return mean_nll() / std::log(2.0); }

TokenScore score_batch(const at::Tensor& logits, const at::Tensor& labels) {
  const at::Tensor flat = logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32);
  const at::Tensor y = labels.reshape({-1});
  const at::Tensor scored = y.ne(kIgnoreToken);
  TokenScore s;
  s.tokens = scored.sum().item<int64_t>();
  if (s.tokens == 0) return s;
  // Summed in double: a test split of a million tokens adds a million terms.
  s.nll_sum = torch::nll_loss(torch::log_softmax(flat, 1), y, {}, at::Reduction::Sum,
                              kIgnoreToken)
                  .to(torch::kFloat64)
                  .item<double>();
  s.correct = flat.argmax(1).eq(y).logical_and(scored).sum().item<int64_t>();
  return s;
}

TokenScore score_tokens(torch::jit::Module& module, const LabelledSet& set, int64_t batch_rows,
                        Communicator* comm) {
  const int world = comm ? comm->size() : 1;
  const RankShare share =
      rank_share(static_cast<int64_t>(set.indices.size()), comm ? comm->rank() : 0, world);
  torch::NoGradGuard no_grad;
  const bool was_training = module.is_training();
  module.eval();
  const c10::Device device = module_device(module);
  TokenScore mine;
  for (int64_t b = share.begin; b < share.end; b += batch_rows) {
    const int64_t e = std::min(share.end, b + batch_rows);
    const at::Tensor rows = index_tensor(set.indices, size_t(b), size_t(e));
    const at::Tensor x = gather_to_device(set.images, rows, device);
    const at::Tensor y = gather_to_device(set.labels, rows, device);
    const TokenScore s = score_batch(module.forward({x}).toTensor(), y);
    mine.nll_sum += s.nll_sum;
    mine.correct += s.correct;
    mine.tokens += s.tokens;
  }
  module.train(was_training);
  if (world <= 1) return mine;
  at::Tensor sums =
      torch::tensor({mine.nll_sum, double(mine.correct), double(mine.tokens)}, torch::kFloat64);
  wait_all(comm->allreduce(sums, ReduceOp::kSum));
  TokenScore total;
  total.nll_sum = sums[0].item<double>();
  total.correct = static_cast<int64_t>(sums[1].item<double>());
  total.tokens = static_cast<int64_t>(sums[2].item<double>());
  return total;
}

}  // namespace condenser

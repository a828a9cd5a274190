#include "trainers/lm_generate.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/errors.h"
#include "data/sampling.h"

namespace condenser {
namespace {

void check_arguments(const torch::jit::Module& module, const std::vector<int64_t>& prompt,
                     int64_t max_new_tokens, const GenerateOptions& o, int64_t max_context) {
  if (prompt.empty()) throw UsageError("generate: the prompt is empty; give at least one token");
  if (max_new_tokens < 0) throw UsageError("generate: max_new_tokens must be >= 0");
  if (max_context < 1) throw UsageError("generate: the context length must be >= 1");
  if (!o.greedy && !(o.temperature > 0)) {
    throw UsageError("generate: the sampling temperature must be > 0");
  }
  if (o.top_k < 0) throw UsageError("generate: top_k must be >= 0 (0 = every token)");
  const int64_t vocab = module.hasattr("l0_w") ? module.attr("l0_w").toTensor().size(0) : -1;
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || (vocab > 0 && prompt[i] >= vocab)) {
      throw UsageError("generate: prompt token " + std::to_string(i) + " is " +
                       std::to_string(prompt[i]) + ", outside the vocabulary [0, " +
                       std::to_string(vocab) + ")");
    }
  }
}

// The last position's logits for the last <= max_context ids.
std::vector<double> next_logits(torch::jit::Module& module, const std::vector<int64_t>& ids,
                                int64_t max_context, const c10::Device& device) {
  const size_t n = std::min<size_t>(ids.size(), size_t(max_context));
  std::vector<int64_t> window(ids.end() - int64_t(n), ids.end());
  const at::Tensor x = torch::tensor(window, torch::kInt64).view({1, int64_t(n)}).to(device);
  const c10::IValue out = module.forward({x});
  if (!out.isTensor() || out.toTensor().dim() != 3 || out.toTensor().size(1) != int64_t(n)) {
    throw UsageError("generate: the model must return logits [1, T, V] for ids [1, T]");
  }
  const at::Tensor last = out.toTensor()[0][int64_t(n) - 1].to(torch::kCPU, torch::kFloat64);
  return std::vector<double>(last.data_ptr<double>(), last.data_ptr<double>() + last.numel());
}

int64_t argmax(const std::vector<double>& logits) {
  return std::max_element(logits.begin(), logits.end()) - logits.begin();  // first on ties
}

// softmax(logits / T) over the top k (ties to the lower id), inverse CDF of one uniform.
int64_t sample(const std::vector<double>& logits, const GenerateOptions& o, SplitMix64& rng) {
  std::vector<int64_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t k = o.top_k == 0 ? order.size() : std::min(order.size(), size_t(o.top_k));
  std::partial_sort(order.begin(), order.begin() + int64_t(k), order.end(),
                    [&](int64_t a, int64_t b) {
                      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
                    });
  std::vector<double> p(k);
  const double top = logits[order[0]] / o.temperature;
  double sum = 0;
  for (size_t i = 0; i < k; ++i) sum += p[i] = std::exp(logits[order[i]] / o.temperature - top);
  const double u = double(rng.next() >> 11) * 0x1.0p-53 * sum;
  double acc = 0;
  for (size_t i = 0; i < k; ++i) {
    acc += p[i];
    if (u < acc) return order[i];
  }
  return order[k - 1];
}

// Sets eval mode for the call and puts the module's flag back afterwards.
struct EvalGuard {
  torch::jit::Module& module;
  bool was_training;
  explicit EvalGuard(torch::jit::Module& m) : module(m), was_training(m.is_training()) {
    module.eval();
  }
  ~EvalGuard() { module.train(was_training); }
};

}  // namespace

std::vector<int64_t> generate_tokens(torch::jit::Module& module, const std::vector<int64_t>& prompt,
                                     int64_t max_new_tokens, const GenerateOptions& options,
                                     int64_t max_context) {
  check_arguments(module, prompt, max_new_tokens, options, max_context);
  torch::NoGradGuard no_grad;
  EvalGuard eval(module);
  c10::Device device(torch::kCPU);
  for (const auto& p : module.parameters()) {
    device = p.device();
    break;
  }
  SplitMix64 rng(mix_seed(options.seed, 0x6c6d67656eull));  // "lmgen"
  std::vector<int64_t> ids = prompt, out;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    const std::vector<double> logits = next_logits(module, ids, max_context, device);
    const int64_t next = options.greedy ? argmax(logits) : sample(logits, options, rng);
    ids.push_back(next);
    out.push_back(next);
  }
  return out;
}

}  // namespace condenser

#pragma once
// Prune masks and sparsity: what training and checkpoints need to know of
// pruning. A mask is 1 where a weight is kept and 0 where it is pruned;
// training multiplies gradients by the mask before the optimizer step and
// weights after it, so pruned weights stay exactly zero whatever the
// optimizer's state (momentum, Adam moments). How masks are chosen lives in
// trainers/pruning/.
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

namespace condenser {

// Prunable parameters: conv and linear weights (rank >= 2). Biases and
// BatchNorm parameters are never pruned.
bool is_prunable(const std::string& name, const at::Tensor& param);

class PruneMasks {
 public:
  void set(const std::string& param_name, at::Tensor mask) { masks_[param_name] = std::move(mask); }
  bool empty() const { return masks_.empty(); }
  const std::map<std::string, at::Tensor>& masks() const { return masks_; }
  void apply_to_weights(torch::jit::Module& module) const;
  void apply_to_grads(torch::jit::Module& module) const;

 private:
  std::map<std::string, at::Tensor> masks_;
};

struct LayerSparsity {
  std::string name;
  int64_t numel = 0;
  int64_t nonzero = 0;
  double sparsity() const { return numel ? 1.0 - double(nonzero) / double(numel) : 0.0; }
};

struct SparsityReport {
  std::vector<LayerSparsity> layers;  // prunable parameters only
  int64_t parameters = 0;             // all parameters
  int64_t nonzeros = 0;               // all nonzero parameters
  double prunable_sparsity = 0.0;     // zeros / numel over prunable parameters
};

SparsityReport measure_sparsity(const torch::jit::Module& module);

}  // namespace condenser

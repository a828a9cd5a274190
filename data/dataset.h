#pragma once
// In-memory image datasets (Fashion-MNIST: 70k 28x28 images, ~55 MB as float).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace condenser {

struct ImageDataset {
  at::Tensor images;  // [N, 1, H, W] float32, pixels scaled to [0, 1]
  at::Tensor labels;  // [N] int64 class ids
  int num_classes = 0;
  std::string fingerprint;  // SHA-256 of the source bytes: ties soft labels to the data
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Loads the "train" (60k) or "test" (10k) split of Fashion-MNIST from the
// gzipped IDX files in `dir` (Debian: /usr/share/datasets/fashion-mnist).
// Throws UsageError naming the missing file and the package that provides it.
ImageDataset load_fashion_mnist(const std::string& dir, bool train);

}  // namespace condenser

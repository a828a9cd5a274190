#pragma once
// In-memory image datasets (Fashion-MNIST: 70k 28x28 images, ~55 MB as float).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace condenser {

// What every model of the zoo is built for, and what a teacher must accept.
inline constexpr int kFashionMnistClasses = 10;
inline constexpr int64_t kFashionMnistSide = 28;  // images are 1 x 28 x 28

struct ImageDataset {
  at::Tensor images;  // [N, 1, H, W] float32, pixels scaled to [0, 1]
  at::Tensor labels;  // [N] int64 class ids
  int num_classes = 0;
  std::string fingerprint;  // SHA-256 of the source bytes: ties soft labels to the data
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// The two IDX files of the "train" or "test" split under `dir`.
struct FashionMnistFiles {
  std::string images;  // DIR/train-images-idx3-ubyte.gz or DIR/t10k-images-idx3-ubyte.gz
  std::string labels;
};
FashionMnistFiles fashion_mnist_files(const std::string& dir, bool train);

// Checks a split without loading its images: the images file's header and
// the labels (one byte a sample, 60 KB for Fashion-MNIST). Images must be
// [N, 28, 28] and labels [N] with the same N > 0, holding the classes 0..9.
// Returns N. Throws UsageError naming the file and what is wrong (missing,
// no samples, other image size, counts that disagree, a damaged header,
// labels outside 0..9).
int64_t check_fashion_mnist_split(const std::string& dir, bool train);

// The first `rows` images of a split (checked as above) as
// [rows, 1, 28, 28] float32 in [0, 1], reading no further into the file.
at::Tensor fashion_mnist_first_images(const std::string& dir, bool train, int64_t rows);

// Loads the "train" (60k) or "test" (10k) split of Fashion-MNIST from the
// gzipped IDX files in `dir` (Debian: /usr/share/datasets/fashion-mnist).
// Throws UsageError naming the missing file and the package that provides it,
// or the file whose header or labels do not fit Fashion-MNIST.
ImageDataset load_fashion_mnist(const std::string& dir, bool train);

}  // namespace condenser

#include "data/dataset.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/idx_reader.h"

namespace condenser {
namespace {

std::string side_text(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// The checks shared by the header-only path and the full load.
int64_t check_dims(const FashionMnistFiles& files, const std::vector<int64_t>& images,
                   const std::vector<int64_t>& labels) {
  if (images.size() != 3) {
    throw UsageError("'" + files.images + "' holds " + std::to_string(images.size()) +
                     "-dimensional data; Fashion-MNIST images are [N, 28, 28]");
  }
  if (images[1] != kFashionMnistSide || images[2] != kFashionMnistSide) {
    throw UsageError("'" + files.images + "' holds " + side_text(images[1], images[2]) +
                     " images; Fashion-MNIST images are 28x28 (the built-in models and teachers "
                     "expect that size)");
  }
  if (labels.size() != 1) {
    throw UsageError("'" + files.labels + "' holds " + std::to_string(labels.size()) +
                     "-dimensional data; Fashion-MNIST labels are [N]");
  }
  if (images[0] != labels[0]) {
    throw UsageError("'" + files.images + "' holds " + std::to_string(images[0]) +
                     " images but '" + files.labels + "' holds " + std::to_string(labels[0]) +
                     " labels; the two files must come from the same split");
  }
  return images[0];
}

// Labels 0..9, each class present (the soft labels and the models have 10
// outputs); a file with fewer or more classes is not Fashion-MNIST.
void check_classes(const FashionMnistFiles& files, const std::vector<uint8_t>& labels) {
  const uint8_t top = *std::max_element(labels.begin(), labels.end());
  if (top + 1 != kFashionMnistClasses) {
    throw UsageError("'" + files.labels + "' has " + std::to_string(top + 1) +
                     " classes (labels 0.." + std::to_string(top) + "); Fashion-MNIST has 10");
  }
}

at::Tensor to_float_images(std::vector<uint8_t>& bytes, int64_t n) {
  return torch::from_blob(bytes.data(), {n, 1, kFashionMnistSide, kFashionMnistSide},
                          torch::kUInt8)
      .to(torch::kFloat32)
      .div_(255.0);
}

}  // namespace

FashionMnistFiles fashion_mnist_files(const std::string& dir, bool train) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  return {prefix + "-images-idx3-ubyte.gz", prefix + "-labels-idx1-ubyte.gz"};
}

int64_t check_fashion_mnist_split(const std::string& dir, bool train) {
  const FashionMnistFiles files = fashion_mnist_files(dir, train);
  const IdxHeader images = read_idx_header(files.images);  // images first, as the full load
  const IdxArray labels = read_idx(files.labels);
  const int64_t n = check_dims(files, images.dims, labels.dims);
  check_classes(files, labels.bytes);
  return n;
}

at::Tensor fashion_mnist_first_images(const std::string& dir, bool train, int64_t rows) {
  const int64_t n = check_fashion_mnist_split(dir, train);
  IdxArray images = read_idx_rows(fashion_mnist_files(dir, train).images, rows);
  return to_float_images(images.bytes, std::min(rows, n));
}

ImageDataset load_fashion_mnist(const std::string& dir, bool train) {
  const FashionMnistFiles files = fashion_mnist_files(dir, train);
  IdxArray images = read_idx(files.images);
  IdxArray labels = read_idx(files.labels);
  const int64_t n = check_dims(files, images.dims, labels.dims);
  ImageDataset ds;
  ds.images = to_float_images(images.bytes, n);
  ds.labels = torch::from_blob(labels.bytes.data(), {n}, torch::kUInt8).to(torch::kInt64);
  check_classes(files, labels.bytes);
  ds.num_classes = kFashionMnistClasses;
  Sha256 hash;
  hash.update(images.bytes.data(), images.bytes.size());
  hash.update(labels.bytes.data(), labels.bytes.size());
  ds.fingerprint = hash.hex_digest();
  return ds;
}

}  // namespace condenser

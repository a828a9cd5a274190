#include "data/dataset.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/idx_reader.h"

namespace condenser {

ImageDataset load_fashion_mnist(const std::string& dir, bool train) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  const IdxArray images = read_idx(prefix + "-images-idx3-ubyte.gz");
  const IdxArray labels = read_idx(prefix + "-labels-idx1-ubyte.gz");
  if (images.dims.size() != 3 || labels.dims.size() != 1 || images.dims[0] != labels.dims[0]) {
    throw UsageError("Fashion-MNIST files under '" + dir +
                     "' disagree: expected images [N,H,W] and labels [N] with the same N");
  }
  const int64_t n = images.dims[0], h = images.dims[1], w = images.dims[2];
  ImageDataset ds;
  ds.images = torch::from_blob(const_cast<uint8_t*>(images.bytes.data()), {n, 1, h, w}, torch::kUInt8)
                  .to(torch::kFloat32)
                  .div_(255.0);
  ds.labels = torch::from_blob(const_cast<uint8_t*>(labels.bytes.data()), {n}, torch::kUInt8)
                  .to(torch::kInt64);
  ds.num_classes = static_cast<int>(ds.labels.max().item<int64_t>()) + 1;
  if (ds.num_classes != 10) {
    throw UsageError("'" + prefix + "-labels-idx1-ubyte.gz' has " +
                     std::to_string(ds.num_classes) + " classes; Fashion-MNIST has 10");
  }
  Sha256 hash;
  hash.update(images.bytes.data(), images.bytes.size());
  hash.update(labels.bytes.data(), labels.bytes.size());
  ds.fingerprint = hash.hex_digest();
  return ds;
}

}  // namespace condenser

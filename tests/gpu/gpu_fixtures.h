#pragma once
// Data and models the GPU tests share: Fashion-MNIST once per process, a
// teacher trained briefly (a random network's near-tied logits would make
// precision comparisons meaningless), and a labeller set-up.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/sampling.h"
#include "tests/gpu/gpu_test_util.h"
#include "trainers/model_spec.h"
#include "trainers/training.h"
#include "worker/teacher_labeller.h"

namespace condenser::testing_util {

inline const ImageDataset& fashion_mnist_train() {
  static const ImageDataset data = load_fashion_mnist(test_data_dir(), /*train=*/true);
  return data;
}

// `train` then `held_out` disjoint sample lists (fixed seed).
struct Split {
  std::vector<int64_t> train, held_out;
};
inline Split split(int64_t train, int64_t held_out) {
  const TrainValSplit s = make_train_val_split(fashion_mnist_train().size(), held_out, train, 11);
  return {s.train, s.validation};
}

// The zoo's cnn teacher after `epochs` of Adam on `samples`, on `device`.
inline torch::jit::Module trained_teacher(const std::vector<int64_t>& samples, int epochs,
                                          c10::Device device) {
  torch::jit::Module teacher = build_model(zoo_spec("cnn"), 5);
  teacher.to(device);
  const ImageDataset& data = fashion_mnist_train();
  StageOptions o;
  o.stage = "gpu-test-teacher";
  o.optim.epochs = epochs;
  o.optim.batch_size = 128;
  o.optim.lr = 2e-3;
  o.log_every = 0;
  train_stage(teacher, {data.images, data.labels, samples}, {data.images, data.labels, {}}, o,
              nullptr, [](const nlohmann::json&) {});
  teacher.eval();
  return teacher;
}

inline LabellerSetup labeller_setup(const std::vector<int64_t>& samples, const std::string& dir) {
  LabellerSetup s;
  s.images = fashion_mnist_train().images;
  s.samples = samples;
  s.meta.teacher_sha256 = std::string(64, 'a');
  s.meta.dataset_fingerprint = fashion_mnist_train().fingerprint;
  s.meta.temperature = 4.0;
  s.meta.num_classes = fashion_mnist_train().num_classes;
  s.meta.producer = "condenser gpu test";
  s.batch_size = 256;
  s.soft_label_dir = dir;
  return s;
}

// Share of rows whose argmax agrees, for [N, C] logits.
inline double top1_agreement(const at::Tensor& a, const at::Tensor& b) {
  return a.argmax(1).eq(b.argmax(1)).to(torch::kDouble).mean().item<double>();
}

}  // namespace condenser::testing_util

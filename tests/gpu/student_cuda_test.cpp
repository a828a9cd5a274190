// Student training on CUDA: batches gathered into pinned host memory and
// copied host->device asynchronously (trainers/device.h), distillation steps
// from a soft-label table, and the CPU path of the same helpers unchanged.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/gpu/gpu_fixtures.h"
#include "trainers/device.h"

namespace condenser {
namespace {

using namespace testing_util;

const c10::Device kCpu(c10::kCPU);
const c10::Device kGpu(c10::kCUDA, 0);

TEST(DeviceCopy, CpuPathIsUnchanged) {
  const at::Tensor t = torch::rand({6, 3});
  EXPECT_EQ(to_device(t, kCpu).data_ptr(), t.data_ptr()) << "no copy on the CPU";
  const at::Tensor index = torch::tensor({4, 0, 2, 4}, torch::kLong);
  EXPECT_TRUE(torch::equal(gather_to_device(t, index, kCpu), t.index_select(0, index)));
}

TEST(StudentCuda, BatchesComeThroughPinnedMemoryAsynchronously) {
  CONDENSER_REQUIRE_CUDA();
  const at::Tensor images = fashion_mnist_train().images;
  const at::Tensor index = torch::arange(0, 3000, 7, torch::kLong);
  const at::Tensor staged = gather_pinned(images, index);
  EXPECT_TRUE(staged.is_pinned());
  EXPECT_TRUE(pinned_copy(images.narrow(0, 0, 64)).is_pinned());
  const at::Tensor on_gpu = gather_to_device(images, index, kGpu);
  ASSERT_TRUE(on_gpu.is_cuda());
  EXPECT_TRUE(torch::equal(on_gpu.cpu(), images.index_select(0, index)));
  const at::Tensor labels = fashion_mnist_train().labels.narrow(0, 0, 500);
  EXPECT_TRUE(torch::equal(to_device(labels, kGpu).cpu(), labels));
}

// Distils a small_cnn student from a teacher's logits on `device`.
double distil_student(const Split& s, const SoftTargets& soft, c10::Device device) {
  const ImageDataset& data = fashion_mnist_train();
  torch::jit::Module student = build_model(zoo_spec("small_cnn"), 9);
  student.to(device);
  StageOptions o;
  o.stage = "gpu-test-student";
  o.optim.epochs = 2;
  o.optim.batch_size = 128;
  o.optim.lr = 3e-3;
  o.log_every = 10;
  o.distill.soft = soft;
  o.distill.temperature = 4.0;
  o.distill.alpha = 0.9;
  int logged = 0;
  const StageResult r = train_stage(
      student, {data.images, data.labels, s.train}, {data.images, data.labels, s.held_out}, o,
      nullptr, [&](const nlohmann::json& j) {
        if (j.contains("loss")) {
          EXPECT_TRUE(std::isfinite(j["loss"].get<double>()));
          ++logged;
        }
      });
  EXPECT_GT(logged, 0);
  EXPECT_EQ(module_device(student), device);
  return r.val_accuracy;
}

TEST(StudentCuda, DistillationStepsOnCudaLearnAsOnTheCpu) {
  CONDENSER_REQUIRE_CUDA();
  const Split s = split(6000, 2000);
  const ImageDataset& data = fashion_mnist_train();
  torch::jit::Module teacher = trained_teacher(s.train, 2, kGpu);
  // Soft targets indexed by sample (one view): row = sample index.
  std::vector<int64_t> all(static_cast<size_t>(data.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  SoftTargets soft;
  soft.logits = predict(teacher, data.images, all, 1000);
  ASSERT_FALSE(soft.logits.is_cuda());
  const double gpu = distil_student(s, soft, kGpu);
  const double cpu = distil_student(s, soft, kCpu);
  std::cout << "student validation accuracy after 2 epochs: cuda " << gpu << ", cpu " << cpu
            << "\n";
  EXPECT_GT(gpu, 0.65);
  EXPECT_NEAR(gpu, cpu, 0.05);
}

}  // namespace
}  // namespace condenser

// teacher.precision: bf16 (bf16 weights for teacher inference): top-1 agrees
// with fp32 on >= 99% of held-out samples. Runs on the GPU when there is
// one (the configuration that matters) and on the CPU otherwise (LibTorch's
// CPU kernels take bf16 too), so the logic is checked on every machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "tests/common/temp_dir.h"
#include "tests/gpu/gpu_fixtures.h"

namespace condenser {
namespace {

using namespace testing_util;

c10::Device best_device() {
  return cuda_unavailable_reason().empty() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
}

at::Tensor logits_of(const TaskLogits& t, int64_t classes) {
  return torch::from_blob(const_cast<float*>(t.logits.data()), {t.rows, classes}).clone();
}

TEST(TeacherPrecision, Bf16TopOneAgreesWithFp32) {
  const c10::Device device = best_device();
  const bool gpu = device.is_cuda();
  const Split s = split(gpu ? 10000 : 3000, gpu ? 5000 : 2000);
  torch::jit::Module fp32 = trained_teacher(s.train, 1, device);
  torch::jit::Module bf16 = fp32.clone();
  set_teacher_precision(bf16, "bf16");
  for (const auto& p : bf16.parameters()) ASSERT_EQ(p.scalar_type(), at::kBFloat16);

  TempDir dir("bf16");
  const LabellerSetup setup = labeller_setup(s.held_out, dir.path);
  const LabelTask task{0, static_cast<int64_t>(s.held_out.size()), "unused.h5"};
  const at::Tensor a = logits_of(infer_task(fp32, setup, task), setup.meta.num_classes);
  const at::Tensor b = logits_of(infer_task(bf16, setup, task), setup.meta.num_classes);
  const double agreement = top1_agreement(a, b);
  RecordProperty("device", device.str());
  RecordProperty("top1_agreement", std::to_string(agreement));
  std::cout << "bf16 vs fp32 top-1 agreement on " << device << ": " << agreement << " over "
            << a.size(0) << " samples\n";
  EXPECT_GE(agreement, 0.99);
  EXPECT_TRUE(torch::isfinite(b).all().item<bool>());
}

TEST(TeacherPrecision, Fp32LeavesTheModuleAndAnythingElseIsAUsageError) {
  torch::jit::Module m = build_model(zoo_spec("small_cnn"), 1);
  set_teacher_precision(m, "fp32");
  for (const auto& p : m.parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat);
  try {
    set_teacher_precision(m, "fp8");
    FAIL() << "fp8 was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("teacher.precision: 'fp8'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace condenser

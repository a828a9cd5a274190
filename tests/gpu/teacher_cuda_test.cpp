// Teacher inference on CUDA writes shards whose logits match the CPU
// teacher's (cuDNN may use TF32 for convolutions, hence a tolerance).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/shards/shard_reader.h"
#include "tests/common/temp_dir.h"
#include "tests/gpu/gpu_fixtures.h"

namespace condenser {
namespace {

using namespace testing_util;

TEST(TeacherCuda, ShardLogitsMatchTheCpuTeacher) {
  CONDENSER_REQUIRE_CUDA();
  const Split s = split(4000, 0);
  torch::jit::Module cpu_teacher = trained_teacher(s.train, 1, c10::Device(c10::kCPU));
  torch::jit::Module gpu_teacher = cpu_teacher.clone();
  gpu_teacher.to(c10::Device(c10::kCUDA, 0));
  TempDir dir("gpu_teacher");
  const LabellerSetup setup = labeller_setup(s.train, dir.path);
  const LabelTask task{0, static_cast<int64_t>(s.train.size()), "shard-000000.h5"};

  const TaskLogits cpu = infer_task(cpu_teacher, setup, task);
  const ManifestEntry entry = label_task(gpu_teacher, setup, task);
  EXPECT_EQ(entry.rows, cpu.rows);
  const ShardData shard = read_shard(dir.path + "/shard-000000.h5");
  ASSERT_EQ(shard.rows, cpu.rows);
  EXPECT_EQ(shard.sample_index, cpu.sample_index);
  const int64_t classes = setup.meta.num_classes;
  const at::Tensor expected =
      torch::from_blob(const_cast<float*>(cpu.logits.data()), {cpu.rows, classes}).clone();
  const at::Tensor got =
      torch::from_blob(const_cast<float*>(shard.logits.data()), {shard.rows, classes}).clone();
  const double worst = (got - expected).abs().max().item<double>();
  const double scale = expected.abs().max().item<double>();
  RecordProperty("max_abs_diff", std::to_string(worst));
  EXPECT_TRUE(torch::allclose(got, expected, /*rtol=*/1e-2, /*atol=*/1e-2 * std::max(1.0, scale)))
      << "max |cuda - cpu| = " << worst << " at logit scale " << scale;
  EXPECT_GE(top1_agreement(got, expected), 0.999);
}

}  // namespace
}  // namespace condenser

// The labeller never writes what a shard must not hold: a teacher whose
// logits are NaN or infinite for one sample (or too large for float16
// storage) is refused with a UsageError naming that sample, and no shard file
// is created.
#include "worker/teacher_labeller.h"

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

// Logits [x.sum(), x.sum(), x.sum()] * scale; NaN for a sample whose pixels sum past 5.
torch::jit::Module teacher(double scale) {
  torch::jit::Module m("teacher");
  m.register_attribute("scale", c10::FloatType::get(), scale);
  m.define(R"(
    def forward(self, x):
        s = x.sum(dim=[1, 2, 3]).unsqueeze(1).repeat(1, 3) * self.scale
        return torch.where(s > 5.0 * self.scale, s / 0.0 * 0.0, s)
  )");
  return m;
}

LabellerSetup setup_for(const std::string& dir, LogitDType dtype) {
  LabellerSetup s;
  s.images = torch::full({16, 1, 2, 2}, 0.25);  // each sums to 1
  s.images[14].fill_(2.0);                       // sums to 8: NaN logits
  s.samples = {10, 11, 12, 13, 14, 15};
  s.meta.num_classes = 3;
  s.dtype = dtype;
  s.batch_size = 2;
  s.soft_label_dir = dir;
  return s;
}

std::string refusal(torch::jit::Module m, const LabellerSetup& setup, const LabelTask& task) {
  try {
    label_task(m, setup, task);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(TeacherLabeller, NonFiniteLogitsAreRefusedNamingTheSampleAndNothingIsWritten) {
  testing_util::TempDir dir("labeller");
  const LabellerSetup setup = setup_for(dir.path, LogitDType::kFloat32);
  const std::string error = refusal(teacher(1.0), setup, {0, 6, "shard-0.h5"});
  EXPECT_NE(error.find("training sample 14 is not finite"), std::string::npos) << error;
  EXPECT_FALSE(path_exists(dir.path + "/shard-0.h5"));
  EXPECT_FALSE(path_exists(dir.path + "/shard-0.h5.tmp"));
  // The samples before it label fine.
  torch::jit::Module good = teacher(1.0);
  const ManifestEntry ok = label_task(good, setup, {0, 4, "shard-1.h5"});
  EXPECT_EQ(ok.rows, 4);
  EXPECT_TRUE(path_exists(dir.path + "/shard-1.h5"));
}

TEST(TeacherLabeller, LogitsPastFloat16AreRefusedForFloat16Shards) {
  testing_util::TempDir dir("labeller");
  const LabellerSetup half = setup_for(dir.path, LogitDType::kFloat16);
  // 1e5 per sample: finite in float32, infinite in float16.
  const std::string error = refusal(teacher(1e5), half, {0, 2, "shard-0.h5"});
  EXPECT_NE(error.find("exceed float16's range"), std::string::npos) << error;
  EXPECT_NE(error.find("soft_labels.dtype=float32"), std::string::npos) << error;
  EXPECT_FALSE(path_exists(dir.path + "/shard-0.h5"));
  const LabellerSetup full = setup_for(dir.path, LogitDType::kFloat32);
  torch::jit::Module big = teacher(1e5);
  EXPECT_EQ(label_task(big, full, {0, 2, "shard-0.h5"}).rows, 2);
}

}  // namespace
}  // namespace condenser

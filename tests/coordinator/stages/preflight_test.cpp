// preflight: everything `run` would refuse late is refused up front, on a
// miniature Fashion-MNIST (28x28, a few dozen samples) and on TorchScript
// teachers built here that do not fit it.
#include "coordinator/stages/preflight.h"

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "coordinator/stages/preflight_teacher.h"
#include "core/errors.h"
#include "tests/common/temp_dir.h"
#include "trainers/model_io.h"

namespace condenser {
namespace {

using testing_util::TempDir;
using Bytes = std::vector<uint8_t>;

// A plain IDX file (gzread reads uncompressed files under a .gz name too).
void write_idx(const std::string& path, const std::vector<uint32_t>& dims, size_t bytes) {
  Bytes out = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<uint8_t>(d >> shift));
  }
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>((i * 37 + i / 784) % 10));
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
}

void write_split(const std::string& dir, const std::string& split, uint32_t n, uint32_t side = 28) {
  write_idx(dir + "/" + split + "-images-idx3-ubyte.gz", {n, side, side}, size_t(n) * side * side);
  write_idx(dir + "/" + split + "-labels-idx1-ubyte.gz", {n}, n);
}

// 40 training and 20 test samples; a config that fits them.
struct MiniJob {
  TempDir dir{"preflight"};
  Config config;
  MiniJob() {
    write_split(dir.path, "train", 40);
    write_split(dir.path, "t10k", 20);
    config.data.path = dir.path;
    config.data.validation_size = 10;
    config.runtime.threads = 1;
  }
};

std::string refusal(const Config& config) {
  try {
    preflight(config);
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "preflight passed";
  return "";
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in: " << text;
}

TEST(Preflight, AFittingConfigPassesAndCountsTheData) {
  MiniJob job;
  const PreflightReport report = preflight(job.config);
  EXPECT_EQ(report.data.train_samples, 30);
  EXPECT_EQ(report.data.validation_samples, 10);
  EXPECT_FALSE(report.teacher_probed);
  job.config.data.train_subset = 25;
  job.config.data.test_subset = 20;
  const DataPlan plan = check_data_sizes(job.config, report.dataset);
  EXPECT_EQ(plan.train_file_samples, 40);
  EXPECT_EQ(plan.test_file_samples, 20);
  EXPECT_EQ(plan.train_samples, 25);
  EXPECT_EQ(plan.test_samples, 20);
}

TEST(Preflight, RefusesWhatRunRefusedOnlyAfterTraining) {
  MiniJob job;
  Config c = job.config;
  c.soft_labels.format = "topk";
  c.soft_labels.top_k = 50;
  EXPECT_TRUE(Contains(refusal(c), "soft_labels.top_k = 50 exceeds the 10 classes"));
  c = job.config;
  c.prune.method = "nm";
  c.prune.nm_n = 4;
  c.prune.nm_m = 2;
  EXPECT_TRUE(Contains(refusal(c), "prune.nm_n = 4 must be smaller than prune.nm_m = 2"));
  c = job.config;
  c.student.model = "resnet";
  EXPECT_TRUE(Contains(refusal(c), "student.model: unknown model 'resnet'"));
  c = job.config;
  c.teacher.model = "vit";
  EXPECT_TRUE(Contains(refusal(c), "teacher.model: unknown model 'vit'"));
  c = job.config;
  c.runtime.device = "tpu";
  EXPECT_TRUE(Contains(refusal(c), "runtime.device: 'tpu' is not a device"));
  c = job.config;
  c.prune.exclude = "[conv9]";
  EXPECT_TRUE(Contains(refusal(c), "conv9"));
}

TEST(Preflight, EveryPruneMethodPassesWithItsDefaults) {
  MiniJob job;
  for (const char* method : {"global_magnitude", "layer_magnitude", "structured", "nm"}) {
    Config c = job.config;
    c.prune.method = method;
    c.prune.exclude = std::string(method) == "structured" ? "[]" : "auto";
    c.prune.stages = "[0.3, 0.6]";
    EXPECT_NO_THROW(preflight(c)) << method;
  }
}

TEST(Preflight, DataSizesAreCheckedAgainstTheHeaders) {
  MiniJob job;
  Config c = job.config;
  c.data.validation_size = 40;
  EXPECT_TRUE(Contains(refusal(c), "data.validation_size = 40 leaves nothing to train on"));
  c = job.config;
  c.data.train_subset = 31;
  EXPECT_TRUE(Contains(refusal(c), "data.train_subset = 31 is larger than the 30 training samples"));
  c = job.config;
  c.data.test_subset = 21;
  EXPECT_TRUE(Contains(refusal(c), "data.test_subset = 21 is larger than the 20 test samples"));
}

TEST(Preflight, DamagedDatasetFilesAreNamed) {
  MiniJob job;
  write_split(job.dir.path, "t10k", 20, /*side=*/10);
  EXPECT_TRUE(Contains(refusal(job.config), "t10k-images-idx3-ubyte.gz' holds 10x10 images"));
  write_split(job.dir.path, "t10k", 0);
  EXPECT_TRUE(Contains(refusal(job.config), "holds no samples"));
  write_idx(job.dir.path + "/t10k-images-idx3-ubyte.gz", {1000000, 1000, 1000}, 10);
  EXPECT_TRUE(Contains(refusal(job.config), "more than the 1 GiB"));
}

TEST(Preflight, ThreadsAreBoundedByTheCores) {
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0 || 4 * cores + 1 > 1024) GTEST_SKIP() << "core count unknown or too large";
  MiniJob job;
  job.config.runtime.threads = static_cast<int>(4 * cores + 1);
  EXPECT_TRUE(Contains(refusal(job.config), "runtime.threads = " + std::to_string(4 * cores + 1)));
}

// A TorchScript teacher with `body` as forward and a [3, 10] weight.
std::string save_teacher(const std::string& dir, const std::string& name, const std::string& body) {
  torch::jit::Module m("Teacher");
  m.register_parameter("weight", torch::ones({3, 10}), false);
  m.define("def forward(self, x):\n" + body);
  const std::string path = dir + "/" + name + ".pt";
  m.save(path);
  return path;
}

TEST(Preflight, TeacherProbeRefusesTeachersThatDoNotFit) {
  MiniJob job;
  const std::string d = job.dir.path;
  Config c = job.config;
  c.teacher.path = save_teacher(d, "good", "    return x.flatten(1)[:, :10] * 2.0\n");
  EXPECT_TRUE(preflight(c).teacher_probed);
  c.teacher.path = save_teacher(d, "linear", "    return torch.linear(x, self.weight)\n");
  EXPECT_TRUE(Contains(refusal(c), "fails on [4, 1, 28, 28] float32 inputs"));
  c.teacher.path = save_teacher(d, "classes", "    return x.flatten(1)[:, :3]\n");
  EXPECT_TRUE(Contains(refusal(c), "returns shape [4, 3] for 4 images; expected [4, 10]"));
  c.teacher.path = save_teacher(d, "fixed", "    return x.view(2, 784)[:, :10]\n");
  EXPECT_TRUE(Contains(refusal(c), "shape '[2, 784]' is invalid"));
  c.teacher.path = save_teacher(d, "nan", "    return x.flatten(1)[:, :10] * float('nan')\n");
  EXPECT_TRUE(Contains(refusal(c), "NaN or infinite logits"));
  c.teacher.path = save_teacher(
      d, "batch", "    y = x.flatten(1)[:, 200:210]\n    return y - y.mean(0, keepdim=True)\n");
  EXPECT_TRUE(Contains(refusal(c), "other logits in a batch of 4 than alone"));
  c.teacher.path = save_teacher(d, "big", "    return x.flatten(1)[:, :10] * 1.0e6 + 70000.0\n");
  preflight(c);  // float32 soft labels hold them
  c.soft_labels.dtype = "float16";
  EXPECT_TRUE(Contains(refusal(c), "beyond float16's range (65504); set soft_labels.dtype=float32"));
  c.soft_labels.dtype = "float32";
  c.teacher.path = d + "/missing.pt";
  EXPECT_TRUE(Contains(refusal(c), "not found"));
  c.teacher.path = d;
  EXPECT_TRUE(Contains(refusal(c), "is not a regular file"));
}

TEST(Preflight, LastLineDropsTheInterpreterTraceback) {
  EXPECT_EQ(last_line("The following operation failed.\nTraceback:\n  File x\n"
                      "RuntimeError: mat1 and mat2 shapes cannot be multiplied\n\n  "),
            "RuntimeError: mat1 and mat2 shapes cannot be multiplied");
  EXPECT_EQ(last_line("one line"), "one line");
  EXPECT_EQ(last_line(""), "");
}

}  // namespace
}  // namespace condenser

// Teacher labelling end to end in a temp dir: task planning, shards and
// manifest written by label_all, and soft labels read back (with the checks
// that refuse another teacher, a damaged shard or a missing sample).
#include "coordinator/stages/labelling.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/shards/manifest.h"
#include "data/shards/soft_label_table.h"
#include "tests/common/temp_dir.h"
#include "trainers/model_spec.h"
#include "trainers/training.h"

namespace condenser {
namespace {

using testing_util::TempDir;

const std::string kTeacherHash(64, 'b');
const std::string kFingerprint = "fashion-mnist/test-fingerprint";

TEST(PlanLabelTasks, CoversTheRangeExactlyWithNumberedNames) {
  struct Case {
    int64_t n, rows;
    size_t tasks;
  };
  for (const Case c : {Case{10, 4, 3}, Case{8, 4, 2}, Case{3, 100, 1}, Case{1, 1, 1}, Case{0, 5, 0},
                       Case{2500001, 1000000, 3}}) {
    const auto tasks = plan_label_tasks(c.n, c.rows);
    ASSERT_EQ(tasks.size(), c.tasks) << c.n << "/" << c.rows;
    int64_t next = 0;
    for (size_t i = 0; i < tasks.size(); ++i) {
      EXPECT_EQ(tasks[i].begin, next);
      EXPECT_GT(tasks[i].end, tasks[i].begin);
      EXPECT_LE(tasks[i].end - tasks[i].begin, c.rows);
      char name[32];
      std::snprintf(name, sizeof name, "shard-%06zu.h5", i);
      EXPECT_EQ(tasks[i].file, name);
      next = tasks[i].end;
    }
    EXPECT_EQ(next, c.n);
  }
  EXPECT_EQ(plan_label_tasks(10, 4)[0].file, "shard-000000.h5");
  EXPECT_EQ(plan_label_tasks(10, 4)[2].file, "shard-000002.h5");
  EXPECT_EQ(plan_label_tasks(10, 4)[2].end, 10);
}

// A labelled job in a temp dir: small_cnn teacher, 30 random images, 7
// scattered samples labelled in 3 shards (batch 2 inside each task).
struct Labelled {
  TempDir tmp;
  std::string dir, manifest_path;
  torch::jit::Module teacher = build_model(zoo_spec("small_cnn"), 21);
  at::Tensor images;
  std::vector<int64_t> samples = {3, 7, 8, 12, 20, 21, 29};
  LabellingResult result;

  Labelled() {
    dir = tmp.path + "/soft_labels";
    ensure_dir(dir);
    manifest_path = tmp.path + "/manifest.json";
    torch::manual_seed(2);
    images = torch::rand({30, 1, 28, 28});
    LabellerSetup setup;
    setup.images = images;
    setup.samples = samples;
    setup.meta.teacher_sha256 = kTeacherHash;
    setup.meta.dataset_fingerprint = kFingerprint;
    setup.meta.temperature = 4.0;
    setup.meta.num_classes = 10;
    setup.meta.producer = "labelling_test";
    setup.batch_size = 2;
    setup.soft_label_dir = dir;
    Manifest m;
    m.teacher_sha256 = kTeacherHash;
    m.dataset_fingerprint = kFingerprint;
    m.num_classes = 10;
    m.temperature = 4.0;
    result = label_all(teacher, setup, plan_label_tasks(7, 3), m, manifest_path);
  }

  SoftLabelSource source() const { return {dir, kTeacherHash, kFingerprint}; }
};

TEST(LabelAll, WritesShardsAndAManifestThatNamesThem) {
  Labelled job;
  EXPECT_EQ(job.result.teacher_forward_samples, 7);
  const Manifest m = load_manifest(job.manifest_path);
  EXPECT_EQ(m.teacher_sha256, kTeacherHash);
  EXPECT_EQ(m.dataset_fingerprint, kFingerprint);
  EXPECT_EQ(m.num_classes, 10);
  EXPECT_EQ(m.total_rows, 7);
  ASSERT_EQ(m.shards.size(), 3u);
  const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 3}, {3, 6}, {6, 7}};
  for (size_t i = 0; i < 3; ++i) {
    const ManifestEntry& e = m.shards[i];
    EXPECT_EQ(e.file, plan_label_tasks(7, 3)[i].file);
    EXPECT_EQ(e.task_begin, ranges[i].first);
    EXPECT_EQ(e.task_end, ranges[i].second);
    EXPECT_EQ(e.rows, ranges[i].second - ranges[i].first);
    EXPECT_EQ(e.sha256, sha256_file(job.dir + "/" + e.file));
    EXPECT_EQ(e.sha256, job.result.manifest.shards[i].sha256);
  }
  EXPECT_FALSE(path_exists(job.manifest_path + ".tmp"));
}

TEST(LabelAll, SoftLabelsAreThePredictLogitsOfTheLabelledSamplesAndNanElsewhere) {
  Labelled job;
  const Manifest m = load_manifest(job.manifest_path);
  const at::Tensor table = load_soft_labels(job.source(), m, 30, job.samples).logits;
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{30, 10}));
  ASSERT_EQ(table.scalar_type(), torch::kFloat32);
  job.teacher.train();  // predict must use eval mode, as the labeller does
  // predict() over each task's samples in the labeller's batches of 2: conv
  // results differ by ~1e-6 when the batch composition differs.
  std::vector<at::Tensor> parts;
  for (const LabelTask& t : plan_label_tasks(7, 3)) {
    parts.push_back(predict(job.teacher, job.images,
                            {job.samples.begin() + t.begin, job.samples.begin() + t.end}, 2));
  }
  const at::Tensor expected = torch::cat(parts);
  std::vector<bool> labelled(30, false);
  for (size_t r = 0; r < job.samples.size(); ++r) {
    const int64_t s = job.samples[r];
    labelled[size_t(s)] = true;
    EXPECT_TRUE(torch::allclose(table[s], expected[int64_t(r)], /*rtol=*/0, /*atol=*/1e-6))
        << "sample " << s << ": max |difference| "
        << (table[s] - expected[int64_t(r)]).abs().max().item<double>();
  }
  for (int64_t s = 0; s < 30; ++s) {
    if (!labelled[size_t(s)]) EXPECT_TRUE(table[s].isnan().all().item<bool>()) << s;
  }
  // Rows differ between samples: a mixed-up sample index would show.
  EXPECT_FALSE(torch::allclose(table[3], table[7]));
}

void expect_refused(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no UsageError";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << n << " in: " << msg;
  }
}

TEST(LoadSoftLabels, AnotherTeacherOrDatasetIsRefusedNamingBothHashes) {
  Labelled job;
  const Manifest m = load_manifest(job.manifest_path);
  const std::string other(64, 'c');
  expect_refused(
      [&] {
        load_soft_labels({job.dir, other, kFingerprint}, m, 30, {});
      },
      {kTeacherHash, other});
  expect_refused(
      [&] {
        load_soft_labels({job.dir, kTeacherHash, "other-data"}, m, 30, {});
      },
      {kFingerprint, "other-data"});
  // A shard whose own attributes disagree with a (forged) manifest is refused too.
  Manifest forged = m;
  forged.teacher_sha256 = other;
  expect_refused(
      [&] {
        load_soft_labels({job.dir, other, kFingerprint}, forged, 30, {});
      },
      {kTeacherHash, other, "shard-000000.h5"});
}

TEST(LoadSoftLabels, AShardWithAFlippedByteIsRefusedNamingTheFile) {
  Labelled job;
  const Manifest m = load_manifest(job.manifest_path);
  const std::string path = job.dir + "/shard-000001.h5";
  std::string bytes = read_file(path);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  expect_refused([&] { load_soft_labels(job.source(), m, 30, job.samples); }, {path});
}

TEST(LoadSoftLabels, AMissingShardIsRefusedNamingTheFile) {
  Labelled job;
  const Manifest m = load_manifest(job.manifest_path);
  std::filesystem::remove(job.dir + "/shard-000002.h5");
  expect_refused([&] { load_soft_labels(job.source(), m, 30, {}); }, {"shard-000002.h5"});
}

TEST(LoadSoftLabels, ARequiredSampleWithoutASoftLabelIsAUsageError) {
  Labelled job;
  const Manifest m = load_manifest(job.manifest_path);
  EXPECT_NO_THROW(load_soft_labels(job.source(), m, 30, {3, 29}));
  expect_refused([&] { load_soft_labels(job.source(), m, 30, {3, 4, 29}); }, {"sample 4"});
  // Only part of the manifest (as after an interrupted labelling): the
  // samples of the dropped shard are missing.
  Manifest partial = m;
  partial.shards.pop_back();
  expect_refused([&] { load_soft_labels(job.source(), partial, 30, job.samples); }, {"sample 29"});
}

}  // namespace
}  // namespace condenser

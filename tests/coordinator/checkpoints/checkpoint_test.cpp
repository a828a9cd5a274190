// The checkpoint format on its own: what a resumed job relies on is that a
// checkpoint reads back exactly as written, that a damaged file is named and
// skipped for an older checkpoint, and that retention keeps what a rollback
// or a "best" export needs.
#include "coordinator/checkpoints/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "coordinator/checkpoints/checkpoint_inspect.h"
#include "core/errors.h"
#include "core/files.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

Checkpoint make_checkpoint(int64_t step, double val_accuracy = -1, bool stage_done = false) {
  Checkpoint c;
  c.stage = "distill";
  c.stage_done = stage_done;
  c.job_step = step;
  c.val_accuracy = val_accuracy;
  c.resume.cursor = {2, 7, step, 1.25, 40};
  c.resume.optimizer = "optimizer bytes " + std::to_string(step);
  c.resume.rng_states = torch::arange(16, torch::kUInt8).view({1, 16});
  c.report = {{"stages", nlohmann::json::array({{{"stage", "teacher"}}})}};
  c.config = {{"seed", "7"}, {"student.model", "small_cnn"}};
  torch::manual_seed(static_cast<uint64_t>(step));
  c.weights = {{"l0_w", torch::randn({4, 3})}, {"l0_b", torch::randn({4})}};
  c.masks.set("l0_w", torch::ones({4, 3}).index_fill_(1, torch::tensor({0}), 0.0));
  return c;
}

void flip_a_byte(const std::string& path) {
  std::string bytes = read_file(path);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(Checkpoint, ReadsBackExactlyAsWritten) {
  TempDir dir("ckpt");
  const Checkpoint c = make_checkpoint(12, 0.75);
  const std::string path = write_checkpoint(dir.path, c, 3);
  EXPECT_EQ(path, dir.path + "/step-00000012");
  const Checkpoint r = load_checkpoint(path);
  EXPECT_EQ(r.stage, "distill");
  EXPECT_EQ(r.job_step, 12);
  EXPECT_DOUBLE_EQ(r.val_accuracy, 0.75);
  EXPECT_EQ(r.resume.cursor.epoch, 2);
  EXPECT_EQ(r.resume.cursor.batch, 7);
  EXPECT_EQ(r.resume.cursor.steps, 12);
  EXPECT_DOUBLE_EQ(r.resume.cursor.loss_sum, 1.25);
  EXPECT_EQ(r.resume.optimizer, c.resume.optimizer);
  EXPECT_TRUE(torch::equal(r.resume.rng_states, c.resume.rng_states));
  EXPECT_EQ(r.report, c.report);
  EXPECT_EQ(r.config, c.config);
  ASSERT_EQ(r.weights.size(), 2u);
  for (const auto& [name, t] : c.weights) EXPECT_TRUE(torch::equal(r.weights.at(name), t)) << name;
  EXPECT_TRUE(torch::equal(r.masks.masks().at("l0_w"), c.masks.masks().at("l0_w")));
}

TEST(Checkpoint, DamagedFileIsNamedAndTheOlderOneIsUsed) {
  TempDir dir("ckpt");
  write_checkpoint(dir.path, make_checkpoint(10), 5);
  const std::string newest = write_checkpoint(dir.path, make_checkpoint(20), 5);
  flip_a_byte(newest + "/weights.pt");
  try {
    load_checkpoint(newest);
    FAIL() << "a damaged weights.pt was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("weights.pt"), std::string::npos) << e.what();
  }
  const auto fallback = load_latest_checkpoint(dir.path);
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(fallback->job_step, 10);
  const CheckpointInspection seen = inspect_checkpoints(dir.path);
  EXPECT_FALSE(seen.ok);
  EXPECT_NE(seen.text.find("step-00000020"), std::string::npos) << seen.text;
}

TEST(Checkpoint, RetentionKeepsNewestBestAndLatestStageEnd) {
  TempDir dir("ckpt");
  write_checkpoint(dir.path, make_checkpoint(1, 0.9), 2);                 // best
  write_checkpoint(dir.path, make_checkpoint(2, 0.5, /*stage_done=*/true), 2);  // stage end
  write_checkpoint(dir.path, make_checkpoint(3, 0.6), 2);
  write_checkpoint(dir.path, make_checkpoint(4), 2);
  write_checkpoint(dir.path, make_checkpoint(5), 2);
  const std::vector<std::string> kept = list_checkpoints(dir.path);
  EXPECT_EQ(kept, (std::vector<std::string>{"step-00000005", "step-00000004", "step-00000002",
                                            "step-00000001"}));
  const auto stage_end = load_latest_stage_end(dir.path);
  ASSERT_TRUE(stage_end.has_value());
  EXPECT_EQ(stage_end->job_step, 2);
  EXPECT_EQ(load_latest_checkpoint(dir.path)->job_step, 5);
}

TEST(Checkpoint, ConfigDifferencesIgnoreWhatMayChangeOnResume) {
  const std::map<std::string, std::string> saved = {
      {"seed", "1"}, {"logging.level", "info"}, {"runtime.threads", "2"}, {"student.alpha", "0.9"}};
  std::map<std::string, std::string> now = saved;
  now["logging.level"] = "debug";
  now["runtime.threads"] = "8";
  EXPECT_TRUE(config_differences(saved, now).empty());
  now["student.alpha"] = "0.5";
  EXPECT_EQ(config_differences(saved, now),
            std::vector<std::string>{"student.alpha (0.9 -> 0.5)"});
}

TEST(Checkpoint, InspectingAFolderWithoutCheckpointsIsAUsageError) {
  TempDir dir("ckpt");
  EXPECT_THROW(inspect_checkpoints(dir.path), UsageError);
}

}  // namespace
}  // namespace condenser

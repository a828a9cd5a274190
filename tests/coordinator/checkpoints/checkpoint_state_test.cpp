// state.json is covered by its own checksum and read field by field: an
// edited cursor, a torn or mistyped state is a damaged checkpoint (named, and
// the previous one resumed from; never an older stage end to roll back to),
// never trusted and never a raw JSON exception; a write that fails (a full
// disk) leaves no half-written checkpoint, nor does a NaN weight.
#include <dirent.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <limits>

#include "coordinator/checkpoints/checkpoint.h"
#include "coordinator/checkpoints/checkpoint_inspect.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "tests/common/file_size_limit.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

Checkpoint make_checkpoint(int64_t step, bool stage_done = false) {
  Checkpoint c;
  c.stage = "distill";
  c.stage_done = stage_done;
  c.job_step = step;
  c.resume.cursor = {2, 7, step, 1.25, 40};
  c.resume.optimizer = "optimizer bytes " + std::to_string(step);
  c.resume.rng_states = torch::arange(16, torch::kUInt8).view({1, 16});
  c.report = {{"stages", nlohmann::json::array({{{"stage", "teacher"}, {"loss", 0.1}}})}};
  c.config = {{"seed", "7"}, {"student.model", "small_cnn"}};
  c.weights = {{"l0_w", torch::randn({4, 3})}};
  return c;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// The message of the UsageError that loading `dir` throws ("" if none).
std::string load_error(const std::string& dir) {
  try {
    load_checkpoint(dir);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointState, AnEditedCursorFailsTheChecksumAndTheOlderOneIsUsed) {
  TempDir dir("ckpt_state");
  write_checkpoint(dir.path, make_checkpoint(10), 5);
  const std::string newest = write_checkpoint(dir.path, make_checkpoint(20), 5);
  nlohmann::json state = read_json(newest + "/state.json");
  state["cursor"]["epoch"] = 3;  // one digit: 2 -> 3
  write_text(newest + "/state.json", state.dump(1));
  const std::string error = load_error(newest);
  EXPECT_NE(error.find("state.json"), std::string::npos) << error;
  EXPECT_NE(error.find("SHA-256"), std::string::npos) << error;
  ASSERT_TRUE(load_latest_checkpoint(dir.path).has_value());
  EXPECT_EQ(load_latest_checkpoint(dir.path)->job_step, 10);
  const CheckpointInspection seen = inspect_checkpoints(dir.path);
  EXPECT_FALSE(seen.ok);
  EXPECT_NE(seen.text.find("step-00000020: BAD"), std::string::npos) << seen.text;
}

TEST(CheckpointState, TornOrMistypedStatesAreDamagedNotRawJsonErrors) {
  TempDir dir("ckpt_state");
  write_checkpoint(dir.path, make_checkpoint(10), 5);
  const std::string newest = write_checkpoint(dir.path, make_checkpoint(20), 5);
  const std::string state_path = newest + "/state.json";
  const std::string good = read_file(state_path);
  for (const std::string& text : {std::string("[]"), std::string(""), good.substr(0, 100),
                                  std::string("{\"cursor\": 1}")}) {
    write_text(state_path, text);
    const std::string error = load_error(newest);
    EXPECT_NE(error.find("state.json"), std::string::npos) << text << ": " << error;
    ASSERT_TRUE(load_latest_checkpoint(dir.path).has_value());
    EXPECT_EQ(load_latest_checkpoint(dir.path)->job_step, 10);
  }
  // A state whose checksum matches but whose cursor is missing or mistyped
  // (a forger, or a future format): still a named, typed error.
  for (const bool drop : {true, false}) {
    nlohmann::json state = nlohmann::json::parse(good);
    state.erase("state_sha256");
    if (drop) {
      state.erase("cursor");
    } else {
      state["cursor"]["epoch"] = "two";
    }
    const std::string body = state.dump();
    state["state_sha256"] = sha256_hex(body.data(), body.size());
    write_text(state_path, state.dump(1));
    const std::string error = load_error(newest);
    EXPECT_NE(error.find("missing or mistyped field"), std::string::npos) << error;
  }
}

TEST(CheckpointState, ATamperedStateIsNeverSkippedForAnOlderStageEnd) {
  TempDir dir("ckpt_state");
  write_checkpoint(dir.path, make_checkpoint(10, /*stage_done=*/true), 5);
  const std::string newest = write_checkpoint(dir.path, make_checkpoint(20, true), 5);
  write_text(newest + "/state.json", "{}");
  // step 20 may be the stage end a prune attempt must roll back to: step 10
  // would be another state.
  try {
    load_latest_stage_end(dir.path);
    ADD_FAILURE() << "an older stage end was used instead of a damaged newer one";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("step-00000020 or run with --resume none"),
              std::string::npos)
        << e.what();
  }
  remove_tree(newest);
  ASSERT_TRUE(load_latest_stage_end(dir.path).has_value());
  EXPECT_EQ(load_latest_stage_end(dir.path)->job_step, 10);
}

TEST(CheckpointState, AFailedWriteNamesItsCauseAndLeavesNoTemporaryDirectory) {
  TempDir dir("ckpt_state");
  write_checkpoint(dir.path, make_checkpoint(10), 5);
  Checkpoint big = make_checkpoint(20);
  big.weights["l1_w"] = torch::randn({64, 64});  // past the limit below
  {
    testing_util::FileSizeLimit limit(8192);
    try {
      write_checkpoint(dir.path, big, 5);
      ADD_FAILURE() << "a checkpoint was written past the file size limit";
    } catch (const RuntimeFailure& e) {
      EXPECT_NE(std::string(e.what()).find("File too large"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(list_checkpoints(dir.path), std::vector<std::string>{"step-00000010"});
  EXPECT_EQ(read_file(dir.path + "/latest"), "step-00000010\n");
  EXPECT_EQ(load_latest_checkpoint(dir.path)->job_step, 10);
  // Nothing else in the folder: no temporary directory of the failed write.
  int entries = 0;
  if (DIR* d = opendir(dir.path.c_str())) {
    while (dirent* e = readdir(d)) entries += std::string(e->d_name).rfind(".step-", 0) == 0;
    closedir(d);
  }
  EXPECT_EQ(entries, 0);
}

TEST(CheckpointState, NonFiniteWeightsAreNeverCheckpointed) {
  TempDir dir("ckpt_state");
  write_checkpoint(dir.path, make_checkpoint(10), 5);
  Checkpoint bad = make_checkpoint(20);
  bad.weights["l0_w"][1][2] = std::numeric_limits<float>::infinity();
  try {
    write_checkpoint(dir.path, bad, 5);
    ADD_FAILURE() << "a checkpoint with an infinite weight was written";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("distill: l0_w is not finite (NaN or inf) at job step 20"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(list_checkpoints(dir.path), std::vector<std::string>{"step-00000010"});
}

}  // namespace
}  // namespace condenser

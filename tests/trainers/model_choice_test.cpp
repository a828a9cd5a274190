// Which student a config makes: a declared student started from a file's
// weights (student.layers with student.path, as when pruning a teacher)
// computes what the file computes; a file that does not fit the declared
// layers is refused naming the tensor.
#include "trainers/model_choice.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "tests/common/temp_dir.h"
#include "tests/trainers/lm_test_models.h"
#include "trainers/model_io.h"

namespace condenser {
namespace {

using testing_util::TempDir;

constexpr const char* kLayers =
    "[{embedding: 16, positions: rotary}, {block: 2, mlp: 32, repeat: 2}, layer_norm, lm_head]";

DatasetInfo tokens() {
  DatasetInfo data;
  data.kind = "tokens";
  data.sample_shape = {8};
  data.seq_len = 8;
  data.num_classes = 40;
  data.stored_dtype = "uint16";
  return data;
}

// A "teacher" file: the declared layers, built and moved off their start.
std::string saved_model(const TempDir& tmp, const char* layers) {
  torch::jit::Module m = build_model(testing_util::lm_spec(layers, 40, 8), 11);
  testing_util::perturb(m, 5, 0.05);
  const std::string path = tmp.path + "/teacher.pt";
  save_module(m, path);
  return path;
}

TEST(ModelChoice, DeclaredStudentStartsFromTheFilesWeights) {
  TempDir tmp("choice");
  Config config;
  config.student.layers = kLayers;
  config.student.path = saved_model(tmp, kLayers);
  ASSERT_TRUE(student_spec(config, tokens()).has_value());  // declared: prunable
  torch::jit::Module student = fresh_student(config, tokens());
  torch::jit::Module file = load_module(config.student.path, "teacher");
  const at::Tensor ids = testing_util::random_ids(3, 8, 40, 1);
  EXPECT_TRUE(torch::equal(testing_util::logits(student, ids), testing_util::logits(file, ids)));
  EXPECT_NE(student_description(config).find("started from " + config.student.path),
            std::string::npos);
  config.student.path.clear();  // without the file: the job's own initial weights
  torch::jit::Module fresh = fresh_student(config, tokens());
  EXPECT_FALSE(torch::equal(testing_util::logits(fresh, ids), testing_util::logits(file, ids)));
}

TEST(ModelChoice, AFileThatDoesNotFitTheDeclaredLayersIsRefusedNamingTheTensor) {
  TempDir tmp("choice");
  Config config;
  config.student.path = saved_model(tmp, kLayers);
  const auto refused = [&](const char* layers, const std::string& words) {
    config.student.layers = layers;
    try {
      fresh_student(config, tokens());
      ADD_FAILURE() << layers;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused("[{embedding: 16, positions: rotary}, {block: 2, mlp: 24, repeat: 2}, layer_norm, "
          "lm_head]",
          "there, [24");
  refused("[{embedding: 16, positions: rotary}, {block: 2, mlp: 32, repeat: 1}, layer_norm, "
          "lm_head]",
          "'l2_w' is not in the file");  // l2: a block in the file, the final norm here
  // A teacher still takes one source only.
  config.teacher.path = config.student.path;
  config.teacher.layers = kLayers;
  config.student.layers = kLayers;
  EXPECT_THROW(check_models(config, tokens(), testing_util::random_ids(2, 8, 40, 1)), UsageError);
}

}  // namespace
}  // namespace condenser

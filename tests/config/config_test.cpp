#include "config/config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "config/config_schema.h"
#include "config/prune_plan.h"
#include "core/errors.h"
#include "core/text_distance.h"

namespace condenser {
namespace {

// gmock is not linked here, so a tiny substring check stands in for HasSubstr.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in: " << text;
}

// The scalar at a dotted key of a parsed YAML tree (undefined when absent).
YAML::Node lookup(const YAML::Node& node, const std::string& key) {
  const std::size_t dot = key.find('.');
  if (dot == std::string::npos) return node[key];
  return lookup(node[key.substr(0, dot)], key.substr(dot + 1));
}

// Exact, field-by-field equality through the schema (Config has no operator==).
void expect_same(Config a, Config b) {
  for (const FieldSpec& field : config_fields()) {
    std::visit([&](const auto& ref) { EXPECT_EQ(ref(a), ref(b)) << field.key; }, field.ref);
  }
}

std::string usage_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a UsageError";
  return "";
}

std::string parse_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return usage_error([&] { parse_config(yaml, "configs/x.yaml", overrides); });
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/condenser_config_test_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(ConfigTest, EmptyOrCommentOnlyFileGivesDefaults) {
  expect_same(load_config(write_temp("empty.yaml", "")), Config{});
  expect_same(load_config(write_temp("comments.yaml", "# nothing set\n---\n")), Config{});
  const Config c = load_config(write_temp("defaults.yaml", ""));
  EXPECT_EQ(c.student.train.epochs, 5);
  EXPECT_EQ(c.teacher.path, "");
  EXPECT_DOUBLE_EQ(c.soft_labels.temperature, 4.0);
}

TEST(ConfigTest, NestedAndDottedKeysLoad) {
  const Config c = parse_config(
      "name: exp1\n"
      "student:\n"
      "  model: tiny\n"
      "  train: {epochs: 0, lr: 1, optimizer: sgd}\n"
      "prune.finetune.batch_size: 64\n"
      "prune:\n"
      "  enabled: false\n"
      "teacher:\n"
      "  path:\n"
      "soft_labels:\n",
      "<string>");
  EXPECT_EQ(c.name, "exp1");
  EXPECT_EQ(c.student.model, "tiny");
  EXPECT_EQ(c.student.train.epochs, 0);
  EXPECT_EQ(c.student.train.lr, 1.0);  // a double accepts an integer
  EXPECT_EQ(c.student.train.optimizer, "sgd");
  EXPECT_EQ(c.prune.finetune.batch_size, 64);
  EXPECT_FALSE(c.prune.enabled);
  EXPECT_EQ(c.teacher.path, "");
  EXPECT_EQ(c.teacher.train.epochs, 5);  // untouched sections keep defaults
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndClosestKey) {
  const std::string e = parse_error("seed: 1\nstudent:\n  train:\n    epocs: 3\n");
  EXPECT_TRUE(Contains(e, "configs/x.yaml:4:"));
  EXPECT_TRUE(Contains(e, "unknown key 'student.train.epocs'"));
  EXPECT_TRUE(Contains(e, "did you mean 'student.train.epochs'?"));
  EXPECT_TRUE(Contains(parse_error("studnet:\n  model: a\n"), "did you mean 'student'?"));
  EXPECT_TRUE(
      Contains(parse_error("logging:\n  every_step: 5\n"), "did you mean 'logging.every_steps'?"));
}

TEST(ConfigTest, MisplacedKeySuggestsItsSection) {
  const std::string e = parse_error("student:\n  epochs: 3\n");
  EXPECT_TRUE(Contains(e, "configs/x.yaml:2:"));
  EXPECT_TRUE(Contains(e, "did you mean 'student.train.epochs'?"));
}

TEST(ConfigTest, UnknownKeyWithNothingCloseHasNoSuggestion) {
  const std::string e = parse_error("qqqqzzzz: 1\n");
  EXPECT_TRUE(Contains(e, "unknown key 'qqqqzzzz'"));
  EXPECT_FALSE(Contains(e, "did you mean"));
}

TEST(ConfigTest, WrongTypeNamesKeyExpectationAndValue) {
  const std::string yaml = "student:\n  train:\n    epochs: ";
  EXPECT_TRUE(Contains(parse_error(yaml + "abc\n"),
                       "configs/x.yaml:3: student.train.epochs: expected an integer >= 0, "
                       "got 'abc'"));
  EXPECT_TRUE(Contains(parse_error(yaml + "3.5\n"), "got '3.5'"));
  EXPECT_TRUE(Contains(parse_error(yaml + "\n"), "got an empty value"));
  EXPECT_TRUE(Contains(parse_error("student:\n  alpha: high\n"),
                       "student.alpha: expected a number in [0, 1], got 'high'"));
  EXPECT_TRUE(Contains(parse_error("prune:\n  enabled: yes\n"),
                       "prune.enabled: expected true or false, got 'yes'"));
}

TEST(ConfigTest, OutOfRangeValuesAreRejected) {
  EXPECT_TRUE(Contains(parse_error("student:\n  train:\n    epochs: -1\n"), "got '-1'"));
  EXPECT_TRUE(Contains(parse_error("student:\n  train:\n    lr: 0\n"), "a number > 0, got '0'"));
  EXPECT_TRUE(Contains(parse_error("teacher:\n  train:\n    momentum: 1\n"),
                       "teacher.train.momentum: expected a number in [0, 1), got '1'"));
  EXPECT_TRUE(Contains(parse_error("soft_labels:\n  shard_rows: 0\n"), "an integer >= 1"));
  EXPECT_TRUE(Contains(parse_error("prune:\n  sparsity: .nan\n"), "prune.sparsity"));
  EXPECT_TRUE(Contains(parse_error("seed: 99999999999\n"), "seed: expected an integer"));
}

TEST(ConfigTest, ChoiceRejectsOtherValuesWithSuggestion) {
  const std::string e = parse_error("student:\n  train:\n    optimizer: adamw\n");
  EXPECT_TRUE(Contains(e,
                       "configs/x.yaml:3: student.train.optimizer: expected one of adam|sgd, "
                       "got 'adamw'; did you mean 'adam'?"));
  EXPECT_TRUE(Contains(parse_error("soft_labels: {dtype: bf16}\n"), "one of float32|float16"));
  EXPECT_TRUE(Contains(parse_error("logging: {level: warning}\n"), "did you mean 'warn'?"));
  EXPECT_TRUE(Contains(parse_error("name: ''\n"), "name: expected a non-empty string"));
}

TEST(ConfigTest, MapWhereValueExpectedAndValueWhereSectionExpected) {
  EXPECT_TRUE(Contains(parse_error("name: a\nseed:\n  value: 3\n"),
                       "configs/x.yaml:2: seed: expected an integer >= 0, got a map"));
  EXPECT_TRUE(Contains(parse_error("data:\n  path: [a, b]\n"), "got a list"));
  const std::string e = parse_error("seed: 1\nstudent: small\n");
  EXPECT_TRUE(Contains(e, "configs/x.yaml:2: 'student' is a section"));
  EXPECT_TRUE(Contains(e, "got 'small'"));
  EXPECT_TRUE(Contains(parse_error("- a\n- b\n"), "expected a map of settings at the top level"));
}

TEST(ConfigTest, RepeatedKeyIsAnError) {
  EXPECT_TRUE(Contains(parse_error("seed: 1\nname: a\nseed: 2\n"),
                       "configs/x.yaml:3: 'seed' is given twice (first on line 1)"));
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  const std::string e = parse_error("seed: 1\nstudent:\n  train: [1, 2\n  model: x\n");
  EXPECT_TRUE(Contains(e, "configs/x.yaml:"));
  EXPECT_TRUE(Contains(e, "YAML syntax error"));
  EXPECT_TRUE(Contains(parse_error("a: 1\n---\nb: 2\n"), "one YAML document"));
}

TEST(ConfigTest, MissingFileIsAUsageError) {
  const std::string e = usage_error([] { load_config("no/such/dir/x.yaml"); });
  EXPECT_TRUE(Contains(e, "config file 'no/such/dir/x.yaml' not found"));
  const std::string path = write_temp("hint.yaml", "");
  const std::string stem = path.substr(0, path.size() - 5);
  EXPECT_TRUE(Contains(usage_error([&] { load_config(stem); }), "did you mean '" + path + "'"));
  EXPECT_TRUE(Contains(usage_error([] { load_config(::testing::TempDir()); }), "is a folder"));
}

TEST(ConfigTest, OverridesApplyInOrderAfterTheFile) {
  const std::string path = write_temp("ovr.yaml", "student:\n  train:\n    epochs: 2\n");
  const Config c =
      load_config(path, {"student.train.epochs=3", "teacher.path=/t.pt", "student.train.epochs=7",
                         "student.train.lr=1e-5", "name='quoted: name'", "teacher.path="});
  EXPECT_EQ(c.student.train.epochs, 7);
  EXPECT_EQ(c.student.train.lr, 1e-5);
  EXPECT_EQ(c.name, "quoted: name");
  EXPECT_EQ(c.teacher.path, "");
}

TEST(ConfigTest, OverridesAreValidatedLikeTheFile) {
  EXPECT_TRUE(Contains(parse_error("", {"student.train.epochs=abc"}),
                       "override 'student.train.epochs=abc': expected an integer >= 0, "
                       "got 'abc'"));
  const std::string unknown = parse_error("", {"student.train.epocs=3"});
  EXPECT_TRUE(Contains(unknown, "override 'student.train.epocs=3': unknown key"));
  EXPECT_TRUE(Contains(unknown, "did you mean 'student.train.epochs'?"));
  EXPECT_TRUE(Contains(parse_error("", {"student.train.epochs"}), "expected key=value"));
  EXPECT_TRUE(Contains(parse_error("", {"student=3"}), "'student' is a section"));
  EXPECT_TRUE(Contains(parse_error("", {"=3"}), "missing the key"));
  EXPECT_TRUE(Contains(parse_error("", {"seed=[1"}), "not valid YAML"));
  EXPECT_TRUE(Contains(parse_error("", {"prune.sparsity=1"}), "in [0, 1)"));
}

TEST(ConfigTest, YamlRoundTripGivesAnEqualConfig) {
  Config c;
  c.name = "true";  // strings that look like other types must come back as strings
  c.data.path = "/data/a: b # c";
  c.teacher.model = "123";
  c.teacher.path = "";
  c.student.model = "null";
  c.seed = 0;
  c.student.train.lr = 0.001;
  c.teacher.train.lr = 1e-5;
  c.prune.finetune.lr = 0.1 + 0.2;  // needs all 17 digits
  c.student.alpha = 1.0 / 3.0;
  c.teacher.train.weight_decay = 5e-324;
  c.soft_labels.temperature = 1e300;
  c.prune.enabled = false;
  c.logging.level = "trace";
  const std::string yaml = config_to_yaml(c);
  expect_same(parse_config(yaml, "<round trip>"), c);
  expect_same(parse_config(config_to_yaml(Config{}), "<defaults>"), Config{});
  EXPECT_TRUE(Contains(yaml, "lr: 0.001"));
  EXPECT_TRUE(Contains(yaml, "lr: 1.0e-05"));
}

TEST(ConfigTest, YamlNestsEveryKeyInSchemaOrder) {
  const YAML::Node root = YAML::Load(config_to_yaml(Config{}));
  for (const std::string& key : config_keys()) EXPECT_TRUE(lookup(root, key).IsScalar()) << key;
  const std::string yaml = config_to_yaml(Config{});
  EXPECT_LT(yaml.find("name:"), yaml.find("seed:"));
  EXPECT_LT(yaml.find("teacher:"), yaml.find("student:"));
  EXPECT_TRUE(Contains(yaml, "student:\n  model: small_cnn"));
}

TEST(ConfigTest, KeysCoverTheStructWithoutDuplicates) {
  const std::vector<std::string> keys = config_keys();
  const std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size());
  EXPECT_EQ(keys.size(), 82u);  // one per leaf field of Config in config.h
  for (const char* key :
       {"name", "seed", "runtime.threads", "data.validation_size", "teacher.path",
        "teacher.train.momentum", "soft_labels.shard_rows", "student.train.epochs",
        "prune.finetune.lr", "logging.every_steps", "budget.metric", "prune.calibration_samples",
        "prune.width_targets", "prune.block_importance"}) {
    EXPECT_TRUE(unique.count(key)) << key;
  }
  for (const FieldSpec& field : config_fields()) {
    EXPECT_FALSE(field.help.empty()) << field.key;
    EXPECT_FALSE(is_config_section(field.key)) << field.key;
  }
  EXPECT_TRUE(is_config_section("prune.finetune"));
}

TEST(ConfigTest, PruneStagesAreAYamlListOfStagesOrSparsities) {
  Config c = parse_config(
      "prune:\n  finetune: {epochs: 3, lr: 0.002}\n  stages:\n"
      "    - {sparsity: 0.5, epochs: 2}\n    - 0.8\n    - {sparsity: 0.9, lr: 0.0005}\n",
      "x.yaml");
  std::vector<PruneStep> steps = prune_steps(c.prune);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].sparsity, 0.5);
  EXPECT_EQ(steps[0].epochs, 2);
  EXPECT_EQ(steps[0].lr, 0.002);  // prune.finetune's
  EXPECT_EQ(steps[1].sparsity, 0.8);
  EXPECT_EQ(steps[1].epochs, 3);
  EXPECT_EQ(steps[2].lr, 0.0005);
  // The resolved config reads back to the same schedule; an override works too.
  const Config back = parse_config(config_to_yaml(c), "resolved.yaml");
  EXPECT_EQ(back.prune.stages, c.prune.stages);
  c = parse_config("", "x.yaml", {"prune.stages=[0.5, 0.7]"});
  EXPECT_EQ(prune_steps(c.prune).size(), 2u);
  // No stages: one stage at prune.sparsity; N:M: one stage at 1 - n/m.
  c = Config{};
  ASSERT_EQ(prune_steps(c.prune).size(), 1u);
  EXPECT_EQ(prune_steps(c.prune)[0].sparsity, c.prune.sparsity);
  c.prune.method = "nm";
  EXPECT_EQ(prune_steps(c.prune)[0].sparsity, 0.5);
  EXPECT_EQ(prune_exclusions(Config{}.prune), (std::vector<std::string>{"first", "last"}));
  c = Config{};
  c.prune.method = "structured";
  EXPECT_TRUE(prune_exclusions(c.prune).empty());  // auto: channels of every layer may go
  c.prune.exclude = "[first]";
  EXPECT_EQ(prune_exclusions(c.prune), (std::vector<std::string>{"first"}));
  c = parse_config("prune: {exclude: [], layer_sparsity: {l9_w: 0.95}}", "x.yaml");
  EXPECT_TRUE(prune_exclusions(c.prune).empty());
  EXPECT_EQ(prune_layer_targets(c.prune).at("l9_w"), 0.95);
}

TEST(ConfigTest, WidthTargetsAreFractionsOrAutoPerAxis) {
  WidthTargets t = prune_width_targets(Config{}.prune);
  EXPECT_FALSE(t.heads);
  EXPECT_FALSE(t.mlp);
  EXPECT_EQ(t.embedding, 0.0);
  Config c = parse_config("prune: {method: width, width_targets: {heads: 0.5, embedding: auto}}",
                          "x.yaml");
  t = prune_width_targets(c.prune);
  EXPECT_EQ(t.heads, 0.5);
  EXPECT_FALSE(t.mlp);
  EXPECT_FALSE(t.embedding);
  const WidthTargets half = t.scaled(0.5);
  EXPECT_EQ(half.heads, 0.25);
  EXPECT_FALSE(half.embedding);
  EXPECT_EQ(
      parse_config("", "x.yaml", {"prune.block_importance=perplexity"}).prune.block_importance,
      "perplexity");
  EXPECT_NE(parse_error("prune: {width_targets: {head: 0.5}}")
                .find("prune.width_targets: unknown axis 'head'; the axes are heads, mlp and "
                      "embedding"),
            std::string::npos);
  EXPECT_NE(parse_error("prune: {width_targets: {mlp: 1.0}}")
                .find("the cut of 'mlp' must be auto or a fraction in [0, 1)"),
            std::string::npos);
  EXPECT_NE(parse_error("prune: {width_targets: [0.5]}").find("expected a map"), std::string::npos);
  EXPECT_NE(parse_error("prune: {block_importance: ppl}").find("prune.block_importance"),
            std::string::npos);
}

TEST(ConfigTest, BadPruneStagesNameTheStageAndTheRule) {
  EXPECT_NE(parse_error("prune: {stages: [0.5, 0.4]}").find(
                "configs/x.yaml:1: prune.stages: stage 2 (prune.stages[1]): sparsity must rise"),
            std::string::npos);
  EXPECT_NE(parse_error("prune: {stages: [{sparsity: 0.5, epoch: 2}]}")
                .find("stage 1 (prune.stages[0]): unknown key 'epoch'; a stage takes sparsity, "
                      "epochs and lr"),
            std::string::npos);
  EXPECT_NE(parse_error("prune: {stages: [1.5]}").find("sparsity must be in (0, 1)"),
            std::string::npos);
  EXPECT_NE(parse_error("prune: {stages: [{epochs: 2}]}").find("missing sparsity"),
            std::string::npos);
  EXPECT_NE(parse_error("", {"prune.stages=0.5"}).find("expected a list of stages"),
            std::string::npos);
  EXPECT_NE(parse_error("prune: {layer_sparsity: {l9_w: 1.2}}")
                .find("the sparsity of 'l9_w' must be a number in [0, 1)"),
            std::string::npos);
  EXPECT_NE(parse_error("budget: {reference: techer}").find("did you mean 'teacher'?"),
            std::string::npos);
  Config nm = Config{};
  nm.prune.method = "nm";
  nm.prune.stages = "[0.5, 0.6]";
  EXPECT_NE(usage_error([&] { prune_steps(nm.prune); }).find("N:M pruning"), std::string::npos);
}

TEST(TextDistanceTest, CountsEditsAndAdjacentSwaps) {
  EXPECT_EQ(edit_distance("epochs", "epochs"), 0u);
  EXPECT_EQ(edit_distance("epochs", "epcohs"), 1u);
  EXPECT_EQ(edit_distance("epocs", "epochs"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(closest_match("sdg", {"adam", "sgd"}, 1), "sgd");
  EXPECT_EQ(closest_match("xyz", {"adam", "sgd"}, 1), "");
}

}  // namespace
}  // namespace condenser

// Interop: a shard written here must read back in h5py with the documented
// dtypes (int64, int32, float16/float32), values and UTF-8 attributes; a
// top-k shard must also match numpy's own top-k and logsumexp of the logits.
// Runs tests/interop/read_shard.py with CONDENSER_PYTHON.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/files.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_writer.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

// Runs read_shard.py on `shard` against `expected`; removes `dir` when it passes.
void run_read_shard_py(const std::string& dir, const std::string& shard,
                       const nlohmann::json& expected) {
  const std::string expected_path = dir + "/expected.json";
  atomic_write_file(expected_path, expected.dump(2));
  const std::string cmd = std::string(CONDENSER_PYTHON) + " " + CONDENSER_SOURCE_DIR +
                          "/tests/interop/read_shard.py " + shard + " " + expected_path;
  const int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc)) << cmd;
  EXPECT_EQ(WEXITSTATUS(rc), 0) << cmd;
  if (WEXITSTATUS(rc) == 0) testing_util::remove_tree(dir);  // keep it to debug a failure
}

void check_with_h5py(LogitDType dtype) {
  char tmpl[] = "/tmp/condenser_h5py_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string shard = dir + "/shard-000000.h5";

  ShardMeta meta;
  meta.teacher_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  meta.dataset_fingerprint = "fashion-mnist:train:größe";
  meta.temperature = 3.5;
  meta.num_classes = 4;
  meta.producer = "condenser shard_h5py_test";
  const std::vector<int64_t> idx = {0, 0, 3, 1LL << 33, 7};
  const std::vector<int32_t> view = {0, 1, 0, 1, 2};
  std::vector<float> logits;
  for (int i = 0; i < 20; ++i) logits.push_back(static_cast<float>(i) * 0.1f - 1.0f / 3.0f);
  logits[19] = 1.0f + 0x1p-11f;  // exact float16 tie: must round to even (1.0), as numpy does
  logits[18] = 65519.0f;         // rounds down to the largest half, 65504
  write_shard(shard, meta, idx, view, logits, dtype);

  // What h5py should see: float16 values are the half-rounded ones.
  std::vector<double> stored;
  for (float f : logits) {
    stored.push_back(dtype == LogitDType::kFloat16 ? half_to_float(float_to_half(f)) : f);
  }
  const nlohmann::json expected = {
      {"datasets",
       {{"sample_index", {{"dtype", "<i8"}, {"shape", {5}}, {"values", idx}}},
        {"view", {{"dtype", "<i4"}, {"shape", {5}}, {"values", view}}},
        {"logits",
         {{"dtype", dtype == LogitDType::kFloat16 ? "<f2" : "<f4"},
          {"shape", {5, 4}},
          {"values", stored},
          {"source", logits}}}}},
      {"attributes",
       {{"schema_version", 1},
        {"teacher_sha256", meta.teacher_sha256},
        {"dataset_fingerprint", meta.dataset_fingerprint},
        {"producer", meta.producer},
        {"temperature", 3.5},
        {"num_classes", 4},
        {"top_k", 0}}}};

  run_read_shard_py(dir, shard, expected);
}

TEST(ShardH5py, Float32ShardReadsInH5py) { check_with_h5py(LogitDType::kFloat32); }

TEST(ShardH5py, Float16ShardReadsInH5py) { check_with_h5py(LogitDType::kFloat16); }

TEST(ShardH5py, TopKShardReadsInH5pyAndMatchesNumpy) {
  char tmpl[] = "/tmp/condenser_h5py_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string shard = dir + "/shard-000000.h5";
  const int rows = 6, classes = 7, k = 3;
  const double temperature = 2.0;
  std::vector<float> logits;
  for (int i = 0; i < rows * classes; ++i) {
    logits.push_back(static_cast<float>((i * 37) % 11) * 1.3f - 5.0f / 3.0f);  // many ties
  }
  logits[0] = 40.0f;                // dominant class: exp(40 / T) needs the stable sum
  logits[7 + 6] = 1.0f + 0x1p-11f;  // a float16 tie in the top-k values
  ShardMeta meta;
  meta.teacher_sha256 = std::string(64, 'f');
  meta.dataset_fingerprint = "fp:größe";
  meta.temperature = temperature;
  meta.num_classes = classes;
  meta.top_k = k;
  meta.producer = "condenser shard_h5py_test";
  const std::vector<int64_t> idx = {0, 0, 1, 1, 2, 1LL << 33};
  const std::vector<int32_t> view = {0, 1, 0, 1, 0, 1};
  const TopK t = topk_from_logits(logits, rows, classes, k, temperature);
  write_topk_shard(shard, meta, idx, view, t.values, t.indices, t.logsumexp);
  const ShardData d = read_shard(shard);  // h5py must see exactly what the C++ reader returns
  const nlohmann::json expected = {
      {"datasets",
       {{"sample_index", {{"dtype", "<i8"}, {"shape", {rows}}, {"values", d.sample_index}}},
        {"view", {{"dtype", "<i4"}, {"shape", {rows}}, {"values", d.view}}},
        {"topk_values",
         {{"dtype", "<f2"}, {"shape", {rows, k}}, {"values", d.topk_values}, {"source", t.values}}},
        {"topk_indices", {{"dtype", "<i4"}, {"shape", {rows, k}}, {"values", d.topk_indices}}},
        {"logsumexp", {{"dtype", "<f4"}, {"shape", {rows}}, {"values", d.logsumexp}}}}},
      {"attributes",
       {{"schema_version", 1},
        {"teacher_sha256", meta.teacher_sha256},
        {"dataset_fingerprint", meta.dataset_fingerprint},
        {"temperature", temperature},
        {"num_classes", classes},
        {"top_k", k}}},
      {"topk_check",
       {{"logits", logits}, {"shape", {rows, classes}}, {"k", k}, {"temperature", temperature}}}};
  run_read_shard_py(dir, shard, expected);
}

}  // namespace
}  // namespace condenser

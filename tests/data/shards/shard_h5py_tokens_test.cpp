// Interop: token-window shards (positions P > 0) in every value format read
// in h5py with the documented dtypes and shapes (topk_values f4/f2/u2/u1,
// uint16 indices, logsumexp [N, P], int8 offset/step), and
// tests/interop/read_shard.py decodes the values to exactly what
// condenser's reader returns (bfloat16 also against torch's rounding).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/files.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_writer.h"
#include "data/shards/topk_codec.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

void check_format(TopKValueFormat format) {
  testing_util::TempDir tmp("h5py_tokens");
  const std::string shard = tmp.path + "/shard-000000.h5";
  const int rows = 3, p = 4, vocab = 1000, k = 5;
  const double temperature = 2.0;
  std::vector<float> logits;
  for (int i = 0; i < rows * p * vocab; ++i) {
    logits.push_back(static_cast<float>((i * 7919) % 1013) * 0.0123f - 3.3f);
  }
  ShardMeta meta;
  meta.teacher_sha256 = std::string(64, 'f');
  meta.dataset_fingerprint = "tokens:kjv";
  meta.temperature = temperature;
  meta.num_classes = vocab;
  meta.top_k = k;
  meta.positions = p;
  meta.value_format = format;
  meta.producer = "condenser shard_h5py_tokens_test";
  const TopK t = topk_from_logits(logits, rows * p, vocab, k, temperature);
  write_topk_shard(shard, meta, {5, 6, 7}, {0, 0, 0}, t.values, t.indices, t.logsumexp);
  const ShardData d = read_shard(shard);

  nlohmann::json values = {{"shape", {rows, p, k}}};
  if (format == TopKValueFormat::kFloat32 || format == TopKValueFormat::kFloat16) {
    values["dtype"] = format == TopKValueFormat::kFloat32 ? "<f4" : "<f2";
    values["values"] = d.topk_values;
  } else if (format == TopKValueFormat::kBFloat16) {
    std::vector<uint16_t> bits;
    for (float v : t.values) bits.push_back(float_to_bfloat16(v));
    values["dtype"] = "<u2";
    values["values"] = bits;
  } else {
    values["dtype"] = "|u1";
    values["values"] = encode_int8(t.values, k, temperature, Int8Scheme::kRange).codes;
  }
  nlohmann::json datasets = {
      {"sample_index", {{"dtype", "<i8"}, {"shape", {rows}}, {"values", d.sample_index}}},
      {"topk_values", values},
      {"topk_indices", {{"dtype", "<u2"}, {"shape", {rows, p, k}}, {"values", d.topk_indices}}},
      {"logsumexp", {{"dtype", "<f4"}, {"shape", {rows, p}}, {"values", d.logsumexp}}}};
  if (format == TopKValueFormat::kInt8) {
    const Int8Codes c = encode_int8(t.values, k, temperature, Int8Scheme::kRange);
    datasets["topk_offset"] = {{"dtype", "<f4"}, {"shape", {rows, p}}, {"values", c.offset}};
    datasets["topk_step"] = {{"dtype", "<f4"}, {"shape", {rows, p}}, {"values", c.step}};
  }
  const nlohmann::json expected = {
      {"datasets", datasets},
      {"attributes",
       {{"schema_version", 1}, {"num_classes", vocab}, {"top_k", k}, {"positions", p},
        {"value_format", value_format_name(format)}}},
      {"topk_check",
       {{"logits", logits}, {"shape", {rows * p, vocab}}, {"k", k}, {"temperature", temperature}}},
      {"decoded", {{"values", d.topk_values}, {"source", t.values}}}};
  const std::string expected_path = tmp.path + "/expected.json";
  atomic_write_file(expected_path, expected.dump());
  const std::string cmd = std::string(CONDENSER_PYTHON) + " " + CONDENSER_SOURCE_DIR +
                          "/tests/interop/read_shard.py " + shard + " " + expected_path;
  const int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc)) << cmd;
  EXPECT_EQ(WEXITSTATUS(rc), 0) << cmd;
}

TEST(ShardH5pyTokens, Float32) { check_format(TopKValueFormat::kFloat32); }
TEST(ShardH5pyTokens, Float16) { check_format(TopKValueFormat::kFloat16); }
TEST(ShardH5pyTokens, BFloat16) { check_format(TopKValueFormat::kBFloat16); }
TEST(ShardH5pyTokens, Int8) { check_format(TopKValueFormat::kInt8); }

}  // namespace
}  // namespace condenser

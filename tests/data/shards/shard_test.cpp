// Soft-label shards: write/read round trip, float16 rounding, layout
// (attributes, chunking), damaged files, manifest, and inspection.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/hdf5_check.h"
#include "data/shards/manifest.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_writer.h"
#include "tests/common/h5_chunks.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

// A fresh directory, removed with everything in it when the test ends.
using testing_util::TempDir;

ShardMeta test_meta(int classes) {
  ShardMeta m;
  m.teacher_sha256 = std::string(64, 'a');
  m.dataset_fingerprint = "fashion-mnist/train/é";  // non-ASCII survives UTF-8 attrs
  m.temperature = 4.0;
  m.num_classes = classes;
  m.producer = "shard_test";
  return m;
}

std::vector<float> ramp(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) * 0.37f - 11.125f;
  return v;
}

// Message contains every needle.
void expect_mentions(const std::string& msg, const std::vector<std::string>& needles) {
  for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << n << " in: " << msg;
}

TEST(ShardIO, Float32RoundTripIsExact) {
  TempDir tmp;
  const std::string path = tmp.path + "/shard-000000.h5";
  const std::vector<int64_t> idx = {5, 5, 9, 1LL << 40};
  const std::vector<int32_t> view = {0, 1, 0, 1};
  const std::vector<float> logits = ramp(4 * 3);
  write_shard(path, test_meta(3), idx, view, logits, LogitDType::kFloat32);
  EXPECT_FALSE(path_exists(path + ".tmp"));
  const ShardData d = read_shard(path);
  EXPECT_EQ(d.rows, 4);
  EXPECT_EQ(d.dtype, LogitDType::kFloat32);
  EXPECT_EQ(d.sample_index, idx);
  EXPECT_EQ(d.view, view);
  EXPECT_EQ(d.logits, logits);
  EXPECT_EQ(d.meta.schema_version, 1);
  EXPECT_EQ(d.meta.teacher_sha256, std::string(64, 'a'));
  EXPECT_EQ(d.meta.dataset_fingerprint, "fashion-mnist/train/é");
  EXPECT_EQ(d.meta.producer, "shard_test");
  EXPECT_EQ(d.meta.temperature, 4.0);
  EXPECT_EQ(d.meta.num_classes, 3);
  EXPECT_EQ(d.meta.top_k, 0);
  const ShardMeta meta = read_shard_meta(path);
  EXPECT_EQ(meta.teacher_sha256, d.meta.teacher_sha256);
  const ShardData index_only = read_shard_index(path);
  EXPECT_TRUE(index_only.logits.empty());
  EXPECT_EQ(index_only.sample_index, idx);
}

TEST(ShardIO, Float16RoundsToNearestEven) {
  const float one_ulp = std::ldexp(1.0f, -10);  // half spacing in [1, 2)
  const std::vector<std::pair<float, float>> cases = {
      {1.0f, 1.0f},
      {-2.0f, -2.0f},
      {0.1f, 0.0999755859375f},
      {1.0f + one_ulp / 2, 1.0f},                           // tie -> even (1.0)
      {1.0f + 3 * one_ulp / 2, 1.0f + 2 * one_ulp},         // tie -> even (mantissa 2)
      {1.0f + one_ulp / 2 + one_ulp / 64, 1.0f + one_ulp},  // just above a tie
      {65504.0f, 65504.0f},
      {65519.0f, 65504.0f},
      {65520.0f, INFINITY},
      {std::ldexp(1.0f, -24), std::ldexp(1.0f, -24)},  // smallest subnormal
      {std::ldexp(1.0f, -25), 0.0f},                   // tie with 0 -> 0
      {std::ldexp(1.5f, -25), std::ldexp(1.0f, -24)},
      {std::ldexp(3.0f, -25), std::ldexp(2.0f, -24)},  // subnormal tie -> even
  };
  std::vector<float> logits;
  for (const auto& c : cases) logits.push_back(c.first);
  const size_t rows = cases.size();
  std::vector<int64_t> idx(rows);
  std::vector<int32_t> view(rows, 0);
  for (size_t i = 0; i < rows; ++i) idx[i] = static_cast<int64_t>(i);
  TempDir tmp;
  const std::string path = tmp.path + "/half.h5";
  write_shard(path, test_meta(1), idx, view, logits, LogitDType::kFloat16);
  const ShardData d = read_shard(path);
  EXPECT_EQ(d.dtype, LogitDType::kFloat16);
  ASSERT_EQ(d.logits.size(), rows);
  for (size_t i = 0; i < rows; ++i) EXPECT_EQ(d.logits[i], cases[i].second) << "case " << i;
}

TEST(ShardIO, HalfConversionExhaustive) {
  // Every finite half round-trips, and every midpoint between neighbours
  // rounds to the one with an even mantissa.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    ASSERT_EQ(float_to_half(f), h);
    ASSERT_EQ(float_to_half(-f), h | 0x8000u);
    if (h + 1 < 0x7c00) {
      const float mid = (f + half_to_float(static_cast<uint16_t>(h + 1))) / 2;
      ASSERT_EQ(float_to_half(mid), (h & 1) ? h + 1 : h) << h;
    }
  }
  EXPECT_EQ(float_to_half(INFINITY), 0x7c00);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(NAN))));
}

TEST(ShardIO, ChunksAreAtMostOneMiB) {
  TempDir tmp;
  const std::string dir = tmp.path;
  for (int classes : {1000, 300000}) {  // 4000 B rows; then one row > 1 MiB
    const size_t rows = classes == 1000 ? 600 : 2;
    const std::string path = dir + "/c" + std::to_string(classes) + ".h5";
    write_shard(path, test_meta(classes), std::vector<int64_t>(rows, 0),
                std::vector<int32_t>(rows, 0), std::vector<float>(rows * classes, 1.0f),
                LogitDType::kFloat32);
    h5::File f(CONDENSER_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
    for (const char* name : {"sample_index", "view", "logits"}) {
      const testing_util::ChunkInfo chunk = testing_util::chunk_info(f, name);
      ASSERT_TRUE(chunk.chunked) << name;
      EXPECT_GE(chunk.rows, 1u) << name;
      if (classes == 1000) {
        EXPECT_LE(chunk.bytes, size_t{1} << 20) << name;
      } else if (std::string(name) == "logits") {
        EXPECT_EQ(chunk.rows, 1u);  // rows never split: one row per chunk
      }
      // 262 rows fit in 1 MiB; 600 rows split evenly into 3 chunks of 200.
      if (std::string(name) == "logits" && classes == 1000) EXPECT_EQ(chunk.rows, 200u);
    }
  }
}

TEST(ShardIO, SizeMismatchIsRuntimeFailure) {
  TempDir tmp;
  const std::string path = tmp.path + "/bad.h5";
  EXPECT_THROW(write_shard(path, test_meta(3), {1, 2}, {0}, ramp(6), LogitDType::kFloat32),
               RuntimeFailure);
  EXPECT_THROW(write_shard(path, test_meta(3), {1, 2}, {0, 0}, ramp(5), LogitDType::kFloat32),
               RuntimeFailure);
  EXPECT_FALSE(path_exists(path));
}

TEST(ShardIO, DamagedFilesAreUsageErrorsNamingTheFile) {
  TempDir tmp;
  const std::string dir = tmp.path;
  const std::string good = dir + "/good.h5";
  write_shard(good, test_meta(10), std::vector<int64_t>(100, 1), std::vector<int32_t>(100, 0),
              ramp(1000), LogitDType::kFloat32);
  const std::string bytes = read_file(good);

  const std::string truncated = dir + "/truncated.h5";
  atomic_write_file(truncated, bytes.substr(0, bytes.size() / 2));
  const std::string garbage = dir + "/garbage.h5";
  atomic_write_file(garbage, "this is not an HDF5 file");
  for (const std::string& p : {truncated, garbage, dir + "/missing.h5"}) {
    try {
      read_shard(p);
      FAIL() << "expected UsageError for " << p;
    } catch (const UsageError& e) {
      expect_mentions(e.what(), {p, "--relabel"});
    }
  }
  // Missing attribute / dataset.
  {
    h5::File f(CONDENSER_H5_CHECK(H5Fopen(good.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), good));
    CONDENSER_H5_CHECK(H5Adelete(f, "top_k"), "delete attr");
    CONDENSER_H5_CHECK(H5Ldelete(f, "view", H5P_DEFAULT), "delete view");
  }
  try {
    read_shard_meta(good);
    FAIL();
  } catch (const UsageError& e) {
    expect_mentions(e.what(), {good, "'top_k'", "missing", "--relabel"});
  }
}

TEST(ShardIO, InconsistentShapeIsUsageError) {
  TempDir tmp;
  const std::string path = tmp.path + "/shape.h5";
  write_shard(path, test_meta(3), {1, 2}, {0, 0}, ramp(6), LogitDType::kFloat16);
  {
    h5::File f(CONDENSER_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), path));
    h5::Attribute a(CONDENSER_H5_CHECK(H5Aopen(f, "num_classes", H5P_DEFAULT), "open"));
    const int four = 4;
    CONDENSER_H5_CHECK(H5Awrite(a, H5T_NATIVE_INT, &four), "write");
  }
  try {
    read_shard(path);
    FAIL();
  } catch (const UsageError& e) {
    expect_mentions(e.what(), {path, "logits", "expected 4"});
  }
}

TEST(Manifest, RoundTripAndVerify) {
  TempDir tmp;
  const std::string dir = tmp.path;
  const std::string shard = dir + "/shard-000000.h5";
  write_shard(shard, test_meta(3), {7, 8}, {0, 0}, ramp(6), LogitDType::kFloat32);
  Manifest m;
  m.teacher_sha256 = std::string(64, 'a');
  m.dataset_fingerprint = "fp";
  m.num_classes = 3;
  m.temperature = 2.5;
  m.dtype = "float16";
  m.total_rows = 2;
  m.shards.push_back({"shard-000000.h5", 0, 2, 1, 2, sha256_file(shard)});
  save_manifest(dir + "/manifest.json", m);
  const Manifest back = load_manifest(dir + "/manifest.json");
  EXPECT_EQ(back.teacher_sha256, m.teacher_sha256);
  EXPECT_EQ(back.dataset_fingerprint, "fp");
  EXPECT_EQ(back.num_classes, 3);
  EXPECT_EQ(back.temperature, 2.5);
  EXPECT_EQ(back.dtype, "float16");
  EXPECT_EQ(back.total_rows, 2);
  ASSERT_EQ(back.shards.size(), 1u);
  EXPECT_EQ(back.shards[0].file, "shard-000000.h5");
  EXPECT_EQ(back.shards[0].task_end, 2);
  EXPECT_EQ(back.shards[0].sha256, m.shards[0].sha256);
  verify_shard(dir, back.shards[0]);

  // Flip one bit in the middle of the file.
  std::string bytes = read_file(shard);
  bytes[bytes.size() / 2] ^= 0x10;
  atomic_write_file(shard, bytes);
  const std::string actual = sha256_file(shard);
  try {
    verify_shard(dir, back.shards[0]);
    FAIL();
  } catch (const UsageError& e) {
    expect_mentions(e.what(), {shard, m.shards[0].sha256, actual});
  }
  std::remove(shard.c_str());
  EXPECT_THROW(verify_shard(dir, back.shards[0]), UsageError);
}

TEST(Manifest, MalformedIsUsageErrorNamingPathAndField) {
  TempDir tmp;
  const std::string dir = tmp.path;
  const std::string path = dir + "/manifest.json";
  atomic_write_file(path, "{\"schema_version\": 1,");
  try {
    load_manifest(path);
    FAIL();
  } catch (const UsageError& e) {
    expect_mentions(e.what(), {path, "JSON"});
  }
  atomic_write_file(path, R"({"schema_version": 1, "teacher_sha256": "x"})");
  try {
    load_manifest(path);
    FAIL();
  } catch (const UsageError& e) {
    expect_mentions(e.what(), {path, "dataset_fingerprint"});
  }
  EXPECT_THROW(load_manifest(dir + "/none.json"), UsageError);
}

}  // namespace
}  // namespace condenser

// Top-k soft-label shards: topk_from_logits, write/read round trip, chunking,
// damaged files, manifest format fields, and inspection of top-k runs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/hdf5_check.h"
#include "data/shards/manifest.h"
#include "data/shards/shard_inspect.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_writer.h"
#include "tests/common/h5_chunks.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

ShardMeta topk_meta(int classes, int k) {
  ShardMeta m;
  m.teacher_sha256 = std::string(64, 'c');
  m.dataset_fingerprint = "fp";
  m.temperature = 2.5;
  m.num_classes = classes;
  m.top_k = k;
  m.producer = "shard_topk_test";
  return m;
}

// Deterministic logits with plenty of ties.
std::vector<float> logits_for(int64_t rows, int classes) {
  std::vector<float> v(static_cast<size_t>(rows) * classes);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 7919) % 23) * 0.75f - 6.1f;
  return v;
}

TEST(TopK, FromLogitsSortsDescendingTiesByLowerIndex) {
  const std::vector<float> logits = {1, 3, 3, -2, 5, 3,   // row 0
                                     0, 0, 0, 0,  0, 0};  // row 1: all tied
  const TopK t = topk_from_logits(logits, 2, 6, 3, 2.0);
  EXPECT_EQ(t.k, 3);
  EXPECT_EQ(t.indices, (std::vector<int32_t>{4, 1, 2, 0, 1, 2}));
  EXPECT_EQ(t.values, (std::vector<float>{5, 3, 3, 0, 0, 0}));
  ASSERT_EQ(t.logsumexp.size(), 2u);
  double s = 0;
  for (int c = 0; c < 6; ++c) s += std::exp(logits[c] / 2.0);
  EXPECT_EQ(t.logsumexp[0], static_cast<float>(std::log(s)));
  EXPECT_EQ(t.logsumexp[1], static_cast<float>(std::log(6.0)));
}

TEST(TopK, LogSumExpIsStableAtTemperature) {
  // Naive exp(1000 / 0.5) overflows; the shifted sum does not.
  const TopK t = topk_from_logits({1000, 999, -1e30f}, 1, 3, 1, 0.5);
  EXPECT_FLOAT_EQ(t.logsumexp[0], static_cast<float>(2000 + std::log1p(std::exp(-2.0))));
  EXPECT_EQ(t.indices[0], 0);
  const float inf = INFINITY;
  EXPECT_EQ(topk_from_logits({-inf, -inf}, 1, 2, 2, 1.0).logsumexp[0], -inf);
  EXPECT_TRUE(std::isnan(topk_from_logits({1, NAN}, 1, 2, 1, 1.0).logsumexp[0]));
  EXPECT_EQ(topk_from_logits({1, NAN}, 1, 2, 1, 1.0).indices[0], 1);  // NaN sorts first
}

TEST(TopK, FromLogitsRejectsBadArguments) {
  const std::vector<float> l(6, 0.0f);
  EXPECT_THROW(topk_from_logits(l, 2, 3, 0, 1.0), RuntimeFailure);
  EXPECT_THROW(topk_from_logits(l, 2, 3, 4, 1.0), RuntimeFailure);
  EXPECT_THROW(topk_from_logits(l, 2, 3, 2, 0.0), RuntimeFailure);
  EXPECT_THROW(topk_from_logits(l, 3, 3, 2, 1.0), RuntimeFailure);
  EXPECT_EQ(topk_from_logits(l, 2, 3, 3, 1.0).indices.size(), 6u);  // k == classes is fine
}

TEST(TopK, ShardRoundTrip) {
  TempDir tmp;
  const std::string path = tmp.path + "/topk.h5";
  const int64_t rows = 5;
  const std::vector<float> logits = logits_for(rows, 10);
  const TopK t = topk_from_logits(logits, rows, 10, 4, 2.5);
  const std::vector<int64_t> idx = {3, 3, 4, 9, 1LL << 35};
  const std::vector<int32_t> view = {0, 1, 0, 1, 0};
  write_topk_shard(path, topk_meta(10, 4), idx, view, t.values, t.indices, t.logsumexp);
  EXPECT_FALSE(path_exists(path + ".tmp"));
  const ShardData d = read_shard(path);
  EXPECT_EQ(d.rows, rows);
  EXPECT_EQ(d.meta.top_k, 4);
  EXPECT_EQ(d.meta.num_classes, 10);
  EXPECT_EQ(d.dtype, LogitDType::kFloat16);
  EXPECT_TRUE(d.logits.empty());
  EXPECT_EQ(d.sample_index, idx);
  EXPECT_EQ(d.view, view);
  EXPECT_EQ(d.topk_indices, t.indices);
  EXPECT_EQ(d.logsumexp, t.logsumexp);  // float32: exact
  ASSERT_EQ(d.topk_values.size(), t.values.size());
  for (size_t i = 0; i < t.values.size(); ++i) {
    EXPECT_EQ(d.topk_values[i], half_to_float(float_to_half(t.values[i]))) << i;
  }
  const ShardData index_only = read_shard_index(path);
  EXPECT_EQ(index_only.meta.top_k, 4);
  EXPECT_TRUE(index_only.topk_values.empty());
  EXPECT_EQ(index_only.sample_index, idx);
  // Full shards never claim top-k, whatever meta.top_k says.
  write_shard(tmp.path + "/full.h5", topk_meta(10, 4), idx, view, logits, LogitDType::kFloat32);
  EXPECT_EQ(read_shard(tmp.path + "/full.h5").meta.top_k, 0);
}

TEST(TopK, ChunksAreAtMostOneMiBAndFileIsSmall) {
  TempDir tmp;
  const int64_t rows = 40000;
  const int classes = 100, k = 20;
  const TopK t = topk_from_logits(logits_for(rows, classes), rows, classes, k, 1.0);
  const std::string path = tmp.path + "/big.h5";
  write_topk_shard(path, topk_meta(classes, k), std::vector<int64_t>(rows, 0),
                   std::vector<int32_t>(rows, 0), t.values, t.indices, t.logsumexp);
  h5::File f(CONDENSER_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  for (const char* name : {"topk_values", "topk_indices", "logsumexp"}) {
    const testing_util::ChunkInfo chunk = testing_util::chunk_info(f, name);
    ASSERT_TRUE(chunk.chunked) << name;
    EXPECT_LE(chunk.bytes, size_t{1} << 20) << name;
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  // 8 + 4 + 20 * 2 + 20 * 4 + 4 = 136 bytes per row plus overhead; dense f32 would be 412.
  EXPECT_LT(static_cast<double>(st.st_size) / rows, 150.0);
}

TEST(TopK, WriterRejectsCallerBugs) {
  TempDir tmp;
  const std::string path = tmp.path + "/bad.h5";
  const std::vector<float> v = {3, 2}, lse = {4};
  EXPECT_THROW(write_topk_shard(path, topk_meta(3, 2), {1}, {0}, v, {0, 3}, lse), RuntimeFailure);
  EXPECT_THROW(write_topk_shard(path, topk_meta(3, 2), {1}, {0}, v, {0}, lse), RuntimeFailure);
  EXPECT_THROW(write_topk_shard(path, topk_meta(3, 2), {1}, {0}, v, {0, 1}, {}), RuntimeFailure);
  EXPECT_THROW(write_topk_shard(path, topk_meta(3, 0), {1}, {0}, v, {0, 1}, lse), RuntimeFailure);
  EXPECT_THROW(write_topk_shard(path, topk_meta(3, 4), {1}, {0}, v, {0, 1}, lse), RuntimeFailure);
  EXPECT_FALSE(path_exists(path));
  EXPECT_FALSE(path_exists(path + ".tmp"));
}

// Writes a good 2-row top-k shard, lets `damage` edit it through HDF5, and
// expects read_shard to throw a UsageError naming the file and `needle`.
template <typename Damage>
void expect_damaged(const std::string& needle, Damage damage) {
  TempDir tmp;
  const std::string path = tmp.path + "/shard.h5";
  write_topk_shard(path, topk_meta(5, 2), {0, 1}, {0, 0}, {4, 3, 2, 1}, {0, 1, 2, 3}, {5, 6});
  {
    h5::File f(CONDENSER_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), path));
    damage(f.get());
  }
  try {
    read_shard(path);
    FAIL() << "expected UsageError about " << needle;
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_NE(msg.find("--relabel"), std::string::npos) << msg;
  }
}

void set_int_attr(hid_t f, const char* name, int value) {
  h5::Attribute a(CONDENSER_H5_CHECK(H5Aopen(f, name, H5P_DEFAULT), name));
  CONDENSER_H5_CHECK(H5Awrite(a, H5T_NATIVE_INT, &value), name);
}

TEST(TopK, DamagedShardsAreUsageErrors) {
  expect_damaged("'logsumexp' is missing",
                 [](hid_t f) { CONDENSER_H5_CHECK(H5Ldelete(f, "logsumexp", H5P_DEFAULT), "rm"); });
  expect_damaged("'topk_values' is missing", [](hid_t f) {
    CONDENSER_H5_CHECK(H5Ldelete(f, "topk_values", H5P_DEFAULT), "rm");
  });
  expect_damaged("exceeds num_classes", [](hid_t f) { set_int_attr(f, "top_k", 6); });
  expect_damaged("expected 3", [](hid_t f) { set_int_attr(f, "top_k", 3); });  // shape
  expect_damaged("'logits' is missing", [](hid_t f) { set_int_attr(f, "top_k", 0); });
  expect_damaged("outside 0..3", [](hid_t f) {  // index 4 of 5 classes becomes out of range
    set_int_attr(f, "num_classes", 4);
    h5::Dataset ds(CONDENSER_H5_CHECK(H5Dopen2(f, "topk_indices", H5P_DEFAULT), "open"));
    const int32_t bad[4] = {0, 1, 2, 4};
    CONDENSER_H5_CHECK(H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad), "w");
  });
}

TEST(TopK, ManifestFormatFieldsRoundTripAndDefault) {
  TempDir tmp;
  const std::string path = tmp.path + "/manifest.json";
  Manifest m;
  m.teacher_sha256 = "t";
  m.dataset_fingerprint = "fp";
  m.num_classes = 10;
  m.dtype = "float16";
  m.format = "topk";
  m.top_k = 4;
  m.views = 2;
  save_manifest(path, m);
  const Manifest back = load_manifest(path);
  EXPECT_EQ(back.format, "topk");
  EXPECT_EQ(back.top_k, 4);
  EXPECT_EQ(back.views, 2);
  // A manifest from before these fields existed loads with the defaults.
  atomic_write_file(path, R"({"schema_version": 1, "teacher_sha256": "t",
      "dataset_fingerprint": "fp", "num_classes": 3, "temperature": 1.0, "dtype": "float32",
      "total_rows": 0, "shards": []})");
  const Manifest old = load_manifest(path);
  EXPECT_EQ(old.format, "full");
  EXPECT_EQ(old.top_k, 0);
  EXPECT_EQ(old.views, 1);
  m.format = "sparse";
  save_manifest(path, m);
  EXPECT_THROW(load_manifest(path), UsageError);
  m.format = "full";  // with top_k 4
  save_manifest(path, m);
  EXPECT_THROW(load_manifest(path), UsageError);
}

TEST(TopK, InspectReportsTopKShardsAndViews) {
  TempDir tmp;
  const std::string soft = tmp.path + "/soft_labels";
  ensure_dir(soft);
  Manifest m;
  m.teacher_sha256 = std::string(64, 'c');
  m.dataset_fingerprint = "fp";
  m.num_classes = 10;
  m.temperature = 2.5;
  m.dtype = "float16";
  m.format = "topk";
  m.top_k = 3;
  m.views = 2;
  m.total_rows = 8;  // 4 positions x 2 views; only positions 0..3 labelled
  const std::vector<int64_t> idx = {20, 20, 21, 21, 22, 22};
  const std::vector<int32_t> view = {0, 1, 0, 1, 0, 1};
  const TopK t = topk_from_logits(logits_for(6, 10), 6, 10, 3, 2.5);
  write_topk_shard(soft + "/s0.h5", topk_meta(10, 3), idx, view, t.values, t.indices, t.logsumexp);
  m.shards.push_back({"s0.h5", 0, 3, 2, 6, sha256_file(soft + "/s0.h5")});
  save_manifest(tmp.path + "/manifest.json", m);
  ShardInspection in = inspect_shards(tmp.path);
  ASSERT_EQ(in.shards.size(), 1u);
  const ShardReport& r = in.shards[0];
  EXPECT_TRUE(r.problems.empty()) << format_inspection(in);
  EXPECT_EQ(r.top_k, 3);
  EXPECT_EQ(r.dtype, "float16");
  EXPECT_EQ(r.file_rows, 6);
  EXPECT_DOUBLE_EQ(r.bytes_per_sample, static_cast<double>(r.file_bytes) / 6);
  EXPECT_EQ(in.distinct_pairs, 6);
  EXPECT_EQ(in.expected_pairs, 8);
  EXPECT_EQ(in.missing_pairs, 2);
  ASSERT_EQ(in.position_gaps.size(), 1u);
  EXPECT_EQ(in.position_gaps[0], std::make_pair(int64_t{3}, int64_t{4}));
  EXPECT_FALSE(in.ok);
  const std::string text = format_inspection(in);
  EXPECT_NE(text.find("format topk  top_k 3  views 2"), std::string::npos) << text;

  // No shards yet: the manifest's views give the expected positions.
  m.shards.clear();
  save_manifest(tmp.path + "/manifest.json", m);
  in = inspect_shards(tmp.path);
  ASSERT_EQ(in.position_gaps.size(), 1u);
  EXPECT_EQ(in.position_gaps[0], std::make_pair(int64_t{0}, int64_t{4}));

  // A manifest claiming another k flags the shard.
  m.top_k = 5;
  m.shards.push_back({"s0.h5", 0, 3, 2, 6, sha256_file(soft + "/s0.h5")});
  save_manifest(tmp.path + "/manifest.json", m);
  in = inspect_shards(tmp.path);
  ASSERT_EQ(in.shards[0].problems.size(), 1u) << format_inspection(in);
  EXPECT_NE(in.shards[0].problems[0].find("top_k 3"), std::string::npos);
}

}  // namespace
}  // namespace condenser

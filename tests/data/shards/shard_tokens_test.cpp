// Token-window top-k shards (positions P > 0) and value formats: round trips
// for float32/float16/bfloat16/int8, uint16 indices, the old layout kept for
// P = 0 float16, refusals, the soft-label table, the stream and inspection.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/hdf5_check.h"
#include "data/shards/manifest.h"
#include "data/shards/shard_inspect.h"
#include "data/shards/shard_reader.h"
#include "data/shards/shard_stream.h"
#include "data/shards/shard_writer.h"
#include "data/shards/soft_label_table.h"
#include "data/shards/topk_codec.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

constexpr int kVocab = 300, kK = 6, kP = 5;
const std::string kTeacher(64, 'e');

ShardMeta token_meta(TopKValueFormat format, int positions = kP, int vocab = kVocab) {
  ShardMeta m;
  m.teacher_sha256 = kTeacher;
  m.dataset_fingerprint = "fp";
  m.temperature = 1.5;
  m.num_classes = vocab;
  m.top_k = kK;
  m.positions = positions;
  m.value_format = format;
  m.producer = "shard_tokens_test";
  return m;
}

// rows windows of P tokens of Zipf-ish logits (seeded).
std::vector<float> token_logits(int64_t tokens, int vocab, uint32_t seed = 7) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> noise(0.0f, 1.5f);
  std::vector<float> v(static_cast<size_t>(tokens) * vocab);
  for (size_t i = 0; i < v.size(); ++i) v[i] = -std::log(float(i % vocab) + 1.0f) + noise(gen);
  return v;
}

struct Written {
  std::string path;
  TopK top;
  std::vector<int64_t> samples;
};

Written write_tokens(const std::string& dir, const ShardMeta& meta, int64_t rows,
                     const TopKWriteOptions& options = TopKWriteOptions()) {
  Written w;
  w.path = dir + "/tokens-" + value_format_name(meta.value_format) + ".h5";
  const int64_t groups = rows * std::max(meta.positions, 1);
  w.top = topk_from_logits(token_logits(groups, meta.num_classes), groups, meta.num_classes,
                           meta.top_k, meta.temperature);
  for (int64_t r = 0; r < rows; ++r) w.samples.push_back(10 + r);
  write_topk_shard(w.path, meta, w.samples, std::vector<int32_t>(size_t(rows), 0), w.top.values,
                   w.top.indices, w.top.logsumexp, options);
  return w;
}

TEST(TokenShards, EveryValueFormatRoundTripsAsTheCodecSays) {
  TempDir tmp("tokens");
  for (TopKValueFormat f : {TopKValueFormat::kFloat32, TopKValueFormat::kFloat16,
                            TopKValueFormat::kBFloat16, TopKValueFormat::kInt8}) {
    const Written w = write_tokens(tmp.path, token_meta(f), 4);
    const ShardData d = read_shard(w.path);
    EXPECT_EQ(d.meta.positions, kP);
    EXPECT_EQ(d.meta.value_format, f);
    EXPECT_EQ(d.rows, 4);
    EXPECT_EQ(d.sample_index, w.samples);
    EXPECT_EQ(d.topk_indices, w.top.indices);
    EXPECT_EQ(d.logsumexp, w.top.logsumexp);
    const std::vector<float> want = round_trip_values(w.top.values, kK, f, 1.5);
    ASSERT_EQ(d.topk_values.size(), size_t(4 * kP * kK));
    EXPECT_EQ(d.topk_values, want) << value_format_name(f);
    // Read back close to the original: the format's own precision.
    const double tol = f == TopKValueFormat::kFloat32 ? 0
                       : f == TopKValueFormat::kFloat16 ? 4e-3
                       : f == TopKValueFormat::kBFloat16 ? 3e-2 : 2e-2;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(d.topk_values[i], w.top.values[i], tol * std::max(1.f, std::fabs(w.top.values[i])))
          << value_format_name(f) << " value " << i;
    }
    EXPECT_EQ(read_shard_meta(w.path).positions, kP);
  }
}

TEST(TokenShards, Int8KeepsTheTopValueExactAndBothSchemesReadAlike) {
  TempDir tmp("int8");
  for (Int8Scheme scheme : {Int8Scheme::kRange, Int8Scheme::kGrid}) {
    TopKWriteOptions o;
    o.int8_scheme = scheme;
    const Written w = write_tokens(tmp.path, token_meta(TopKValueFormat::kInt8), 3, o);
    const ShardData d = read_shard(w.path);
    EXPECT_EQ(d.topk_values, round_trip_values(w.top.values, kK, TopKValueFormat::kInt8, 1.5, scheme));
    for (size_t g = 0; g < d.topk_values.size() / kK; ++g) {
      EXPECT_EQ(d.topk_values[g * kK], w.top.values[g * kK]);  // code 0 is the offset
      const float step = scheme == Int8Scheme::kGrid
                             ? float(1.5 * kInt8GridNats)
                             : (w.top.values[g * kK] - w.top.values[g * kK + kK - 1]) / 255.f;
      for (int i = 0; i < kK; ++i) {
        EXPECT_LE(std::fabs(d.topk_values[g * kK + i] - w.top.values[g * kK + i]), step * 0.51f);
      }
    }
  }
}

TEST(TokenShards, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bfloat16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bfloat16(1.0f + 0x1p-8f), 0x3f80);   // tie: to even
  EXPECT_EQ(float_to_bfloat16(1.0f + 0x1p-7f + 0x1p-8f), 0x3f82);  // tie: to even (up)
  EXPECT_EQ(float_to_bfloat16(-2.5f), 0xc020);
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(NAN))));
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(-INFINITY)), -INFINITY);
  // Against LibTorch's own bfloat16 on many values.
  const at::Tensor x = torch::randn({4096}) * 40;
  const at::Tensor ref = x.to(torch::kBFloat16).to(torch::kFloat32);
  for (int64_t i = 0; i < x.size(0); ++i) {
    ASSERT_EQ(bfloat16_to_float(float_to_bfloat16(x[i].item<float>())), ref[i].item<float>());
  }
}

TEST(TokenShards, IndicesAreUint16UpTo65536ClassesElseInt32) {
  TempDir tmp("narrow");
  auto index_bytes = [](const std::string& path) {
    h5::File f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    h5::Dataset ds(H5Dopen2(f, "topk_indices", H5P_DEFAULT));
    h5::Type t(H5Dget_type(ds));
    return H5Tget_size(t);
  };
  const Written small = write_tokens(tmp.path, token_meta(TopKValueFormat::kFloat16, 2, 65536), 2);
  EXPECT_EQ(index_bytes(small.path), 2u);
  EXPECT_EQ(read_shard(small.path).topk_indices, small.top.indices);
  const Written big = write_tokens(tmp.path, token_meta(TopKValueFormat::kBFloat16, 2, 65537), 2);
  EXPECT_EQ(index_bytes(big.path), 4u);
  EXPECT_EQ(read_shard(big.path).topk_indices, big.top.indices);
  // P = 0 float16 is the old layout: int32 indices, no new attribute.
  const Written old = write_tokens(tmp.path, token_meta(TopKValueFormat::kFloat16, 0), 3);
  EXPECT_EQ(index_bytes(old.path), 4u);
  h5::File f(H5Fopen(old.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  EXPECT_EQ(H5Aexists(f, "positions"), 0);
  EXPECT_EQ(H5Aexists(f, "value_format"), 0);
  const ShardData d = read_shard(old.path);
  EXPECT_EQ(d.meta.positions, 0);
  EXPECT_EQ(d.meta.value_format, TopKValueFormat::kFloat16);
  EXPECT_EQ(d.topk_values.size(), size_t(3 * kK));
}

TEST(TokenShards, FiltersReadBackTheSameValues) {
  TempDir tmp("filters");
  TopKWriteOptions o;
  o.compression = {4, true};
  const Written w = write_tokens(tmp.path, token_meta(TopKValueFormat::kInt8), 5, o);
  const ShardData d = read_shard(w.path);
  EXPECT_EQ(d.topk_indices, w.top.indices);
  EXPECT_EQ(d.topk_values, round_trip_values(w.top.values, kK, TopKValueFormat::kInt8, 1.5));
}

TEST(TokenShards, RefusesFullLogitsPerTokenAndBadFormats) {
  TempDir tmp("refuse");
  ShardMeta full = token_meta(TopKValueFormat::kFloat16);
  full.top_k = 0;
  EXPECT_THROW(write_shard(tmp.path + "/f.h5", full, {1}, {0}, std::vector<float>(kVocab, 0.f),
                           LogitDType::kFloat32),
               RuntimeFailure);
  // A value_format the file's dataset contradicts, and an unknown one.
  const Written w = write_tokens(tmp.path, token_meta(TopKValueFormat::kFloat32), 2);
  for (const char* bad : {"float16", "int4"}) {
    h5::File f(H5Fopen(w.path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    H5Adelete(f, "value_format");
    h5::Type type(H5Tcopy(H5T_C_S1));
    H5Tset_size(type, H5T_VARIABLE);
    h5::Dataspace space(H5Screate(H5S_SCALAR));
    h5::Attribute a(H5Acreate2(f, "value_format", type, space, H5P_DEFAULT, H5P_DEFAULT));
    H5Awrite(a, type, &bad);
    a.close("attr");
    f.close("file");
    try {
      read_shard(w.path);
      ADD_FAILURE() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("value_format"), std::string::npos) << e.what();
    }
  }
}

// A run of 2 shards of 3 windows each (samples 0..5), 1 view, P = kP.
Manifest write_token_run(const std::string& dir) {
  Manifest m;
  m.teacher_sha256 = kTeacher;
  m.dataset_fingerprint = "fp";
  m.num_classes = kVocab;
  m.temperature = 1.5;
  m.dtype = "bfloat16";
  m.format = "topk";
  m.top_k = kK;
  m.positions = kP;
  m.total_rows = 6;
  for (int s = 0; s < 2; ++s) {
    const ShardMeta meta = token_meta(TopKValueFormat::kBFloat16);
    const TopK t = topk_from_logits(token_logits(3 * kP, kVocab, 100 + s), 3 * kP, kVocab, kK, 1.5);
    const std::string file = "shard-" + std::to_string(s) + ".h5";
    write_topk_shard(dir + "/" + file, meta, {3 * s, 3 * s + 1, 3 * s + 2}, {0, 0, 0}, t.values,
                     t.indices, t.logsumexp);
    m.shards.push_back({file, 3 * s, 3 * s + 3, 1, 3, sha256_file(dir + "/" + file)});
  }
  save_manifest(dir + "/../manifest.json", m);
  return m;
}

TEST(TokenShards, TableAndStreamCarryPositions) {
  TempDir tmp("table");
  const std::string soft = tmp.path + "/soft_labels";
  ASSERT_EQ(::mkdir(soft.c_str(), 0755), 0);
  const Manifest m = write_token_run(soft);
  EXPECT_EQ(load_manifest(tmp.path + "/manifest.json").positions, kP);
  const SoftLabelSource source{soft, kTeacher, "fp"};
  const SoftTargets t = load_soft_labels(source, m, 6, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(t.positions, kP);
  EXPECT_EQ(t.topk_values.sizes(), (std::vector<int64_t>{6, kP, kK}));
  EXPECT_EQ(t.topk_indices.sizes(), (std::vector<int64_t>{6, kP, kK}));
  EXPECT_EQ(t.logsumexp.sizes(), (std::vector<int64_t>{6, kP}));
  const ShardData s1 = read_shard(soft + "/shard-1.h5");
  for (int p = 0; p < kP; ++p) {  // sample 4 = shard 1 row 1
    EXPECT_EQ(t.logsumexp[4][p].item<float>(), s1.logsumexp[size_t(kP + p)]);
    EXPECT_EQ(t.topk_values[4][p][2].item<float>(), s1.topk_values[size_t((kP + p) * kK + 2)]);
    EXPECT_EQ(t.topk_indices[4][p][0].item<int64_t>(), s1.topk_indices[size_t((kP + p) * kK)]);
  }
  ShardStream stream(source, m, 1, 42);
  stream.start_epoch(0);
  StreamBatch b;
  int64_t seen = 0;
  while (stream.next(4, &b)) {
    const int64_t n = int64_t(b.samples.size());
    EXPECT_EQ(b.targets.topk_values.sizes(), (std::vector<int64_t>{n, kP, kK}));
    EXPECT_EQ(b.targets.logsumexp.sizes(), (std::vector<int64_t>{n, kP}));
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(torch::equal(b.targets.topk_values[i], t.topk_values[b.samples[size_t(i)]]));
      EXPECT_TRUE(torch::equal(b.targets.logsumexp[i], t.logsumexp[b.samples[size_t(i)]]));
    }
    seen += n;
  }
  EXPECT_EQ(seen, 6);

  const ShardInspection in = inspect_shards(tmp.path);
  EXPECT_TRUE(in.ok) << format_inspection(in);
  ASSERT_EQ(in.shards.size(), 2u);
  EXPECT_EQ(in.shards[0].dtype, "bfloat16");
  EXPECT_EQ(in.shards[0].positions, kP);
  EXPECT_DOUBLE_EQ(in.shards[0].bytes_per_token, double(in.shards[0].file_bytes) / (3 * kP));
  const std::string text = format_inspection(in);
  EXPECT_NE(text.find("bytes/token"), std::string::npos) << text;
  EXPECT_NE(text.find("bfloat16"), std::string::npos) << text;
}

}  // namespace
}  // namespace condenser

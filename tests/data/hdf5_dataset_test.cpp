// HDF5 datasets of any shape: files written here with the HDF5 C API
// (tests/data/hdf5_test_files.h) read back through inspect_hdf5_dataset /
// load_hdf5_split. The refusals are in hdf5_dataset_errors_test.cpp.
#include "data/hdf5_dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/hdf5_check.h"
#include "data/shards/shard_format.h"
#include "tests/data/hdf5_test_files.h"

namespace condenser {
namespace {

using namespace testing_util;

struct Hdf5Dataset : Hdf5FileTest {};

TEST_F(Hdf5Dataset, ImageFileIsNormalisedPerChannel) {
  const std::vector<double> mean = {0.5, 0.4, 0.3}, stdev = {0.2, 0.25, 0.5};
  {
    Writer w(path);
    add_split(w, "train", 6);
    add_split(w, "validation", 2);
    add_split(w, "test", 3);
    w.numbers("scale", {1.0 / 255});
    w.numbers("mean", mean);
    w.numbers("std", stdev);
    w.strings("class_names", {"shirt", "shoe", "bag", "hat"}, true);
  }
  const Hdf5DatasetInfo info = inspect_hdf5_dataset(path);
  EXPECT_EQ(info.path, path);
  EXPECT_EQ(info.sha256, sha256_file(path));
  EXPECT_EQ(info.sample_shape, (std::vector<int64_t>{3, 4, 4}));
  EXPECT_EQ(info.stored_dtype, "uint8");
  EXPECT_EQ(info.num_classes, 4);
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"shirt", "shoe", "bag", "hat"}));
  EXPECT_DOUBLE_EQ(info.normalisation.scale, 1.0 / 255);
  EXPECT_EQ(info.normalisation.mean, mean);
  EXPECT_EQ(info.normalisation.std, stdev);
  EXPECT_EQ(info.train_rows, 6);
  EXPECT_EQ(info.validation_rows, 2);
  EXPECT_EQ(info.test_rows, 3);

  const ImageDataset train = load_hdf5_split(info, "train");
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{6, 3, 4, 4}));
  ASSERT_EQ(train.images.scalar_type(), torch::kFloat32);
  EXPECT_EQ(train.num_classes, 4);
  EXPECT_EQ(train.fingerprint, info.sha256);
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 1, 2, 3, 0, 1}, torch::kInt64)));
  const auto raw = ramp_bytes(6 * 48);
  const float* x = train.images.data_ptr<float>();
  for (size_t i = 0; i < raw.size(); ++i) {
    const size_t c = (i / 16) % 3;
    const double expected = (raw[i] / 255.0 - mean[c]) / stdev[c];
    ASSERT_NEAR(x[i], expected, 1e-5) << "element " << i;
  }
  EXPECT_EQ(load_hdf5_split(info, "validation").images.size(0), 2);
  EXPECT_EQ(load_hdf5_split(info, "test").labels.size(0), 3);
}

TEST_F(Hdf5Dataset, TabularFloat32WithoutValidationOrTest) {
  std::vector<float> inputs(7 * 5);
  for (size_t i = 0; i < inputs.size(); ++i) inputs[i] = 0.25f * static_cast<float>(i) - 3.0f;
  const std::vector<int32_t> labels = {0, 2, 1, 2, 0, 1, 2};
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_FLOAT, {7, 5}, inputs.data());
    w.write("/train/labels", H5T_NATIVE_INT32, {7}, labels.data());
  }
  const Hdf5DatasetInfo info = inspect_hdf5_dataset(path);
  EXPECT_EQ(info.sample_shape, (std::vector<int64_t>{5}));
  EXPECT_EQ(info.stored_dtype, "float32");
  EXPECT_EQ(info.num_classes, 3);  // max(train label) + 1
  EXPECT_TRUE(info.class_names.empty());
  EXPECT_TRUE(info.normalisation.mean.empty() && info.normalisation.std.empty());
  EXPECT_EQ(info.validation_rows, 0);
  EXPECT_EQ(info.test_rows, 0);
  const ImageDataset train = load_hdf5_split(info, "train");
  EXPECT_TRUE(torch::equal(train.images, torch::tensor(inputs).view({7, 5})));
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 2, 1, 2, 0, 1, 2}, torch::kInt64)));
  const std::string message = usage_error([&] { load_hdf5_split(info, "validation"); });
  EXPECT_NE(message.find("/validation"), std::string::npos) << message;
}

TEST_F(Hdf5Dataset, Float16InputsWidenExactly) {
  const std::vector<float> values = {0.5f, -2.25f, 65504.0f, 5.9604645e-8f, 0.0f, 1.0f / 3};
  std::vector<uint16_t> half;
  for (float v : values) half.push_back(float_to_half(v));
  const std::vector<uint8_t> labels = {1, 0, 1};
  {
    Writer w(path);
    const h5::Type half_type = h5::make_ieee_half_type();
    w.write("/train/inputs", half_type, {3, 2}, half.data());
    w.write("/train/labels", H5T_NATIVE_UINT8, {3}, labels.data());
    w.integer("num_classes", 2);
    w.strings("class_names", {"no", "yes"}, false);  // fixed-length, as numpy bytes
  }
  const Hdf5DatasetInfo info = inspect_hdf5_dataset(path);
  EXPECT_EQ(info.stored_dtype, "float16");
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"no", "yes"}));
  const at::Tensor x = load_hdf5_split(info, "train").images;
  ASSERT_EQ(x.scalar_type(), torch::kFloat32);
  for (size_t i = 0; i < half.size(); ++i) {
    EXPECT_EQ(x.data_ptr<float>()[i], half_to_float(half[i])) << i;
  }
}

TEST_F(Hdf5Dataset, Int64SequencesStayTokenIds) {
  std::vector<int64_t> tokens(4 * 20);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = (int64_t{1} << 40) + int64_t(i) * 7919;
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_INT64, {4, 20}, tokens.data());
    w.write("/train/labels", H5T_NATIVE_INT64, {4}, cyclic_labels(4, 2).data());
  }
  const Hdf5DatasetInfo info = inspect_hdf5_dataset(path);
  EXPECT_EQ(info.stored_dtype, "int64");
  EXPECT_EQ(info.sample_shape, (std::vector<int64_t>{20}));
  const at::Tensor x = load_hdf5_split(info, "train").images;
  ASSERT_EQ(x.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(x, torch::tensor(tokens).view({4, 20})));
}

TEST_F(Hdf5Dataset, ChunkedReadEqualsOneShotRead) {
  write_float_rows(path);
  const Hdf5DatasetInfo info = inspect_hdf5_dataset(path);
  const ImageDataset whole = detail::load_hdf5_split_chunked(info, "train", 0, int64_t{1} << 30);
  for (int64_t chunk_bytes : {1, 4 * 60, 9 * 60 + 13}) {  // 1 row, 4 rows, 9 rows a chunk
    const ImageDataset part = detail::load_hdf5_split_chunked(info, "train", 0, chunk_bytes);
    EXPECT_TRUE(torch::equal(part.images, whole.images)) << chunk_bytes;
    EXPECT_TRUE(torch::equal(part.labels, whole.labels)) << chunk_bytes;
  }
  // Row 11, channel 2, element 4: (raw * 2 - 0.3) / 0.5.
  const float raw = std::sin(0.1f * static_cast<float>(11 * 15 + 2 * 5 + 4));
  EXPECT_NEAR(whole.images[11][2][4].item<float>(), (raw * 2 - 0.3) / 0.5, 1e-5);
}

TEST_F(Hdf5Dataset, MaxRowsAndFirstInputsReadOnlyTheFirstRows) {
  write_float_rows(path);
  const Hdf5DatasetInfo info = inspect_hdf5_dataset(path);
  const ImageDataset whole = load_hdf5_split(info, "train");
  const ImageDataset first = detail::load_hdf5_split_chunked(info, "train", 13, 4 * 60);
  ASSERT_EQ(first.size(), 13);
  EXPECT_TRUE(torch::equal(first.images, whole.images.narrow(0, 0, 13)));
  EXPECT_TRUE(torch::equal(first.labels, whole.labels.narrow(0, 0, 13)));
  EXPECT_EQ(load_hdf5_split(info, "train", 500).size(), 50);
  EXPECT_TRUE(torch::equal(hdf5_first_inputs(info, 3), whole.images.narrow(0, 0, 3)));
}

}  // namespace
}  // namespace condenser

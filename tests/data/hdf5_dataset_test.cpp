// HDF5 datasets of any shape: files written here with the HDF5 C API, read
// back through inspect_hdf5_dataset / load_hdf5_split, and every user error
// checked for a message that names the file, the dataset and the index.
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
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using testing_util::TempDir;

// Writes one HDF5 file; datasets by full path ("/train/inputs"), groups made as needed.
struct Writer {
  h5::File file;
  explicit Writer(const std::string& path)
      : file(CONDENSER_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                                "create " + path)) {}

  // `type` is both the file and the memory type; `chunk_rows` > 0 stores it chunked.
  void write(const char* name, hid_t type, const std::vector<hsize_t>& dims, const void* data,
             hsize_t chunk_rows = 0) {
    h5::Dataspace space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    h5::Plist links(H5Pcreate(H5P_LINK_CREATE));
    H5Pset_create_intermediate_group(links, 1);
    h5::Plist create(H5Pcreate(H5P_DATASET_CREATE));
    if (chunk_rows > 0) {
      std::vector<hsize_t> chunk = dims;
      chunk[0] = chunk_rows;
      H5Pset_chunk(create, static_cast<int>(chunk.size()), chunk.data());
    }
    h5::Dataset ds(CONDENSER_H5_CHECK(
        H5Dcreate2(file, name, type, space, links, create, H5P_DEFAULT), std::string(name)));
    if (dims.empty() || dims[0] > 0) {
      CONDENSER_H5_CHECK(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name);
    }
  }
  void numbers(const char* name, const std::vector<double>& v) {
    const hsize_t n = v.size();
    h5::Dataspace space(H5Screate_simple(1, &n, nullptr));
    h5::Attribute a(H5Acreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT));
    CONDENSER_H5_CHECK(H5Awrite(a, H5T_NATIVE_DOUBLE, v.data()), name);
  }
  void integer(const char* name, int64_t v) {  // a scalar, as h5py writes f.attrs["x"] = 4
    h5::Dataspace space(H5Screate(H5S_SCALAR));
    h5::Attribute a(H5Acreate2(file, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT));
    CONDENSER_H5_CHECK(H5Awrite(a, H5T_NATIVE_INT64, &v), name);
  }
  void strings(const char* name, const std::vector<std::string>& v, bool variable) {
    const hsize_t n = v.size();
    h5::Dataspace space(H5Screate_simple(1, &n, nullptr));
    h5::Type type(H5Tcopy(H5T_C_S1));
    size_t width = 1;
    for (const auto& s : v) width = std::max(width, s.size());
    H5Tset_size(type, variable ? H5T_VARIABLE : width);
    h5::Attribute a(H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
    std::vector<const char*> ptrs;
    std::string fixed(n * width, '\0');
    for (size_t i = 0; i < n; ++i) {
      ptrs.push_back(v[i].c_str());
      fixed.replace(i * width, v[i].size(), v[i]);
    }
    CONDENSER_H5_CHECK(H5Awrite(a, type, variable ? static_cast<const void*>(ptrs.data())
                                                   : static_cast<const void*>(fixed.data())),
                       name);
  }
};

std::vector<uint8_t> ramp_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return v;
}

std::vector<int64_t> cyclic_labels(int64_t n, int64_t classes) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i % classes;
  return v;
}

// A well-formed uint8 split [n, sample...] with labels 0, 1, .., classes-1, 0, ...
void add_split(Writer& w, const std::string& split, hsize_t n,
               std::vector<hsize_t> sample = {3, 4, 4}, int64_t classes = 4) {
  std::vector<hsize_t> dims = {n};
  dims.insert(dims.end(), sample.begin(), sample.end());
  size_t numel = 1;
  for (hsize_t d : dims) numel *= d;
  const auto inputs = ramp_bytes(numel);
  const auto labels = cyclic_labels(static_cast<int64_t>(n), classes);
  w.write(("/" + split + "/inputs").c_str(), H5T_NATIVE_UINT8, dims, inputs.data());
  w.write(("/" + split + "/labels").c_str(), H5T_NATIVE_INT64, {n}, labels.data());
}

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError";
  return "";
}

// inspect_hdf5_dataset(path) fails with a message holding the path and every part.
void expect_inspect_error(const std::string& path, const std::vector<std::string>& parts) {
  const std::string message = usage_error([&] { inspect_hdf5_dataset(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
}

struct Hdf5Dataset : ::testing::Test {
  TempDir dir{"hdf5_dataset"};
  std::string path = dir.path + "/data.h5";
};

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

// 50 rows of float32 [3, 5] (60 bytes each), stored in chunks of 7 rows.
void write_float_rows(const std::string& path, std::vector<float> values = {}) {
  if (values.empty()) {
    values.resize(50 * 15);
    for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.1f * static_cast<float>(i));
  }
  Writer w(path);
  w.write("/train/inputs", H5T_NATIVE_FLOAT, {50, 3, 5}, values.data(), 7);
  w.write("/train/labels", H5T_NATIVE_INT64, {50}, cyclic_labels(50, 10).data());
  w.numbers("scale", {2.0});
  w.numbers("mean", {0.1, -0.2, 0.3});
  w.numbers("std", {0.5});
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

// ---- one test per user error ----

TEST_F(Hdf5Dataset, MissingFile) {
  expect_inspect_error(path, {"does not exist", "data.path must be an HDF5 file"});
}

TEST_F(Hdf5Dataset, NotAnHdf5File) {
  std::ofstream(path) << "label,x\n1,2\n";
  expect_inspect_error(path, {"is not an HDF5 file", "groups train[/validation/test]"});
  {
    Writer w(path);
    add_split(w, "train", 64);
  }
  ASSERT_EQ(truncate(path.c_str(), 1500), 0);  // an HDF5 header, then nothing
  expect_inspect_error(path, {"cannot be read"});
}

TEST_F(Hdf5Dataset, MissingTrainGroup) {
  {
    Writer w(path);
    add_split(w, "validation", 2);
  }
  expect_inspect_error(path, {"/train"});
}

TEST_F(Hdf5Dataset, MissingInputsOrLabelsDataset) {
  {
    Writer w(path);
    add_split(w, "train", 2);
    w.write("/test/labels", H5T_NATIVE_INT64, {2}, cyclic_labels(2, 2).data());
  }
  expect_inspect_error(path, {"no dataset /test/inputs"});
  {
    Writer w(path);
    add_split(w, "train", 2);
    w.write("/validation/inputs", H5T_NATIVE_UINT8, {2, 3, 4, 4}, ramp_bytes(96).data());
  }
  expect_inspect_error(path, {"no dataset /validation/labels"});
}

TEST_F(Hdf5Dataset, LabelsNotOneDimensional) {
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_UINT8, {2, 3}, ramp_bytes(6).data());
    w.write("/train/labels", H5T_NATIVE_INT64, {2, 1}, cyclic_labels(2, 2).data());
  }
  expect_inspect_error(path, {"/train/labels", "[2, 1]", "1-d"});
}

TEST_F(Hdf5Dataset, LabelCountDiffersFromInputs) {
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_UINT8, {6, 3}, ramp_bytes(18).data());
    w.write("/train/labels", H5T_NATIVE_INT64, {5}, cyclic_labels(5, 2).data());
  }
  expect_inspect_error(path, {"/train/labels has 5 labels", "/train/inputs has 6 rows"});
}

TEST_F(Hdf5Dataset, SampleShapeDiffersBetweenSplits) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    add_split(w, "validation", 2, {3, 4, 5});
  }
  expect_inspect_error(path, {"/validation/inputs", "[3, 4, 5]", "/train/inputs", "[3, 4, 4]"});
}

TEST_F(Hdf5Dataset, DtypeDiffersBetweenSplits) {
  {
    Writer w(path);
    add_split(w, "train", 4, {3});
    const std::vector<float> x(6, 0.5f);
    w.write("/test/inputs", H5T_NATIVE_FLOAT, {2, 3}, x.data());
    w.write("/test/labels", H5T_NATIVE_INT64, {2}, cyclic_labels(2, 2).data());
  }
  expect_inspect_error(path, {"/test/inputs holds float32", "/train/inputs holds uint8"});
}

TEST_F(Hdf5Dataset, UnsupportedDtype) {
  {
    Writer w(path);
    const std::vector<double> x(6, 0.5);
    w.write("/train/inputs", H5T_NATIVE_DOUBLE, {2, 3}, x.data());
    w.write("/train/labels", H5T_NATIVE_INT64, {2}, cyclic_labels(2, 2).data());
  }
  expect_inspect_error(path, {"/train/inputs holds float64", "uint8, int64, float16 or float32"});
  {
    Writer w(path);
    const std::vector<float> labels = {0, 1};
    w.write("/train/inputs", H5T_NATIVE_UINT8, {2, 3}, ramp_bytes(6).data());
    w.write("/train/labels", H5T_NATIVE_FLOAT, {2}, labels.data());
  }
  expect_inspect_error(path, {"/train/labels holds float32", "int64"});
}

TEST_F(Hdf5Dataset, LabelOutsideTheClasses) {
  {
    Writer w(path);
    add_split(w, "train", 4, {3}, 3);
    add_split(w, "validation", 4, {3}, 4);  // labels 0 1 2 3: index 3 is out
    w.integer("num_classes", 3);
  }
  expect_inspect_error(path, {"/validation/labels[3] = 3", "[0, 3)"});
  {
    Writer w(path);
    const std::vector<int64_t> labels = {0, 1, -1};
    w.write("/train/inputs", H5T_NATIVE_UINT8, {3, 3}, ramp_bytes(9).data());
    w.write("/train/labels", H5T_NATIVE_INT64, {3}, labels.data());
  }
  expect_inspect_error(path, {"/train/labels[2] = -1"});
}

TEST_F(Hdf5Dataset, EmptySplit) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    add_split(w, "test", 0);
  }
  expect_inspect_error(path, {"/test/inputs has no rows"});
}

TEST_F(Hdf5Dataset, NonFiniteFloatInputsNameTheSample) {
  std::vector<float> values(50 * 15, 1.0f);
  values[37 * 15 + 8] = std::numeric_limits<float>::quiet_NaN();
  write_float_rows(path, values);
  const Hdf5DatasetInfo info = inspect_hdf5_dataset(path);  // inputs are not read here
  const std::string message =
      usage_error([&] { detail::load_hdf5_split_chunked(info, "train", 0, 4 * 60); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("/train/inputs[37]"), std::string::npos) << message;
  // Infinity in float16, in the second of two rows.
  const std::vector<uint16_t> half = {float_to_half(1.0f), 0x7c00};
  {
    Writer w(path);
    w.write("/train/inputs", h5::make_ieee_half_type(), {2, 1}, half.data());
    w.write("/train/labels", H5T_NATIVE_INT64, {2}, cyclic_labels(2, 2).data());
  }
  const std::string inf_message =
      usage_error([&] { load_hdf5_split(inspect_hdf5_dataset(path), "train"); });
  EXPECT_NE(inf_message.find("/train/inputs[1]"), std::string::npos) << inf_message;
}

TEST_F(Hdf5Dataset, MeanOrStdOfTheWrongLength) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    w.numbers("mean", {0.5, 0.5});
  }
  expect_inspect_error(path, {"'mean' has 2 values", "1 or one per channel (3"});
}

TEST_F(Hdf5Dataset, StdNotPositive) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    w.numbers("std", {0.2, 0.0, 0.5});
  }
  expect_inspect_error(path, {"'std'[1]", "> 0"});
}

TEST_F(Hdf5Dataset, NormalisationWithInt64Inputs) {
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_INT64, {2, 3}, cyclic_labels(6, 5).data());
    w.write("/train/labels", H5T_NATIVE_INT64, {2}, cyclic_labels(2, 2).data());
    w.numbers("scale", {0.5});
  }
  expect_inspect_error(path, {"scale/mean/std", "int64 inputs"});
}

TEST_F(Hdf5Dataset, ClassNamesDisagreeWithNumClasses) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    w.integer("num_classes", 4);
    w.strings("class_names", {"a", "b", "c"}, true);
  }
  expect_inspect_error(path, {"'class_names' has 3 names", "'num_classes' is 4"});
}

}  // namespace
}  // namespace condenser

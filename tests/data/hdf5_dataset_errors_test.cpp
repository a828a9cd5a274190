// Every user error in an HDF5 dataset file (data/hdf5_dataset.h) is one
// UsageError whose message names the file, the dataset and the index.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "data/hdf5_dataset.h"
#include "data/shards/shard_format.h"
#include "tests/data/hdf5_test_files.h"

namespace condenser {
namespace {

using namespace testing_util;

struct Hdf5DatasetErrors : Hdf5FileTest {};


TEST_F(Hdf5DatasetErrors, MissingFile) {
  expect_inspect_error(path, {"does not exist", "data.path must be an HDF5 file"});
}

TEST_F(Hdf5DatasetErrors, NotAnHdf5File) {
  std::ofstream(path) << "label,x\n1,2\n";
  expect_inspect_error(path, {"is not an HDF5 file", "groups train[/validation/test]"});
  {
    Writer w(path);
    add_split(w, "train", 64);
  }
  ASSERT_EQ(truncate(path.c_str(), 1500), 0);  // an HDF5 header, then nothing
  expect_inspect_error(path, {"cannot be read"});
}

TEST_F(Hdf5DatasetErrors, MissingTrainGroup) {
  {
    Writer w(path);
    add_split(w, "validation", 2);
  }
  expect_inspect_error(path, {"/train"});
}

TEST_F(Hdf5DatasetErrors, MissingInputsOrLabelsDataset) {
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

TEST_F(Hdf5DatasetErrors, LabelsNotOneDimensional) {
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_UINT8, {2, 3}, ramp_bytes(6).data());
    w.write("/train/labels", H5T_NATIVE_INT64, {2, 1}, cyclic_labels(2, 2).data());
  }
  expect_inspect_error(path, {"/train/labels", "[2, 1]", "1-d"});
}

TEST_F(Hdf5DatasetErrors, LabelCountDiffersFromInputs) {
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_UINT8, {6, 3}, ramp_bytes(18).data());
    w.write("/train/labels", H5T_NATIVE_INT64, {5}, cyclic_labels(5, 2).data());
  }
  expect_inspect_error(path, {"/train/labels has 5 labels", "/train/inputs has 6 rows"});
}

TEST_F(Hdf5DatasetErrors, SampleShapeDiffersBetweenSplits) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    add_split(w, "validation", 2, {3, 4, 5});
  }
  expect_inspect_error(path, {"/validation/inputs", "[3, 4, 5]", "/train/inputs", "[3, 4, 4]"});
}

TEST_F(Hdf5DatasetErrors, DtypeDiffersBetweenSplits) {
  {
    Writer w(path);
    add_split(w, "train", 4, {3});
    const std::vector<float> x(6, 0.5f);
    w.write("/test/inputs", H5T_NATIVE_FLOAT, {2, 3}, x.data());
    w.write("/test/labels", H5T_NATIVE_INT64, {2}, cyclic_labels(2, 2).data());
  }
  expect_inspect_error(path, {"/test/inputs holds float32", "/train/inputs holds uint8"});
}

TEST_F(Hdf5DatasetErrors, UnsupportedDtype) {
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

TEST_F(Hdf5DatasetErrors, LabelOutsideTheClasses) {
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

TEST_F(Hdf5DatasetErrors, EmptySplit) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    add_split(w, "test", 0);
  }
  expect_inspect_error(path, {"/test/inputs has no rows"});
}

TEST_F(Hdf5DatasetErrors, NonFiniteFloatInputsNameTheSample) {
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

TEST_F(Hdf5DatasetErrors, MeanOrStdOfTheWrongLength) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    w.numbers("mean", {0.5, 0.5});
  }
  expect_inspect_error(path, {"'mean' has 2 values", "1 or one per channel (3"});
}

TEST_F(Hdf5DatasetErrors, StdNotPositive) {
  {
    Writer w(path);
    add_split(w, "train", 4);
    w.numbers("std", {0.2, 0.0, 0.5});
  }
  expect_inspect_error(path, {"'std'[1]", "> 0"});
}

TEST_F(Hdf5DatasetErrors, NormalisationWithInt64Inputs) {
  {
    Writer w(path);
    w.write("/train/inputs", H5T_NATIVE_INT64, {2, 3}, cyclic_labels(6, 5).data());
    w.write("/train/labels", H5T_NATIVE_INT64, {2}, cyclic_labels(2, 2).data());
    w.numbers("scale", {0.5});
  }
  expect_inspect_error(path, {"scale/mean/std", "int64 inputs"});
}

TEST_F(Hdf5DatasetErrors, ClassNamesDisagreeWithNumClasses) {
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

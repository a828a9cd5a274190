#pragma once
// Writing small HDF5 dataset files with the HDF5 C API for the tests of
// data/hdf5_dataset.h (reading them, and refusing the bad ones).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "data/hdf5_check.h"
#include "data/hdf5_dataset.h"
#include "tests/common/temp_dir.h"
#include "tests/common/usage_error.h"

namespace condenser::testing_util {

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

inline std::vector<uint8_t> ramp_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return v;
}

inline std::vector<int64_t> cyclic_labels(int64_t n, int64_t classes) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i % classes;
  return v;
}

// A well-formed uint8 split [n, sample...] with labels 0, 1, .., classes-1, 0, ...
inline void add_split(Writer& w, const std::string& split, hsize_t n,
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

// inspect_hdf5_dataset(path) fails with a message holding the path and every part.
inline void expect_inspect_error(const std::string& path, const std::vector<std::string>& parts) {
  const std::string message = usage_error([&] { inspect_hdf5_dataset(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
}

// 50 rows of float32 [3, 5] (60 bytes each), stored in chunks of 7 rows.
inline void write_float_rows(const std::string& path, std::vector<float> values = {}) {
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

// A scratch directory and the file path each test writes.
struct Hdf5FileTest : ::testing::Test {
  TempDir dir{"hdf5_dataset"};
  std::string path = dir.path + "/data.h5";
};

}  // namespace condenser::testing_util

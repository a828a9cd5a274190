#include "data/shard_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "data/hdf5_check.h"

namespace condenser {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "float16 buffers are built in host order and written as little-endian");

// Creates a row-chunked dataset of `rank` dims and writes `data` (memory
// type `mem_type`) into it. Fixed dims: a shard is written once, whole.
void write_dataset(hid_t file, const char* name, hid_t file_type, hid_t mem_type, int rank,
                   const hsize_t* dims, size_t row_bytes, const void* data,
                   const std::string& path) {
  const std::string what = std::string("write dataset '") + name + "' in " + path;
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate_simple(rank, dims, nullptr), what));
  h5::Plist dcpl(CONDENSER_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), what));
  if (dims[0] > 0) {  // chunks need a non-zero extent; an empty shard stays contiguous
    hsize_t chunk[2] = {shard_chunk_rows(dims[0], row_bytes), rank > 1 ? dims[1] : 0};
    CONDENSER_H5_CHECK(H5Pset_chunk(dcpl, rank, chunk), what);
  }
  h5::Dataset ds(CONDENSER_H5_CHECK(
      H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), what));
  if (dims[0] > 0) {
    CONDENSER_H5_CHECK(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), what);
  }
  ds.close(what);
}

void write_string_attr(hid_t file, const char* name, const std::string& value,
                       const std::string& path) {
  const std::string what = std::string("write attribute '") + name + "' in " + path;
  h5::Type type(CONDENSER_H5_CHECK(H5Tcopy(H5T_C_S1), what));
  CONDENSER_H5_CHECK(H5Tset_size(type, H5T_VARIABLE), what);
  CONDENSER_H5_CHECK(H5Tset_cset(type, H5T_CSET_UTF8), what);
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate(H5S_SCALAR), what));
  h5::Attribute attr(
      CONDENSER_H5_CHECK(H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT), what));
  const char* ptr = value.c_str();
  CONDENSER_H5_CHECK(H5Awrite(attr, type, &ptr), what);
}

void write_scalar_attr(hid_t file, const char* name, hid_t file_type, hid_t mem_type,
                       const void* value, const std::string& path) {
  const std::string what = std::string("write attribute '") + name + "' in " + path;
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate(H5S_SCALAR), what));
  h5::Attribute attr(
      CONDENSER_H5_CHECK(H5Acreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT), what));
  CONDENSER_H5_CHECK(H5Awrite(attr, mem_type, value), what);
}

void write_contents(const std::string& tmp, const ShardMeta& meta,
                    const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                    const std::vector<float>& logits, LogitDType dtype) {
  h5::File file(CONDENSER_H5_CHECK(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                                   "create shard " + tmp));
  const hsize_t rows = sample_index.size();
  const hsize_t classes = static_cast<hsize_t>(meta.num_classes);
  write_dataset(file, "sample_index", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &rows, sizeof(int64_t),
                sample_index.data(), tmp);
  write_dataset(file, "view", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &rows, sizeof(int32_t),
                view.data(), tmp);
  const hsize_t dims[2] = {rows, classes};
  if (dtype == LogitDType::kFloat16) {
    std::vector<uint16_t> half(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) half[i] = float_to_half(logits[i]);
    h5::Type half_type = h5::make_ieee_half_type();
    // Memory type == file type: HDF5 copies our rounded bits without converting.
    write_dataset(file, "logits", half_type, half_type, 2, dims, classes * 2, half.data(), tmp);
  } else {
    write_dataset(file, "logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, classes * 4,
                  logits.data(), tmp);
  }
  const int version = meta.schema_version;
  write_scalar_attr(file, "schema_version", H5T_STD_I32LE, H5T_NATIVE_INT, &version, tmp);
  write_string_attr(file, "teacher_sha256", meta.teacher_sha256, tmp);
  write_string_attr(file, "dataset_fingerprint", meta.dataset_fingerprint, tmp);
  write_string_attr(file, "producer", meta.producer, tmp);
  write_scalar_attr(file, "temperature", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &meta.temperature, tmp);
  write_scalar_attr(file, "num_classes", H5T_STD_I32LE, H5T_NATIVE_INT, &meta.num_classes, tmp);
  write_scalar_attr(file, "top_k", H5T_STD_I32LE, H5T_NATIVE_INT, &meta.top_k, tmp);
  // Close explicitly so a failing flush is reported, not swallowed by a destructor.
  file.close("close shard " + tmp);
}

}  // namespace

void write_shard(const std::string& final_path, const ShardMeta& meta,
                 const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                 const std::vector<float>& logits, LogitDType dtype) {
  if (meta.num_classes <= 0) {
    throw RuntimeFailure("write_shard(" + final_path + "): num_classes must be > 0, got " +
                         std::to_string(meta.num_classes));
  }
  const size_t rows = sample_index.size();
  if (view.size() != rows || logits.size() != rows * static_cast<size_t>(meta.num_classes)) {
    throw RuntimeFailure("write_shard(" + final_path + "): size mismatch: " + std::to_string(rows) +
                         " sample_index, " + std::to_string(view.size()) + " view, " +
                         std::to_string(logits.size()) + " logits for " +
                         std::to_string(meta.num_classes) + " classes");
  }
  const std::string tmp = final_path + ".tmp";
  try {
    write_contents(tmp, meta, sample_index, view, logits, dtype);
    fsync_file(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw RuntimeFailure("cannot rename '" + tmp + "' to '" + final_path +
                         "': " + std::strerror(err));
  }
  fsync_dir(parent_dir(final_path));
}

}  // namespace condenser

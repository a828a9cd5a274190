#include "data/shards/shard_reader.h"

#include <sys/stat.h>

#include <algorithm>

#include "core/errors.h"
#include "data/hdf5_check.h"

namespace condenser {
namespace {

// Every problem with a shard file ends in the same advice: relabel it.
std::string relabel_hint() { return "; run with --relabel or delete the shard"; }

[[noreturn]] void bad_shard(const std::string& path, const std::string& problem) {
  throw UsageError("soft-label shard '" + path + "' is unusable: " + problem + relabel_hint());
}

bool has_link(hid_t file, const char* name) {
  return CONDENSER_H5_CHECK(H5Lexists(file, name, H5P_DEFAULT), std::string("look up ") + name) > 0;
}

std::string read_string_attr(hid_t file, const char* name, const std::string& path) {
  const std::string what = std::string("read attribute '") + name + "'";
  if (CONDENSER_H5_CHECK(H5Aexists(file, name), what) <= 0) {
    bad_shard(path, std::string("attribute '") + name + "' is missing");
  }
  h5::Attribute attr(CONDENSER_H5_CHECK(H5Aopen(file, name, H5P_DEFAULT), what));
  h5::Type type(CONDENSER_H5_CHECK(H5Aget_type(attr), what));
  if (H5Tget_class(type) != H5T_STRING) {
    bad_shard(path, std::string("attribute '") + name + "' is not a string");
  }
  h5::Type mem(CONDENSER_H5_CHECK(H5Tcopy(H5T_C_S1), what));
  CONDENSER_H5_CHECK(H5Tset_cset(mem, H5Tget_cset(type)), what);
  if (CONDENSER_H5_CHECK(H5Tis_variable_str(type), what) > 0) {
    CONDENSER_H5_CHECK(H5Tset_size(mem, H5T_VARIABLE), what);
    char* ptr = nullptr;
    CONDENSER_H5_CHECK(H5Aread(attr, mem, &ptr), what);
    std::string out = ptr ? ptr : "";
    H5free_memory(ptr);
    return out;
  }
  // Fixed-length strings (h5py writes these for numpy bytes): read the bytes.
  const size_t size = H5Tget_size(type);
  CONDENSER_H5_CHECK(H5Tset_size(mem, size), what);
  std::string out(size, '\0');
  CONDENSER_H5_CHECK(H5Aread(attr, mem, out.data()), what);
  out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
  return out;
}

// Scalar numeric attribute of class `cls`, converted by HDF5 to `mem_type`.
void read_number_attr(hid_t file, const char* name, H5T_class_t cls, hid_t mem_type, void* out,
                      const std::string& path) {
  const std::string what = std::string("read attribute '") + name + "'";
  if (CONDENSER_H5_CHECK(H5Aexists(file, name), what) <= 0) {
    bad_shard(path, std::string("attribute '") + name + "' is missing");
  }
  h5::Attribute attr(CONDENSER_H5_CHECK(H5Aopen(file, name, H5P_DEFAULT), what));
  h5::Type type(CONDENSER_H5_CHECK(H5Aget_type(attr), what));
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Aget_space(attr), what));
  const H5T_class_t got = H5Tget_class(type);
  // An integer is acceptable where a float is expected (h5py writes 2 for 2.0).
  const bool ok = got == cls || (cls == H5T_FLOAT && got == H5T_INTEGER);
  if (!ok || H5Sget_simple_extent_npoints(space) != 1) {
    bad_shard(path, std::string("attribute '") + name + "' is not a " +
                        (cls == H5T_FLOAT ? "number" : "integer") + " scalar");
  }
  CONDENSER_H5_CHECK(H5Aread(attr, mem_type, out), what);
}

ShardMeta read_meta(hid_t file, const std::string& path) {
  ShardMeta m;
  read_number_attr(file, "schema_version", H5T_INTEGER, H5T_NATIVE_INT, &m.schema_version, path);
  if (m.schema_version != kShardSchemaVersion) {
    bad_shard(path, "schema_version " + std::to_string(m.schema_version) +
                        " is not the supported version " + std::to_string(kShardSchemaVersion));
  }
  m.teacher_sha256 = read_string_attr(file, "teacher_sha256", path);
  m.dataset_fingerprint = read_string_attr(file, "dataset_fingerprint", path);
  m.producer = read_string_attr(file, "producer", path);
  read_number_attr(file, "temperature", H5T_FLOAT, H5T_NATIVE_DOUBLE, &m.temperature, path);
  read_number_attr(file, "num_classes", H5T_INTEGER, H5T_NATIVE_INT, &m.num_classes, path);
  read_number_attr(file, "top_k", H5T_INTEGER, H5T_NATIVE_INT, &m.top_k, path);
  if (m.num_classes <= 0) bad_shard(path, "num_classes is " + std::to_string(m.num_classes));
  if (m.top_k < 0) bad_shard(path, "top_k is " + std::to_string(m.top_k));
  return m;
}

// Opens dataset `name`, checks its class and shape against `expect` (rank
// dims; a negative entry means "any"), and fills `dims`.
h5::Dataset open_dataset(hid_t file, const char* name, H5T_class_t cls, int rank,
                         const int64_t* expect, hsize_t* dims, const std::string& path) {
  if (!has_link(file, name)) bad_shard(path, std::string("dataset '") + name + "' is missing");
  const std::string what = std::string("open dataset '") + name + "'";
  h5::Dataset ds(CONDENSER_H5_CHECK(H5Dopen2(file, name, H5P_DEFAULT), what));
  h5::Type type(CONDENSER_H5_CHECK(H5Dget_type(ds), what));
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Dget_space(ds), what));
  if (H5Tget_class(type) != cls)
    bad_shard(path, std::string("dataset '") + name + "' has the wrong type");
  if (H5Sget_simple_extent_ndims(space) != rank) {
    bad_shard(path, std::string("dataset '") + name + "' has rank " +
                        std::to_string(H5Sget_simple_extent_ndims(space)) + ", expected " +
                        std::to_string(rank));
  }
  CONDENSER_H5_CHECK(H5Sget_simple_extent_dims(space, dims, nullptr), what);
  for (int i = 0; i < rank; ++i) {
    if (expect[i] >= 0 && dims[i] != static_cast<hsize_t>(expect[i])) {
      bad_shard(path, std::string("dataset '") + name + "' has dimension " + std::to_string(i) +
                          " = " + std::to_string(dims[i]) + ", expected " +
                          std::to_string(expect[i]));
    }
  }
  return ds;
}

void read_all(hid_t ds, hid_t mem_type, void* out, hsize_t rows, const char* name) {
  if (rows == 0) return;
  CONDENSER_H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
                     std::string("read dataset '") + name + "'");
}

// 16- or 32-bit float dataset; anything else is a bad shard.
LogitDType float_dtype(hid_t ds, const char* name, const std::string& path) {
  h5::Type type(CONDENSER_H5_CHECK(H5Dget_type(ds), std::string(name) + " type"));
  const size_t size = H5Tget_size(type);
  if (size != 2 && size != 4) {
    bad_shard(path, std::string(name) + " are " + std::to_string(size * 8) +
                        "-bit floats, expected 16 or 32");
  }
  return size == 2 ? LogitDType::kFloat16 : LogitDType::kFloat32;
}

// Reads a whole float dataset into `out` (sized by the dataset) as float32,
// one chunk-sized slice of rows at a time (chunks are <= 1 MiB), so widening
// float16 needs a scratch buffer of one chunk, not of the whole dataset.
void read_floats(hid_t ds, LogitDType dtype, const char* name, std::vector<float>* out) {
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Dget_space(ds), name));
  const int rank = CONDENSER_H5_CHECK(H5Sget_simple_extent_ndims(space), name);
  hsize_t dims[2] = {0, 1};
  CONDENSER_H5_CHECK(H5Sget_simple_extent_dims(space, dims, nullptr), name);
  const hsize_t rows = dims[0], width = rank == 2 ? dims[1] : 1;
  out->resize(static_cast<size_t>(rows * width));
  if (rows == 0 || width == 0) return;
  hsize_t slice_rows = rows;
  {
    h5::Plist create(CONDENSER_H5_CHECK(H5Dget_create_plist(ds), name));
    hsize_t chunk[2] = {0, 0};
    if (H5Pget_layout(create) == H5D_CHUNKED &&
        H5Pget_chunk(create, rank, chunk) == rank && chunk[0] > 0) {
      slice_rows = chunk[0];
    }
  }
  h5::Type half_type = h5::make_ieee_half_type();
  const hid_t mem_type = dtype == LogitDType::kFloat16 ? hid_t(half_type) : H5T_NATIVE_FLOAT;
  std::vector<uint16_t> half;
  for (hsize_t r0 = 0; r0 < rows; r0 += slice_rows) {
    const hsize_t n = std::min(slice_rows, rows - r0);
    const hsize_t start[2] = {r0, 0}, count[2] = {n, width};
    CONDENSER_H5_CHECK(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr),
                       std::string("select rows of '") + name + "'");
    h5::Dataspace mem(CONDENSER_H5_CHECK(H5Screate_simple(rank, count, nullptr), name));
    float* dst = out->data() + r0 * width;
    if (dtype == LogitDType::kFloat16) {
      // Read the 2-byte values (HDF5 fixes byte order) and widen them ourselves.
      half.resize(static_cast<size_t>(n * width));
      CONDENSER_H5_CHECK(H5Dread(ds, mem_type, mem, space, H5P_DEFAULT, half.data()),
                         std::string("read dataset '") + name + "'");
      for (size_t i = 0; i < half.size(); ++i) dst[i] = half_to_float(half[i]);
    } else {
      CONDENSER_H5_CHECK(H5Dread(ds, mem_type, mem, space, H5P_DEFAULT, dst),
                         std::string("read dataset '") + name + "'");
    }
  }
}

// The top-k datasets: shapes always checked, contents read when `with_values`.
void read_topk(hid_t file, const std::string& path, bool with_values, ShardData* d) {
  const int k = d->meta.top_k;
  if (k > d->meta.num_classes) {
    bad_shard(path, "top_k " + std::to_string(k) + " exceeds num_classes " +
                        std::to_string(d->meta.num_classes));
  }
  hsize_t dims[2] = {0, 0};
  const int64_t shape[2] = {d->rows, k};
  h5::Dataset values = open_dataset(file, "topk_values", H5T_FLOAT, 2, shape, dims, path);
  h5::Dataset indices = open_dataset(file, "topk_indices", H5T_INTEGER, 2, shape, dims, path);
  h5::Dataset lse = open_dataset(file, "logsumexp", H5T_FLOAT, 1, shape, dims, path);
  d->dtype = float_dtype(values, "topk_values", path);
  float_dtype(lse, "logsumexp", path);
  if (!with_values) return;
  read_floats(values, d->dtype, "topk_values", &d->topk_values);
  read_floats(lse, LogitDType::kFloat32, "logsumexp", &d->logsumexp);
  d->topk_indices.resize(d->topk_values.size());
  read_all(indices, H5T_NATIVE_INT32, d->topk_indices.data(), d->rows, "topk_indices");
  for (int32_t c : d->topk_indices) {
    if (c < 0 || c >= d->meta.num_classes) {
      bad_shard(path, "topk_indices holds class " + std::to_string(c) + ", outside 0.." +
                          std::to_string(d->meta.num_classes - 1));
    }
  }
}

ShardData read_impl(const std::string& path, bool with_logits, bool meta_only) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw UsageError("soft-label shard '" + path + "' does not exist; run with --relabel");
  }
  try {
    h5::File file(CONDENSER_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                                     "open (is it an HDF5 file? it may be truncated)"));
    ShardData d;
    d.meta = read_meta(file, path);
    if (meta_only) return d;
    hsize_t dims[2] = {0, 0};
    const int64_t any[1] = {-1};
    h5::Dataset idx = open_dataset(file, "sample_index", H5T_INTEGER, 1, any, dims, path);
    const int64_t rows = static_cast<int64_t>(dims[0]);
    const int64_t same_rows[1] = {rows};
    h5::Dataset view = open_dataset(file, "view", H5T_INTEGER, 1, same_rows, dims, path);
    d.rows = rows;
    d.sample_index.resize(rows);
    d.view.resize(rows);
    read_all(idx, H5T_NATIVE_INT64, d.sample_index.data(), rows, "sample_index");
    read_all(view, H5T_NATIVE_INT32, d.view.data(), rows, "view");
    if (d.meta.top_k > 0) {
      read_topk(file, path, with_logits, &d);
    } else {
      const int64_t shape[2] = {rows, d.meta.num_classes};
      h5::Dataset logits = open_dataset(file, "logits", H5T_FLOAT, 2, shape, dims, path);
      d.dtype = float_dtype(logits, "logits", path);
      if (with_logits) read_floats(logits, d.dtype, "logits", &d.logits);
    }
    return d;
  } catch (const RuntimeFailure& e) {
    // An HDF5 failure while reading a shard means the file is damaged.
    bad_shard(path, e.what());
  }
}

}  // namespace

ShardData read_shard(const std::string& path) { return read_impl(path, true, false); }

ShardMeta read_shard_meta(const std::string& path) { return read_impl(path, false, true).meta; }

ShardData read_shard_index(const std::string& path) { return read_impl(path, false, false); }

}  // namespace condenser

#include "data/shards/shard_reader.h"

#include <sys/stat.h>

#include <algorithm>

#include "core/errors.h"
#include "data/hdf5_check.h"
#include "data/shards/topk_codec.h"

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
  // Token windows and value formats (shard_format.h); absent in older shards.
  if (CONDENSER_H5_CHECK(H5Aexists(file, "positions"), "look up attribute 'positions'") > 0) {
    read_number_attr(file, "positions", H5T_INTEGER, H5T_NATIVE_INT, &m.positions, path);
  }
  if (m.positions < 0 || (m.positions > 0 && m.top_k == 0)) {
    bad_shard(path, "positions is " + std::to_string(m.positions) +
                        (m.positions > 0 ? " with full logits (token windows need top-k)" : ""));
  }
  m.value_format = TopKValueFormat::kFloat16;  // refined from the dataset when the attribute is absent
  if (CONDENSER_H5_CHECK(H5Aexists(file, "value_format"), "look up attribute 'value_format'") > 0) {
    const std::string name = read_string_attr(file, "value_format", path);
    if (!parse_value_format(name, &m.value_format)) {
      bad_shard(path, "value_format '" + name + "' is not float32, float16, bfloat16 or int8");
    }
  }
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
  if (H5Tget_class(type) != cls) {
    bad_shard(path, std::string("dataset '") + name + "' has the wrong type (expected " +
                        (cls == H5T_FLOAT ? "floats" : "integers") + ")");
  }
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
  if (rank < 1 || rank > 3) throw RuntimeFailure(std::string(name) + " has rank " + std::to_string(rank));
  hsize_t dims[3] = {0, 1, 1};
  CONDENSER_H5_CHECK(H5Sget_simple_extent_dims(space, dims, nullptr), name);
  const hsize_t rows = dims[0], width = dims[1] * dims[2];
  out->resize(static_cast<size_t>(rows * width));
  if (rows == 0 || width == 0) return;
  hsize_t slice_rows = rows;
  {
    h5::Plist create(CONDENSER_H5_CHECK(H5Dget_create_plist(ds), name));
    hsize_t chunk[3] = {0, 0, 0};
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
    const hsize_t start[3] = {r0, 0, 0}, count[3] = {n, dims[1], dims[2]};
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

size_t type_size(hid_t ds, const char* name) {
  h5::Type type(CONDENSER_H5_CHECK(H5Dget_type(ds), std::string(name) + " type"));
  return H5Tget_size(type);
}

// topk_values as value_format says (checked against the stored type), widened to float32.
void read_topk_values(hid_t file, const std::string& path, const int64_t* shape, int rank,
                      const int64_t* group_shape, bool format_given, bool with_values,
                      ShardData* d) {
  hsize_t dims[3] = {0, 0, 0};
  TopKValueFormat& f = d->meta.value_format;
  const bool coded = format_given && (f == TopKValueFormat::kBFloat16 || f == TopKValueFormat::kInt8);
  h5::Dataset values = open_dataset(file, "topk_values", coded ? H5T_INTEGER : H5T_FLOAT, rank,
                                    shape, dims, path);
  if (!coded) {
    const LogitDType stored = float_dtype(values, "topk_values", path);
    const TopKValueFormat found =
        stored == LogitDType::kFloat16 ? TopKValueFormat::kFloat16 : TopKValueFormat::kFloat32;
    if (format_given && found != f) {
      bad_shard(path, std::string("topk_values are ") + value_format_name(found) +
                          ", value_format says " + value_format_name(f));
    }
    f = found;
    d->dtype = stored;
    if (with_values) read_floats(values, stored, "topk_values", &d->topk_values);
    return;
  }
  const size_t want = f == TopKValueFormat::kInt8 ? 1 : 2;
  if (type_size(values, "topk_values") != want) {
    bad_shard(path, std::string("topk_values of value_format ") + value_format_name(f) +
                        " must be " + std::to_string(want * 8) + "-bit integers");
  }
  d->dtype = LogitDType::kFloat16;  // the nearest float type, for callers that only know those
  const size_t cells = static_cast<size_t>(dims[0] * dims[1] * (rank == 3 ? dims[2] : 1));
  if (f == TopKValueFormat::kBFloat16) {
    if (!with_values) return;
    std::vector<uint16_t> bits(cells);
    read_all(values, H5T_NATIVE_UINT16, bits.data(), dims[0], "topk_values");
    d->topk_values.resize(cells);
    for (size_t i = 0; i < cells; ++i) d->topk_values[i] = bfloat16_to_float(bits[i]);
    return;
  }
  h5::Dataset offset = open_dataset(file, "topk_offset", H5T_FLOAT, rank - 1, group_shape, dims, path);
  h5::Dataset step = open_dataset(file, "topk_step", H5T_FLOAT, rank - 1, group_shape, dims, path);
  if (!with_values) return;
  Int8Codes c;
  c.codes.resize(cells);
  read_all(values, H5T_NATIVE_UINT8, c.codes.data(), d->rows, "topk_values");
  read_floats(offset, float_dtype(offset, "topk_offset", path), "topk_offset", &c.offset);
  read_floats(step, float_dtype(step, "topk_step", path), "topk_step", &c.step);
  d->topk_values = decode_int8(c, d->meta.top_k);
}

// The top-k datasets: shapes always checked, contents read when `with_values`.
void read_topk(hid_t file, const std::string& path, bool with_values, bool format_given,
               ShardData* d) {
  const int k = d->meta.top_k, p = d->meta.positions;
  if (k > d->meta.num_classes) {
    bad_shard(path, "top_k " + std::to_string(k) + " exceeds num_classes " +
                        std::to_string(d->meta.num_classes));
  }
  hsize_t dims[3] = {0, 0, 0};
  const int rank = p > 0 ? 3 : 2;
  const int64_t shape[3] = {d->rows, p > 0 ? p : k, k};
  const int64_t group_shape[2] = {d->rows, p};
  read_topk_values(file, path, shape, rank, group_shape, format_given, with_values, d);
  h5::Dataset indices = open_dataset(file, "topk_indices", H5T_INTEGER, rank, shape, dims, path);
  if (type_size(indices, "topk_indices") > 4) bad_shard(path, "topk_indices wider than 32 bits");
  h5::Dataset lse = open_dataset(file, "logsumexp", H5T_FLOAT, rank - 1, group_shape, dims, path);
  float_dtype(lse, "logsumexp", path);
  if (!with_values) return;
  read_floats(lse, LogitDType::kFloat32, "logsumexp", &d->logsumexp);
  d->topk_indices.resize(d->topk_values.size());
  // HDF5 converts uint16 (or int32) to int32.
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
    const bool format_given =
        CONDENSER_H5_CHECK(H5Aexists(file, "value_format"), "look up attribute 'value_format'") > 0;
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
      read_topk(file, path, with_logits, format_given, &d);
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

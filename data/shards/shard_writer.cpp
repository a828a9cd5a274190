#include "data/shards/shard_writer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/errors.h"
#include "core/files.h"
#include "data/hdf5_check.h"
#include "data/hdf5_write.h"

namespace condenser {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "float16 buffers are built in host order and written as little-endian");

// Creates a row-chunked dataset of `rank` (<= 3) dims and writes `data`
// (memory type `mem_type`) into it, filtered as `filters` says. Fixed dims:
// a shard is written once, whole.
void write_dataset(hid_t file, const char* name, hid_t file_type, hid_t mem_type, int rank,
                   const hsize_t* dims, size_t row_bytes, const void* data,
                   const std::string& path, const ShardCompression& filters = {0, false}) {
  const std::string what = std::string("write dataset '") + name + "' in " + path;
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate_simple(rank, dims, nullptr), what));
  h5::Plist dcpl(CONDENSER_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), what));
  if (dims[0] > 0) {  // chunks need a non-zero extent; an empty shard stays contiguous
    hsize_t chunk[3] = {shard_chunk_rows(dims[0], row_bytes), rank > 1 ? dims[1] : 0,
                        rank > 2 ? dims[2] : 0};
    CONDENSER_H5_CHECK(H5Pset_chunk(dcpl, rank, chunk), what);
    if (filters.shuffle) CONDENSER_H5_CHECK(H5Pset_shuffle(dcpl), what);
    if (filters.deflate > 0) CONDENSER_H5_CHECK(H5Pset_deflate(dcpl, filters.deflate), what);
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
  write_string_attribute(file, name, value,
                         std::string("write attribute '") + name + "' in " + path);
}

void write_scalar_attr(hid_t file, const char* name, hid_t file_type, hid_t mem_type,
                       const void* value, const std::string& path) {
  const std::string what = std::string("write attribute '") + name + "' in " + path;
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate(H5S_SCALAR), what));
  h5::Attribute attr(
      CONDENSER_H5_CHECK(H5Acreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT), what));
  CONDENSER_H5_CHECK(H5Awrite(attr, mem_type, value), what);
}

// Rounds to float16 and writes an IEEE half dataset of `rank` dims.
void write_half_dataset(hid_t file, const char* name, int rank, const hsize_t* dims,
                        const std::vector<float>& values, const std::string& path,
                        const ShardCompression& filters = {0, false}) {
  std::vector<uint16_t> half(values.size());
  for (size_t i = 0; i < values.size(); ++i) half[i] = float_to_half(values[i]);
  h5::Type half_type = h5::make_ieee_half_type();
  // Memory type == file type: HDF5 copies our rounded bits without converting.
  const size_t row_bytes = half.size() * 2 / std::max<hsize_t>(dims[0], 1);
  write_dataset(file, name, half_type, half_type, rank, dims, row_bytes, half.data(), path,
                filters);
}

// sample_index, view and the root attributes (top_k as given).
void write_common(hid_t file, const ShardMeta& meta, int top_k,
                  const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                  const std::string& tmp) {
  const hsize_t rows = sample_index.size();
  write_dataset(file, "sample_index", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &rows, sizeof(int64_t),
                sample_index.data(), tmp);
  write_dataset(file, "view", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &rows, sizeof(int32_t),
                view.data(), tmp);
  const int version = meta.schema_version;
  write_scalar_attr(file, "schema_version", H5T_STD_I32LE, H5T_NATIVE_INT, &version, tmp);
  write_string_attr(file, "teacher_sha256", meta.teacher_sha256, tmp);
  write_string_attr(file, "dataset_fingerprint", meta.dataset_fingerprint, tmp);
  write_string_attr(file, "producer", meta.producer, tmp);
  write_scalar_attr(file, "temperature", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &meta.temperature, tmp);
  write_scalar_attr(file, "num_classes", H5T_STD_I32LE, H5T_NATIVE_INT, &meta.num_classes, tmp);
  write_scalar_attr(file, "top_k", H5T_STD_I32LE, H5T_NATIVE_INT, &top_k, tmp);
}

// The shard is built in memory (HDF5's core driver, no backing file) and
// written by write_file_synced: a full or read-only disk is one error with
// its cause, and HDF5 never holds a file it could not flush (that crashed
// the process at exit, in HDF5's own clean-up).
std::string file_image(hid_t file, const std::string& what) {
  CONDENSER_H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL), "flush " + what);
  const ssize_t size = CONDENSER_H5_CHECK(H5Fget_file_image(file, nullptr, 0), "size " + what);
  std::string image(static_cast<size_t>(size), '\0');
  CONDENSER_H5_CHECK(H5Fget_file_image(file, image.data(), image.size()), "image " + what);
  return image;
}

// Builds final_path's content with `fill`, writes it to final_path + ".tmp"
// (fsynced), renames it into place and fsyncs the directory. The .tmp goes
// on failure.
template <typename Fill>
void write_durably(const std::string& final_path, Fill fill) {
  const std::string tmp = final_path + ".tmp";
  std::string image;
  {
    h5::Plist fapl(CONDENSER_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), "file access list"));
    CONDENSER_H5_CHECK(H5Pset_fapl_core(fapl, 1 << 20, /*backing_store=*/0), "core driver");
    h5::File file(CONDENSER_H5_CHECK(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl),
                                     "create shard " + tmp));
    fill(file.get(), tmp);
    image = file_image(file, "shard " + tmp);
    file.close("close shard " + tmp);
  }
  write_file_synced(tmp, image);  // the cause (ENOSPC, EROFS) named; no partial .tmp left
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw RuntimeFailure("cannot rename '" + tmp + "' to '" + final_path +
                         "': " + std::strerror(err));
  }
  fsync_dir(parent_dir(final_path));
}

[[noreturn]] void caller_bug(const char* fn, const std::string& path, const std::string& what) {
  throw RuntimeFailure(std::string(fn) + "(" + path + "): " + what);
}

// topk_values in meta.value_format (plus topk_offset / topk_step for int8).
void write_topk_values(hid_t file, int rank, const hsize_t* dims, int group_rank,
                       const hsize_t* group_dims, const ShardMeta& meta,
                       const std::vector<float>& values, const TopKWriteOptions& options,
                       const std::string& tmp) {
  const ShardCompression& f = options.compression;
  const size_t row_cells = values.size() / std::max<hsize_t>(dims[0], 1);
  switch (meta.value_format) {
    case TopKValueFormat::kFloat16:
      write_half_dataset(file, "topk_values", rank, dims, values, tmp, f);
      return;
    case TopKValueFormat::kFloat32:
      write_dataset(file, "topk_values", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims,
                    row_cells * 4, values.data(), tmp, f);
      return;
    case TopKValueFormat::kBFloat16: {
      std::vector<uint16_t> bits(values.size());
      for (size_t i = 0; i < values.size(); ++i) bits[i] = float_to_bfloat16(values[i]);
      write_dataset(file, "topk_values", H5T_STD_U16LE, H5T_NATIVE_UINT16, rank, dims,
                    row_cells * 2, bits.data(), tmp, f);
      return;
    }
    case TopKValueFormat::kInt8: {
      const Int8Codes c = encode_int8(values, meta.top_k, meta.temperature, options.int8_scheme);
      write_dataset(file, "topk_values", H5T_STD_U8LE, H5T_NATIVE_UINT8, rank, dims, row_cells,
                    c.codes.data(), tmp, f);
      const size_t row_groups = c.offset.size() / std::max<hsize_t>(dims[0], 1);
      write_dataset(file, "topk_offset", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, group_rank,
                    group_dims, row_groups * 4, c.offset.data(), tmp, f);
      write_dataset(file, "topk_step", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, group_rank, group_dims,
                    row_groups * 4, c.step.data(), tmp, f);
      return;
    }
  }
}

}  // namespace

void write_shard(const std::string& final_path, const ShardMeta& meta,
                 const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                 const std::vector<float>& logits, LogitDType dtype) {
  if (meta.num_classes <= 0 || meta.positions != 0) {
    caller_bug("write_shard", final_path,
               "num_classes must be > 0 and positions 0 (full logits per token are refused: "
               "use top-k), got " + std::to_string(meta.num_classes) + " classes, positions " +
                   std::to_string(meta.positions));
  }
  const size_t rows = sample_index.size();
  if (view.size() != rows || logits.size() != rows * static_cast<size_t>(meta.num_classes)) {
    caller_bug("write_shard", final_path,
               "size mismatch: " + std::to_string(rows) + " sample_index, " +
                   std::to_string(view.size()) + " view, " + std::to_string(logits.size()) +
                   " logits for " + std::to_string(meta.num_classes) + " classes");
  }
  write_durably(final_path, [&](hid_t file, const std::string& tmp) {
    write_common(file, meta, 0, sample_index, view, tmp);
    const hsize_t dims[2] = {rows, static_cast<hsize_t>(meta.num_classes)};
    if (dtype == LogitDType::kFloat16) {
      write_half_dataset(file, "logits", 2, dims, logits, tmp);
    } else {
      write_dataset(file, "logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, dims[1] * 4,
                    logits.data(), tmp);
    }
  });
}

void write_topk_shard(const std::string& final_path, const ShardMeta& meta,
                      const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                      const std::vector<float>& topk_values,
                      const std::vector<int32_t>& topk_indices,
                      const std::vector<float>& logsumexp, const TopKWriteOptions& options) {
  const int k = meta.top_k, p = meta.positions;
  if (meta.num_classes <= 0 || k <= 0 || k > meta.num_classes || p < 0) {
    caller_bug("write_topk_shard", final_path,
               "need 0 < top_k <= num_classes and positions >= 0, got top_k " +
                   std::to_string(k) + ", num_classes " + std::to_string(meta.num_classes) +
                   ", positions " + std::to_string(p));
  }
  const size_t rows = sample_index.size(), groups = rows * static_cast<size_t>(std::max(p, 1));
  const size_t cells = groups * static_cast<size_t>(k);
  if (view.size() != rows || topk_values.size() != cells || topk_indices.size() != cells ||
      logsumexp.size() != groups) {
    caller_bug("write_topk_shard", final_path,
               "size mismatch: " + std::to_string(rows) + " sample_index, " +
                   std::to_string(view.size()) + " view, " + std::to_string(topk_values.size()) +
                   " values, " + std::to_string(topk_indices.size()) + " indices, " +
                   std::to_string(logsumexp.size()) + " logsumexp for k = " + std::to_string(k) +
                   ", positions = " + std::to_string(p));
  }
  for (int32_t c : topk_indices) {
    if (c < 0 || c >= meta.num_classes) {
      caller_bug("write_topk_shard", final_path,
                 "class index " + std::to_string(c) + " outside 0.." +
                     std::to_string(meta.num_classes - 1));
    }
  }
  // P = 0 float16 is the original layout, byte for byte (no new attribute, int32 indices).
  const bool legacy = p == 0 && meta.value_format == TopKValueFormat::kFloat16;
  write_durably(final_path, [&](hid_t file, const std::string& tmp) {
    write_common(file, meta, k, sample_index, view, tmp);
    if (!legacy) {
      write_scalar_attr(file, "positions", H5T_STD_I32LE, H5T_NATIVE_INT, &p, tmp);
      write_string_attr(file, "value_format", value_format_name(meta.value_format), tmp);
    }
    const int rank = p > 0 ? 3 : 2;
    const hsize_t dims[3] = {rows, p > 0 ? hsize_t(p) : hsize_t(k), hsize_t(k)};
    const hsize_t group_dims[2] = {rows, hsize_t(p)};
    TopKWriteOptions o = options;
    if (o.compression.deflate < 0) {  // by layout: see ShardCompression
      o.compression = p > 0 ? ShardCompression{1, true} : ShardCompression{0, false};
    }
    const ShardCompression& f = o.compression;
    write_topk_values(file, rank, dims, rank - 1, group_dims, meta, topk_values, o, tmp);
    if (legacy || !narrow_indices(meta.num_classes)) {
      write_dataset(file, "topk_indices", H5T_STD_I32LE, H5T_NATIVE_INT32, rank, dims,
                    cells / std::max<size_t>(rows, 1) * 4, topk_indices.data(), tmp, f);
    } else {
      const std::vector<uint16_t> narrow(topk_indices.begin(), topk_indices.end());
      write_dataset(file, "topk_indices", H5T_STD_U16LE, H5T_NATIVE_UINT16, rank, dims,
                    cells / std::max<size_t>(rows, 1) * 2, narrow.data(), tmp, f);
    }
    write_dataset(file, "logsumexp", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank - 1, group_dims,
                  groups / std::max<size_t>(rows, 1) * 4, logsumexp.data(), tmp, f);
  });
}

TopK topk_from_logits(const std::vector<float>& logits, int64_t rows, int classes, int k,
                      double temperature) {
  if (rows < 0 || classes <= 0 || k <= 0 || k > classes || !(temperature > 0) ||
      logits.size() != static_cast<size_t>(rows) * static_cast<size_t>(classes)) {
    throw RuntimeFailure("topk_from_logits: bad arguments: rows " + std::to_string(rows) +
                         ", classes " + std::to_string(classes) + ", k " + std::to_string(k) +
                         ", temperature " + std::to_string(temperature) + ", " +
                         std::to_string(logits.size()) + " logits");
  }
  TopK out;
  out.k = k;
  out.values.reserve(static_cast<size_t>(rows) * k);
  out.indices.reserve(static_cast<size_t>(rows) * k);
  out.logsumexp.reserve(static_cast<size_t>(rows));
  std::vector<int32_t> order(static_cast<size_t>(classes));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = logits.data() + r * classes;
    // Descending by value, ties by lower index; NaN above everything (a strict weak order).
    const auto before = [row](int32_t a, int32_t b) {
      const float x = row[a], y = row[b];
      const bool nx = std::isnan(x), ny = std::isnan(y);
      if (nx != ny) return nx;
      if (!nx && x != y) return x > y;
      return a < b;
    };
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
    for (int i = 0; i < k; ++i) {
      out.indices.push_back(order[i]);
      out.values.push_back(row[order[i]]);
    }
    // log sum exp(x / T) = m + log sum exp(x / T - m), m = max x / T.
    double m = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < classes; ++c) m = std::max(m, row[c] / temperature);
    double lse = m;  // all -inf gives -inf; any +inf gives +inf
    if (std::isfinite(m)) {
      double sum = 0;
      for (int c = 0; c < classes; ++c) sum += std::exp(row[c] / temperature - m);
      lse = m + std::log(sum);
    }
    bool nan = false;
    for (int c = 0; c < classes; ++c) nan = nan || std::isnan(row[c]);
    out.logsumexp.push_back(nan ? std::numeric_limits<float>::quiet_NaN()
                                : static_cast<float>(lse));
  }
  return out;
}

}  // namespace condenser

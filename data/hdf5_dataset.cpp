#include "data/hdf5_dataset.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <optional>
#include <sstream>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/hdf5_check.h"
#include "data/hdf5_read.h"

namespace condenser {
namespace {

const char* const kLayoutHint =
    "data.path must be an HDF5 file with groups train[/validation/test], each holding the "
    "datasets inputs [N, ...] and labels [N]";

[[noreturn]] void bad(const std::string& path, const std::string& problem) {
  throw UsageError("HDF5 data file '" + path + "': " + problem);
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

h5::File open_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) bad(path, std::string("does not exist; ") + kLayoutHint);
  h5::quiet_errors();
  if (S_ISDIR(st.st_mode) || H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    bad(path, std::string("is not an HDF5 file; ") + kLayoutHint);
  }
  return h5::File(CONDENSER_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open"));
}

// One split's datasets, opened and checked for layout, shape and dtype.
struct Split {
  std::string name;  // "train"
  h5::Dataset inputs, labels;
  std::vector<int64_t> dims;  // of inputs: [N, sample...]
  std::string dtype;
  std::string where(const char* ds) const { return "/" + name + "/" + ds; }
  std::vector<int64_t> sample_shape() const { return {dims.begin() + 1, dims.end()}; }
};

h5::Dataset open_dataset(hid_t group, const Split& s, const char* name, const std::string& path) {
  if (!h5::has_link(group, name)) {
    bad(path, "has no dataset " + s.where(name) + "; " + kLayoutHint);
  }
  const hid_t id = (h5::quiet_errors(), H5Dopen2(group, name, H5P_DEFAULT));
  if (id < 0) bad(path, s.where(name) + " is not a dataset; " + kLayoutHint);
  return h5::Dataset(id);
}

void check_inputs(const Split& s, const std::string& path) {
  const std::string in = s.where("inputs");
  if (s.dtype != "uint8" && s.dtype != "int64" && s.dtype != "float16" && s.dtype != "float32") {
    bad(path, in + " holds " + s.dtype + "; inputs must be uint8, int64, float16 or float32");
  }
  if (s.dims.size() < 2) {
    bad(path, in + " has shape " + shape_text(s.dims) +
                  "; inputs must be [N, ...] with at least one dimension per sample");
  }
  if (s.dims[0] == 0) bad(path, in + " has no rows; a split present in the file must not be empty");
  for (size_t i = 1; i < s.dims.size(); ++i) {
    if (s.dims[i] == 0) bad(path, in + " has shape " + shape_text(s.dims) + ": empty samples");
  }
}

void check_labels_dataset(const Split& s, const std::string& path) {
  const std::string lab = s.where("labels");
  const std::string dtype = h5::dtype_of(s.labels, lab);
  if (dtype != "int64" && dtype != "int32" && dtype != "uint8") {
    bad(path, lab + " holds " + dtype + "; labels must be int64 (int32 and uint8 are accepted)");
  }
  const std::vector<int64_t> dims = h5::dims_of(s.labels, lab);
  if (dims.size() != 1) {
    bad(path, lab + " has shape " + shape_text(dims) + "; labels must be 1-d [N]");
  }
  if (dims[0] != s.dims[0]) {
    bad(path, lab + " has " + std::to_string(dims[0]) + " labels but " + s.where("inputs") +
                  " has " + std::to_string(s.dims[0]) + " rows; they must be equal");
  }
}

Split open_split(hid_t file, const std::string& name, const std::string& path) {
  Split s;
  s.name = name;
  const hid_t id = (h5::quiet_errors(), H5Gopen2(file, name.c_str(), H5P_DEFAULT));
  if (id < 0) bad(path, "/" + name + " is not a group; " + kLayoutHint);
  const h5::Handle<H5Gclose> group(id);
  s.inputs = open_dataset(group, s, "inputs", path);
  s.labels = open_dataset(group, s, "labels", path);
  s.dims = h5::dims_of(s.inputs, s.where("inputs"));
  s.dtype = h5::dtype_of(s.inputs, s.where("inputs"));
  check_inputs(s, path);
  check_labels_dataset(s, path);
  return s;
}

// The first `rows` labels of a split as int64 [rows].
at::Tensor read_labels(const Split& s, int64_t rows) {
  at::Tensor out = torch::empty({rows}, torch::kInt64);
  if (rows == 0) return out;
  auto spaces = h5::select_rows(s.labels, {s.dims[0]}, 0, rows);
  CONDENSER_H5_CHECK(H5Dread(s.labels, H5T_NATIVE_INT64, spaces.second, spaces.first,
                             H5P_DEFAULT, out.data_ptr<int64_t>()),
                     "read " + s.where("labels"));
  return out;
}

// `source` says where the class count came from, for the message.
void check_label_range(const Split& s, const at::Tensor& labels, int num_classes,
                       const std::string& source, const std::string& path) {
  const int64_t* v = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < labels.size(0); ++i) {
    if (v[i] < 0 || v[i] >= num_classes) {
      bad(path, s.where("labels") + "[" + std::to_string(i) + "] = " + std::to_string(v[i]) +
                    " is outside [0, " + std::to_string(num_classes) + ") (" + source + ")");
    }
  }
}

// ---- root attributes ----

struct RootAttributes {
  std::optional<std::vector<double>> num_classes, scale, mean, std;
  std::optional<std::vector<std::string>> class_names;
};

RootAttributes read_root_attributes(hid_t file, const std::string& path) {
  const std::string owner = "HDF5 data file '" + path + "'";
  RootAttributes a;
  a.num_classes = h5::number_attribute(file, "num_classes", owner);
  a.scale = h5::number_attribute(file, "scale", owner);
  a.mean = h5::number_attribute(file, "mean", owner);
  a.std = h5::number_attribute(file, "std", owner);
  a.class_names = h5::string_attribute(file, "class_names", owner);
  return a;
}

// Sets info->num_classes and class_names; returns where the count came from.
std::string resolve_classes(const RootAttributes& a, const at::Tensor& train_labels,
                            const std::string& path, Hdf5DatasetInfo* info) {
  if (a.class_names) info->class_names = *a.class_names;
  if (a.num_classes) {
    const double v = a.num_classes->front();
    if (a.num_classes->size() != 1 || v != std::floor(v) || v < 1 || v > INT_MAX) {
      bad(path, "root attribute 'num_classes' must be one whole number >= 1");
    }
    info->num_classes = static_cast<int>(v);
    if (a.class_names && a.class_names->size() != static_cast<size_t>(v)) {
      bad(path, "root attribute 'class_names' has " + std::to_string(a.class_names->size()) +
                    " names but 'num_classes' is " + std::to_string(info->num_classes) +
                    "; give one name per class");
    }
    return "the class count comes from the root attribute num_classes";
  }
  if (a.class_names) {
    info->num_classes = static_cast<int>(a.class_names->size());
    return "the class count is the length of the class_names attribute";
  }
  const int64_t top = train_labels.max().item<int64_t>();
  if (top >= INT_MAX) {
    bad(path, "/train/labels holds class " + std::to_string(top) +
                  "; set the root attribute num_classes");
  }
  info->num_classes = static_cast<int>(std::max<int64_t>(top + 1, 1));
  return "the class count is max(/train/labels) + 1; set the root attribute num_classes "
         "if some classes are missing from train";
}

void check_per_channel(const std::vector<double>& v, const char* name,
                       const Hdf5DatasetInfo& info) {
  const int64_t channels = info.sample_shape.front();
  if (v.size() != 1 && static_cast<int64_t>(v.size()) != channels) {
    bad(info.path, std::string("root attribute '") + name + "' has " + std::to_string(v.size()) +
                       " values; it needs 1 or one per channel (" + std::to_string(channels) +
                       ", the first sample dimension of " + shape_text(info.sample_shape) + ")");
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const bool is_std = std::string(name) == "std";
    if (!std::isfinite(v[i]) || (is_std && v[i] <= 0)) {
      bad(info.path, std::string("root attribute '") + name + "'[" + std::to_string(i) +
                         "] = " + number_text(v[i]) + " must be " +
                         (is_std ? "a finite number > 0" : "finite"));
    }
  }
}

void resolve_normalisation(const RootAttributes& a, Hdf5DatasetInfo* info) {
  if (info->stored_dtype == "int64" && (a.scale || a.mean || a.std)) {
    bad(info->path, "root attributes scale/mean/std do not apply to int64 inputs (token ids, "
                    "kept as they are); remove them or store the inputs as float");
  }
  if (a.scale) {
    const double s = a.scale->front();
    if (a.scale->size() != 1 || !std::isfinite(s) || s == 0) {
      bad(info->path, "root attribute 'scale' must be one finite, non-zero number");
    }
    info->normalisation.scale = s;
  }
  if (a.mean) check_per_channel(*a.mean, "mean", *info);
  if (a.std) check_per_channel(*a.std, "std", *info);
  info->normalisation.mean = a.mean.value_or(std::vector<double>{});
  info->normalisation.std = a.std.value_or(std::vector<double>{});
}

// ---- reading inputs ----

// mean/std as a float tensor that broadcasts over [n, C, ...]; undefined when empty.
at::Tensor per_channel(const std::vector<double>& v, size_t sample_rank) {
  if (v.empty()) return {};
  std::vector<float> f(v.begin(), v.end());
  std::vector<int64_t> shape(sample_rank + 1, 1);
  shape[1] = static_cast<int64_t>(f.size());
  return torch::tensor(f, torch::kFloat32).view(shape);
}

[[noreturn]] void non_finite(const Hdf5DatasetInfo& info, const Split& s, const at::Tensor& chunk,
                             int64_t r0) {
  const int64_t flat = torch::logical_not(torch::isfinite(chunk)).flatten().nonzero()[0][0]
                           .item<int64_t>();
  const int64_t sample = r0 + flat / (chunk.numel() / chunk.size(0));
  bad(info.path, s.where("inputs") + "[" + std::to_string(sample) +
                     "] holds NaN or infinity; fix or drop that sample");
}

// Rows [0, rows) of the split's inputs, read `chunk_bytes` at a time straight
// into the result (float16 through one chunk-sized buffer), checked and
// normalised chunk by chunk.
at::Tensor read_inputs(const Hdf5DatasetInfo& info, const Split& s, int64_t rows,
                       int64_t chunk_bytes) {
  const bool tokens = s.dtype == "int64";
  std::vector<int64_t> shape = s.dims;
  shape[0] = rows;
  at::Tensor out = torch::empty(shape, tokens ? torch::kInt64 : torch::kFloat32);
  const int64_t row_bytes = out.numel() / std::max<int64_t>(rows, 1) * out.element_size();
  const int64_t step = std::max<int64_t>(1, chunk_bytes / std::max<int64_t>(row_bytes, 1));
  const InputNormalisation& norm = info.normalisation;
  const at::Tensor mean = per_channel(norm.mean, shape.size() - 1);
  const at::Tensor stdev = per_channel(norm.std, shape.size() - 1);
  const h5::Type half = h5::make_ieee_half_type();
  for (int64_t r0 = 0; r0 < rows; r0 += step) {
    const int64_t n = std::min(step, rows - r0);
    at::Tensor chunk = out.narrow(0, r0, n);
    auto spaces = h5::select_rows(s.inputs, s.dims, r0, n);
    const std::string what = "read " + s.where("inputs");
    if (s.dtype == "float16") {  // HDF5's soft float conversion is slow; torch's is not
      std::vector<int64_t> chunk_shape = shape;
      chunk_shape[0] = n;
      at::Tensor buffer = torch::empty(chunk_shape, torch::kFloat16);
      CONDENSER_H5_CHECK(H5Dread(s.inputs, half, spaces.second, spaces.first, H5P_DEFAULT,
                                 buffer.data_ptr()), what);
      chunk.copy_(buffer);
    } else {
      const hid_t mem_type = tokens ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT;
      CONDENSER_H5_CHECK(H5Dread(s.inputs, mem_type, spaces.second, spaces.first, H5P_DEFAULT,
                                 chunk.data_ptr()), what);
    }
    if (tokens) continue;
    if (s.dtype != "uint8" && !torch::isfinite(chunk).all().item<bool>()) {
      non_finite(info, s, chunk, r0);
    }
    if (norm.scale != 1.0) chunk.mul_(norm.scale);
    if (mean.defined()) chunk.sub_(mean);
    if (stdev.defined()) chunk.div_(stdev);
  }
  return out;
}

int64_t split_rows(const Hdf5DatasetInfo& info, const std::string& split) {
  if (split != "train" && split != "validation" && split != "test") {
    throw UsageError("HDF5 data split '" + split + "' is unknown; use train, validation or test");
  }
  const int64_t rows = split == "train"        ? info.train_rows
                       : split == "validation" ? info.validation_rows
                                               : info.test_rows;
  if (rows == 0) bad(info.path, "has no group /" + split + "; " + kLayoutHint);
  return rows;
}

// Opens a split for loading and checks the file still matches `info`.
Split reopen_split(const h5::File& file, const Hdf5DatasetInfo& info, const std::string& split) {
  Split s = open_split(file, split, info.path);
  if (s.dims[0] != split_rows(info, split) || s.sample_shape() != info.sample_shape ||
      s.dtype != info.stored_dtype) {
    bad(info.path, s.where("inputs") + " changed since the file was checked; check it again");
  }
  return s;
}

}  // namespace

Hdf5DatasetInfo inspect_hdf5_dataset(const std::string& path) {
  Hdf5DatasetInfo info;
  info.path = path;
  try {
    const h5::File file = open_file(path);
    if (!h5::has_link(file, "train")) bad(path, std::string("has no group /train; ") + kLayoutHint);
    std::vector<std::pair<Split, at::Tensor>> splits;
    for (const char* name : {"train", "validation", "test"}) {
      if (!h5::has_link(file, name)) continue;
      Split s = open_split(file, name, path);
      const Split& train = splits.empty() ? s : splits.front().first;
      if (s.sample_shape() != train.sample_shape() || s.dtype != train.dtype) {
        bad(path, s.where("inputs") + " holds " + s.dtype + " samples of shape " +
                      shape_text(s.sample_shape()) + " but /train/inputs holds " + train.dtype +
                      " samples of shape " + shape_text(train.sample_shape()) +
                      "; every split must have the same sample shape and dtype");
      }
      at::Tensor labels = read_labels(s, s.dims[0]);
      const std::string n = name;
      (n == "train" ? info.train_rows : n == "validation" ? info.validation_rows : info.test_rows) =
          s.dims[0];
      splits.emplace_back(std::move(s), std::move(labels));
    }
    info.sample_shape = splits.front().first.sample_shape();
    info.stored_dtype = splits.front().first.dtype;
    const RootAttributes attributes = read_root_attributes(file, path);
    const std::string source = resolve_classes(attributes, splits.front().second, path, &info);
    for (const auto& [s, labels] : splits) {
      check_label_range(s, labels, info.num_classes, source, path);
    }
    resolve_normalisation(attributes, &info);
  } catch (const RuntimeFailure& e) {
    bad(path, std::string("cannot be read (damaged or truncated?): ") + e.what());
  }
  info.sha256 = sha256_file(path);
  return info;
}

namespace detail {
ImageDataset load_hdf5_split_chunked(const Hdf5DatasetInfo& info, const std::string& split,
                                     int64_t max_rows, int64_t chunk_bytes) {
  const int64_t total = split_rows(info, split);
  const int64_t rows = max_rows > 0 ? std::min(max_rows, total) : total;
  ImageDataset ds;
  try {
    const h5::File file = open_file(info.path);
    const Split s = reopen_split(file, info, split);
    ds.labels = read_labels(s, rows);
    check_label_range(s, ds.labels, info.num_classes, "the class count of the checked file",
                      info.path);
    ds.images = read_inputs(info, s, rows, chunk_bytes);
  } catch (const RuntimeFailure& e) {
    bad(info.path, std::string("cannot be read (damaged or truncated?): ") + e.what());
  }
  ds.num_classes = info.num_classes;
  ds.fingerprint = info.sha256;
  return ds;
}
}  // namespace detail

ImageDataset load_hdf5_split(const Hdf5DatasetInfo& info, const std::string& split,
                             int64_t max_rows) {
  return detail::load_hdf5_split_chunked(info, split, max_rows, kHdf5ReadChunkBytes);
}

at::Tensor hdf5_first_inputs(const Hdf5DatasetInfo& info, int64_t rows) {
  const int64_t n = std::clamp<int64_t>(rows, 0, split_rows(info, "train"));
  try {
    const h5::File file = open_file(info.path);
    return read_inputs(info, reopen_split(file, info, "train"), n, kHdf5ReadChunkBytes);
  } catch (const RuntimeFailure& e) {
    bad(info.path, std::string("cannot be read (damaged or truncated?): ") + e.what());
  }
}

}  // namespace condenser

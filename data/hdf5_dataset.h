#pragma once
// A user's own data as one HDF5 file, of any sample shape.
//
// File layout (h5py: f.create_dataset("train/inputs", data=x) etc.):
//   /train/inputs        [N, ...]  required; uint8, int64, float16 or float32,
//                                  any rank >= 1 per sample: images [C, H, W],
//                                  tabular [F], sequences [T]
//   /train/labels        [N]       required; int64 (int32 and uint8 accepted)
//   /validation/{inputs,labels}    optional, same sample shape and dtype as train
//   /test/{inputs,labels}          optional, same sample shape and dtype as train
// Root attributes, all optional:
//   num_classes  integer; otherwise the length of class_names; otherwise
//                max(train label) + 1
//   class_names  array of strings (variable or fixed length)
//   scale        number multiplying the stored values (1/255 for uint8 pixels); default 1
//   mean, std    numbers, one per channel (= the first sample dim) or a single one;
//                applied after scale: x = (raw * scale - mean[c]) / std[c]
// int64 inputs (token ids) stay int64 and may carry no scale/mean/std; every
// other dtype is loaded as float32, normalised as above.
//
// Every problem a user can cause is a UsageError naming the file, the dataset
// inside it (e.g. "/validation/inputs") and, for a bad value, its index.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace condenser {

struct InputNormalisation {
  double scale = 1.0;
  std::vector<double> mean, std;  // as stored: 1 value or one per channel; empty = none
};

struct Hdf5DatasetInfo {
  std::string path, sha256;           // SHA-256 of the whole file's bytes (streamed)
  std::vector<int64_t> sample_shape;  // per sample, e.g. {3, 32, 32} or {20}
  std::string stored_dtype;           // "uint8" | "int64" | "float16" | "float32"
  int num_classes = 0;
  std::vector<std::string> class_names;  // empty when the file has none
  InputNormalisation normalisation;
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;  // 0 = split absent
};

// Checks the layout, the root attributes and every split's shapes, dtypes
// and labels without loading inputs (labels are read: N int64s a split), then
// hashes the file. Throws UsageError naming the file and what is wrong: file
// missing or not HDF5; no /train group; a missing inputs or labels dataset;
// labels not [N] with N = the inputs' rows; an empty split; sample shape or
// dtype differing between splits; an unsupported dtype; a label outside
// [0, num_classes) (dataset, index, value); mean/std of a length other than 1
// or the channel count; std <= 0; scale/mean/std with int64 inputs;
// class_names disagreeing with num_classes.
Hdf5DatasetInfo inspect_hdf5_dataset(const std::string& path);

// Loads one split ("train" | "validation" | "test") as an ImageDataset:
// `images` = inputs [N, ...] float32 normalised as above (int64 for int64
// inputs), labels [N] int64, num_classes, fingerprint = info.sha256.
// Inputs are read in hyperslabs of about kHdf5ReadChunkBytes straight into
// the result, so peak memory is the result plus one chunk. `max_rows` > 0
// reads only the first rows. Throws UsageError for a split the file lacks,
// NaN/inf in float inputs (file, dataset, sample index), a label out of
// range, or a file that changed since `info` was taken.
ImageDataset load_hdf5_split(const Hdf5DatasetInfo& info, const std::string& split,
                             int64_t max_rows = 0);

// The first `rows` inputs of the train split (as load_hdf5_split, reading no
// further): for probes.
at::Tensor hdf5_first_inputs(const Hdf5DatasetInfo& info, int64_t rows);

inline constexpr int64_t kHdf5ReadChunkBytes = int64_t{64} << 20;

namespace detail {
// load_hdf5_split with the chunk size as a parameter, so tests can make a
// small file span several chunks. At least one sample is read per chunk.
ImageDataset load_hdf5_split_chunked(const Hdf5DatasetInfo& info, const std::string& split,
                                     int64_t max_rows, int64_t chunk_bytes);
}  // namespace detail

}  // namespace condenser

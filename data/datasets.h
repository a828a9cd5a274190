#pragma once
// The job's view of its dataset, whatever the source: Fashion-MNIST IDX files
// (data/dataset.h), a user's HDF5 file (data/hdf5_dataset.h) or a token
// file (data/text/token_file.h, windows as data/text/token_windows.h). The
// coordinator and every worker describe, split and load it through these
// functions, so both derive the same sample lists from the same file.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/hdf5_dataset.h"
#include "data/text/token_file.h"

namespace condenser {

struct DatasetInfo {
  std::string kind;  // fashion_mnist | hdf5 | tokens
  std::string path;  // the IDX folder, the HDF5 file or the token file
  std::vector<int64_t> sample_shape;  // per sample: {1, 28, 28}, {3, 32, 32}, {20}, {seq_len}
  // uint8 | int64 | float16 | float32, as stored; tokens: uint16 | uint32
  // (the inputs are int64 ids all the same: see input_dtype()).
  std::string stored_dtype;
  int num_classes = 0;  // tokens: the vocabulary size (labels are next-token ids)
  std::vector<std::string> class_names;  // empty when the source names none
  // How stored values become model inputs, in words (model cards, metrics).
  std::string normalisation;
  std::string file_sha256;  // hdf5, tokens: the file's SHA-256; fashion_mnist: empty
  // Rows are samples; for tokens, windows of seq_len (token_window_count).
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;  // 0: split absent
  Hdf5DatasetInfo hdf5;  // kind hdf5: what the reader found (so it is not read twice)
  // kind tokens: the window length, the tokenizer's SHA-256 and what
  // inspect_token_file found (tokens and documents per split, special ids).
  int64_t seq_len = 0;
  std::string tokenizer_sha256;
  TokenFileInfo token_file;

  // Images [C, H, W]: the only inputs that augmentation views, CutMix and
  // convolutions make sense for.
  bool is_image() const { return sample_shape.size() == 3; }
  bool is_tokens() const { return kind == "tokens"; }
  // What models get: "int64" (token ids: HDF5 int64 inputs, token files) or "float32".
  std::string input_dtype() const {
    return stored_dtype == "int64" || is_tokens() ? "int64" : "float32";
  }
  std::string shape_text() const;  // "3x32x32"
  std::string batch_shape_text() const;  // "[N, 3, 32, 32]"
};

// Checks the source without loading its inputs (Fashion-MNIST: headers and
// labels; HDF5: layout, shapes, dtypes, labels; tokens: the whole file, as
// inspect_token_file). kind: fashion_mnist | hdf5 | tokens. `seq_len` is the
// tokens' window length (data.seq_len; ignored by the other kinds).
// UsageError naming the file and what is wrong.
DatasetInfo describe_dataset(const std::string& kind, const std::string& path, int64_t seq_len);

// Which samples of the train split each set takes. The validation set is the
// source's own split when it has one, else `validation_size` samples carved
// from train at random (seed); a missing test split is carved the same way
// (another `validation_size`, before the validation carve). Train is cut to
// `train_subset` (0 = all). Index lists are ascending and disjoint; an own
// validation or test split leaves its list here empty.
struct SplitPlan {
  std::vector<int64_t> train, validation, test;
};
SplitPlan plan_splits(const DatasetInfo& info, int64_t validation_size, int64_t train_subset,
                      uint64_t seed);

// The rows of one split that a set of the job uses: the source's own
// validation or test split (test cut to its first `test_subset` rows, 0 =
// all), or the rows the plan carved from "train".
struct SetRows {
  std::string split;  // train | validation | test: what load_split loads
  std::vector<int64_t> rows;
};
SetRows validation_rows(const DatasetInfo& info, const SplitPlan& plan);
SetRows test_rows(const DatasetInfo& info, const SplitPlan& plan, int64_t test_subset);

// Loads a split: "train", "validation" or "test" (the last two only when the
// source has them). Fashion-MNIST inputs are pixels in [0, 1] (its models
// normalise themselves); HDF5 inputs are normalised as the file says; token
// files give images = int64 [N, seq_len] input ids and labels = int64
// [N, seq_len] next-token ids (kIgnoreToken past the end).
ImageDataset load_split(const DatasetInfo& info, const std::string& split);

// The first `rows` inputs of the train split (for the teacher probe),
// reading no further into the source.
at::Tensor first_train_inputs(const DatasetInfo& info, int64_t rows);

}  // namespace condenser

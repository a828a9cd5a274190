#include "data/datasets.h"

#include <algorithm>

#include "core/errors.h"
#include "data/hdf5_dataset.h"
#include "data/sampling.h"
#include "data/text/token_windows.h"

namespace condenser {
namespace {

DatasetInfo describe_fashion_mnist(const std::string& dir) {
  DatasetInfo info;
  info.kind = "fashion_mnist";
  info.path = dir;
  info.sample_shape = {1, kFashionMnistSide, kFashionMnistSide};
  info.stored_dtype = "uint8";
  info.num_classes = kFashionMnistClasses;
  info.normalisation = "pixels / 255, in [0, 1] (the built-in models normalise them themselves)";
  info.train_rows = check_fashion_mnist_split(dir, /*train=*/true);
  info.test_rows = check_fashion_mnist_split(dir, /*train=*/false);
  return info;
}

std::string number_list(const std::vector<double>& values) {
  std::string s;
  for (double v : values) s += (s.empty() ? "" : ", ") + std::to_string(v);
  return "[" + s + "]";
}

DatasetInfo describe_hdf5(const std::string& path) {
  const Hdf5DatasetInfo h = inspect_hdf5_dataset(path);
  DatasetInfo info;
  info.kind = "hdf5";
  info.path = path;
  info.sample_shape = h.sample_shape;
  info.stored_dtype = h.stored_dtype;
  info.num_classes = h.num_classes;
  info.class_names = h.class_names;
  info.file_sha256 = h.sha256;
  info.train_rows = h.train_rows;
  info.validation_rows = h.validation_rows;
  info.test_rows = h.test_rows;
  info.hdf5 = h;
  const InputNormalisation& n = h.normalisation;
  if (h.stored_dtype == "int64") {
    info.normalisation = "int64 values as stored (token ids)";
  } else {
    info.normalisation = "float32(stored) * " + std::to_string(n.scale);
    if (!n.mean.empty()) {
      info.normalisation += ", then (x - mean) / std per channel, mean " + number_list(n.mean) +
                            ", std " + number_list(n.std);
    }
  }
  return info;
}

DatasetInfo describe_tokens(const std::string& path, int64_t seq_len) {
  if (seq_len < 1) throw UsageError("data.seq_len must be at least 1 for a token file");
  const TokenFileInfo t = inspect_token_file(path);
  DatasetInfo info;
  info.kind = "tokens";
  info.path = path;
  info.sample_shape = {seq_len};
  info.stored_dtype = t.dtype;
  info.num_classes = static_cast<int>(t.vocab_size);
  info.normalisation = "token ids as int64 in windows of " + std::to_string(seq_len) +
                       "; labels are the next tokens, " + std::to_string(kIgnoreToken) +
                       " past the end";
  info.file_sha256 = t.sha256;
  info.train_rows = token_window_count(t.split_tokens("train"), seq_len);
  info.validation_rows = token_window_count(t.split_tokens("validation"), seq_len);
  info.test_rows = token_window_count(t.split_tokens("test"), seq_len);
  info.seq_len = seq_len;
  info.tokenizer_sha256 = t.tokenizer_sha256;
  info.token_file = t;
  return info;
}

// Positions [0, n) of `list` mapped through it: list[positions].
std::vector<int64_t> pick(const std::vector<int64_t>& list, const std::vector<int64_t>& positions) {
  std::vector<int64_t> out;
  out.reserve(positions.size());
  for (int64_t p : positions) out.push_back(list[static_cast<size_t>(p)]);
  return out;
}

}  // namespace

std::string DatasetInfo::shape_text() const {
  std::string s;
  for (int64_t d : sample_shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

std::string DatasetInfo::batch_shape_text() const {
  std::string s = "[N";
  for (int64_t d : sample_shape) s += ", " + std::to_string(d);
  return s + "]";
}

DatasetInfo describe_dataset(const std::string& kind, const std::string& path, int64_t seq_len) {
  if (kind == "fashion_mnist") return describe_fashion_mnist(path);
  if (kind == "hdf5") return describe_hdf5(path);
  if (kind == "tokens") return describe_tokens(path, seq_len);
  throw UsageError("data.dataset '" + kind +
                   "' is not a dataset kind; use fashion_mnist, hdf5 or tokens");
}

SplitPlan plan_splits(const DatasetInfo& info, int64_t validation_size, int64_t train_subset,
                      uint64_t seed) {
  const int64_t n = info.train_rows;
  const int64_t carve_validation = info.validation_rows > 0 ? 0 : validation_size;
  SplitPlan plan;
  if (info.test_rows > 0) {  // Fashion-MNIST: exactly the split it always had
    TrainValSplit s = make_train_val_split(n, carve_validation, train_subset, seed);
    plan.train = std::move(s.train);
    plan.validation = std::move(s.validation);
    return plan;
  }
  // No test split: carve one first, from its own stream, then split the rest.
  const TrainValSplit test = make_train_val_split(n, validation_size, 0, mix_seed(seed, 0x7e57));
  const TrainValSplit rest = make_train_val_split(static_cast<int64_t>(test.train.size()),
                                                  carve_validation, train_subset, seed);
  plan.test = test.validation;
  plan.train = pick(test.train, rest.train);
  plan.validation = pick(test.train, rest.validation);
  return plan;
}

namespace {

std::vector<int64_t> first_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
  return rows;
}

}  // namespace

SetRows validation_rows(const DatasetInfo& info, const SplitPlan& plan) {
  if (info.validation_rows > 0) return {"validation", first_rows(info.validation_rows)};
  return {"train", plan.validation};
}

SetRows test_rows(const DatasetInfo& info, const SplitPlan& plan, int64_t test_subset) {
  SetRows set = info.test_rows > 0 ? SetRows{"test", first_rows(info.test_rows)}
                                   : SetRows{"train", plan.test};
  if (test_subset > 0 && test_subset < static_cast<int64_t>(set.rows.size())) {
    set.rows.resize(static_cast<size_t>(test_subset));
  }
  return set;
}

ImageDataset load_split(const DatasetInfo& info, const std::string& split) {
  if (info.kind == "fashion_mnist") {
    if (split != "train" && split != "test") {
      throw RuntimeFailure("Fashion-MNIST has no split '" + split + "'");
    }
    return load_fashion_mnist(info.path, split == "train");
  }
  if (info.is_tokens()) return load_token_split(info.token_file, split, info.seq_len);
  return load_hdf5_split(info.hdf5, split);
}

at::Tensor first_train_inputs(const DatasetInfo& info, int64_t rows) {
  if (info.kind == "fashion_mnist") return fashion_mnist_first_images(info.path, true, rows);
  if (info.is_tokens()) {
    const TokenFileInfo& t = info.token_file;
    return make_token_windows(read_split_tokens(t, "train"), info.seq_len, token_pad_input(t), rows)
        .inputs;
  }
  return hdf5_first_inputs(info.hdf5, rows);
}

}  // namespace condenser

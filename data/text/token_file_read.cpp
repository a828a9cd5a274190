// Reading and checking the HDF5 token file (data/text/token_file.h).
#include <algorithm>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/hdf5_read.h"
#include "data/text/token_file.h"

namespace condenser {
namespace {

constexpr int64_t kChunk = 1 << 20;  // values read per HDF5 call

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw UsageError("token file '" + path + "': " + what +
                   "; write it again with condenser prepare-text");
}

int split_index(const std::string& split) {
  const auto& names = token_splits();
  const auto it = std::find(names.begin(), names.end(), split);
  if (it == names.end()) throw RuntimeFailure("token file: no split '" + split + "'");
  return int(it - names.begin());
}

int64_t int_attr(hid_t file, const char* name, const std::string& path) {
  const auto v = h5::number_attribute(file, name, "token file '" + path + "'");
  if (!v || v->size() != 1) fail(path, std::string("attribute '") + name + "' is missing");
  return int64_t((*v)[0]);
}

std::string string_attr(hid_t file, const char* name, const std::string& path) {
  const auto v = h5::string_attribute(file, name, "token file '" + path + "'");
  if (!v || v->size() != 1) fail(path, std::string("attribute '") + name + "' is missing");
  return (*v)[0];
}

// Opens 1-d dataset `name`, checks its dtype is one of `dtypes`; returns its length.
h5::Dataset open_1d(hid_t file, const std::string& name, const std::vector<std::string>& dtypes,
                    const std::string& path, int64_t* n, std::string* dtype = nullptr) {
  if (!h5::has_link(file, name.substr(1, name.find('/', 1) - 1).c_str()) ||
      H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
    fail(path, "dataset " + name + " is missing");
  }
  h5::Dataset ds(CONDENSER_H5_CHECK(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "open " + name));
  const std::vector<int64_t> dims = h5::dims_of(ds, name);
  const std::string type = h5::dtype_of(ds, name);
  if (dims.size() != 1) fail(path, "dataset " + name + " must be 1-d");
  if (std::find(dtypes.begin(), dtypes.end(), type) == dtypes.end()) {
    fail(path, "dataset " + name + " is " + type + ", not " + dtypes.front());
  }
  *n = dims[0];
  if (dtype) *dtype = type;
  return ds;
}

// Reads rows [r0, r0 + n) of 1-d dataset `ds` as `mem_type` into `out`.
void read_rows(hid_t ds, hid_t mem_type, int64_t total, int64_t r0, int64_t n, void* out) {
  if (n == 0) return;
  auto spaces = h5::select_rows(ds, {total}, r0, n);
  CONDENSER_H5_CHECK(H5Dread(ds, mem_type, spaces.second, spaces.first, H5P_DEFAULT, out),
                     "read rows");
}

// Checks one split: dtypes, offsets, ids < vocab, eos ending each document.
void check_split(hid_t file, int k, TokenFileInfo* info) {
  const std::string& split = token_splits()[size_t(k)];
  const std::string& path = info->path;
  const std::string tn = "/" + split + "/tokens", on = "/" + split + "/doc_offsets";
  int64_t n = 0, m = 0;
  std::string dtype;
  h5::Dataset tokens = open_1d(file, tn, {info->dtype}, path, &n, &dtype);
  h5::Dataset offsets = open_1d(file, on, {"int64"}, path, &m);
  if (m < 2) fail(path, "dataset " + on + " holds no document (needs at least 2 offsets)");
  std::vector<int64_t> o(size_t(m), 0);
  read_rows(offsets, H5T_NATIVE_INT64, m, 0, m, o.data());
  if (o.front() != 0 || o.back() != n) {
    fail(path, "dataset " + on + " must run from 0 to " + std::to_string(n) + " (the tokens)");
  }
  for (int64_t i = 1; i < m; ++i) {
    if (o[size_t(i)] <= o[size_t(i - 1)]) {
      fail(path, "dataset " + on + " is not strictly increasing at " + std::to_string(i));
    }
  }
  std::vector<uint32_t> buf;
  size_t doc = 1;  // next document end to check for eos
  for (int64_t r0 = 0; r0 < n; r0 += kChunk) {
    const int64_t len = std::min(kChunk, n - r0);
    buf.resize(size_t(len));
    read_rows(tokens, H5T_NATIVE_UINT32, n, r0, len, buf.data());
    for (int64_t i = 0; i < len; ++i) {
      if (buf[size_t(i)] >= uint64_t(info->vocab_size)) {
        fail(path, "dataset " + tn + ": id " + std::to_string(buf[size_t(i)]) + " at " +
                       std::to_string(r0 + i) + " >= vocab_size " +
                       std::to_string(info->vocab_size));
      }
    }
    for (; doc < o.size() && o[doc] <= r0 + len; ++doc) {
      if (buf[size_t(o[doc] - 1 - r0)] != uint32_t(info->eos_id)) {
        fail(path, "dataset " + tn + ": document " + std::to_string(doc - 1) +
                       " does not end with eos id " + std::to_string(info->eos_id));
      }
    }
  }
  info->tokens[k] = n;
  info->documents[k] = m - 1;
}

void check_attributes(hid_t file, TokenFileInfo* info) {
  const std::string& path = info->path;
  if (string_attr(file, "kind", path) != "tokens") fail(path, "attribute 'kind' is not \"tokens\"");
  info->vocab_size = int_attr(file, "vocab_size", path);
  info->bos_id = int_attr(file, "bos_id", path);
  info->eos_id = int_attr(file, "eos_id", path);
  info->pad_id = int_attr(file, "pad_id", path);
  if (info->vocab_size < 1 || info->vocab_size > (int64_t(1) << 32)) {
    fail(path, "attribute 'vocab_size' " + std::to_string(info->vocab_size) + " is out of range");
  }
  for (const auto& [name, id] : {std::pair<const char*, int64_t>{"bos_id", info->bos_id},
                                 {"eos_id", info->eos_id},
                                 {"pad_id", info->pad_id}}) {
    if (id < -1 || id >= info->vocab_size || (id < 0 && std::string(name) == "eos_id")) {
      fail(path, std::string("attribute '") + name + "' " + std::to_string(id) +
                     " is not an id below vocab_size " + std::to_string(info->vocab_size));
    }
  }
  info->tokenizer_sha256 = string_attr(file, "tokenizer_sha256", path);
  info->corpus = string_attr(file, "corpus", path);
  info->corpus_sha256 = string_attr(file, "corpus_sha256", path);
  info->dtype = token_dtype(info->vocab_size);
}

std::string read_model(hid_t file, const std::string& path) {
  int64_t n = 0;
  h5::Dataset ds = open_1d(file, "/tokenizer", {"uint8"}, path, &n);
  std::string bytes(size_t(n), '\0');
  read_rows(ds, H5T_NATIVE_UINT8, n, 0, n, bytes.data());
  return bytes;
}

h5::File open_file(const std::string& path) {
  if (!path_exists(path)) {
    throw UsageError("token file '" + path + "' does not exist; write one with condenser " +
                     "prepare-text");
  }
  return h5::File(
      CONDENSER_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path));
}

// Runs `body`; an HDF5 failure inside (a damaged or truncated file) becomes
// a UsageError naming the file.
template <typename F>
auto as_usage_error(const std::string& path, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const RuntimeFailure& e) {
    throw UsageError("token file '" + path + "' cannot be read (" + e.what() +
                     "); is it complete? write it again with condenser prepare-text");
  }
}

}  // namespace

int64_t TokenFileInfo::split_tokens(const std::string& split) const {
  return tokens[split_index(split)];
}

int64_t TokenFileInfo::split_documents(const std::string& split) const {
  return documents[split_index(split)];
}

TokenFileInfo inspect_token_file(const std::string& path) {
  return as_usage_error(path, [&] {
    TokenFileInfo info;
    info.path = path;
    h5::File file = open_file(path);
    check_attributes(file, &info);
    const std::string model = read_model(file, path);
    if (sha256_hex(model.data(), model.size()) != info.tokenizer_sha256) {
      fail(path, "dataset /tokenizer does not match attribute 'tokenizer_sha256'");
    }
    for (int k = 0; k < 3; ++k) check_split(file, k, &info);
    info.sha256 = sha256_file(path);
    return info;
  });
}

std::vector<int32_t> read_split_tokens(const TokenFileInfo& info, const std::string& split) {
  const int64_t n = info.split_tokens(split);
  return as_usage_error(info.path, [&] {
    h5::File file = open_file(info.path);
    int64_t got = 0;
    h5::Dataset ds = open_1d(file, "/" + split + "/tokens", {info.dtype}, info.path, &got);
    if (got != n) fail(info.path, "/" + split + "/tokens changed since it was checked");
    std::vector<int32_t> out(size_t(n), 0);
    read_rows(ds, H5T_NATIVE_INT32, n, 0, n, out.data());
    return out;
  });
}

std::vector<int64_t> read_doc_offsets(const TokenFileInfo& info, const std::string& split) {
  const int64_t m = info.split_documents(split) + 1;
  return as_usage_error(info.path, [&] {
    h5::File file = open_file(info.path);
    int64_t got = 0;
    h5::Dataset ds = open_1d(file, "/" + split + "/doc_offsets", {"int64"}, info.path, &got);
    if (got != m) fail(info.path, "/" + split + "/doc_offsets changed since it was checked");
    std::vector<int64_t> out(size_t(m), 0);
    read_rows(ds, H5T_NATIVE_INT64, m, 0, m, out.data());
    return out;
  });
}

std::string read_tokenizer_model(const TokenFileInfo& info) {
  return as_usage_error(info.path, [&] {
    h5::File file = open_file(info.path);
    return read_model(file, info.path);
  });
}

}  // namespace condenser

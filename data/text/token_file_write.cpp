// Writing the HDF5 token file (data/text/token_file.h).
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "data/hdf5_check.h"
#include "data/hdf5_write.h"
#include "data/text/token_file.h"
#include "data/text/tokenizer.h"

namespace condenser {
namespace {

// A 1-d contiguous dataset of `n` values (memory type `mem_type`).
void write_array(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, const void* data,
                 size_t n, const std::string& what) {
  const hsize_t dims[1] = {n};
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate_simple(1, dims, nullptr), what));
  h5::Dataset ds(CONDENSER_H5_CHECK(
      H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), what));
  if (n > 0) CONDENSER_H5_CHECK(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), what);
  ds.close(what);
}

void write_int_attr(hid_t loc, const char* name, int64_t value, const std::string& what) {
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate(H5S_SCALAR), what));
  h5::Attribute attr(CONDENSER_H5_CHECK(
      H5Acreate2(loc, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), what));
  CONDENSER_H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT64, &value), what);
}

// The contract a writer must keep; breaking it is the caller's bug.
void check_split(const TokenSplit& s, const TokenFileContents& c, const std::string& name) {
  const std::string where = "token file split '" + name + "': ";
  const auto& o = s.doc_offsets;
  if (o.size() < 2 || o.front() != 0 || o.back() != int64_t(s.tokens.size())) {
    throw UsageError(where + "needs at least one document and offsets from 0 to its token count");
  }
  for (size_t i = 1; i < o.size(); ++i) {
    if (o[i] <= o[i - 1] || s.tokens[size_t(o[i] - 1)] != uint32_t(c.eos_id)) {
      throw UsageError(where + "document " + std::to_string(i - 1) + " is empty or lacks eos");
    }
  }
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    if (s.tokens[i] >= uint64_t(c.vocab_size)) {
      throw UsageError(where + "id " + std::to_string(s.tokens[i]) + " at " + std::to_string(i) +
                       " >= vocab_size " + std::to_string(c.vocab_size));
    }
  }
}

void write_contents(const std::string& tmp, const TokenFileContents& c) {
  const std::string what = "write token file " + tmp;
  h5::File file(CONDENSER_H5_CHECK(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                                   "create " + tmp));
  const hid_t token_type = c.vocab_size <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE;
  for (const std::string& name : token_splits()) {
    const TokenSplit& s = c.split(name);
    h5::Handle<H5Gclose> group(CONDENSER_H5_CHECK(
        H5Gcreate2(file, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), what));
    write_array(group, "tokens", token_type, H5T_NATIVE_UINT32, s.tokens.data(), s.tokens.size(),
                what + ": /" + name + "/tokens");
    write_array(group, "doc_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, s.doc_offsets.data(),
                s.doc_offsets.size(), what + ": /" + name + "/doc_offsets");
  }
  write_array(file, "tokenizer", H5T_STD_U8LE, H5T_NATIVE_UINT8, c.tokenizer_model.data(),
              c.tokenizer_model.size(), what + ": /tokenizer");
  write_string_attribute(file, "kind", "tokens", what);
  write_int_attr(file, "schema_version", 1, what);
  write_int_attr(file, "vocab_size", c.vocab_size, what);
  write_int_attr(file, "bos_id", c.bos_id, what);
  write_int_attr(file, "eos_id", c.eos_id, what);
  write_int_attr(file, "pad_id", c.pad_id, what);
  write_string_attribute(file, "tokenizer_sha256", tokenizer_sha256(c.tokenizer_model), what);
  write_string_attribute(file, "corpus", c.corpus, what);
  write_string_attribute(file, "corpus_sha256", c.corpus_sha256, what);
  file.close(what);
}

}  // namespace

const TokenSplit& TokenFileContents::split(const std::string& name) const {
  if (name == "train") return train;
  if (name == "validation") return validation;
  if (name == "test") return test;
  throw RuntimeFailure("token file: no split '" + name + "'");
}

std::string token_dtype(int64_t vocab_size) { return vocab_size <= 65536 ? "uint16" : "uint32"; }

void write_token_file(const std::string& path, const TokenFileContents& c) {
  if (c.vocab_size < 1 || c.eos_id < 0 || c.eos_id >= c.vocab_size || c.tokenizer_model.empty()) {
    throw UsageError("token file '" + path + "': needs a vocabulary, an eos id and the tokenizer");
  }
  for (const std::string& name : token_splits()) check_split(c.split(name), c, name);
  const std::string tmp = path + ".tmp";
  try {
    write_contents(tmp, c);
    fsync_file(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw RuntimeFailure("cannot rename '" + tmp + "' to '" + path +
                           "': " + std::strerror(errno));
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fsync_dir(parent_dir(path));
}

}  // namespace condenser

#pragma once
// Small HDF5 reading helpers on top of hdf5_check.h: type names as numpy
// spells them, dataset dims, row hyperslabs, and attributes (numbers,
// strings) as h5py writes them. HDF5 failures throw RuntimeFailure
// (CONDENSER_H5_CHECK); a malformed attribute throws UsageError.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "data/hdf5_check.h"

namespace condenser {
namespace h5 {

// "uint8", "int64", "float16", "float32", ... as numpy names them; anything
// else as plainly as HDF5 lets us, for error messages.
inline std::string type_name(hid_t type) {
  const size_t bits = 8 * H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT: {
      size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
      H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize);
      if (bits == 16 && (esize != 5 || msize != 10)) return "a 16-bit float other than IEEE half";
      return "float" + std::to_string(bits);
    }
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    default: return "an HDF5 type of class " + std::to_string(int(H5Tget_class(type)));
  }
}

// Whether `loc` has a link called `name` (one path component).
inline bool has_link(hid_t loc, const char* name) {
  return CONDENSER_H5_CHECK(H5Lexists(loc, name, H5P_DEFAULT), std::string("look up ") + name) > 0;
}

inline std::vector<int64_t> dims_of(hid_t ds, const std::string& what) {
  Dataspace space(CONDENSER_H5_CHECK(H5Dget_space(ds), what));
  const int rank = CONDENSER_H5_CHECK(H5Sget_simple_extent_ndims(space), what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  CONDENSER_H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr), what);
  return {dims.begin(), dims.end()};
}

inline std::string dtype_of(hid_t ds, const std::string& what) {
  Type type(CONDENSER_H5_CHECK(H5Dget_type(ds), what));
  return type_name(type);
}

// Selects rows [r0, r0 + n) of dataset `ds` whose dims are `dims`; returns
// the file space holding the selection and the matching memory space.
inline std::pair<Dataspace, Dataspace> select_rows(hid_t ds, const std::vector<int64_t>& dims,
                                                   int64_t r0, int64_t n) {
  std::vector<hsize_t> start(dims.size(), 0), count(dims.begin(), dims.end());
  start[0] = static_cast<hsize_t>(r0);
  count[0] = static_cast<hsize_t>(n);
  Dataspace file_space(CONDENSER_H5_CHECK(H5Dget_space(ds), "dataspace"));
  CONDENSER_H5_CHECK(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr,
                                         count.data(), nullptr),
                     "select rows");
  const int rank = static_cast<int>(count.size());
  Dataspace mem(CONDENSER_H5_CHECK(H5Screate_simple(rank, count.data(), nullptr), "memspace"));
  return {std::move(file_space), std::move(mem)};
}

namespace detail {

// Opens attribute `name` of `loc` when it exists and is scalar or 1-d with
// a type of class `cls` (H5T_FLOAT: any number); sets `*n` to its length.
// Throws UsageError "<owner>: attribute '<name>' must be <kind>" otherwise.
inline std::optional<Attribute> open_attribute(hid_t loc, const char* name, H5T_class_t cls,
                                               const char* kind, const std::string& owner,
                                               size_t* n) {
  const std::string what = std::string("read attribute '") + name + "'";
  if (CONDENSER_H5_CHECK(H5Aexists(loc, name), what) <= 0) return std::nullopt;
  Attribute attr(CONDENSER_H5_CHECK(H5Aopen(loc, name, H5P_DEFAULT), what));
  Type type(CONDENSER_H5_CHECK(H5Aget_type(attr), what));
  Dataspace space(CONDENSER_H5_CHECK(H5Aget_space(attr), what));
  const H5T_class_t got = H5Tget_class(type);
  const bool ok = got == cls || (cls == H5T_FLOAT && got == H5T_INTEGER);
  const hssize_t points = H5Sget_simple_extent_npoints(space);
  if (!ok || H5Sget_simple_extent_ndims(space) > 1 || points < 1) {
    throw UsageError(owner + ": attribute '" + name + "' must be " + kind);
  }
  *n = static_cast<size_t>(points);
  return attr;
}

}  // namespace detail

// The numbers of attribute `name` of `loc` (a scalar or a 1-d array), or
// nothing when it is absent. Throws UsageError naming `owner` and the
// attribute when it holds anything else.
inline std::optional<std::vector<double>> number_attribute(hid_t loc, const char* name,
                                                           const std::string& owner) {
  size_t n = 0;
  auto attr = detail::open_attribute(loc, name, H5T_FLOAT, "a number or a 1-d array of numbers",
                                     owner, &n);
  if (!attr) return std::nullopt;
  std::vector<double> v(n);
  CONDENSER_H5_CHECK(H5Aread(*attr, H5T_NATIVE_DOUBLE, v.data()), std::string("read ") + name);
  return v;
}

// The strings of attribute `name` of `loc`: variable-length (h5py's str) or
// fixed-length (numpy bytes, cut at the first NUL). Nothing when absent;
// UsageError as number_attribute when it is not strings.
inline std::optional<std::vector<std::string>> string_attribute(hid_t loc, const char* name,
                                                                const std::string& owner) {
  size_t n = 0;
  auto attr = detail::open_attribute(loc, name, H5T_STRING, "a string or an array of strings",
                                     owner, &n);
  if (!attr) return std::nullopt;
  const std::string what = std::string("read attribute '") + name + "'";
  Type type(CONDENSER_H5_CHECK(H5Aget_type(*attr), what));
  Type mem(CONDENSER_H5_CHECK(H5Tcopy(H5T_C_S1), what));
  CONDENSER_H5_CHECK(H5Tset_cset(mem, H5Tget_cset(type)), what);
  std::vector<std::string> out;
  if (CONDENSER_H5_CHECK(H5Tis_variable_str(type), what) > 0) {
    CONDENSER_H5_CHECK(H5Tset_size(mem, H5T_VARIABLE), what);
    std::vector<char*> ptrs(n, nullptr);
    CONDENSER_H5_CHECK(H5Aread(*attr, mem, ptrs.data()), what);
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return out;
  }
  const size_t size = H5Tget_size(type);
  CONDENSER_H5_CHECK(H5Tset_size(mem, size), what);
  std::string bytes(n * size, '\0');
  CONDENSER_H5_CHECK(H5Aread(*attr, mem, bytes.data()), what);
  for (size_t i = 0; i < n; ++i) {
    const std::string s = bytes.substr(i * size, size);
    out.push_back(s.substr(0, s.find('\0')));
  }
  return out;
}

}  // namespace h5
}  // namespace condenser

#pragma once
// Small HDF5 writers shared by the token files (data/text/) and the
// soft-label shards (data/shards/), checked as every HDF5 call here is.
#include <hdf5.h>

#include <string>

#include "data/hdf5_check.h"

namespace condenser {

// A scalar variable-length UTF-8 string attribute (h5py reads it as str).
// `what` names the write in a RuntimeFailure.
inline void write_string_attribute(hid_t loc, const char* name, const std::string& value,
                                   const std::string& what) {
  h5::Type type(CONDENSER_H5_CHECK(H5Tcopy(H5T_C_S1), what));
  CONDENSER_H5_CHECK(H5Tset_size(type, H5T_VARIABLE), what);
  CONDENSER_H5_CHECK(H5Tset_cset(type, H5T_CSET_UTF8), what);
  h5::Dataspace space(CONDENSER_H5_CHECK(H5Screate(H5S_SCALAR), what));
  h5::Attribute attr(
      CONDENSER_H5_CHECK(H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT), what));
  const char* ptr = value.c_str();
  CONDENSER_H5_CHECK(H5Awrite(attr, type, &ptr), what);
}

}  // namespace condenser

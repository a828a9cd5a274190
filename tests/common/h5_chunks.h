#pragma once
// Reads back how a shard dataset is chunked, for the chunk-size tests.
#include <gtest/gtest.h>

#include "data/hdf5_check.h"

namespace condenser::testing_util {

struct ChunkInfo {
  bool chunked = false;
  hsize_t rows = 0;   // rows per chunk
  size_t bytes = 0;   // bytes per chunk
};

inline ChunkInfo chunk_info(hid_t file, const char* name) {
  h5::Dataset ds(CONDENSER_H5_CHECK(H5Dopen2(file, name, H5P_DEFAULT), name));
  h5::Plist dcpl(CONDENSER_H5_CHECK(H5Dget_create_plist(ds), name));
  ChunkInfo info;
  info.chunked = H5Pget_layout(dcpl) == H5D_CHUNKED;
  if (!info.chunked) return info;
  hsize_t chunk[2] = {0, 0};
  const int rank = H5Pget_chunk(dcpl, 2, chunk);
  h5::Type type(CONDENSER_H5_CHECK(H5Dget_type(ds), name));
  info.rows = chunk[0];
  info.bytes = chunk[0] * (rank == 2 ? chunk[1] : 1) * H5Tget_size(type);
  return info;
}

}  // namespace condenser::testing_util

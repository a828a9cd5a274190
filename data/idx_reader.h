#pragma once
// Reader for the IDX format of (Fashion-)MNIST, gzipped or plain.
#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

struct IdxArray {
  std::vector<int64_t> dims;   // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<uint8_t> bytes;  // row-major unsigned bytes (the only type MNIST uses)
};

// Reads an IDX file of unsigned bytes (magic 0x00000801 / 0x00000803).
// Throws UsageError naming the file when it is missing, truncated or not IDX.
IdxArray read_idx(const std::string& path);

}  // namespace condenser

#pragma once
// Reader for the IDX format of (Fashion-)MNIST, gzipped or plain. The header
// is checked before anything is allocated: a file whose dimensions announce
// no data, more than kMaxIdxBytes, or a size that overflows is refused, and
// the data is read in chunks, so a lying header costs no memory.
#include <cstdint>
#include <string>
#include <vector>

namespace condenser {

// The largest data an IDX dataset file may announce (Fashion-MNIST's
// training images are 47 MB).
inline constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 30;

struct IdxHeader {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28} for images, {60000} for labels
  std::uint64_t data_bytes = 0;  // product of dims, checked against kMaxIdxBytes
};

struct IdxArray {
  std::vector<int64_t> dims;   // as in the header (rows read may be fewer: read_idx_rows)
  std::vector<uint8_t> bytes;  // row-major unsigned bytes (the only type MNIST uses)
};

// Reads and checks only the magic number and the dimensions (a few bytes).
// Throws UsageError naming the file when it is missing, not IDX of unsigned
// bytes (magic 0x0000080D with D in 1..4), truncated in its header, has a
// zero dimension (no samples) or announces more than kMaxIdxBytes.
IdxHeader read_idx_header(const std::string& path);

// The whole file; as read_idx_header, and UsageError when the data is shorter
// than the header says.
IdxArray read_idx(const std::string& path);

// The header and only the first `rows` entries of the first dimension (all of
// them when the file has fewer): what a probe needs without reading a dataset.
IdxArray read_idx_rows(const std::string& path, int64_t rows);

}  // namespace condenser

#include "data/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>

#include "core/errors.h"

namespace condenser {
namespace {

// gzread reads plain files too, so one path serves .gz and uncompressed IDX.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {}
  ~GzFile() {
    if (file_) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  bool ok() const { return file_ != nullptr; }
  bool read_exact(void* out, size_t n) {
    auto* p = static_cast<unsigned char*>(out);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
      const int got = gzread(file_, p, chunk);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }

 private:
  gzFile file_;
};

uint32_t big_endian(const unsigned char b[4]) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text;
  for (int64_t d : dims) text += (text.empty() ? "" : "x") + std::to_string(d);
  return text;
}

// Opens `path` and reads its header; the file is left at the first data byte.
IdxHeader open_and_read_header(const std::string& path, GzFile& file) {
  if (!file.ok()) throw UsageError("cannot open dataset file '" + path + "'");
  unsigned char magic[4];
  if (!file.read_exact(magic, 4) || magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 ||
      magic[3] < 1 || magic[3] > 4) {
    throw UsageError("'" + path + "' is not an IDX file of unsigned bytes (bad magic number)");
  }
  IdxHeader header;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char dim[4];
    if (!file.read_exact(dim, 4)) throw UsageError("'" + path + "' is truncated in its header");
    header.dims.push_back(big_endian(dim));
  }
  if (header.dims[0] == 0) {
    throw UsageError("'" + path + "' holds no samples (its header says 0); reinstall "
                     "dataset-fashion-mnist or fix data.path");
  }
  // Checked products: a header such as 2^31 x 2^31 x 4 must not wrap to 0.
  std::uint64_t total = 1;
  for (int64_t d : header.dims) {
    if (d == 0) {
      throw UsageError("'" + path + "' has a zero dimension (" + dims_text(header.dims) +
                       "); it is damaged or not a dataset");
    }
    if (__builtin_mul_overflow(total, static_cast<std::uint64_t>(d), &total) ||
        total > kMaxIdxBytes) {
      throw UsageError("'" + path + "' announces " + dims_text(header.dims) +
                       " bytes in its header, more than the 1 GiB an IDX dataset may hold; it "
                       "is damaged or not a dataset");
    }
  }
  header.data_bytes = total;
  return header;
}

// Reads `n` data bytes in chunks, so memory grows only with what the file
// really holds, whatever its header promised.
std::vector<uint8_t> read_data(const std::string& path, GzFile& file, std::uint64_t n) {
  constexpr std::uint64_t kChunk = 16u << 20;
  std::vector<uint8_t> bytes;
  while (bytes.size() < n) {
    const std::size_t at = bytes.size();
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, n - at));
    bytes.resize(at + step);
    if (!file.read_exact(bytes.data() + at, step)) {
      throw UsageError("'" + path + "' is truncated: expected " + std::to_string(n) +
                       " data bytes; reinstall dataset-fashion-mnist");
    }
  }
  return bytes;
}

void require_exists(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw UsageError("dataset file '" + path +
                     "' not found; install the Debian package dataset-fashion-mnist "
                     "(apt-get install dataset-fashion-mnist) or set data.path");
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UsageError("dataset file '" + path + "' is not a regular file; fix data.path");
  }
}

}  // namespace

IdxHeader read_idx_header(const std::string& path) {
  require_exists(path);
  GzFile file(path);
  return open_and_read_header(path, file);
}

IdxArray read_idx(const std::string& path) {
  require_exists(path);
  GzFile file(path);
  IdxArray array;
  const IdxHeader header = open_and_read_header(path, file);
  array.dims = header.dims;
  array.bytes = read_data(path, file, header.data_bytes);
  return array;
}

IdxArray read_idx_rows(const std::string& path, int64_t rows) {
  require_exists(path);
  GzFile file(path);
  IdxArray array;
  const IdxHeader header = open_and_read_header(path, file);
  array.dims = header.dims;
  const std::uint64_t row_bytes = header.data_bytes / static_cast<std::uint64_t>(header.dims[0]);
  const int64_t kept = std::clamp<int64_t>(rows, 0, header.dims[0]);
  array.bytes = read_data(path, file, row_bytes * static_cast<std::uint64_t>(kept));
  return array;
}

}  // namespace condenser

#include "data/idx_reader.h"

#include <zlib.h>

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

}  // namespace

IdxArray read_idx(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw UsageError("dataset file '" + path +
                     "' not found; install the Debian package dataset-fashion-mnist "
                     "(apt-get install dataset-fashion-mnist) or set data.path");
  }
  GzFile file(path);
  if (!file.ok()) throw UsageError("cannot open dataset file '" + path + "'");
  unsigned char magic[4];
  if (!file.read_exact(magic, 4) || magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 ||
      magic[3] < 1 || magic[3] > 4) {
    throw UsageError("'" + path + "' is not an IDX file of unsigned bytes (bad magic number)");
  }
  IdxArray array;
  size_t total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char dim[4];
    if (!file.read_exact(dim, 4)) throw UsageError("'" + path + "' is truncated in its header");
    array.dims.push_back(big_endian(dim));
    total *= big_endian(dim);
  }
  array.bytes.resize(total);
  if (!file.read_exact(array.bytes.data(), total)) {
    throw UsageError("'" + path + "' is truncated: expected " + std::to_string(total) +
                     " data bytes; reinstall dataset-fashion-mnist");
  }
  return array;
}

}  // namespace condenser

#include "coordinator/control/record_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"
#include "core/files.h"
#include "core/log.h"

namespace condenser {
namespace {

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The checksum field of a line, or false when it is not 8 lowercase hex digits.
bool parse_crc(const char* p, uint32_t* out) {
  uint32_t v = 0;
  for (int i = 0; i < 8; ++i) {
    const int d = hex_digit(p[i]);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

[[noreturn]] void io_failure(const std::string& what, const std::string& path) {
  throw RuntimeFailure("journal: cannot " + what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::string encode_record(const std::string& payload) {
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x ", crc32(payload.data(), payload.size()));
  std::string line;
  line.reserve(payload.size() + 10);
  line += crc;
  line += payload;
  line += '\n';
  return line;
}

RecordScan scan_records(const std::string& bytes) {
  RecordScan scan;
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t end = bytes.find('\n', at);
    if (end == std::string::npos) {
      scan.why_dropped = "torn record";
      break;
    }
    uint32_t want = 0;
    const bool framed = end - at >= 9 && bytes[at + 8] == ' ' && parse_crc(&bytes[at], &want);
    if (!framed || crc32(bytes.data() + at + 9, end - at - 9) != want) {
      scan.why_dropped = "checksum mismatch";
      break;
    }
    scan.payloads.emplace_back(bytes, at + 9, end - at - 9);
    at = end + 1;
  }
  scan.good_bytes = at;
  scan.dropped_bytes = bytes.size() - at;
  return scan;
}

RecordLog::RecordLog(std::string path, std::vector<std::string>* existing)
    : path_(std::move(path)) {
  const bool created = !path_exists(path_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) io_failure("open", path_);
  if (created) fsync_dir(parent_dir(path_));
  const std::string bytes = created ? std::string() : read_file(path_);
  RecordScan scan = scan_records(bytes);
  if (scan.dropped_bytes > 0) {
    // Never trusted: a torn append of a killed writer, or damage.
    log_warn("journal: ", path_, ": dropped ", scan.dropped_bytes, " byte(s) at offset ",
             scan.good_bytes, " (", scan.why_dropped, "); ", scan.payloads.size(),
             " intact record(s) kept");
    if (::ftruncate(fd_, static_cast<off_t>(scan.good_bytes)) != 0) io_failure("truncate", path_);
    if (::fdatasync(fd_) != 0) io_failure("sync", path_);
  }
  if (::lseek(fd_, static_cast<off_t>(scan.good_bytes), SEEK_SET) < 0) io_failure("seek", path_);
  bytes_ = scan.good_bytes;
  if (existing != nullptr) *existing = std::move(scan.payloads);
}

RecordLog::~RecordLog() {
  if (fd_ >= 0) ::close(fd_);
}

void RecordLog::write_all(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_failure("append to", path_);
    done += static_cast<size_t>(n);
  }
  bytes_ += bytes.size();
  dirty_ = true;
}

void RecordLog::append(const std::string& payload) { write_all(encode_record(payload)); }

void RecordLog::append_all(const std::vector<std::string>& payloads) {
  std::string bytes;
  for (const std::string& p : payloads) bytes += encode_record(p);
  write_all(bytes);
}

void RecordLog::sync() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!dirty_.exchange(false)) return;
  if (::fdatasync(fd_) != 0) {
    dirty_ = true;
    io_failure("sync", path_);
  }
}

void RecordLog::rewrite(const std::vector<std::string>& payloads) {
  std::string bytes;
  for (const std::string& p : payloads) bytes += encode_record(p);
  std::lock_guard<std::mutex> lock(mutex_);
  atomic_write_file(path_, bytes);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) io_failure("reopen", path_);
  ::close(fd_);
  fd_ = fd;
  bytes_ = bytes.size();
  dirty_ = false;
}

}  // namespace condenser

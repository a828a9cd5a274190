#pragma once
// An append-only file of checksummed records, one per line:
//   "<crc32 of payload, 8 hex digits> <payload>\n"
// Appends go straight to the kernel (a killed process loses nothing it
// appended); sync() makes them durable (fdatasync), so a caller batches many
// appends per sync (group commit). Opening reads every record back and stops
// at the first one that is torn (no newline: the writer died mid-append) or
// whose checksum does not match (corruption): that record and everything
// after it are dropped and cut off the file, never trusted, with a warning
// naming the file, the offset and how many bytes went.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace condenser {

// CRC-32 (IEEE 802.3, the polynomial of zlib's crc32 and Python's
// zlib.crc32), so a record can be checked or written by a script.
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

// One line of the log for `payload` (which must not contain '\n').
std::string encode_record(const std::string& payload);

struct RecordScan {
  std::vector<std::string> payloads;  // the intact records, in order
  uint64_t good_bytes = 0;            // where the intact prefix ends
  uint64_t dropped_bytes = 0;         // torn or corrupt tail
  std::string why_dropped;            // "torn record" / "checksum mismatch" / ""
};

// Splits `bytes` into records as open() does (pure: the unit tests' entry).
RecordScan scan_records(const std::string& bytes);

class RecordLog {
 public:
  // Opens `path` for appending, creating it (and fsyncing its folder) if
  // missing; reads its intact records into `existing` and truncates a torn
  // or corrupt tail. RuntimeFailure naming the path on an I/O error.
  RecordLog(std::string path, std::vector<std::string>* existing);
  ~RecordLog();
  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  // append, append_all and rewrite come from one thread; sync may run on
  // another at the same time (group commit off the io thread).
  void append(const std::string& payload);
  // Several records in one write.
  void append_all(const std::vector<std::string>& payloads);
  // fdatasync: every record appended before the call is durable after it.
  void sync();
  // Appended since the last sync began.
  bool dirty() const { return dirty_.load(); }
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

  // Replaces the whole file with `payloads` (write a temporary, fsync,
  // rename over, fsync the folder) and appends after them from then on.
  void rewrite(const std::vector<std::string>& payloads);

 private:
  void write_all(const std::string& bytes);
  std::string path_;
  int fd_ = -1;       // replaced only by rewrite, under mutex_
  std::mutex mutex_;  // sync vs rewrite
  uint64_t bytes_ = 0;
  std::atomic<bool> dirty_{false};
};

}  // namespace condenser

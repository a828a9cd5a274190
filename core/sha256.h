#pragma once
// SHA-256 (FIPS 180-4), own implementation so core/ needs no OpenSSL.
// Used for shard checksums in manifest.json and for the teacher hash.
#include <cstddef>
#include <cstdint>
#include <string>

namespace condenser {

// Incremental hasher: update() any number of times, then hex_digest() once.
// hex_digest() finalises; update() after that throws RuntimeFailure, so a
// digest can't silently mix two messages.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // 64 lowercase hex characters. Idempotent: a second call returns the same.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
  std::string digest_;
};

// One-shot digest of a memory buffer, lowercase hex.
std::string sha256_hex(const void* data, size_t n);

// Digest of a file's bytes, streamed in blocks (constant memory).
// Throws UsageError naming the file if it cannot be opened,
// RuntimeFailure if a read fails midway.
std::string sha256_file(const std::string& path);

}  // namespace condenser

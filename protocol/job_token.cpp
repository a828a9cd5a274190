#include "protocol/job_token.h"

#include <sys/stat.h>

#include <cctype>
#include <cstring>
#include <fstream>

#include "core/bounded_read.h"
#include "core/errors.h"
#include "core/files.h"

namespace condenser {
namespace {

constexpr std::uint64_t kMaxTokenFileBytes = 4096;

std::string random_token() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
    throw RuntimeFailure("cannot read /dev/urandom to create the job token");
  }
  static const char* hex = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  return token;
}

// Group or others may read it: anyone on the machine could join the job.
void check_private(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw UsageError("job token '" + path + "': " + std::strerror(errno) +
                     "; pass the job's RUN_DIR/job.token");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw UsageError("job token '" + path + "' is readable by others (mode " + mode +
                     "); run chmod 600 '" + path + "', or delete it to get a new one");
  }
}

}  // namespace

bool valid_job_token(const std::string& token) {
  if (token.size() < kMinTokenHexChars) return false;
  for (const char c : token) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
  }
  return true;
}

std::string read_job_token(const std::string& path) {
  std::string token = read_file_at_most(path, kMaxTokenFileBytes, "job token");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (!valid_job_token(token)) {
    throw UsageError("job token '" + path + "' is " +
                     (token.empty() ? std::string("empty")
                                    : "not a token (" + std::to_string(kMinTokenHexChars) +
                                          " or more hex digits)") +
                     "; delete it to get a new one, or write the job's token into it");
  }
  return token;
}

void ensure_job_token(const std::string& path) {
  if (!path_exists(path)) atomic_write_file(path, random_token() + "\n", 0600);
  read_job_token(path);
  check_private(path);
}

}  // namespace condenser

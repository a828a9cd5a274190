#include "protocol/job_token.h"

#include <fstream>

#include "core/errors.h"
#include "core/files.h"

namespace condenser {
namespace {

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

}  // namespace

std::string read_job_token(const std::string& path) {
  std::string token = read_file(path);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return token;
}

void ensure_job_token(const std::string& path) {
  if (!path_exists(path)) atomic_write_file(path, random_token() + "\n", 0600);
}

}  // namespace condenser

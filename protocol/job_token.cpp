#include "protocol/job_token.h"

#include "core/files.h"

namespace condenser {

std::string read_job_token(const std::string& path) {
  std::string token = read_file(path);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return token;
}

}  // namespace condenser

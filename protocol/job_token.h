#pragma once
// The job token (RUN_DIR/job.token, mode 0600): the secret a worker presents
// in its hello and the coordinator compares in constant time (frame.h).
#include <string>

namespace condenser {

// The token in `path`, without the trailing newline or spaces the file may
// end with. RuntimeFailure when the file cannot be read.
std::string read_job_token(const std::string& path);

// Creates `path` with a fresh random token (mode 0600) unless it exists.
void ensure_job_token(const std::string& path);

}  // namespace condenser

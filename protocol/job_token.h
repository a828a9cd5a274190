#pragma once
// The job token (RUN_DIR/job.token, mode 0600): the secret a worker presents
// in its hello and the coordinator compares in constant time (frame.h).
// Whoever can read it can label for the job (and feed it shards), so a token
// that is empty, short or readable by others is refused, never used.
#include <cstddef>
#include <string>

namespace condenser {

// A token has at least this many hex digits (128 random bits); a new one 64.
inline constexpr std::size_t kMinTokenHexChars = 32;

// True when `token` is at least kMinTokenHexChars hex digits and nothing else.
bool valid_job_token(const std::string& token);

// The token in `path`, without the trailing newline or spaces the file may
// end with. UsageError naming the file and the fix when it is missing, not a
// regular file, larger than a token can be, or not a valid token (empty,
// short, not hex).
std::string read_job_token(const std::string& path);

// Creates `path` with a fresh random token (256 bits, mode 0600) unless it
// exists; an existing file must pass read_job_token's checks and be private
// (no group or other permission bits), else UsageError naming the fix. It is
// never changed or replaced: the user decides.
void ensure_job_token(const std::string& path);

}  // namespace condenser

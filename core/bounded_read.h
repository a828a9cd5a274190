#pragma once
// Size-bounded reading of input files. Everything condenser parses from a
// file a user hands it (the config, a run directory's JSON records) goes
// through here first, so `/dev/zero`, a FIFO or a multi-gigabyte file is one
// clear usage error instead of a read that runs until memory is gone.
#include <cstdint>
#include <string>

namespace condenser {

// Limits for the files condenser reads (a real one is a few KiB).
inline constexpr std::uint64_t kMaxConfigBytes = 1u << 20;      // a config YAML: 1 MiB
inline constexpr std::uint64_t kMaxRecordBytes = 64u << 20;     // a run-dir JSON record: 64 MiB
// manifest.json lists every shard (about 250 bytes each): two million shards.
inline constexpr std::uint64_t kMaxManifestBytes = 512u << 20;

// The whole of `path`, which must be a regular file (after symlinks) of at
// most `max_bytes` bytes. `what` names the file in messages ("config file",
// "manifest"). Throws UsageError naming `what`, the path and the problem
// (missing, a folder, a device or FIFO, unreadable, larger than the limit);
// a file that grows past the limit while being read is refused the same way.
std::string read_file_at_most(const std::string& path, std::uint64_t max_bytes,
                              const std::string& what);

// "1 MiB", "64 MiB", "512 bytes": a limit as a user reads it.
std::string format_byte_limit(std::uint64_t bytes);

}  // namespace condenser

#pragma once
// Plain POSIX file I/O for the benchmarks' raw baselines (bench_shards.cpp,
// bench_lm_shards.cpp): whole-buffer writes and reads, and dropping a file
// from the page cache so reads hit the disk for ours and the baseline alike.
// Each throws RuntimeFailure naming the path and errno's text.
#include <cstddef>
#include <string>

namespace condenser {

[[noreturn]] void fail_io(const std::string& what, const std::string& path);
void write_all(int fd, const void* data, size_t n, const std::string& path);
void read_all(int fd, void* data, size_t n, const std::string& path);
// Flushes `path` and drops it from the page cache.
void evict(const std::string& path);

}  // namespace condenser

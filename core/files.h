#pragma once
// Durable file helpers. Everything the run directory commits (manifest,
// shards, checkpoints, coordinator.json) goes through write-temp + fsync +
// rename + fsync(parent), so a crash leaves either the old or the new file,
// never a torn one. Errors name the path and carry strerror.
#include <optional>
#include <string>

namespace condenser {

// mkdir -p. Existing directories are fine; an existing non-directory or a
// failing mkdir throws RuntimeFailure.
void ensure_dir(const std::string& path);

// fsync an existing file's data and metadata. RuntimeFailure on error.
void fsync_file(const std::string& path);

// fsync a directory so a rename/create inside it is durable.
void fsync_dir(const std::string& path);

// Directory part of a path ("." when it has none). "a/b/c" -> "a/b".
std::string parent_dir(const std::string& path);

// Writes `content` to `path` (created or truncated, permissions `mode`) and
// fsyncs it; not atomic: for a file inside a directory renamed into place
// later. RuntimeFailure with the cause (strerror; what to do for ENOSPC,
// EDQUOT, EROFS), and the partial file removed, on any I/O error.
void write_file_synced(const std::string& path, const std::string& content, int mode = 0644);

// Writes `content` to `path + ".tmp"` with permissions `mode`, fsyncs it,
// renames it over `path` and fsyncs the parent directory. Readers see the old
// file or the complete new one. The parent directory must exist.
// RuntimeFailure on any I/O error, as write_file_synced (the .tmp removed).
void atomic_write_file(const std::string& path, const std::string& content, int mode = 0644);

// Whole file as bytes. UsageError naming the path if it does not exist or
// cannot be opened; RuntimeFailure if a read fails midway.
std::string read_file(const std::string& path);

// True if `path` exists (any type).
bool path_exists(const std::string& path);

// The absolute, symlink-free form of an existing `path` (realpath(3));
// nullopt when it cannot be resolved (missing, a dangling symlink, a loop).
std::optional<std::string> resolved_path(const std::string& path);

// resolved_path(path), or `path` itself when it cannot be resolved. Paths handed to other processes
// (workers) must not depend on this process's working directory.
std::string absolute_path(const std::string& path);

// Removes a file or a directory tree (no error if absent). Uses POSIX nftw,
// not std::filesystem::remove_all, which crashed in binaries linked against
// PyTorch 2.x's libtorch (it exports its own std::filesystem symbols).
void remove_tree(const std::string& path);

}  // namespace condenser

#pragma once
// Writes one soft-label shard (layout in data/shard_format.h) durably:
// everything goes to `final_path + ".tmp"`, which is closed, fsynced, renamed
// to `final_path`, and the parent directory fsynced. A crash leaves either no
// shard or a complete one (plus maybe a stale .tmp, overwritten next time),
// so the manifest entry may be committed right after this returns.
//
// Only one thread per process should do HDF5 I/O (DESIGN.md pitfalls).
#include <cstdint>
#include <string>
#include <vector>

#include "data/shard_format.h"

namespace condenser {

// sample_index and view have N entries each; logits holds N * meta.num_classes
// floats, row-major. dtype picks the stored logits type (float16 is rounded
// to nearest even here, so the file holds exactly what a reader gets back).
// Throws RuntimeFailure on mismatched sizes or num_classes <= 0 (a caller
// bug) and on any I/O or HDF5 failure (the .tmp is removed).
void write_shard(const std::string& final_path, const ShardMeta& meta,
                 const std::vector<int64_t>& sample_index, const std::vector<int32_t>& view,
                 const std::vector<float>& logits, LogitDType dtype);

}  // namespace condenser
